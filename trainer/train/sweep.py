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

Outputs: DIR/sweep/results.jsonl (one line per trial, in grid order), DIR/sweep/summary.md (the
table, best first) and DIR/sweep/best.json.
"""
from __future__ import annotations

import copy
import gc
import itertools
import json
import math
import os
import re
import shutil
from typing import Any

import ml_collections
from absl import logging

from trainer.data import files as data_files
from trainer.util import files
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


def _summary_table(results: list[dict[str, Any]], keys: list[str], metric: str) -> str:
    ranked = sorted(results, key=lambda r: (r[metric] is None, r[metric] if r[metric] is not None else 0.0))
    head = ["trial", *keys, metric, "steps", "early stop"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in ranked:
        value = "n/a" if r[metric] is None else f"{r[metric]:.4f}"
        cells = [r["trial"], *(str(r["point"][k]) for k in keys), value, str(r["step"]), "yes" if r["stopped_early"] else ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run(cfg: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    """Trains every grid point (skipping finished ones); returns best.json's dict."""
    points = grid(cfg)
    keys = list(points[0][1])
    metric = cfg.sweep.metric
    sweep_dir = os.path.join(workdir, "sweep")
    os.makedirs(sweep_dir, exist_ok=True)
    logging.info("sweep: %d trials over %s in %s", len(points), ", ".join(keys), sweep_dir)
    results = []
    for n, (name, point) in enumerate(points, 1):
        trial_dir = os.path.join(sweep_dir, name)
        trial = trial_config(cfg, point, workdir)
        summary = _finished(trial_dir, trial.train.steps)
        if summary is None:
            logging.info("sweep trial %d/%d %s: %s", n, len(points), name, point)
            summary = sft.run(trial, trial_dir)
            gc.collect()  # the trial's backbone and compiled steps go before the next one loads
            if summary.get("interrupted"):  # train.stop_after_steps: leave the rest for a rerun
                logging.info("sweep stopped inside trial %s; rerun to resume", name)
                return {"interrupted": True, "trial": name}
        else:
            logging.info("sweep trial %d/%d %s: finished earlier, skipped", n, len(points), name)
        value = summary.get(metric)
        if value is not None and not isinstance(value, (int, float)):
            raise ValueError(f"sweep.metric {metric!r} is not a number in {trial_dir}/train_summary.json")
        if value is not None and not math.isfinite(value):
            value = None  # a diverged trial ranks last
        results.append({"trial": name, "point": point, metric: value, "step": summary["step"],
                        "stopped_early": bool(summary.get("stopped_early")), "adapter": os.path.join(trial_dir, "adapter", "adapter.npz")})
        files.write_text(os.path.join(sweep_dir, "results.jsonl"), "".join(json.dumps(r) + "\n" for r in results))

    scored = [r for r in results if r[metric] is not None]
    if not scored:
        raise ValueError(f"no trial reported {metric!r}: the sweep needs validation data (data.val_file or data.val_fraction > 0)")
    best = min(scored, key=lambda r: r[metric])
    files.write_text(os.path.join(sweep_dir, "summary.md"), _summary_table(results, keys, metric))
    files.write_text(os.path.join(sweep_dir, "best.json"), json.dumps(best, indent=2))
    if cfg.sweep.promote_best:
        with open(best["adapter"], "rb") as src, files.atomic_open(os.path.join(workdir, "adapter", "adapter.npz"), "wb") as dst:
            shutil.copyfileobj(src, dst)
    logging.info("sweep best: %s (%s %.4f)%s", best["trial"], metric, best[metric],
                 f"; adapter copied to {workdir}/adapter" if cfg.sweep.promote_best else "")
    return best
