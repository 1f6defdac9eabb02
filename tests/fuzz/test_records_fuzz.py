"""Fuzzing the clean-example reader (trainer/data/records.py): whatever the bytes of a training
file, reject mode reads it to the end, and examples + rejects == non-blank lines, exactly; raise
mode stops at the first bad line with one file:line error. `parse_clean_example` on any JSON
value gives an example or a RecordError, never another exception."""
import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.data import records
from trainer.util.errors import UserError

_json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                         st.text(max_size=20))
_json_value = st.recursive(_json_scalar, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                                 st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                           max_leaves=6)
_example_like = st.fixed_dictionaries(
    {},
    optional={"id": st.one_of(st.text(max_size=4), st.integers()), "patient_key": st.one_of(st.text(max_size=4), st.none()),
              "task": st.one_of(st.sampled_from(["appointment_reminder", "nope"]), st.integers()),
              "facts": st.one_of(st.dictionaries(st.text(max_size=6), _json_value, max_size=3), _json_value),
              "response": st.one_of(st.text(max_size=30), st.just("  "), st.integers()),
              "reference": st.text(max_size=10)})


def _line(draw_value, style):
    if style == "json":
        return json.dumps(draw_value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    if style == "cut":
        text = json.dumps(draw_value)
        return text[: len(text) // 2].encode()
    return b"\xff" + json.dumps(draw_value).encode()


_lines = st.lists(st.one_of(
    st.builds(_line, st.one_of(_example_like, _json_value), st.sampled_from(["json", "json", "json", "cut", "latin"])),
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from([b"", b"  ", b"\t", b"\r"]),
), max_size=15)


def _expected(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n") if line.strip())


@settings(max_examples=150)
@given(lines=_lines, tasks=st.sampled_from([None, ("appointment_reminder",)]))
def test_reject_mode_accounts_for_every_line(tmp_path, lines, tasks):
    path = os.path.join(tmp_path, "train.jsonl")
    rejects = os.path.join(tmp_path, "rejects.jsonl")
    data = b"\n".join(lines)
    with open(path, "wb") as f:
        f.write(data)
    if os.path.exists(rejects):
        os.remove(rejects)
    examples = records.read_clean_examples(path, on_error="reject", rejects_path=rejects, tasks=tasks)
    with open(rejects, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    assert len(examples) + len(rows) == _expected(data)
    assert len({e.id for e in examples}) == len(examples)
    for e in examples:
        assert isinstance(e.response, str) and e.response.strip() and isinstance(e.facts, dict)
        assert all(isinstance(v, (str, int, float, bool)) for v in e.facts.values())
    for r in rows:
        assert r["file"] == path and r["line"] >= 1 and r["field"] and r["error"] and isinstance(r["raw"], str)


@settings(max_examples=80)
@given(lines=_lines)
def test_raise_mode_stops_with_one_file_line_error(tmp_path, lines):
    path = os.path.join(tmp_path, "train.jsonl")
    with open(path, "wb") as f:
        f.write(b"\n".join(lines))
    try:
        examples = records.read_clean_examples(path)
    except records.RecordError as e:
        assert isinstance(e, UserError) and str(e).startswith(f"{path}:{e.line}: field '") and e.line >= 1
    else:
        assert len(examples) == _expected(b"\n".join(lines))


@settings(max_examples=200)
@given(value=st.one_of(_example_like, _json_value))
def test_parse_gives_an_example_or_a_record_error(value):
    try:
        example = records.parse_clean_example(value, "mem.jsonl", 3)
    except records.RecordError as e:
        assert (e.path, e.line) == ("mem.jsonl", 3)
    else:
        assert example.to_json()["id"] == value["id"]


def test_a_cut_off_line_is_called_cut_off_not_a_control_character(tmp_path):
    path = os.path.join(tmp_path, "train.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"id": "a", "task": "lab_results_ready", "response": "Your results are rea\n')
    try:
        records.read_clean_examples(path)
    except records.RecordError as e:
        assert "cut off?" in str(e) and "control character" not in str(e) and " at at " not in str(e)
    else:
        raise AssertionError("a cut-off line was accepted")
    from trainer.prepare import readers

    raw = os.path.join(tmp_path, "raw.jsonl")
    with open(raw, "w", encoding="utf-8") as f:
        f.write('{"id": "r1", "patient_id": "p", "text": "Hello the\n')
    (reject,) = readers.read_file(raw, readers.default_config())
    assert reject.kind == readers.BAD_JSON and "cut off?" in reject.message and " at at " not in reject.message
