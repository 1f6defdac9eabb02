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
