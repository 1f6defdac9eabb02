"""Writes that readers never see half-done: a temp file beside the target, then one rename."""
from __future__ import annotations

import contextlib
import json
import os
from typing import IO, Any, Iterator


@contextlib.contextmanager
def atomic_open(path: str, mode: str = "w", *, fsync: bool = False, encoding: str | None = "utf-8") -> Iterator[IO]:
    """Opens a temp file next to `path`; on a clean exit renames it over `path`, else removes it.

    fsync=True also flushes the bytes to disk before the rename (checkpoints: a crash right
    after the rename must not leave an empty file under the final name).
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    kwargs = {} if "b" in mode else {"encoding": encoding}
    try:
        with open(tmp, mode, **kwargs) as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_text(path: str, text: str) -> None:
    with atomic_open(path) as f:
        f.write(text)


def write_json(path: str, obj: Any, **dump_kwargs: Any) -> None:
    """JSON with ensure_ascii off (names and Spanish text stay readable); kwargs go to json.dump."""
    dump_kwargs.setdefault("ensure_ascii", False)
    with atomic_open(path) as f:
        json.dump(obj, f, **dump_kwargs)
