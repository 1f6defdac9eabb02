"""Grid sweeps: every point trains once, the best by validation loss is promoted, reruns skip."""
import json
import os

import numpy as np
import pytest

from trainer import config_lib
from trainer.data.records import read_clean_examples, write_jsonl
from trainer.models import backbones, lora
from trainer.train import sweep
from trainer.data.files import SAMPLE_TRAIN


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("sweepdata")
    exs = read_clean_examples(SAMPLE_TRAIN)
    write_jsonl(str(d / "train.jsonl"), (e.to_json() for e in exs[:12]))
    write_jsonl(str(d / "val.jsonl"), (e.to_json() for e in exs[12:18]))
    return str(d / "train.jsonl"), str(d / "val.jsonl")


def _config(files, axes):
    cfg = config_lib.tiny_config("tiny_gpt2", ("query", "value"))
    cfg.train.phi_gate.allow_synthetic = True  # copies of the shipped synthetic sample
    cfg.data.train_file, cfg.data.val_file = files
    cfg.train.update(steps=3, batch_size=2, log_every=1, eval_every=0, checkpoint_every=3, xla="off")
    cfg.sweep.axes = axes
    return cfg


def test_axes_are_typed_like_their_fields_and_bad_ones_are_named():
    cfg = config_lib.tiny_config("tiny_gpt2", ("query",))
    cfg.sweep.axes = "lora.rank=2, 4 ; train.learning_rate=1e-3,3e-3;data.packing=false"
    points = sweep.grid(cfg)
    assert len(points) == 2 * 2 * 1
    assert points[0][1] == {"lora.rank": 2, "train.learning_rate": 1e-3, "data.packing": False}
    assert isinstance(points[0][1]["lora.rank"], int) and points[0][0].startswith("000-rank2_")
    for axes, message in [("lora.rnk=2", "'lora.rnk' is not a config field"), ("lora.rank=two", "not a int"),
                          ("lora.targets=query", "only int, float"), ("", "empty"), ("lora.rank", "field=v1"),
                          ("lora.rank=2;lora.rank=4", "twice")]:
        cfg.sweep.axes = axes
        with pytest.raises(ValueError, match=message):
            sweep.grid(cfg)


def test_sweep_trains_each_point_promotes_the_best_and_skips_finished_trials(tmp_path, files):
    cfg = _config(files, "lora.rank=2,4;train.learning_rate=1e-4,1e-2")
    best = sweep.run(cfg, str(tmp_path))
    rows = [json.loads(l) for l in open(tmp_path / "sweep" / "results.jsonl")]
    assert [r["point"] for r in rows] == [{"lora.rank": r, "train.learning_rate": lr} for r in (2, 4) for lr in (1e-4, 1e-2)]
    losses = [r["best_val_loss"] for r in rows]
    assert all(np.isfinite(losses)) and len(set(losses)) == 4
    assert best["best_val_loss"] == min(losses) and best["trial"] == rows[int(np.argmin(losses))]["trial"]
    # Each trial is a real run with its own rank.
    for r in rows:
        meta = lora.read_adapter_metadata(r["adapter"])
        assert meta["lora"]["rank"] == r["point"]["lora.rank"] and meta["step"] == 3
    promoted = tmp_path / "adapter" / "adapter.npz"
    assert promoted.read_bytes() == open(best["adapter"], "rb").read()
    table = (tmp_path / "sweep" / "summary.md").read_text()
    assert table.splitlines()[2].startswith(f"| {best['trial']} |")  # best first

    # The promoted adapter loads under a config that names another rank.
    cfg.lora.rank = 8
    bundle = backbones.build_backbone(cfg.model)
    used = lora.attach_adapter(bundle.backbone, str(promoted), cfg.lora)
    assert used["rank"] == best["point"]["lora.rank"]

    mtimes = {r["trial"]: os.path.getmtime(r["adapter"]) for r in rows}
    again = sweep.run(_config(files, "lora.rank=2,4;train.learning_rate=1e-4,1e-2"), str(tmp_path))
    assert again["trial"] == best["trial"]
    assert {r["trial"]: os.path.getmtime(r["adapter"]) for r in rows} == mtimes  # nothing retrained


def test_sweep_without_validation_data_says_so(tmp_path, files):
    cfg = _config((files[0], ""), "lora.rank=2")
    cfg.data.val_fraction = 0.0
    with pytest.raises(ValueError, match="needs validation data"):
        sweep.run(cfg, str(tmp_path))


# --- parallel sweeps, shared workdirs, early stopping -------------------------------------------

_OTHER_MACHINE = """
import sys
import trainer
from absl import logging
logging.set_verbosity(logging.INFO)
from tests.train.test_sweep import _config
from trainer.train import sweep
cfg = _config((sys.argv[1], sys.argv[2]), sys.argv[3])
cfg.train.threads = 1
cfg.sweep.update(early_stop="off", poll_seconds=0.5)
print("BEST", sweep.run(cfg, sys.argv[4])["trial"], flush=True)
"""


