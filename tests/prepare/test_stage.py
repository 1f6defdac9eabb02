"""The prepare stage end to end on hand-written messy logs: every record accounted for."""
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import time

import ml_collections
import pytest

from trainer.prepare import stage
from trainer.data.records import RecordError, read_clean_examples

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INPUTS = [os.path.join(DATA, n) for n in ("raw_messy.jsonl", "raw_messy_cp1252.jsonl", "raw_messy.csv")]
CLINIC_MAP = {"id": "msg_id", "patient_id": "MRN", "channel": "medium", "direction": "dir",
              "timestamp": "sent_at", "task": "message_type", "text": "message_body", "facts": "facts_json"}


def messy_config(inputs=INPUTS):
    config = ml_collections.ConfigDict()
    config.prepare = stage.default_config()
    config.prepare.inputs = ",".join(inputs)
    config.prepare.reader.field_map.update(CLINIC_MAP)
    config.prepare.split.salt = "test-salt"
    return config


def _independent_record_count():
    """Records in the fixtures counted without the project's reader: non-blank JSONL lines + CSV rows."""
    n = 0
    for path in INPUTS[:2]:
        with open(path, "rb") as f:
            n += sum(1 for line in f if line.strip())
    with open(INPUTS[2], "rb") as f:
        rows = list(csv.reader(io.StringIO(f.read().decode("utf-8", "replace"), newline="")))
    return n + len(rows) - 1


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("prepare"))
    digests = {p: hashlib.sha256(open(p, "rb").read()).hexdigest() for p in INPUTS}
    report = stage.run(messy_config(), workdir)
    return workdir, report, digests


