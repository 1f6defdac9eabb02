"""Raw log readers: field mapping, CSV quoting, bad bytes, and errors that say where."""
import gzip
import hashlib
import json
import os

import pytest

from trainer.prepare import readers
from trainer.data.records import RecordError

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
JSONL = os.path.join(DATA, "raw_messy.jsonl")
CP1252 = os.path.join(DATA, "raw_messy_cp1252.jsonl")
CSV = os.path.join(DATA, "raw_messy.csv")
CLINIC_MAP = {"id": "msg_id", "patient_id": "MRN", "channel": "medium", "direction": "dir",
              "timestamp": "sent_at", "task": "message_type", "text": "message_body", "facts": "facts_json"}


def _read(paths, **overrides):
    cfg = readers.default_config()
    field_map = overrides.pop("field_map", None)
    if field_map:
        cfg.field_map.update(field_map)
    cfg.update(overrides)
    items = list(readers.read_raw(paths, cfg))
    return ([i for i in items if isinstance(i, readers.RawRecord)], [i for i in items if isinstance(i, readers.RawReject)])


def test_jsonl_bad_lines_are_rejected_with_line_field_and_kind():
    records, rejects = _read([JSONL])
    got = {(r.line, r.field, r.kind) for r in rejects}
    assert got == {
        (21, "<json>", readers.BAD_JSON),  # truncated line
        (22, "text", readers.MISSING_FIELD),
        (23, "<json>", readers.NOT_OBJECT),  # a JSON array
        (24, "patient_id", readers.MISSING_FIELD),
        (25, "facts.medication", readers.BAD_FACTS),  # nested object as a fact value
        (26, "id", readers.DUPLICATE_ID),
    }
    assert all(r.source == JSONL for r in rejects)
    # Every non-blank line is one record or one reject; the blank line 27 is neither.
    with open(JSONL, "rb") as f:
        nonblank = sum(1 for line in f if line.strip())
    assert len(records) + len(rejects) == nonblank
    assert 27 not in {r.line for r in records + rejects}
    dup = next(r for r in rejects if r.kind == readers.DUPLICATE_ID)
    assert f"{JSONL}:3" in dup.message


def test_non_utf8_line_names_line_and_true_byte_offset():
    with open(CP1252, "rb") as f:
        data = f.read()
    records, rejects = _read([CP1252])
    assert [r.fields["id"] for r in records] == ["l001", "l004"]
    assert [(r.line, r.kind) for r in rejects] == [(2, readers.BAD_ENCODING), (3, readers.BAD_ENCODING)]
    assert rejects[0].byte_offset == data.index(b"\xe9")
    assert rejects[1].byte_offset == data.index(b"\x80")
    assert str(data.index(b"\xe9")) in rejects[0].message


def test_raise_mode_stops_at_first_bad_record_naming_file_line_field():
    with pytest.raises(RecordError) as err:
        _read([CP1252], on_error="raise")
    e = err.value
    assert (e.path, e.line, e.field) == (CP1252, 2, "<line>")
    assert "byte offset" in str(e) and CP1252 in str(e)


def test_csv_with_clinic_column_names_and_odd_quoting():
    records, rejects = _read([CSV], field_map=CLINIC_MAP)
    by_id = {r.fields["id"]: r for r in records}
    c1 = by_id["c001"].fields
    assert c1["patient_id"] == "00451"  # leading zeros kept: ids are strings
    assert c1["task"] == "appointment_reminder" and c1["direction"] == "Sent"
    assert c1["facts"] == {"preferred_name": "Grace", "language": "en", "callback_phone": "555-201-3344"}
    # A quoted field spanning lines: the record starts on line 3, the next one on line 9.
    assert by_id["c002"].line == 3 and by_id["c002"].fields["text"].count("\n") == 5
    assert by_id["c003"].line == 9
    assert '"atorvastatin"' in by_id["c003"].fields["text"]  # doubled quotes inside a quoted field
    assert '"annual physical"' in by_id["c004"].fields["text"]  # stray quotes in an unquoted field
    got = {(r.line, r.field, r.kind) for r in rejects}
    assert got == {
        (11, "<row>", readers.CSV_FIELD_COUNT),  # unquoted commas in the message
        (13, "message_body", readers.BAD_ENCODING),  # cp1252 byte inside the text column
        (14, "facts_json", readers.BAD_FACTS),
        (15, "MRN", readers.MISSING_FIELD),
        (16, "<row>", readers.CSV_QUOTING),  # unclosed quote runs to the end of the file
    }
    enc = next(r for r in rejects if r.kind == readers.BAD_ENCODING)
    with open(CSV, "rb") as f:
        assert enc.byte_offset == f.read().index(b"\xe9")


