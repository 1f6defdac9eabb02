"""Training checkpoints: adapter weights + optimizer state + RNG state + loop state in one .npz per step.

Only LoRA variables train, so a checkpoint is small and a plain NumPy archive is enough. Each is
written to a temporary name, flushed to disk and then renamed, so a process killed at any moment
leaves either the previous checkpoint or the new one, never half of one. A checkpoint damaged
anyway (a disk error, a copy cut short) is set aside and the previous one used, with a warning;
a workdir whose checkpoints are all damaged stops with an error rather than starting over.
"""
from __future__ import annotations

import glob
import json
import os
import re
import zipfile
from typing import Any, Sequence

import numpy as np
from absl import logging

from trainer.util import files
from trainer.util.errors import UserError

_NAME = re.compile(r"ckpt-(\d+)\.npz$")


class CheckpointError(UserError, ValueError):
    """A checkpoint file that cannot be read back."""


class CheckpointWriteError(UserError, OSError):
    """A checkpoint that could not be written (full disk, quota): one line, no traceback."""


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
    rng_variables: Sequence[Any] = (),
) -> str:
    """Writes step `step`; `rng_variables` (dropout seed generators) make a resume exact."""
    os.makedirs(directory, exist_ok=True)
    arrays = {f"var/{i}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
    arrays.update({f"opt/{i}": np.asarray(v.numpy()) for i, v in enumerate(optimizer_variables)})
    arrays.update({f"rng/{i}": np.asarray(v.numpy()) for i, v in enumerate(rng_variables)})
    meta = {"step": step, "num_vars": len(variables), "num_opt": len(optimizer_variables),
            "num_rng": len(rng_variables), **state}
    meta["var_shapes"] = [list(a.shape) for k, a in arrays.items() if k.startswith("var/")]
    arrays["__state__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    final = path_for(directory, step)
    # fsync: a crash right after the rename must not leave an empty newest checkpoint.
    try:
        with files.atomic_open(final, "wb", fsync=True) as f:
            np.savez(f, **arrays)
    except OSError as e:
        # The temp file is gone and earlier checkpoints are untouched; say where and why.
        raise CheckpointWriteError(e.errno, f"could not write checkpoint {final}: {e.strerror}; earlier checkpoints "
                               f"in {directory} are intact, free space and rerun to resume") from e
    for _, old in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        os.remove(old)
    return final


def read(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(loop state, arrays) of a checkpoint; CheckpointError when the file is damaged."""
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(bytes(arrays.pop("__state__")).decode("utf-8"))
        for prefix, count in (("var", meta["num_vars"]), ("opt", meta["num_opt"]), ("rng", meta.get("num_rng", 0))):
            for i in range(count):
                arrays[f"{prefix}/{i}"]
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}: {e})") from e
    return meta, arrays


def restore(path: str, variables: Sequence[Any], optimizer_variables: Sequence[Any],
            rng_variables: Sequence[Any] = ()) -> dict[str, Any]:
    """Assigns saved values into the variables; returns the loop state."""
    meta, data = read(path)
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
    # Checkpoints written before RNG state was saved resume with fresh dropout masks.
    if meta.get("num_rng") == len(rng_variables):
        for i, v in enumerate(rng_variables):
            v.assign(data[f"rng/{i}"])
    elif rng_variables:
        logging.warning("%s holds no dropout RNG state: dropout masks after the resume differ from an "
                        "uninterrupted run", path)
    return meta


def restore_latest(directory: str, variables: Sequence[Any], optimizer_variables: Sequence[Any],
                   rng_variables: Sequence[Any] = ()) -> tuple[str, dict[str, Any]] | None:
    """Restores the newest readable checkpoint; damaged newer ones are renamed `*.corrupt`.

    Returns (path, loop state), or None when there is no checkpoint at all. Raises CheckpointError
    when checkpoints exist but none can be read: starting over silently would discard the run.
    """
    found = list_checkpoints(directory)
    bad = []
    for _, path in reversed(found):
        try:
            return path, restore(path, variables, optimizer_variables, rng_variables)
        except CheckpointError as e:
            logging.warning("%s; setting it aside as %s.corrupt and trying the previous one", e, path)
            os.replace(path, path + ".corrupt")
            bad.append(path)
    if bad:
        raise CheckpointError(f"every checkpoint in {directory} is unreadable ({', '.join(os.path.basename(b) for b in bad)}, "
                              "now *.corrupt); move the workdir aside to start over")
    return None
