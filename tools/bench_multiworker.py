"""Multi-worker drill timing: two CPU workers on 127.0.0.1 against one process, same steps, same
global batch, the tiny GPT-2 config (tests/train/test_multiworker.py checks they agree).

    python tools/bench_multiworker.py [--steps 20] [--threads 1] [--batch 4]

Prints, per setup: wall time of the whole command (start to exit: imports, collectives setup,
data, model, compile, steps, eval, writes), wall time of sft.run, and the steady-state seconds per
step (median over the steps after the first). On one CPU host the two workers only add gRPC
collectives and a second process: expect overhead, not speed-up.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from trainer.train import distribute  # noqa: E402

_RUN = """
import sys, time
import trainer
import importlib.util
from absl import logging
logging.set_verbosity(logging.INFO)
logging.get_absl_handler().use_absl_log_file = False
from trainer.train import sft
spec = importlib.util.spec_from_file_location("c", "configs/tiny_gpt2_lora.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
cfg = m.get_config()
cfg.train.phi_gate.allow_synthetic = True  # the shipped synthetic sample
workdir, devices, steps, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
cfg.lora.dropout = 0.0
cfg.train.update(steps=steps, batch_size=batch, log_every=1, eval_every=0, checkpoint_every=steps, xla="off",
                 devices=devices, cluster="tf_config", threads=threads)
t0 = time.perf_counter()
sft.run(cfg, workdir)
print("SFT_RUN_S", time.perf_counter() - t0, flush=True)
"""


def _launch(workdir: str, devices: str, args, tf_config: str | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if tf_config:
        env["TF_CONFIG"] = tf_config
    return subprocess.Popen([sys.executable, "-c", _RUN, workdir, devices, str(args.steps), str(args.threads), str(args.batch)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _report(name: str, workdir: str, wall: float, outs: list[str]) -> dict:
    run_s = [float(line.split()[1]) for out in outs for line in out.splitlines() if line.startswith("SFT_RUN_S")]
    if not run_s:
        raise SystemExit(f"{name} failed:\n" + "\n".join(o[-3000:] for o in outs))
    with open(os.path.join(workdir, "metrics.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    with open(os.path.join(workdir, "train_summary.json")) as f:
        summary = json.load(f)
    tokens_per_step = summary["tokens_seen"] / max(summary["step"], 1)
    step_s = statistics.median(tokens_per_step / r["tokens_per_s"] for r in rows[1:])
    return {"setup": name, "command_wall_s": round(wall, 1), "sft_run_s": round(max(run_s), 1),
            "steady_s_per_step": round(step_s, 3), "final_loss": round(rows[-1]["loss"], 5)}


def _keep(args, name: str, text: str) -> None:
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
        with open(os.path.join(args.log_dir, name), "w", encoding="utf-8") as f:
            f.write(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1, help="intra/inter-op threads per process")
    parser.add_argument("--batch", type=int, default=4, help="global batch (rows)")
    parser.add_argument("--log_dir", default="", help="keep each process's log here")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        one = os.path.join(tmp, "one")
        t0 = time.perf_counter()
        p = _launch(one, "one", args)
        out = p.communicate()[0]
        results.append(_report("1 process", one, time.perf_counter() - t0, [out]))
        _keep(args, "one.log", out)

        two = os.path.join(tmp, "two")
        hosts = distribute.local_worker_hosts(2)
        t0 = time.perf_counter()
        procs = [_launch(two, "multiworker", args, json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}}))
                 for i in range(2)]
        outs = [q.communicate()[0] for q in procs]
        results.append(_report("2 workers (127.0.0.1, gRPC RING)", two, time.perf_counter() - t0, outs))
        for i, out in enumerate(outs):
            _keep(args, f"worker{i}.log", out)
    load = os.getloadavg()[0]
    print(f"tiny_gpt2_lora, {args.steps} steps, global batch {args.batch}, {args.threads} thread(s) per process; "
          f"{os.cpu_count()} cores, load average {load:.1f}")
    for r in results:
        print(json.dumps(r))
    print(f"2 workers / 1 process: sft.run {results[1]['sft_run_s'] / results[0]['sft_run_s']:.2f}x, "
          f"steady step {results[1]['steady_s_per_step'] / results[0]['steady_s_per_step']:.2f}x")


if __name__ == "__main__":
    main()