def test_dotted_names_reach_nested_json_and_fallback_reads_canonical_names(tmp_path):
    path = tmp_path / "export.jsonl"
    rows = [{"msg": {"body": "Your results are ready.", "uid": "x1"}, "patient": {"mrn": 77}},
            {"id": "x2", "patient_id": "p2", "text": "Canonical layout in the same run."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    records, rejects = _read([str(path)], field_map={"text": "msg.body", "patient_id": "patient.mrn", "id": "msg.uid"})
    assert not rejects
    assert [(r.fields["id"], r.fields["patient_id"], r.fields["text"]) for r in records] == [
        ("x1", "77", "Your results are ready."), ("x2", "p2", "Canonical layout in the same run.")]
    _, rejects = _read([str(path)], field_map={"text": "msg.body"}, fallback_to_canonical=False)
    assert {(r.line, r.field) for r in rejects} == {(1, "patient_id"), (2, "msg.body")}


def test_gzip_and_tsv_inputs(tmp_path):
    gz = tmp_path / "log.jsonl.gz"
    gz.write_bytes(gzip.compress(b'{"id": "g1", "patient_id": "p", "text": "hello there"}\n'))
    tsv = tmp_path / "log.tsv"
    tsv.write_text("id\tpatient_id\ttext\nt1\tp\tTab, separated, text\n", encoding="utf-8")
    records, rejects = _read([str(gz), str(tsv)])
    assert not rejects
    assert [r.fields["text"] for r in records] == ["hello there", "Tab, separated, text"]


def test_readers_never_modify_inputs():
    before = {}
    for p in (JSONL, CP1252, CSV):
        with open(p, "rb") as f:
            before[p] = (hashlib.sha256(f.read()).hexdigest(), os.stat(p).st_mtime_ns)
    _read([JSONL, CP1252])
    _read([CSV], field_map=CLINIC_MAP)
    for p, (digest, mtime) in before.items():
        with open(p, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == digest
        assert os.stat(p).st_mtime_ns == mtime


def test_declared_encoding_and_delimiter(tmp_path):
    path = tmp_path / "excel_export.csv"
    path.write_bytes("id;patient_id;text\ne1;p1;Hola José, su cita es mañana.\n".encode("cp1252"))
    records, rejects = _read([str(path)])
    assert [r.kind for r in rejects] == [readers.BAD_ENCODING]  # undeclared cp1252 is reported, not guessed
    records, rejects = _read([str(path)], encoding="cp1252", csv_delimiter=";")
    assert not rejects and records[0].fields["text"] == "Hola José, su cita es mañana."


def _jsonl_lines(n):
    return b"".join(json.dumps({"id": f"g{i}", "patient_id": f"p{i}", "text": f"Reminder {i}: your visit is on Monday at 9."}).encode() + b"\n"
                    for i in range(n))


def test_cut_off_gzip_keeps_the_lines_before_the_damage_and_rejects_the_rest(tmp_path):
    whole = gzip.compress(_jsonl_lines(400), compresslevel=1)
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    records, rejects = _read([str(path)])
    assert 0 < len(records) < 400
    assert [r.fields["id"] for r in records] == [f"g{i}" for i in range(len(records))]
    (rej,) = rejects
    assert rej.kind == readers.TRUNCATED_ARCHIVE and rej.line == len(records) + 1
    assert "cut short" in rej.message and rej.byte_offset > 0
    with pytest.raises(RecordError, match=rf"export.jsonl.gz:{len(records) + 1}: field '<file>': truncated_archive"):
        _read([str(path)], on_error="raise")


def test_a_gz_file_that_is_not_gzip_is_one_reject_not_a_traceback(tmp_path):
    path = tmp_path / "notes.jsonl.gz"
    path.write_bytes(_jsonl_lines(3))
    records, (rej,) = _read([str(path)])
    assert records == [] and rej.kind == readers.TRUNCATED_ARCHIVE and "not a gzip file" in rej.message


def test_concatenated_gzip_members_are_read_through(tmp_path):
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gzip.compress(_jsonl_lines(5)) + gzip.compress(_jsonl_lines(7)[::-1]))
    records, rejects = _read([str(path)])
    assert len(records) + len(rejects) == 12 and not [r for r in rejects if r.kind == readers.TRUNCATED_ARCHIVE]
