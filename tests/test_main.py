"""The entry point: one table of stages with one shape, and a config tree that prints without TensorFlow."""
import importlib
import inspect
import os
import subprocess
import sys

from trainer import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_stage_has_the_same_run_shape():
    for name, module in main.STAGES.items():
        run = importlib.import_module(module).run
        params = list(inspect.signature(run).parameters.values())
        assert len(params) >= 2, name
        assert all(p.default is not inspect.Parameter.empty for p in params[2:]), name


def test_print_config_shows_the_whole_tree_without_loading_tensorflow():
    code = ("import sys, runpy; sys.argv = ['main', '--config=configs/gemma3_270m_lora.py', '--print_config', "
            "'--config.lora.rank=4']\n"
            "try:\n    runpy.run_module('trainer.main', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print('TF_LOADED' if 'tensorflow' in sys.modules else 'NO_TF')")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    for section in ("prepare:", "deid:", "model:", "lora:", "train:", "phi_gate:", "eval:", "export:", "sweep:"):
        assert section in text, section
    assert "rank: 4" in text and text.strip().endswith("NO_TF")


def test_a_second_training_on_a_busy_workdir_stops_with_one_clear_line(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from trainer.util import lock\n"
         f"with lock.workdir_lock({str(tmp_path)!r}, 'train'):\n    print('held', flush=True); time.sleep(60)"],
        cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = subprocess.run([sys.executable, "-m", "trainer.main", "--config=configs/tiny_gpt2_lora.py",
                              f"--workdir={tmp_path}", "--mode=train"], cwd=REPO, capture_output=True, text=True, timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert out.returncode == 2
    assert f"carelora: {tmp_path} is in use by train pid {holder.pid}" in out.stderr
    assert "Traceback" not in out.stderr


def test_workdir_files_are_owner_only(tmp_path):
    raw = os.path.join(REPO, "tests", "fixtures", "raw_messy.jsonl")
    out = subprocess.run([sys.executable, "-m", "trainer.main", "--config=configs/tiny_gpt2_lora.py",
                          f"--workdir={tmp_path / 'w'}", "--mode=prepare", f"--config.prepare.inputs={raw}"],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    seen = 0
    for folder, dirs, names in os.walk(tmp_path / "w"):
        assert os.stat(folder).st_mode & 0o077 == 0, folder
        for name in names:
            assert os.stat(os.path.join(folder, name)).st_mode & 0o077 == 0, name
            seen += 1
    assert seen >= 5  # config, splits, rejects, ledger, report
