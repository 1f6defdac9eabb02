"""Input files that cannot be read at all (missing, a folder, no permission, not JSONL/CSV, not in
the declared encoding, a CSV header that cannot be read, a damaged gzip header): the run still
reads the other inputs, writes the ledger and the report with one row naming the file and why,
keeps the counts exact, and stops with one line (a UserError) instead of a traceback."""
import errno
import gzip
import json

import ml_collections
import pytest

from trainer.data.records import RecordError
from trainer.prepare import readers, stage
from trainer.util.errors import UserError

GOOD = [
    {"id": "g1", "patient_id": "P-1", "task": "appointment_reminder", "channel": "sms", "direction": "outbound",
     "text": "Hi, this is a reminder of your appointment on Monday at 9:00 AM. Please call us with questions."},
    {"id": "g2", "patient_id": "P-2", "task": "appointment_reminder", "direction": "inbound",
     "text": "Can I move my appointment to Tuesday afternoon please?"},
]
# Text inside the broken files; it must never reach the error line.
SECRET = "Zelphine Quartermaine MRN 80417731"


def _write_good(tmp_path):
    path = tmp_path / "good.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in GOOD), encoding="utf-8")
    return str(path)


def _missing(tmp_path):
    return str(tmp_path / "missing.jsonl")


def _folder(tmp_path):
    path = tmp_path / "exports.jsonl"  # a folder with a data file's name
    path.mkdir()
    (path / "a.jsonl").write_text(json.dumps(GOOD[0]) + "\n")
    return str(path)


def _no_permission(tmp_path, monkeypatch):
    path = tmp_path / "locked.jsonl"
    path.write_text(json.dumps({"id": "s", "patient_id": "P-9", "text": SECRET}) + "\n")
    path.chmod(0)
    try:
        open(path, "rb").close()
    except PermissionError:
        pass
    else:  # root reads anything: make the read fail the way it fails for everyone else
        real = readers._read_bytes

        def denied(p):
            if p == str(path):
                raise PermissionError(errno.EACCES, "Permission denied", p)
            return real(p)

        monkeypatch.setattr(readers, "_read_bytes", denied)
    return str(path)


def _not_jsonl_or_csv(tmp_path):
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"PK\x03\x04" + SECRET.encode() + b"\x00" * 40)
    return str(path)


def _bad_csv_header(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"id,pat\xefent_id,text\n1,P-3," + SECRET.encode() + b"\n")
    return str(path)


def _damaged_gzip_header(tmp_path):
    packed = bytearray(gzip.compress((json.dumps({"id": "z", "patient_id": "P-4", "text": SECRET}) + "\n").encode(),
                                     mtime=0))
    packed[3] = 0xE0  # reserved FLG bits set: no gzip reader accepts this header
    path = tmp_path / "export.jsonl.gz"
    path.write_bytes(bytes(packed))
    return str(path)


CASES = {
    "missing": (_missing, readers.UNREADABLE_FILE, "no such file"),
    "folder": (_folder, readers.UNREADABLE_FILE, "is a folder"),
    "permission": (_no_permission, readers.UNREADABLE_FILE, "permission denied"),
    "not_jsonl_or_csv": (_not_jsonl_or_csv, readers.UNREADABLE_FILE, "not JSONL, CSV or TSV"),
    "bad_csv_header": (_bad_csv_header, readers.UNREADABLE_FILE, "CSV header has undecodable bytes at byte offset 6"),
    "damaged_gzip_header": (_damaged_gzip_header, readers.TRUNCATED_ARCHIVE, "gzip stream is damaged"),
}


@pytest.fixture(scope="module")
def deidentifier():
    # One de-identifier for every case: starting it is the slow part, and it is not under test.
    return stage.RecordProcessor(stage.default_config()).deidentifier


def _config(inputs):
    config = ml_collections.ConfigDict({"prepare": stage.default_config()})
    config.prepare.inputs = ",".join(inputs)
    config.prepare.split.salt = "test-salt"
    return config


def _make(name, tmp_path, monkeypatch):
    maker = CASES[name][0]
    return maker(tmp_path, monkeypatch) if maker is _no_permission else maker(tmp_path)


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_unreadable_input_is_accounted_in_ledger_and_report_and_stops_with_one_line(
        tmp_path, monkeypatch, deidentifier, name):
    _, kind, reason = CASES[name]
    good = _write_good(tmp_path)
    bad = _make(name, tmp_path, monkeypatch)
    workdir = tmp_path / "w"
    with pytest.raises(stage.UnreadableInputs) as err:
        stage.run(_config([good, bad]), str(workdir), deidentifier=deidentifier)
    message = str(err.value)
    assert isinstance(err.value, UserError) and "\n" not in message  # main prints it as one line, exit 2
    assert message.startswith(f"could not read input {bad} (") and reason in message
    assert "1 other input file(s) gave 1 usable record(s)" in message
    assert str(workdir / "data" / "ledger.jsonl") in message
    assert SECRET not in message

    ledger = [json.loads(line) for line in open(workdir / "data" / "ledger.jsonl", encoding="utf-8")]
    report = json.load(open(workdir / "data" / "prepare_report.json", encoding="utf-8"))
    (row,) = [r for r in ledger if r["source"] == bad]
    assert row["outcome"] == "rejected" and row["error"] == kind and row["whole_file"] is True
    assert reason in row["detail"] and row["line"] == 1
    outcomes = {r["id"]: r["outcome"] for r in ledger if r["source"] == good}
    assert outcomes == {"g1": "kept", "g2": "dropped"}
    # Counts still add up: the unreadable file is one rejected row standing for all of it.
    assert report["accounting_ok"] and report["records_in"] == len(ledger) == len(GOOD) + 1
    assert (report["kept"], report["dropped"], report["rejected"]) == (1, 1, 1)
    assert report["unreadable_inputs"] == [{"path": bad, "error": kind, "detail": row["detail"]}]
    per_input = {i["path"]: i for i in report["inputs"]}
    assert per_input[bad]["records"] == 1 and per_input[bad]["unreadable"].startswith(kind)
    summary = open(workdir / "data" / "prepare_summary.txt", encoding="utf-8").read()
    assert f"{bad}: NOT READ ({kind}: " in summary and "[OK]" in summary
    rejects = [json.loads(line) for line in open(workdir / "data" / "rejects.jsonl", encoding="utf-8")]
    assert [(r["file"], r["error"]) for r in rejects] == [(bad, kind)]


