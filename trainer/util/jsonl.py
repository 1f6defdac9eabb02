"""JSON Lines in and out, with errors that name the file, the line and the field."""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Iterator

from trainer.util.errors import UserError
from trainer.util.files import atomic_open


class RecordError(UserError, ValueError):
    """A record that breaks a data contract; says where and which field."""

    def __init__(self, path: str, line: int, field: str, message: str):
        self.path, self.line, self.field, self.message = path, line, field, message
        super().__init__(f"{path}:{line}: field '{field}': {message}")


def iter_raw_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """Yields (1-based line number, bytes) of non-blank lines, undecoded."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            if raw.strip():
                yield number, raw


def decode_line(path: str, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RecordError(path, number, "<line>", f"not UTF-8 (byte offset {e.start} in line)") from e


def iter_lines(path: str) -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, text) of non-blank lines; non-UTF-8 bytes raise RecordError."""
    for number, raw in iter_raw_lines(path):
        yield number, decode_line(path, number, raw)


def read_jsonl(path: str) -> list[Any]:
    """Every line decoded; a line that is not JSON raises RecordError naming it."""
    rows = []
    for number, text in iter_lines(path):
        try:
            rows.append(json.loads(text))
        except json.JSONDecodeError as e:
            raise RecordError(path, number, "<json>", f"not valid JSON ({e.msg} at column {e.colno})") from e
    return rows


def write_jsonl(path: str, rows: Iterable[dict[str, Any]]) -> int:
    """Writes rows atomically (temp file, then rename) so readers never see half a file."""
    n = 0
    with atomic_open(path) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def append_jsonl(path: str, rows: Iterable[dict[str, Any]]) -> int:
    """Appends rows (rejects files grow across stages and reruns)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    n = 0
    with open(path, "a", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n