def _ledger(workdir):
    with open(os.path.join(workdir, "data", "ledger.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_accounting_identity_on_messy_input(run):
    workdir, report, _ = run
    assert report["records_in"] == _independent_record_count() == 46
    assert report["kept"] + report["dropped"] + report["rejected"] == report["records_in"]
    assert report["accounting_ok"]
    assert sum(report["dropped_by_reason"].values()) == report["dropped"]
    assert sum(report["rejected_by_error"].values()) == report["rejected"]
    ledger = _ledger(workdir)
    assert len(ledger) == report["records_in"]
    assert len({(r["source"], r["line"]) for r in ledger}) == len(ledger)
    for row in ledger:
        assert row["outcome"] in ("kept", "dropped", "rejected")
        assert (row["outcome"] == "kept") == ("split" in row)
        assert (row["outcome"] == "dropped") == ("reason" in row)
        assert (row["outcome"] == "rejected") == ("error" in row)
    kept = sum(len(read_clean_examples(os.path.join(workdir, "data", f"{s}.jsonl"))) for s in ("train", "val", "test"))
    assert kept == report["kept"] == sum(s["examples"] for s in report["splits"].values())


def test_each_record_gets_the_right_outcome(run):
    workdir, _, _ = run
    got = {(os.path.basename(r["source"]), r["line"]): r.get("reason") or r.get("error") or r["outcome"]
           for r in _ledger(workdir)}
    expected = {
        ("raw_messy.jsonl", 1): "kept", ("raw_messy.jsonl", 6): "inbound", ("raw_messy.jsonl", 7): "stop_request",
        ("raw_messy.jsonl", 8): "auto_reply", ("raw_messy.jsonl", 9): "spam", ("raw_messy.jsonl", 10): "system_notice",
        ("raw_messy.jsonl", 11): "empty", ("raw_messy.jsonl", 12): "too_short",
        ("raw_messy.jsonl", 13): "wrong_language", ("raw_messy.jsonl", 14): "language_mismatch",
        ("raw_messy.jsonl", 15): "exact_duplicate", ("raw_messy.jsonl", 16): "kept",
        ("raw_messy.jsonl", 17): "near_duplicate", ("raw_messy.jsonl", 18): "unfilled_template",
        ("raw_messy.jsonl", 19): "no_task", ("raw_messy.jsonl", 20): "unknown_task",
        ("raw_messy.jsonl", 21): "bad_json", ("raw_messy.jsonl", 22): "missing_field",
        ("raw_messy.jsonl", 23): "not_object", ("raw_messy.jsonl", 24): "missing_field",
        ("raw_messy.jsonl", 25): "bad_facts", ("raw_messy.jsonl", 26): "duplicate_id",
        ("raw_messy_cp1252.jsonl", 2): "bad_encoding", ("raw_messy_cp1252.jsonl", 3): "bad_encoding",
        ("raw_messy.csv", 2): "kept", ("raw_messy.csv", 11): "csv_field_count", ("raw_messy.csv", 12): "inbound",
        ("raw_messy.csv", 13): "bad_encoding", ("raw_messy.csv", 14): "bad_facts",
        ("raw_messy.csv", 15): "missing_field", ("raw_messy.csv", 16): "csv_quoting",
    }
    assert {k: got.get(k) for k in expected} == expected


def test_rejects_file_names_file_line_field_and_error(run):
    workdir, report, _ = run
    with open(os.path.join(workdir, "data", "rejects.jsonl"), encoding="utf-8") as f:
        rejects = [json.loads(line) for line in f]
    assert len(rejects) == report["rejected"]
    for r in rejects:
        assert r["file"] in INPUTS and r["line"] > 0 and r["field"] and r["error"] and r["message"]
        assert "text" not in r  # raw PHI stays in the input, the reject only points at it
    enc = [r for r in rejects if r["error"] == "bad_encoding"]
    assert all("byte_offset" in r for r in enc)


def test_outputs_are_clean_examples_without_raw_identifiers_or_leaks(run):
    workdir, report, _ = run
    examples = {s: read_clean_examples(os.path.join(workdir, "data", f"{s}.jsonl")) for s in ("train", "val", "test")}
    keys = {s: {e.patient_key for e in ex} for s, ex in examples.items()}
    assert not (keys["train"] & keys["val"]) and not (keys["train"] & keys["test"]) and not (keys["val"] & keys["test"])
    assert report["patients_in_two_splits"] == 0
    blob = "".join(open(os.path.join(workdir, "data", f"{s}.jsonl"), encoding="utf-8").read()
                   for s in ("train", "val", "test"))
    for raw_value in ("P-1001", "00451", "Maria", "Linda", "Okafor", "555-201-3344", "helen.w@example.com"):
        assert raw_value not in blob
    by_id = {e.id: e for ex in examples.values() for e in ex}
    m003 = by_id["m003"]
    assert "refill for metformin" in m003.response and "tomorrow" in m003.response  # typos fixed
    assert "Reply STOP" not in by_id["m001"].response  # SMS compliance footer stripped
    assert "CONFIDENTIALITY" not in by_id["m002"].response and "<br>" not in by_id["m002"].response
    assert by_id["m001"].facts["channel"] == "sms"
    assert "statin and Eliquis" in by_id["m027"].response
    assert "Ozempic" in by_id["m032"].response and "HbA1c" in by_id["m032"].response


def test_report_and_summary_say_what_happened(run):
    workdir, report, _ = run
    assert report["identifiers_found"].get("NAME", 0) > 0 and report["identifiers_found"].get("PHONE", 0) > 0
    assert report["typos_fixed"] >= 3
    assert report["duplicates_removed"]["exact"] == 1 and report["duplicates_removed"]["near"] == 1
    assert set(report["splits"]) == {"train", "val", "test"}
    summary = open(os.path.join(workdir, "data", "prepare_summary.txt"), encoding="utf-8").read()
    assert f"records in: {report['records_in']}" in summary and "[OK]" in summary
    for word in ("stop_request", "bad_encoding", "identifiers found", "typos fixed", "duplicates removed", "train"):
        assert word in summary
    manifest = json.load(open(os.path.join(workdir, "data", "deid_manifest.json"), encoding="utf-8"))
    assert set(manifest["surrogates"]) <= {o["id"] for o in _ledger(workdir) if o["outcome"] == "kept"}


def test_inputs_are_never_modified(run):
    _, _, digests = run
    for path, digest in digests.items():
        assert hashlib.sha256(open(path, "rb").read()).hexdigest() == digest


def test_raise_mode_stops_on_the_first_malformed_record(tmp_path):
    config = messy_config(INPUTS[1:2])
    config.prepare.reader.on_error = "raise"
    with pytest.raises(RecordError) as err:
        stage.run(config, str(tmp_path))
    assert (err.value.path, err.value.line, err.value.field) == (INPUTS[1], 2, "<line>")
    assert not os.path.exists(tmp_path / "data" / "train.jsonl")


def test_two_thousand_generated_lines_run_well_under_a_minute(tmp_path):
    tool = os.path.join(REPO, "tools", "make_sample_data.py")
    if not os.path.exists(tool):
        pytest.skip("tools/make_sample_data.py not present")
    subprocess.run([sys.executable, tool, "--out_dir", str(tmp_path / "raw"), "--n", "2000", "--seed", "1"],
                   check=True, capture_output=True)
    clinic = json.load(open(tmp_path / "raw" / "clinic.json", encoding="utf-8"))
    config = ml_collections.ConfigDict()
    config.prepare = stage.default_config()
    config.prepare.inputs = str(tmp_path / "raw" / "raw.jsonl")
    config.prepare.deid.clinician_names = clinic["clinician_names"]
    config.prepare.deid.org_names = clinic["org_names"]
    start = time.process_time()
    report = stage.run(config, str(tmp_path / "work"))
    cpu_s = time.process_time() - start
    assert report["records_in"] == 2000 and report["accounting_ok"]
    assert report["kept"] > 50 and report["patients_in_two_splits"] == 0
    assert cpu_s < 60, f"prepare took {cpu_s:.1f} s of CPU on 2000 lines"


@pytest.mark.parametrize("content", [b"", b"\x00\xff\xfe garbage \x81\n" * 20, b"id,message\n1,hello there\n"])
def test_inputs_without_a_usable_record_stop_with_one_error_and_a_ledger(tmp_path, content):
    raw = tmp_path / ("export.csv" if content.startswith(b"id,") else "export.jsonl")
    raw.write_bytes(content)
    config = ml_collections.ConfigDict({"prepare": stage.default_config()})
    config.prepare.inputs = str(raw)
    with pytest.raises(stage.NoUsableRecords, match=r"no usable record in 1 input file\(s\)"):
        stage.run(config, str(tmp_path / "w"))
    assert (tmp_path / "w" / "data" / "ledger.jsonl").exists()
    report = json.load(open(tmp_path / "w" / "data" / "prepare_report.json"))
    assert report["accounting_ok"] and report["kept"] == 0


def test_a_huge_line_is_dropped_by_raw_length_before_any_per_character_work(tmp_path):
    raw = tmp_path / "export.jsonl"
    huge = {"id": "h1", "patient_id": "p1", "text": "Reminder: " + "x" * 5_000_000}
    ok = {"id": "h2", "patient_id": "p2", "task": "appointment_reminder",
          "text": "Hi, this is a reminder of your appointment on Monday at 9:00 AM. Please call us with questions."}
    raw.write_text(json.dumps(huge) + "\n" + json.dumps(ok) + "\n")
    config = ml_collections.ConfigDict({"prepare": stage.default_config()})
    config.prepare.inputs = str(raw)
    t0 = time.time()
    stage.run(config, str(tmp_path / "w"))
    rows = {r["id"]: r for r in map(json.loads, open(tmp_path / "w" / "data" / "ledger.jsonl"))}
    assert rows["h1"]["reason"] == "too_long" and "before normalization" in rows["h1"]["detail"]
    assert time.time() - t0 < 120