@pytest.mark.slow  # three trial processes at once
def test_parallel_trial_processes_and_a_second_sweep_on_the_shared_workdir(tmp_path, files):
    """Sweep A (another process, standing in for another machine) claims the first trial; sweep B
    here runs the other two at once as separate processes of one thread each, then waits for A's."""
    import subprocess
    import sys
    import time

    axes = "lora.rank=2,4,8"
    names = [name for name, _ in sweep.grid(_config(files, axes))]
    workdir = str(tmp_path)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    other = subprocess.Popen([sys.executable, "-c", _OTHER_MACHINE, *files, axes, workdir], cwd=repo,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    try:
        claim = tmp_path / "sweep" / ".claims" / names[0] / ".lock"
        deadline = time.time() + 120
        while not claim.exists() and other.poll() is None and time.time() < deadline:
            time.sleep(0.1)
        assert claim.exists(), other.stdout.read()[-3000:] if other.poll() is not None else "no claim"

        cfg = _config(files, axes)
        cfg.sweep.update(parallel=2, threads_per_trial=1, early_stop="off", poll_seconds=0.5)
        best = sweep.run(cfg, workdir)
        out = other.communicate(timeout=300)[0]
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    assert other.returncode == 0, out[-3000:]
    assert f"BEST {best['trial']}" in out  # both sweeps agree

    rows = {r["trial"]: r for r in map(json.loads, open(tmp_path / "sweep" / "results.jsonl"))}
    assert list(rows) == names and all(r["step"] == 3 and np.isfinite(r["best_val_loss"]) for r in rows.values())
    assert rows[names[0]]["pid"] == other.pid  # trained once, by the other sweep
    mine = [rows[n] for n in names[1:]]
    assert {r["pid"] for r in mine}.isdisjoint({os.getpid(), other.pid}) and mine[0]["pid"] != mine[1]["pid"]
    assert all(r["device"] == "CPU x1 threads" for r in mine)
    assert max(r["started"] for r in mine) < min(r["ended"] for r in mine)  # they ran at the same time
    for name in names:
        log = (tmp_path / "sweep" / name / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(line)["step"] for line in log] == [1, 2, 3]  # each trained exactly once

    summary = (tmp_path / "sweep" / "summary.md").read_text()
    assert "![validation loss per trial](val_loss.png)" in summary
    assert (tmp_path / "sweep" / "val_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _write_curve(directory, points):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "metrics.jsonl"), "w") as f:
        for step, val in points:
            f.write(json.dumps({"step": step, "loss": 1.0, **({"val_loss": val} if val is not None else {})}) + "\n")


def test_median_rule_stops_a_trial_that_trails_the_median_by_the_margin(tmp_path):
    names = ["a", "b", "c", "d"]
    _write_curve(tmp_path / "a", [(10, 2.0), (20, 1.5)])
    _write_curve(tmp_path / "b", [(10, 2.2), (20, 1.9), (30, 1.7)])
    _write_curve(tmp_path / "c", [(10, 1.8), (15, None)])  # has not evaluated at 20 yet
    (tmp_path / "c" / "metrics.jsonl").open("a").write('{"step": 20, "val_lo')  # a line being written
    rule = sweep.MedianStop(str(tmp_path), "d", names, margin=0.1, min_trials=2)
    # At step 10 the field is a, b, c: median 2.0; 2.15 is within 10%, 2.3 is not.
    assert rule(10, 2.15, None) is None
    reason = rule(10, 2.3, None)
    assert reason and "median 2.0000 of 3 other trials" in reason
    # The trial's best so far counts, not its latest value.
    assert rule(10, 2.3, 2.1) is None
    # At step 20 only a and b have evaluated: median 1.7; at 30 only b: too few to judge.
    assert rule(20, 1.9, None) is not None and rule(20, 1.85, None) is None
    assert rule(30, 9.0, None) is None
    assert sweep.MedianStop(str(tmp_path), "d", names, 0.1, min_trials=1)(30, 9.0, None)


def test_sweep_stops_a_trailing_trial_early_and_keeps_the_others(tmp_path, files):
    """Trials in order: a learning trial, then one with learning rate 0 that cannot improve."""
    cfg = _config(files, "train.learning_rate=3e-2,0.0")
    cfg.train.update(steps=4, eval_every=2, checkpoint_every=2, warmup_steps=1)
    cfg.sweep.update(early_stop="median", early_stop_margin=0.0, early_stop_min_trials=1)
    best = sweep.run(cfg, str(tmp_path))
    rows = [json.loads(l) for l in open(tmp_path / "sweep" / "results.jsonl")]
    assert rows[0]["step"] == 4 and not rows[0]["stopped_early"]
    assert rows[1]["stopped_early"] and rows[1]["step"] == 2 and "median rule" in rows[1]["stop_reason"]
    assert best["trial"] == rows[0]["trial"]
    assert "yes" in (tmp_path / "sweep" / "summary.md").read_text()
    # A rerun counts the stopped trial as finished.
    mtime = os.path.getmtime(rows[1]["adapter"])
    sweep.run(cfg, str(tmp_path))
    assert os.path.getmtime(rows[1]["adapter"]) == mtime


def test_slots_one_trial_per_gpu_or_a_thread_budget_per_cpu_trial():
    gpu = sweep.slots(0, gpus=["0", "1"])
    assert [s["env"]["CUDA_VISIBLE_DEVICES"] for s in gpu] == ["0", "1"]
    assert len(sweep.slots(4, gpus=["3", "5"])) == 2  # never two trials on one GPU
    assert [s["env"]["CUDA_VISIBLE_DEVICES"] for s in sweep.slots(1, gpus=["3", "5"])] == ["3"]
    cpu = sweep.slots(3, 0, gpus=[], cores=8)
    assert len(cpu) == 3 and {s["threads"] for s in cpu} == {2} and cpu[0]["env"]["OMP_NUM_THREADS"] == "2"
    assert {s["threads"] for s in sweep.slots(2, 1, gpus=[], cores=8)} == {1}
