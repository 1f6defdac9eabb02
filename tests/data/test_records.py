"""Bad clean-example input: errors name file, line and field, or go to a rejects file."""
import json

import pytest

from trainer.data.records import RecordError, parse_clean_example, read_clean_examples

GOOD = {"id": "a1", "patient_key": "k1", "task": "appointment_reminder", "facts": {"preferred_name": "Ana"}, "response": "Hi Ana"}


def _write(tmp_path, lines, name="data.jsonl"):
    p = tmp_path / name
    p.write_bytes(b"".join((l if isinstance(l, bytes) else l.encode()) + b"\n" for l in lines))
    return str(p)


@pytest.mark.parametrize(
    "line, field, message",
    [
        ("{not json", "<json>", "not valid JSON"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "response"}), "response", "missing"),
        (json.dumps({**GOOD, "response": 7}), "response", "expected a string"),
        (json.dumps({**GOOD, "facts": ["a"]}), "facts", "expected an object"),
        (json.dumps({**GOOD, "facts": {"when": {"nested": 1}}}), "facts.when", "string, number or bool"),
        (json.dumps({**GOOD, "response": "   "}), "response", "empty"),
        (json.dumps([1, 2]), "<record>", "JSON object"),
    ],
)
def test_bad_line_raises_with_file_line_and_field(tmp_path, line, field, message):
    path = _write(tmp_path, [json.dumps(GOOD), "", line])
    with pytest.raises(RecordError) as e:
        read_clean_examples(path)
    assert (e.value.path, e.value.line, e.value.field) == (path, 3, field)
    assert message in str(e.value) and f"{path}:3" in str(e.value)


def test_reject_mode_keeps_good_lines_and_accounts_for_every_bad_one(tmp_path):
    lines = [json.dumps(GOOD), "{oops", json.dumps({**GOOD, "id": "a2", "task": 3}), json.dumps({**GOOD, "id": "a3"}), json.dumps(GOOD)]
    path = _write(tmp_path, lines)
    rejects = tmp_path / "out" / "rejects.jsonl"
    got = read_clean_examples(path, on_error="reject", rejects_path=str(rejects))
    assert [e.id for e in got] == ["a1", "a3"]
    rows = [json.loads(l) for l in rejects.read_text().splitlines()]
    assert [(r["line"], r["field"]) for r in rows] == [(2, "<json>"), (3, "task"), (5, "id")]
    assert "duplicate id" in rows[2]["error"] and rows[0]["raw"] == "{oops"
    assert len(got) + len(rows) == len(lines)


def test_non_utf8_line_is_named(tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD), b'{"id": "\xff\xfe"}'])
    with pytest.raises(RecordError, match=r":2: field '<line>': not UTF-8"):
        read_clean_examples(path)


def test_non_utf8_line_goes_to_rejects_in_reject_mode(tmp_path):
    path = _write(tmp_path, [json.dumps(GOOD), b'{"id": "\xff\xfe"}', json.dumps({**GOOD, "id": "a9"})])
    rejects = tmp_path / "rejects.jsonl"
    got = read_clean_examples(path, on_error="reject", rejects_path=str(rejects))
    assert [e.id for e in got] == ["a1", "a9"]
    (row,) = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert (row["line"], row["field"]) == (2, "<line>") and "not UTF-8" in row["error"]


def test_reference_is_accepted_as_the_target_and_unknown_tasks_can_be_refused():
    ex = parse_clean_example({"id": "e", "task": "lab_results_ready", "reference": "Your results are ready."})
    assert ex.response == "Your results are ready." and ex.facts == {}
    with pytest.raises(RecordError, match="unknown task"):
        parse_clean_example({**GOOD, "task": "tarot"}, tasks=["appointment_reminder"])
