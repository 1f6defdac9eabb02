"""Clean-example schema and a JSONL reader whose errors name file, line and field.

A clean example is what training and evaluation consume (DESIGN.md §2):
`{"id", "patient_key", "task", "facts": {...}, "response"}`; an eval file may name the target
`reference`. Bad lines either stop the run with a `RecordError` or are written to a rejects file
with the reason, so every input line is accounted for.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterable

from trainer import tasks as task_registry
from trainer.util.jsonl import RecordError, append_jsonl, decode_line, iter_raw_lines, write_jsonl

__all__ = ["CleanExample", "RecordError", "parse_clean_example", "read_clean_examples", "write_jsonl",
           "known_tasks"]

_FACT_VALUE_TYPES = (str, int, float, bool)


@dataclasses.dataclass(frozen=True)
class CleanExample:
    id: str
    patient_key: str
    task: str
    facts: dict[str, Any]
    response: str

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_clean_example(
    obj: Any, path: str = "<memory>", line: int = 0, tasks: Iterable[str] | None = None
) -> CleanExample:
    """Validates one decoded JSON value against the clean-example contract."""
    if not isinstance(obj, dict):
        raise RecordError(path, line, "<record>", f"expected a JSON object, got {type(obj).__name__}")
    target_field = "response" if "response" in obj else "reference"
    for field in ("id", "task", target_field):
        if field not in obj:
            name = "response" if field == target_field else field
            raise RecordError(path, line, name, "missing")
        if not isinstance(obj[field], str):
            raise RecordError(path, line, field, f"expected a string, got {type(obj[field]).__name__}")
    if not obj[target_field].strip():
        raise RecordError(path, line, target_field, "empty")
    if tasks is not None and obj["task"] not in set(tasks):
        raise RecordError(path, line, "task", f"unknown task {obj['task']!r}")
    facts = obj.get("facts", {})
    if not isinstance(facts, dict):
        raise RecordError(path, line, "facts", f"expected an object, got {type(facts).__name__}")
    for key, value in facts.items():
        if value is not None and not isinstance(value, _FACT_VALUE_TYPES):
            raise RecordError(
                path, line, f"facts.{key}", f"expected a string, number or bool, got {type(value).__name__}"
            )
    patient_key = obj.get("patient_key", "")
    if not isinstance(patient_key, str):
        raise RecordError(path, line, "patient_key", f"expected a string, got {type(patient_key).__name__}")
    return CleanExample(
        id=obj["id"],
        patient_key=patient_key,
        task=obj["task"],
        facts={k: v for k, v in facts.items() if v is not None},
        response=obj[target_field],
    )


def json_problem(error: json.JSONDecodeError, text: str) -> str:
    """A JSON error said plainly: "Unterminated string at column 45 (the line ends before the
    JSON does: cut off?)", not json's "Invalid control character at" + "at column 81"."""
    message = error.msg[:-3] if error.msg.endswith(" at") else error.msg
    cut = error.pos >= len(text.rstrip()) or message.startswith("Unterminated")
    return f"{message} at column {error.colno}" + (" (the line ends before the JSON does: cut off?)" if cut else "")


def known_tasks() -> tuple[str, ...]:
    """The task names a clean example may carry (trainer/tasks.py)."""
    return task_registry.task_names()


def read_clean_examples(
    path: str,
    on_error: str = "raise",
    rejects_path: str | None = None,
    tasks: Iterable[str] | None = None,
) -> list[CleanExample]:
    """Reads a clean-example JSONL file.

    on_error="raise" stops at the first bad line; "reject" appends each bad line with its reason
    to `rejects_path` (JSONL: file, line, field, error, raw) and goes on, whatever the line's
    fault (bad JSON, a missing field, bytes that are not UTF-8). `raw` is the refused line as it
    was, so a rejects file may hold patient text: it is written like the data (owner-only).
    """
    if on_error not in ("raise", "reject"):
        raise ValueError(f"on_error must be 'raise' or 'reject', got {on_error!r}")
    if on_error == "reject" and not rejects_path:
        raise ValueError("on_error='reject' needs rejects_path")
    examples: list[CleanExample] = []
    rejects: list[dict[str, Any]] = []
    seen_ids: dict[str, int] = {}
    for number, raw in iter_raw_lines(path):
        text = raw.decode("utf-8", "replace")  # what a rejects row shows
        try:
            text = decode_line(path, number, raw)
            try:
                obj = json.loads(text.rstrip("\r\n"))  # the newline would read as a control character
            except json.JSONDecodeError as e:
                raise RecordError(path, number, "<json>", f"not valid JSON ({json_problem(e, text)})") from e
            example = parse_clean_example(obj, path, number, tasks)
            if example.id in seen_ids:
                raise RecordError(path, number, "id", f"duplicate id {example.id!r} (first on line {seen_ids[example.id]})")
            seen_ids[example.id] = number
            examples.append(example)
        except RecordError as e:
            if on_error == "raise":
                raise
            rejects.append({"file": e.path, "line": e.line, "field": e.field, "error": e.message, "raw": text.rstrip("\n")})
    if rejects_path:
        append_jsonl(rejects_path, rejects)
    return examples
