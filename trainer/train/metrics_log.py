"""The metrics.jsonl + TensorBoard log that SFT and RL both keep: one JSON row per logged step.

A resumed run restarts from its last checkpoint, so rows a killed run logged after that checkpoint
are dropped (they are logged again); a run that never reached a checkpoint starts a fresh file.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

from absl import logging

from trainer.util import files as util_files


def truncate(path: str, last_step: int) -> None:
    """Drops log lines a killed run wrote after its last checkpoint; they will be re-logged."""
    if not os.path.exists(path):
        return
    kept = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            try:
                row = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                # A power cut or a full disk can leave half a line; the step is logged again.
                logging.warning("%s:%d: damaged line dropped (%r)", path, number, line[:80])
                continue
            if row is not None and row.get("step", 0) <= last_step:
                kept.append(json.dumps(row) + "\n")
    with util_files.atomic_open(path) as f:
        f.writelines(kept)


def start(path: str, resumed_step: int | None) -> None:
    """Before the loop: keep rows up to `resumed_step` when resuming, else start a fresh file."""
    if resumed_step is not None:
        truncate(path, resumed_step)
    elif os.path.exists(path):
        os.remove(path)  # a run that died before its first checkpoint starts over


def append(path: str, record: Mapping[str, Any], writer: Any = None) -> None:
    """Appends `record` (which has a "step") as one JSON line; its numbers also go to TensorBoard.

    `writer` is a tf.summary writer or None; None values and non-numbers (text) are not scalars.
    """
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(dict(record)) + "\n")
    if writer is None:
        return
    import tensorflow as tf

    with writer.as_default(step=int(record["step"])):
        for key, value in record.items():
            if key != "step" and isinstance(value, (int, float)):
                tf.summary.scalar(key, float(value))
