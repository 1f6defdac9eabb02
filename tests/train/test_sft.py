"""End-to-end training: the loss falls, the workdir holds what it promises, runs resume after SIGKILL."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests import tolerances
from trainer import config_lib
from trainer.data.records import read_clean_examples, write_jsonl
from trainer.train import checkpoints, sft

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(REPO, "trainer", "assets", "sample", "clean_train.jsonl")


def _load_config(name):
    import importlib.util

    spec = importlib.util.spec_from_file_location("cfg", os.path.join(REPO, "configs", name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.get_config()
    # This module trains on copies of the shipped synthetic sample; it says so itself (configs do
    # not, so a tiny config pointed at real data still gets the PHI gate).
    cfg.train.phi_gate.allow_synthetic = True
    return cfg


def _metrics(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(l) for l in f]


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    exs = read_clean_examples(SAMPLE)
    write_jsonl(str(d / "train.jsonl"), (e.to_json() for e in exs[:16]))
    write_jsonl(str(d / "val.jsonl"), (e.to_json() for e in exs[16:24]))
    return str(d / "train.jsonl"), str(d / "val.jsonl")


@pytest.mark.parametrize("config_name", ["tiny_gpt2_lora.py", "tiny_gemma_lora.py"])
def test_tiny_model_overfits_a_few_examples(tmp_path, small_files, config_name):
    cfg = _load_config(config_name)
    four = str(tmp_path / "four.jsonl")
    write_jsonl(four, (e.to_json() for e in read_clean_examples(small_files[0])[:4]))
    cfg.data.train_file, cfg.data.val_file = four, small_files[1]
    cfg.train.update(steps=80, batch_size=2, log_every=5, eval_every=40, checkpoint_every=40, learning_rate=1e-2)
    summary = sft.run(cfg, str(tmp_path))
    rows = _metrics(str(tmp_path))
    first, last = rows[0]["loss"], rows[-1]["loss"]
    assert last < 0.5 * first, (first, last)
    assert summary["step"] == 80 and rows[-1]["step"] == 80
    assert {"step", "loss", "lr", "tokens_per_s"} <= set(rows[0])
    assert [r["step"] for r in rows if "val_loss" in r] == [40, 80]
    for name in ("checkpoints", "adapter", "tensorboard", "metrics.jsonl", "train_summary.json"):
        assert os.path.exists(tmp_path / name), name
    assert os.listdir(tmp_path / "tensorboard")
    assert summary["adapter_bytes"] == os.path.getsize(tmp_path / "adapter" / "adapter.npz")
    assert 0 < summary["lora_parameters"] < summary["total_parameters"] / 5


def test_gradient_accumulation_matches_a_bigger_batch(tmp_path, small_files):
    """2 micro-steps of 4 rows = 1 step of 8 rows (token-weighted mean, same rows)."""
    results = []
    for i, (batch, accum) in enumerate(((8, 1), (4, 2))):
        cfg = _load_config("tiny_gemma_lora.py")
        cfg.data.train_file, cfg.data.val_file = small_files
        cfg.lora.dropout = 0.0
        cfg.data.seq_len = 320
        cfg.data.packing = False  # 16 rows, so 8-row batches are well defined
        cfg.train.update(steps=3, batch_size=batch, grad_accum=accum, log_every=1, eval_every=0, checkpoint_every=3, xla="off")
        sft.run(cfg, str(tmp_path / str(i)))
        results.append(np.load(tmp_path / str(i) / "adapter" / "adapter.npz"))
    keys = [k for k in results[0].files if k != "__metadata__"]
    for k in keys:
        np.testing.assert_allclose(results[0][k], results[1][k], **tolerances.TRAJECTORY)


def test_early_stopping_halts_when_val_loss_stops_improving(tmp_path, small_files):
    cfg = _load_config("tiny_gpt2_lora.py")
    cfg.data.train_file, cfg.data.val_file = small_files
    cfg.train.update(steps=200, batch_size=4, learning_rate=0.0, eval_every=2, checkpoint_every=100, early_stop_patience=2, warmup_steps=0, decay="constant")
    summary = sft.run(cfg, str(tmp_path))
    assert summary["stopped_early"] and summary["step"] == 6  # best at 2, no gain at 4 and 6
    assert checkpoints.latest(str(tmp_path / "checkpoints"))[0] == 6


def _cmd(workdir, train_file, steps):
    return [
        sys.executable, "-m", "trainer.main", "--config=configs/tiny_gpt2_lora.py", f"--workdir={workdir}", "--mode=train",
        f"--config.data.train_file={train_file}", f"--config.train.steps={steps}", "--config.train.checkpoint_every=4",
        "--config.train.log_every=2", "--config.train.eval_every=0", "--config.train.batch_size=4",
        "--config.lora.dropout=0.05",  # the main config's own setting: dropout masks must resume exactly too
        "--config.train.phi_gate.allow_synthetic=True",  # a copy of the shipped synthetic sample
    ]


def test_resume_after_sigkill_continues_from_last_checkpoint(tmp_path, small_files):
    steps = 24
    workdir = str(tmp_path / "run")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # Output to a file, read after: a pipe nobody reads stalls the child once its buffer fills.
    log_path = tmp_path / "first_run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(_cmd(workdir, small_files[0], steps), cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    ckpt_dir = os.path.join(workdir, "checkpoints")
    deadline = time.time() + 300
    while time.time() < deadline:
        found = checkpoints.latest(ckpt_dir)
        if found and found[0] >= 8 or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed:\n" + log_path.read_text(errors="replace")[-3000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = checkpoints.latest(ckpt_dir)[0]
    assert 8 <= killed_at < steps

    second = subprocess.run(_cmd(workdir, small_files[0], steps), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"at step {killed_at}" in second.stderr and "resumed from" in second.stderr
    rows = _metrics(workdir)
    assert [r["step"] for r in rows] == list(range(2, steps + 1, 2))  # no step logged twice or skipped
    with open(os.path.join(workdir, "train_summary.json")) as f:
        assert json.load(f)["step"] == steps

    # The resumed run ends where an uninterrupted one does (same data order, same optimizer state).
    straight = str(tmp_path / "straight")
    third = subprocess.run(_cmd(straight, small_files[0], steps), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0, third.stderr[-3000:]
    a = np.load(os.path.join(workdir, "adapter", "adapter.npz"))
    b = np.load(os.path.join(straight, "adapter", "adapter.npz"))
    for k in a.files:
        if k != "__metadata__":
            np.testing.assert_allclose(a[k], b[k], **tolerances.TRAJECTORY)


def test_every_config_field_can_be_overridden_and_unknown_keys_are_named(tmp_path):
    bad = subprocess.run(
        [sys.executable, "-m", "trainer.main", "--config=configs/tiny_gpt2_lora.py", f"--workdir={tmp_path}", "--config.lora.rnk=4"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert bad.returncode == 2
    assert "--config.lora.rnk" in bad.stderr and "'rnk'" in bad.stderr and "rank" in bad.stderr
    base = config_lib.base_config()
    assert set(base) >= {"model", "lora", "data", "train", "stages"}


def test_trainer_refuses_data_that_still_holds_identifiers(tmp_path):
    from trainer.deid.gate import PhiGateError

    rows = [
        {"id": f"r{i}", "patient_key": f"k{i}", "task": "appointment_reminder", "facts": {"language": "en"},
         "response": f"Hi Margaret Okafor, your MRN 448{i}2913 visit is on 3/14/2026. Call 503-555-22{i}4 or email m.okafor{i}@gmail.com."}
        for i in range(6)
    ]
    path = str(tmp_path / "phi.jsonl")
    write_jsonl(path, rows)
    cfg = _load_config("tiny_gpt2_lora.py")
    cfg.data.train_file = path
    cfg.train.phi_gate.allow_synthetic = False
    with pytest.raises(PhiGateError) as e:
        sft.run(cfg, str(tmp_path / "run"))
    assert "r0" in str(e.value) and "REFUSED" in str(e.value)
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def test_bf16_mixed_precision_trains_with_float32_adapters(tmp_path, small_files):
    cfg = _load_config("tiny_gemma_lora.py")
    cfg.data.train_file, cfg.data.val_file = small_files
    cfg.train.update(steps=4, batch_size=2, mixed_precision="bf16", log_every=2, eval_every=4, checkpoint_every=4, xla="off")
    summary = sft.run(cfg, str(tmp_path))
    rows = _metrics(str(tmp_path))
    assert summary["step"] == 4 and all(np.isfinite(r["loss"]) for r in rows)
    assert rows[-1]["loss"] < rows[0]["loss"]  # it trains
    a = np.load(tmp_path / "adapter" / "adapter.npz")
    assert all(a[k].dtype == np.float32 for k in a.files if k != "__metadata__")


_MIRRORED_RUN = """
import sys, trainer, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import importlib.util
from trainer.train import sft
spec = importlib.util.spec_from_file_location("c", "configs/tiny_gemma_lora.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
cfg = m.get_config()
cfg.train.phi_gate.allow_synthetic = True  # a copy of the shipped synthetic sample
cfg.data.train_file, cfg.data.val_file, workdir, devices = sys.argv[1:5]
cfg.lora.dropout = 0.0
cfg.data.update(packing=False, seq_len=320)
cfg.train.update(steps=3, batch_size=4, log_every=1, eval_every=3, checkpoint_every=3, xla="off", devices=devices)
sft.run(cfg, workdir)
"""


def test_mirrored_strategy_on_two_devices_matches_one_device(tmp_path, small_files):
    """Two replicas each take half of every global batch; the update equals one device's."""
    runs = {}
    for devices in ("mirrored", "one"):
        workdir = str(tmp_path / devices)
        out = subprocess.run([sys.executable, "-c", _MIRRORED_RUN, *small_files, workdir, devices],
                             cwd=REPO, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        runs[devices] = (np.load(os.path.join(workdir, "adapter", "adapter.npz")), _metrics(workdir))
    (a, ma), (b, mb) = runs["mirrored"], runs["one"]
    for k in a.files:
        if k != "__metadata__":
            np.testing.assert_allclose(a[k], b[k], **tolerances.TRAJECTORY)
    np.testing.assert_allclose([r["loss"] for r in ma], [r["loss"] for r in mb], **tolerances.TRAJECTORY)
    np.testing.assert_allclose(ma[-1]["val_loss"], mb[-1]["val_loss"], **tolerances.TRAJECTORY)


def test_xla_auto_rule_and_invalid_setting():
    assert sft.xla_enabled("auto", bf16=False) is True
    # On CPU, TF's oneDNN bf16 kernels beat XLA's; on an accelerator XLA stays on.
    assert sft.xla_enabled("auto", bf16=True) is sft.has_accelerator()
    assert sft.xla_enabled("on", bf16=True) is True and sft.xla_enabled("off") is False
    with pytest.raises(ValueError, match="train.xla"):
        sft.xla_enabled("fast")


def test_damaged_last_metrics_line_is_dropped_on_resume(tmp_path, caplog):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 2, "loss": 1.0}\n{"step": 4, "loss": 0.9}\n{"step": 6, "lo')
    with caplog.at_level("WARNING"):
        sft._truncate_metrics(str(path), 4)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [2, 4]
    assert "metrics.jsonl:3: damaged line dropped" in caplog.text



def test_configs_do_not_wave_arbitrary_files_through_the_phi_gate():
    import importlib.util

    for name in ("tiny_gpt2_lora.py", "tiny_gemma_lora.py", "gemma3_270m_lora.py"):
        spec = importlib.util.spec_from_file_location("c", os.path.join(REPO, "configs", name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        assert mod.get_config().train.phi_gate.allow_synthetic is False, name
