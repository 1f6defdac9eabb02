"""A grid sweep over any config fields (LoRA rank, learning rate, ...), one SFT run per point.

    python -m trainer.main --config=configs/gemma3_270m_lora.py --workdir=runs/sweep --mode=sweep \
        --config.sweep.axes="lora.rank=4,8,16;train.learning_rate=2e-4,5e-4"

`sweep.axes` is `field=v1,v2,...` per axis, axes separated by `;`; the grid is their product.
Every trial is a full SFT run in DIR/sweep/<trial>/ (its own checkpoints, metrics, adapter), on
the data the parent workdir resolves to, so one prepared `DIR/data/` serves every trial. Trials
are compared by `sweep.metric` of their train_summary.json (lower is better; the validation loss
by default, so the sweep needs validation data). Rerunning the command skips finished trials and
resumes an interrupted one from its checkpoints. The best trial's adapter is copied to
DIR/adapter/, where --mode=sample, eval and export find it (they read rank, alpha and targets
from the adapter itself).

Trials run one after another in this process (sweep.parallel=1), or as separate processes,
`python -m trainer.train.sweep DIR/sweep/<trial>/trial.pkl`: one per GPU (CUDA_VISIBLE_DEVICES),
or N CPU processes of sweep.threads_per_trial threads each. The same command started on several
machines over one shared workdir splits the trials: each trial is claimed with a lock
(DIR/sweep/.claims/<trial>/.lock, trainer/util/lock.py) and every sweep waits for the trials the
others hold. Early stopping is the median rule (MedianStop): at an evaluation, a trial whose best
validation loss trails the median of the other trials at that step by more than
sweep.early_stop_margin stops there.

Outputs: DIR/sweep/results.jsonl (one line per trial, in grid order, with who ran it where and
when), DIR/sweep/summary.md (the table, best first, and the plot), DIR/sweep/val_loss.png
(validation loss against step per trial) and DIR/sweep/best.json.
"""
from __future__ import annotations

import contextlib
import copy
import gc
import itertools
import json
import math
import os
import pickle
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

import ml_collections
from absl import logging

from trainer.data import files as data_files
from trainer.util import files, lock
from trainer.train import sft


def _field(cfg: ml_collections.ConfigDict, key: str) -> Any:
    node = cfg
    for part in key.split("."):
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            raise ValueError(f"sweep.axes: {key!r} is not a config field")
        node = node[part]
    return node


def _parse_value(key: str, text: str, current: Any) -> Any:
    text = text.strip()
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
    except ValueError:
        raise ValueError(f"sweep.axes: {key}={text!r} is not a {type(current).__name__}") from None
    if isinstance(current, str):
        return text
    raise ValueError(f"sweep.axes: {key} is a {type(current).__name__} field; only int, float, bool and str fields can be swept")


def parse_axes(cfg: ml_collections.ConfigDict) -> list[tuple[str, list[Any]]]:
    """`sweep.axes` -> [(field, values)], each value typed like the field it overrides."""
    axes = []
    for chunk in (c.strip() for c in cfg.sweep.axes.split(";")):
        if not chunk:
            continue
        if "=" not in chunk:
            raise ValueError(f"sweep.axes: {chunk!r} is not field=v1,v2,...")
        key, values = (s.strip() for s in chunk.split("=", 1))
        current = _field(cfg, key)
        parsed = [_parse_value(key, v, current) for v in values.split(",") if v.strip()]
        if not parsed:
            raise ValueError(f"sweep.axes: {key} has no values")
        if key in (k for k, _ in axes):
            raise ValueError(f"sweep.axes: {key} appears twice")
        axes.append((key, parsed))
    if not axes:
        raise ValueError('sweep.axes is empty; e.g. --config.sweep.axes="lora.rank=4,8;train.learning_rate=1e-4,3e-4"')
    return axes


def _trial_name(index: int, point: dict[str, Any]) -> str:
    parts = [f"{key.split('.')[-1]}{value:g}" if isinstance(value, float) else f"{key.split('.')[-1]}{value}" for key, value in point.items()]
    return f"{index:03d}-" + re.sub(r"[^A-Za-z0-9_.+-]+", "_", "_".join(parts))


