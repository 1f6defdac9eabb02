"""Training checkpoints: adapter weights + optimizer state + loop state in one .npz per step.

Only LoRA variables train, so a checkpoint is small and a plain NumPy archive is enough. Each is
written to a temporary name, flushed to disk and then renamed, so a process killed at any moment
leaves either the previous checkpoint or the new one, never half of one.
"""
from __future__ import annotations

import glob
import json
import os
import re
from typing import Any, Sequence

import numpy as np

from trainer.util import files

_NAME = re.compile(r"ckpt-(\d+)\.npz$")


def path_for(directory: str, step: int) -> str:
    return os.path.join(directory, f"ckpt-{step:08d}.npz")


def list_checkpoints(directory: str) -> list[tuple[int, str]]:
    found = []
    for p in glob.glob(os.path.join(directory, "ckpt-*.npz")):
        m = _NAME.search(p)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest(directory: str) -> tuple[int, str] | None:
    found = list_checkpoints(directory)
    return found[-1] if found else None


def save(
    directory: str,
    step: int,
    variables: Sequence[Any],
    optimizer_variables: Sequence[Any],
    state: dict[str, Any],
    keep: int = 3,
) -> str:
    os.makedirs(directory, exist_ok=True)
    arrays = {f"var/{i}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
    arrays.update({f"opt/{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer_variables)})
    meta = {"step": step, "num_vars": len(variables), "num_opt": len(optimizer_variables), **state}
    meta["var_shapes"] = [list(a.shape) for k, a in arrays.items() if k.startswith("var/")]
    arrays["__state__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    final = path_for(directory, step)
    # fsync: a crash right after the rename must not leave an empty newest checkpoint.
    with files.atomic_open(final, "wb", fsync=True) as f:
        np.savez(f, **arrays)
    for _, old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        os.remove(old)
    return final


def restore(path: str, variables: Sequence[Any], optimizer_variables: Sequence[Any]) -> dict[str, Any]:
    """Assigns saved values into `variables` and `optimizer_variables`; returns the loop state."""
    with np.load(path) as data:
        meta = json.loads(bytes(data["__state__"]).decode("utf-8"))
        if meta["num_vars"] != len(variables) or meta["num_opt"] != len(optimizer_variables):
            raise ValueError(
                f"{path}: checkpoint holds {meta['num_vars']} trainable / {meta['num_opt']} optimizer variables, "
                f"this run has {len(variables)} / {len(optimizer_variables)}: the model or LoRA config changed; "
                "use a new --workdir"
            )
        for i, v in enumerate(variables):
            value = data[f"var/{i}"]
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"{path}: variable {i} has shape {value.shape}, model expects {tuple(v.shape)}")
            v.assign(value)
        for i, v in enumerate(optimizer_variables):
            v.assign(data[f"opt/{i}"])
    return meta
