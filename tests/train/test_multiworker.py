"""Multi-worker drill: two CPU worker processes on 127.0.0.1 train like one process on the same
global batch, only the chief writes the workdir, and a job whose worker is killed resumes.

Also the cluster resolvers: a hand-written TF_CONFIG, a Slurm job step and a Kubeflow TFJob
(GKE) TF_CONFIG, each with its chief.
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests import tolerances
from trainer.data.records import read_clean_examples, write_jsonl
from trainer.data.files import SAMPLE_TRAIN
from trainer.train import checkpoints, distribute

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STEPS, KILL_AT = 6, 4

# One worker of the drill: the tiny GPT-2 config, a few steps, one thread. DRILL_KILL_AT makes this
# process SIGKILL itself right after it wrote the checkpoint of that step (a worker lost mid-run).
_WORKER = """
import os, signal, sys, time
import trainer
import importlib.util
from absl import logging
logging.set_verbosity(logging.INFO)
from trainer.train import checkpoints, sft
spec = importlib.util.spec_from_file_location("c", "configs/tiny_gpt2_lora.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
cfg = m.get_config()
cfg.train.phi_gate.allow_synthetic = True  # copies of the shipped synthetic sample
cfg.data.train_file, cfg.data.val_file, workdir, devices = sys.argv[1:5]
kill_at = int(os.environ.get("DRILL_KILL_AT", "0"))
if kill_at:
    save = checkpoints.save
    def save_then_die(directory, step, *args, **kwargs):
        path = save(directory, step, *args, **kwargs)
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return path
    checkpoints.save = save_then_die
cfg.lora.dropout = 0.0  # per-replica dropout masks would differ from one process's
cfg.train.update(steps=%d, batch_size=4, log_every=1, eval_every=0, checkpoint_every=2, xla="off",
                 devices=devices, cluster="tf_config", threads=1)
t0 = time.perf_counter()
sft.run(cfg, workdir)
print("WALL", time.perf_counter() - t0, flush=True)
""" % STEPS


def _metrics(workdir):
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def _adapter(workdir):
    with np.load(os.path.join(workdir, "adapter", "adapter.npz")) as a:
        return {k: a[k] for k in a.files if k != "__metadata__"}


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mwdata")
    exs = read_clean_examples(SAMPLE_TRAIN)
    write_jsonl(str(d / "train.jsonl"), (e.to_json() for e in exs[:16]))
    write_jsonl(str(d / "val.jsonl"), (e.to_json() for e in exs[16:24]))
    return str(d / "train.jsonl"), str(d / "val.jsonl")


def _start_workers(files, workdir, tmpdir, kill_at=0):
    hosts = distribute.local_worker_hosts(2)
    procs = []
    for index in range(2):
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": tmpdir, "OMP_NUM_THREADS": "1",
               "TF_CONFIG": json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}})}
        if kill_at and index == 1:
            env["DRILL_KILL_AT"] = str(kill_at)
        procs.append(subprocess.Popen([sys.executable, "-c", _WORKER, *files, workdir, "multiworker"], cwd=REPO,
                                      env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return procs


def _wait(procs, timeout):
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=timeout)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return outputs


@pytest.mark.slow  # four worker processes (two of them restarted) on 127.0.0.1
def test_two_workers_match_one_process_and_resume_after_a_worker_is_killed(tmp_path, small_files):
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    workdir = str(tmp_path / "two")

    # 1. Two workers; worker 1 dies right after step KILL_AT. The chief, stuck in the next
    #    all-reduce, is then stopped too, as a cluster manager restarting the job would.
    procs = _start_workers(small_files, workdir, str(tmpdir), kill_at=KILL_AT)
    try:
        out1, _ = procs[1].communicate(timeout=300)
        assert procs[1].returncode == -signal.SIGKILL, out1[-3000:]
        deadline = time.time() + 60
        while time.time() < deadline and not (checkpoints.latest(os.path.join(workdir, "checkpoints")) or (0,))[0] >= KILL_AT:
            assert procs[0].poll() is None, procs[0].stdout.read()[-3000:]
            time.sleep(0.1)
        assert procs[0].poll() is None, "the chief finished without its worker"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert checkpoints.latest(os.path.join(workdir, "checkpoints"))[0] == KILL_AT
    assert not os.path.exists(os.path.join(workdir, "adapter"))
    left_by_killed = set(os.listdir(tmpdir))  # a SIGKILLed worker cannot clean up after itself

    # 2. The restarted job (new ports) resumes from the chief's checkpoint and finishes.
    outs = _wait(_start_workers(small_files, workdir, str(tmpdir)), timeout=300)
    for out in outs:
        assert "WALL" in out, out[-3000:]
        assert f"at step {KILL_AT}" in out and "resumed from" in out, out[-3000:]
    assert set(os.listdir(tmpdir)) == left_by_killed, "a finished worker left its temporary directory"

    # Only the chief's files are in the workdir: one log line per step, no step twice.
    rows = _metrics(workdir)
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    with open(os.path.join(workdir, "train_summary.json")) as f:
        summary = json.load(f)
    assert summary["step"] == STEPS and summary["workers"] == 2 and summary["replicas"] == 2
    assert os.listdir(os.path.join(workdir, "tensorboard"))

    # 3. One process, the same global batch of 4 rows, in this process.
    from trainer.train import sft
    from tests.train.test_sft import _load_config

    cfg = _load_config("tiny_gpt2_lora.py")
    cfg.data.train_file, cfg.data.val_file = small_files
    cfg.lora.dropout = 0.0
    cfg.train.update(steps=STEPS, batch_size=4, log_every=1, eval_every=0, checkpoint_every=2, xla="off", devices="one")
    one = str(tmp_path / "one")
    t0 = time.perf_counter()
    one_summary = sft.run(cfg, one)
    print(f"one process: {time.perf_counter() - t0:.1f}s for {STEPS} steps")

    a, b = _adapter(workdir), _adapter(one)
    assert a.keys() == b.keys() and len(a) > 0
    for k in a:
        np.testing.assert_allclose(a[k], b[k], **tolerances.TRAJECTORY, err_msg=k)
    one_rows = _metrics(one)
    np.testing.assert_allclose([r["loss"] for r in rows], [r["loss"] for r in one_rows], **tolerances.TRAJECTORY)
    np.testing.assert_allclose(rows[-1]["val_loss"], one_rows[-1]["val_loss"], **tolerances.TRAJECTORY)
    assert summary["tokens_seen"] == one_summary["tokens_seen"]  # both workers' tokens counted
    assert rows[0]["loss"] != rows[-1]["loss"]  # it trained


# --- cluster resolvers -------------------------------------------------------------------------

def _clear_cluster_env(monkeypatch):
    for key in list(os.environ):
        if key == "TF_CONFIG" or key.startswith("SLURM_"):
            monkeypatch.delenv(key)


def test_plain_tf_config_resolves_and_worker_0_is_chief(monkeypatch):
    _clear_cluster_env(monkeypatch)
    hosts = ["10.0.0.1:2222", "10.0.0.2:2222"]
    for index in (0, 1):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": index}}))
        r = distribute.cluster_resolver("auto")
        assert r.cluster_spec().as_dict() == {"worker": hosts}
        assert (r.task_type, r.task_id, r.rpc_layer) == ("worker", index, "grpc")
        assert distribute.is_chief_task(r.cluster_spec().as_dict(), r.task_type, r.task_id) is (index == 0)


def test_kubeflow_tfjob_tf_config_on_gke_has_a_chief_task(monkeypatch):
    """What Kubeflow's training operator injects into a TFJob's pods (one chief, two workers)."""
    _clear_cluster_env(monkeypatch)
    cluster = {"chief": ["sft-chief-0.team.svc:2222"],
               "worker": ["sft-worker-0.team.svc:2222", "sft-worker-1.team.svc:2222"]}
    seen = {}
    for task_type, index in (("chief", 0), ("worker", 0), ("worker", 1)):
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index},
                                                    "environment": "cloud"}))
        r = distribute.cluster_resolver("tf_config")
        seen[(task_type, index)] = distribute.is_chief_task(r.cluster_spec().as_dict(), r.task_type, r.task_id)
    assert seen == {("chief", 0): True, ("worker", 0): False, ("worker", 1): False}


@pytest.mark.parametrize("bad, message", [
    ("{not json", "not JSON"),
    ('{"task": {"type": "worker", "index": 0}}', "no \"cluster\""),
    ('{"cluster": {"worker": ["a:1"]}}', "no \"task\""),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}', "not in its cluster"),
])
def test_broken_tf_config_is_named(monkeypatch, bad, message):
    _clear_cluster_env(monkeypatch)
    monkeypatch.setenv("TF_CONFIG", bad)
    with pytest.raises(ValueError, match=message):
        distribute.cluster_resolver("auto")


def test_slurm_job_step_resolves_one_worker_per_task(monkeypatch):
    """`srun -N2 --ntasks-per-node=2`: four tasks on node[01-02], ports from train.cluster_port."""
    _clear_cluster_env(monkeypatch)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    env = {"SLURM_STEP_NODELIST": "node[01-02]", "SLURM_STEP_TASKS_PER_NODE": "2(x2)",
           "SLURM_STEP_NUM_TASKS": "4", "SLURM_JOB_ID": "77"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    chiefs = []
    for rank in range(4):
        monkeypatch.setenv("SLURM_PROCID", str(rank))
        r = distribute.cluster_resolver("auto", port_base=23456)
        spec = r.cluster_spec().as_dict()
        assert spec == {"worker": ["node01:23456", "node01:23457", "node02:23456", "node02:23457"]}
        assert (r.task_type, r.task_id) == ("worker", rank)
        chiefs.append(distribute.is_chief_task(spec, r.task_type, r.task_id))
    assert chiefs == [True, False, False, False]


def test_multiworker_without_a_cluster_says_how_to_get_one(monkeypatch):
    _clear_cluster_env(monkeypatch)
    with pytest.raises(ValueError, match="TF_CONFIG.*srun"):
        distribute.cluster_resolver("auto")
    with pytest.raises(ValueError, match="train.cluster must be"):
        distribute.cluster_resolver("k8s")


def test_each_worker_reads_its_share_of_every_global_batch():
    """Two workers of one replica each: worker i gets rows [2i, 2i+2) of every global batch of 4,
    in training (seeded stream, resumed at a batch) and in evaluation (one pass, padded rows)."""
    import tensorflow as tf

    from trainer.data import pipeline

    arrays = {"token_ids": np.arange(10, dtype=np.int32)[:, None] * np.ones((1, 3), np.int32)}
    for kwargs in (dict(shuffle=True, start_batch=3, num_batches=5), dict(shuffle=False)):
        rows = arrays if kwargs["shuffle"] else pipeline.pad_rows(arrays, 4)
        whole = [b["token_ids"].numpy() for b in pipeline.make_dataset(rows, 4, 7, **kwargs)]
        shares = []
        for worker in range(2):
            ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=worker, num_replicas_in_sync=2)
            ds = pipeline.make_dataset(rows, 4, 7, input_context=ctx, **kwargs)
            assert ds.element_spec["token_ids"].shape == (2, 3)  # static: drop_remainder drops nothing
            shares.append([b["token_ids"].numpy() for b in ds])
        assert len(whole) == len(shares[0]) == len(shares[1]) > 0
        for k, batch in enumerate(whole):
            np.testing.assert_array_equal(np.concatenate([shares[0][k], shares[1][k]]), batch)