def test_a_file_not_in_the_declared_encoding_is_one_unreadable_row(tmp_path, deidentifier):
    good = _write_good(tmp_path)
    bad = tmp_path / "export_cp1252.jsonl"
    data = b'{"id": "c1", "patient_id": "P-5", "text": "Caf\xe9 \x81 ' + SECRET.encode() + b'"}\n'
    bad.write_bytes(data)
    config = _config([good, str(bad)])
    config.prepare.reader.encoding = "cp1252"  # 0x81 is not a cp1252 character
    at = data.index(b"\x81")
    with pytest.raises(stage.UnreadableInputs, match=rf"not cp1252: byte b'\\x81' at byte offset {at} \(line 1\)"):
        stage.run(config, str(tmp_path / "w"), deidentifier=deidentifier)
    report = json.load(open(tmp_path / "w" / "data" / "prepare_report.json", encoding="utf-8"))
    assert report["accounting_ok"] and report["kept"] == 1 and report["rejected_by_error"] == {"unreadable_file": 1}


def test_only_unreadable_inputs_still_write_the_ledger_and_name_every_file(tmp_path, deidentifier):
    missing, folder = _missing(tmp_path), _folder(tmp_path)
    with pytest.raises(stage.UnreadableInputs) as err:
        stage.run(_config([missing, folder]), str(tmp_path / "w"), deidentifier=deidentifier)
    assert f"could not read input {missing} (no such file) and 1 more input file(s)" in str(err.value)
    assert "0 other input file(s) gave 0 usable record(s)" in str(err.value)
    ledger = [json.loads(line) for line in open(tmp_path / "w" / "data" / "ledger.jsonl", encoding="utf-8")]
    assert [(r["source"], r["whole_file"]) for r in ledger] == [(missing, True), (folder, True)]
    for split in ("train", "val", "test"):  # written empty, so no stale data from an earlier run is trained on
        assert (tmp_path / "w" / "data" / f"{split}.jsonl").read_text() == ""


def test_a_glob_that_matches_nothing_is_named_in_the_ledger(tmp_path, deidentifier):
    good = _write_good(tmp_path)
    pattern = str(tmp_path / "exports" / "*.jsonl")
    with pytest.raises(stage.UnreadableInputs, match="no such file"):
        stage.run(_config([good, pattern]), str(tmp_path / "w"), deidentifier=deidentifier)
    report = json.load(open(tmp_path / "w" / "data" / "prepare_report.json", encoding="utf-8"))
    assert [u["path"] for u in report["unreadable_inputs"]] == [pattern] and report["accounting_ok"]


def test_a_cut_archive_that_gave_some_lines_is_not_an_unreadable_file(tmp_path, deidentifier):
    lines = "".join(json.dumps(dict(GOOD[0], id=f"k{i}", patient_id=f"P-{i}")) + "\n" for i in range(200))
    packed = gzip.compress(lines.encode(), mtime=0)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    report = stage.run(_config([str(cut)]), str(tmp_path / "w"), deidentifier=deidentifier)
    assert report["unreadable_inputs"] == [] and report["rejected_by_error"] == {"truncated_archive": 1}
    assert report["accounting_ok"] and report["kept"] > 0


@pytest.mark.parametrize("name", ["missing", "not_jsonl_or_csv", "damaged_gzip_header"])
def test_raise_mode_stops_at_an_unreadable_input_with_one_record_error(tmp_path, monkeypatch, deidentifier, name):
    _, kind, reason = CASES[name]
    bad = _make(name, tmp_path, monkeypatch)
    config = _config([_write_good(tmp_path), bad])
    config.prepare.reader.on_error = "raise"
    with pytest.raises(RecordError) as err:
        stage.run(config, str(tmp_path / "w"), deidentifier=deidentifier)
    assert (err.value.path, err.value.line, err.value.field) == (bad, 1, "<file>")
    assert str(err.value).startswith(f"{bad}:1: field '<file>': {kind}: ") and reason in str(err.value)
    assert not (tmp_path / "w" / "data" / "train.jsonl").exists()
