"""One writer per workdir: a lock file holding the holder's pid and host.

Two trainings on one workdir would resume from each other's checkpoints and overwrite each
other's adapter. The lock is a file created exclusively; a lock left by a process that no longer
runs on this host is stale and taken over (with a warning). A lock from another host cannot be
checked from here, so it is reported, not broken.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from typing import Iterator

from trainer.util.errors import UserError


class LockedError(UserError, RuntimeError):
    """The workdir is in use by another live process."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def _read(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def workdir_lock(directory: str, what: str = "train") -> Iterator[str]:
    """Holds `directory/.lock` for the block; raises LockedError if a live process holds it."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, ".lock")
    me = {"pid": os.getpid(), "host": socket.gethostname(), "what": what, "since": time.time()}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            holder = _read(path)
            same_host = holder.get("host") == me["host"]
            if same_host and isinstance(holder.get("pid"), int) and not _alive(holder["pid"]):
                logging.warning("%s: stale lock of pid %s (%s) that no longer runs; taking it over",
                                path, holder.get("pid"), holder.get("what"))
                os.remove(path)
                continue
            if not holder:
                raise LockedError(f"{path} exists but cannot be read; if no run uses {directory}, delete it")
            raise LockedError(
                f"{directory} is in use by {holder.get('what')} pid {holder.get('pid')} on {holder.get('host')} "
                f"(lock {path}); wait for it, or use another --workdir"
                + ("" if same_host else "; if that process is gone, delete the lock file"))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(me, f)
        break
    try:
        yield path
    finally:
        if _read(path).get("pid") == me["pid"]:
            os.remove(path)