def grid(cfg: ml_collections.ConfigDict) -> list[tuple[str, dict[str, Any]]]:
    """[(trial name, {field: value})] over the product of the axes, in order."""
    axes = parse_axes(cfg)
    keys = [k for k, _ in axes]
    return [(_trial_name(i, dict(zip(keys, combo))), dict(zip(keys, combo))) for i, combo in enumerate(itertools.product(*(v for _, v in axes)))]


def trial_config(cfg: ml_collections.ConfigDict, point: dict[str, Any], workdir: str) -> ml_collections.ConfigDict:
    """`cfg` with the trial's overrides, reading the data the parent workdir resolves to."""
    trial = copy.deepcopy(cfg)
    for key, value in point.items():
        *parents, leaf = key.split(".")
        node = trial
        for part in parents:
            node = node[part]
        node[leaf] = value
    train_file, val_file = data_files.train_files(cfg, workdir)
    trial.data.train_file, trial.data.val_file = train_file, val_file
    return trial


def _finished(trial_dir: str, steps: int) -> dict[str, Any] | None:
    path = os.path.join(trial_dir, "train_summary.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        summary = json.load(f)
    return summary if summary.get("step", 0) >= steps or summary.get("stopped_early") else None


# --- early stopping: the median rule ------------------------------------------------------------

def _val_curve(trial_dir: str) -> list[tuple[int, float]]:
    """[(step, val_loss)] of a trial so far, from its metrics.jsonl (a partial last line skipped)."""
    path = os.path.join(trial_dir, "metrics.jsonl")
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue
                if isinstance(row, dict) and isinstance(row.get("val_loss"), (int, float)) and math.isfinite(row["val_loss"]):
                    out.append((int(row["step"]), float(row["val_loss"])))
    except OSError:
        pass
    return out


class MedianStop:
    """The median stopping rule (Golovin et al., Google Vizier, 2017) with a margin.

    At an evaluation at step s, a trial stops when its best validation loss so far is more than
    `margin` (relative) above the median of the best-so-far losses of the other trials that have
    evaluated at step s, provided at least `min_trials` of them have. The other trials are read
    from their metrics.jsonl in the shared sweep directory, so the rule works the same for trials
    in this process, in parallel processes and on other machines. Trials that reach step s later
    compare against more of the field; the first ones are never stopped (too few to compare).
    """

    def __init__(self, sweep_dir: str, name: str, names: list[str], margin: float, min_trials: int):
        self.sweep_dir, self.name, self.margin, self.min_trials = sweep_dir, name, margin, max(int(min_trials), 1)
        self.others = [n for n in names if n != name]

    def __call__(self, step: int, val_loss: float, best_val: float | None) -> str | None:
        mine = min(v for v in (val_loss, best_val) if v is not None)
        field = []
        for other in self.others:
            curve = _val_curve(os.path.join(self.sweep_dir, other))
            if any(s == step for s, _ in curve):
                field.append(min(v for s, v in curve if s <= step))
        if len(field) < self.min_trials:
            return None
        median = float(statistics.median(field))
        if mine > median * (1.0 + self.margin):
            return (f"median rule: best val_loss {mine:.4f} at step {step} is more than {self.margin:.0%} above the "
                    f"median {median:.4f} of {len(field)} other trials")
        return None


def _stop_rule(cfg: ml_collections.ConfigDict, sweep_dir: str, name: str, names: list[str]) -> MedianStop | None:
    mode = str(cfg.sweep.early_stop).lower()
    if mode in ("off", "none", ""):
        return None
    if mode != "median":
        raise ValueError(f"sweep.early_stop must be median or off, got {cfg.sweep.early_stop!r}")
    return MedianStop(sweep_dir, name, names, cfg.sweep.early_stop_margin, cfg.sweep.early_stop_min_trials)


# --- where trials run: slots of this machine -------------------------------------------------

def slots(parallel: int, threads_per_trial: int = 0, gpus: list[str] | None = None,
          cores: int | None = None) -> list[dict[str, Any]]:
    """One dict per concurrent trial process: its environment and CPU thread budget.

    With GPUs, one trial per GPU (CUDA_VISIBLE_DEVICES), never more trials than GPUs; without,
    `parallel` CPU processes of `threads_per_trial` threads (default: the cores shared out).
    """
    cores = cores or os.cpu_count() or 1
    if gpus is None:
        gpus = _visible_gpus()
    if gpus:
        n = len(gpus) if parallel <= 0 else min(parallel, len(gpus))
        if parallel > len(gpus):
            logging.warning("sweep.parallel=%d but %d GPU(s): running %d trials at once, one per GPU", parallel, len(gpus), n)
        return [{"env": {"CUDA_VISIBLE_DEVICES": gpus[i]}, "threads": threads_per_trial, "device": f"GPU {gpus[i]}"} for i in range(n)]
    n = max(parallel, 1)
    threads = threads_per_trial or max(cores // n, 1)
    return [{"env": {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads)}, "threads": threads,
             "device": f"CPU x{threads} threads"} for _ in range(n)]


def _visible_gpus() -> list[str]:
    import tensorflow as tf  # listing physical devices neither starts the runtime nor takes GPU memory

    count = len(tf.config.list_physical_devices("GPU"))
    visible = [g for g in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if g.strip()]
    return visible[:count] if len(visible) >= count else [str(i) for i in range(count)]


# --- running one trial -------------------------------------------------------------------------

def _trial_main(argv: list[str]) -> int:
    """Entry of a trial process: `python -m trainer.train.sweep <trial.pkl>`."""
    with open(argv[0], "rb") as f:
        job = pickle.load(f)
    logging.set_verbosity(logging.INFO)
    rule = _stop_rule(job["cfg"], job["sweep_dir"], job["name"], job["names"])
    summary = sft.run(job["cfg"], job["trial_dir"], stop_check=rule)
    return 3 if summary.get("interrupted") else 0


def _record_run(trial_dir: str, **fields: Any) -> None:
    files.write_json(os.path.join(trial_dir, "trial_run.json"), {"host": socket.gethostname(), **fields}, indent=2)


def _read_run(trial_dir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(trial_dir, "trial_run.json"), encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class _Running:
    def __init__(self, name: str, proc: subprocess.Popen, claim: contextlib.ExitStack, slot: dict, log, started: float):
        self.name, self.proc, self.claim, self.slot, self.log, self.started = name, proc, claim, slot, log, started


def _claim(sweep_dir: str, name: str) -> contextlib.ExitStack | None:
    """Holds the trial's claim (sweep/.claims/<trial>/.lock), or None if another process holds it."""
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(lock.workdir_lock(os.path.join(sweep_dir, ".claims", name), "sweep trial"))
    except lock.LockedError as e:
        logging.info("sweep trial %s is being run elsewhere: %s", name, e)
        return None
    return stack


# --- the sweep ---------------------------------------------------------------------------------

def run(cfg: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Trains every grid point (skipping finished ones); returns best.json's dict.

    Trials run one after another in this process (sweep.parallel=1) or as separate processes,
    one per GPU or several CPU processes with a thread budget each. Several sweeps started on
    the same (shared) workdir, on one machine or many, split the trials between them through
    a claim lock per trial; each then waits for the trials the others run.
    """
    if cfg.train.devices == "multiworker":
        raise ValueError("a sweep's trials run on one machine each: use train.devices=auto/one/mirrored, and start "
                         "the same sweep on several machines over a shared workdir to spread the trials")
    points = grid(cfg)
    keys = list(points[0][1])
    names = [name for name, _ in points]
    metric = cfg.sweep.metric
    sweep_dir = os.path.join(workdir, "sweep")
    os.makedirs(sweep_dir, exist_ok=True)
    configs = {name: trial_config(cfg, point, workdir) for name, point in points}
    parallel = int(cfg.sweep.parallel)
    pool = slots(parallel, int(cfg.sweep.threads_per_trial)) if parallel != 1 else []
    logging.info("sweep: %d trials over %s in %s; %s", len(points), ", ".join(keys), sweep_dir,
                 f"{len(pool)} at once ({pool[0]['device']} each)" if pool else "one at a time in this process")
    summaries: dict[str, dict[str, Any]] = {}
    running: list[_Running] = []
    free = list(pool)
    interrupted = None

    def collect_finished() -> None:
        for name in names:
            if name not in summaries:
                done = _finished(os.path.join(sweep_dir, name), configs[name].train.steps)
                if done is not None:
                    summaries[name] = done

    def reap() -> None:
        nonlocal interrupted
        for r in list(running):
            code = r.proc.poll()
            if code is None:
                continue
            running.remove(r)
            r.log.close()
            trial_dir = os.path.join(sweep_dir, r.name)
            _record_run(trial_dir, pid=r.proc.pid, device=r.slot["device"], started=r.started, ended=time.time())
            r.claim.close()
            free.append(r.slot)
            if code == 3:
                interrupted = r.name
            elif code != 0:
                raise RuntimeError(f"sweep trial {r.name} failed (exit {code}); see {trial_dir}/trial.log")
            logging.info("sweep trial %s done (%s)", r.name, r.slot["device"])

    try:
        while True:
            collect_finished()
            todo = [n for n in names if n not in summaries and n not in {r.name for r in running}]
            if interrupted is not None:
                todo = []
            started_one = False
            for name in todo:
                if pool and not free:
                    break
                claim = _claim(sweep_dir, name)
                if claim is None:
                    continue
                trial_dir = os.path.join(sweep_dir, name)
                if _finished(trial_dir, configs[name].train.steps) is not None:  # finished while we looked
                    claim.close()
                    continue
                n = names.index(name) + 1
                logging.info("sweep trial %d/%d %s: %s", n, len(names), name, dict(points[n - 1][1]))
                rule = _stop_rule(cfg, sweep_dir, name, names)
                if not pool:
                    started = time.time()
                    try:
                        summary = sft.run(configs[name], trial_dir, stop_check=rule)
                        _record_run(trial_dir, pid=os.getpid(), device="this process", started=started, ended=time.time())
                    finally:
                        claim.close()
                    gc.collect()  # the trial's backbone and compiled steps go before the next one loads
                    if summary.get("interrupted"):  # train.stop_after_steps: leave the rest for a rerun
                        interrupted = name
                        break
                    summaries[name] = summary
                else:
                    slot = free.pop(0)
                    trial = copy.deepcopy(configs[name])
                    trial.train.threads = int(slot["threads"])
                    os.makedirs(trial_dir, exist_ok=True)
                    job = os.path.join(trial_dir, "trial.pkl")
                    with files.atomic_open(job, "wb") as f:
                        pickle.dump({"cfg": trial, "trial_dir": trial_dir, "sweep_dir": sweep_dir, "name": name,
                                     "names": names}, f)
                    log = open(os.path.join(trial_dir, "trial.log"), "a", encoding="utf-8")
                    env = {**os.environ, **slot["env"], "PYTHONUNBUFFERED": "1"}
                    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
                    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH", "")) if p)
                    proc = subprocess.Popen([sys.executable, "-m", "trainer.train.sweep", job], env=env,
                                            stdout=log, stderr=subprocess.STDOUT)
                    running.append(_Running(name, proc, claim, slot, log, time.time()))
                    logging.info("sweep trial %s: pid %d on %s", name, proc.pid, slot["device"])
                started_one = True
            if interrupted is not None and not running:
                logging.info("sweep stopped inside trial %s; rerun to resume", interrupted)
                return {"interrupted": True, "trial": interrupted}
            if running:
                _wait_any(running, reap)
                continue
            collect_finished()
            if all(n in summaries for n in names):
                break
            if not started_one:
                # The rest are being trained by other processes or machines on this workdir.
                waiting = [n for n in names if n not in summaries]
                logging.info("sweep: waiting for %d trial(s) run elsewhere: %s", len(waiting), ", ".join(waiting))
                time.sleep(float(cfg.sweep.poll_seconds))
    finally:
        for r in running:  # an error in one trial: stop the others (they resume on a rerun)
            r.proc.kill()
            r.proc.wait()
            r.log.close()
            r.claim.close()

    results = []
    for name, point in points:
        summary = summaries[name]
        trial_dir = os.path.join(sweep_dir, name)
        value = summary.get(metric)
        if value is not None and not isinstance(value, (int, float)):
            raise ValueError(f"sweep.metric {metric!r} is not a number in {trial_dir}/train_summary.json")
        if value is not None and not math.isfinite(value):
            value = None  # a diverged trial ranks last
        ran = _read_run(trial_dir)
        results.append({"trial": name, "point": point, metric: value, "step": summary["step"],
                        "stopped_early": bool(summary.get("stopped_early")), "stop_reason": summary.get("stop_reason"),
                        "adapter": os.path.join(trial_dir, "adapter", "adapter.npz"),
                        **{k: ran.get(k) for k in ("host", "pid", "device", "started", "ended")}})
    files.write_text(os.path.join(sweep_dir, "results.jsonl"), "".join(json.dumps(r) + "\n" for r in results))

    scored = [r for r in results if r[metric] is not None]
    if not scored:
        raise ValueError(f"no trial reported {metric!r}: the sweep needs validation data (data.val_file or data.val_fraction > 0)")
    best = min(scored, key=lambda r: r[metric])
    plot = plot_val_loss(sweep_dir, names, best["trial"])
    files.write_text(os.path.join(sweep_dir, "summary.md"), _summary_table(results, keys, metric, plot, cfg))
    files.write_text(os.path.join(sweep_dir, "best.json"), json.dumps(best, indent=2))
    if cfg.sweep.promote_best:
        with open(best["adapter"], "rb") as src, files.atomic_open(os.path.join(workdir, "adapter", "adapter.npz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    logging.info("sweep best: %s (%s %.4f)%s", best["trial"], metric, best[metric],
                 f"; adapter copied to {workdir}/adapter" if cfg.sweep.promote_best else "")
    return best


def _wait_any(running: list[_Running], reap) -> None:
    """Blocks until at least one running trial process ends, then reaps every ended one."""
    while all(r.proc.poll() is None for r in running):
        time.sleep(0.2)
    reap()


def _summary_table(results: list[dict[str, Any]], keys: list[str], metric: str, plot: str | None,
                   cfg: ml_collections.ConfigDict) -> str:
    ranked = sorted(results, key=lambda r: (r[metric] is None, r[metric] if r[metric] is not None else 0.0))
    head = ["trial", *keys, metric, "steps", "early stop"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in ranked:
        value = "n/a" if r[metric] is None else f"{r[metric]:.4f}"
        cells = [r["trial"], *(str(r["point"][k]) for k in keys), value, str(r["step"]), "yes" if r["stopped_early"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    if str(cfg.sweep.early_stop).lower() == "median":
        text += (f"\nEarly stopping: median rule; a trial stops at an evaluation when its best validation loss is more "
                 f"than {cfg.sweep.early_stop_margin:.0%} above the median of at least {cfg.sweep.early_stop_min_trials} "
                 "other trials at that step.\n")
    if plot:
        text += f"\n![validation loss per trial]({plot})\n"
    return text


def plot_val_loss(sweep_dir: str, names: list[str], best: str | None = None) -> str | None:
    """sweep/val_loss.png: validation loss against step, one line per trial; its name, or None."""
    curves = {name: _val_curve(os.path.join(sweep_dir, name)) for name in names}
    if not any(curves.values()):
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for name, curve in curves.items():
        if curve:
            steps, losses = zip(*curve)
            ax.plot(steps, losses, marker="o", linewidth=2.5 if name == best else 1.2, label=name + (" (best)" if name == best else ""))
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.set_title("Validation loss per trial")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = os.path.join(sweep_dir, "val_loss.png")
    with files.atomic_open(path, "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return "val_loss.png"


if __name__ == "__main__":  # `python -m` imports the trainer package first (TF_USE_LEGACY_KERAS)
    sys.exit(_trial_main(sys.argv[1:]))
