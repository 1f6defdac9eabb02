"""PHI gate: refuses data that still holds identifiers, names the records, allows an override."""
import json
import os

import ml_collections
import pytest

from trainer.data.records import CleanExample, RecordError
from trainer.deid import gate
from trainer.deid.engine import Deidentifier
from trainer.deid.types import Span
from trainer.prepare import stage

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

RAW_EXAMPLES = [
    CleanExample("r1", "k1", "appointment_reminder", {"preferred_name": "Maria Gonzalez"},
                 "Hi Maria Gonzalez, your visit with Dr. Patel is on 3/14/2026. Call 503-555-0142."),
    CleanExample("r2", "k2", "billing_question_reply", {},
                 "Your balance for account 88812345 is due. Questions? Email maria.g@example.com."),
    {"id": "r3", "patient_key": "k3", "task": "lab_results_ready", "facts": {},
     "response": "Your lab results are ready in the patient portal. Please log in to view them."},
]


@pytest.fixture(scope="module")
def deidentifier():
    return Deidentifier()


def test_refuses_data_with_identifiers_and_names_records_by_id_and_type(deidentifier):
    with pytest.raises(gate.PhiGateError) as err:
        gate.check_phi(RAW_EXAMPLES, deidentifier, max_rate=0.1)
    report = err.value.report
    assert not report.passed and report.n_flagged == 2 and report.n_examples == 3
    flagged = {row["id"]: row["types"] for row in report.flagged}
    assert set(flagged) == {"r1", "r2"}
    assert {"NAME", "PHONE"} <= set(flagged["r1"]) and "EMAIL" in flagged["r2"]
    message = str(err.value)
    assert "REFUSED" in message and "r1" in message and "NAME" in message
    for identifier in ("Maria", "503-555-0142", "maria.g@example.com", "88812345"):
        assert identifier not in message  # the report never repeats what it found


def test_explicit_override_for_synthetic_data(deidentifier):
    report = gate.check_phi(RAW_EXAMPLES, deidentifier, max_rate=0.1, allow_synthetic=True)
    assert not report.passed and report.overridden
    assert "OVERRIDDEN" in report.summary()


def test_passes_under_the_threshold(deidentifier):
    assert gate.check_phi(RAW_EXAMPLES[2:], deidentifier, max_rate=0.0).passed
    assert gate.check_phi(RAW_EXAMPLES, deidentifier, max_rate=0.7).passed


def test_prepared_data_passes_through_its_manifest_and_fails_without_it(deidentifier, tmp_path):
    config = ml_collections.ConfigDict()
    config.prepare = stage.default_config()
    config.prepare.inputs = ",".join((os.path.join(DATA, "raw_messy_cp1252.jsonl"), os.path.join(DATA, "raw_messy.jsonl")))
    config.prepare.filters.check_language_match = False
    stage.run(config, str(tmp_path), deidentifier=deidentifier)
    paths = [str(tmp_path / "data" / f"{s}.jsonl") for s in ("train", "val", "test")]
    report = gate.check_phi_files(paths, deidentifier, max_rate=0.0)
    assert report.passed and report.n_examples > 10 and report.ignored_surrogates > 0
    # The trainer's entry point reads the same files the same way.
    gate_cfg = gate.default_config()
    assert gate.run_gate(paths, gate_cfg, deidentifier=deidentifier).passed
    # The same files without the manifest: every surrogate name and phone reads as an identifier.
    os.remove(tmp_path / "data" / gate.MANIFEST)
    with pytest.raises(gate.PhiGateError):
        gate.run_gate(paths, gate_cfg, deidentifier=deidentifier)
    gate_cfg.allow_synthetic = True
    assert gate.run_gate(paths, gate_cfg, deidentifier=deidentifier).overridden


def test_sampled_scan_reports_its_sample(deidentifier):
    report = gate.check_phi(RAW_EXAMPLES * 4, deidentifier, max_rate=1.0, max_examples=5)
    assert report.n_examples == 5 and report.n_total == 12
    assert "a sample of 12" in report.summary()


def test_inserted_surrogates_recovers_each_replacement():
    original = "Hi Maria, call 503-555-0142 on 3/14."
    spans = [Span(3, 8, "NAME", "Maria"), Span(15, 27, "PHONE", "503-555-0142"), Span(31, 35, "DATE", "3/14")]
    new = "Hi Lisa Whitehead, call 288-555-0139 on 8/02."
    assert gate.inserted_surrogates(original, spans, new) == ["Lisa Whitehead", "288-555-0139", "8/02"]
    assert gate.inserted_surrogates(original, spans, "unrelated text") == []


class _Blind:
    """A de-identifier with every blind spot: it finds nothing."""

    def __init__(self, real):
        self.config, self.lexicon = real.config, real.lexicon

    def scan(self, text):
        return []


def test_the_second_check_finds_what_the_de_identifier_missed(deidentifier):
    examples = [
        {"id": "a", "response": "Call Maria Gonzalez back at (971) 248-3307 or maria.g@example.com about the refill."},
        {"id": "b", "response": "Your lab results are ready in the patient portal."},
    ]
    blind = _Blind(deidentifier)
    # without the second check a blind de-identifier lets everything through
    assert gate.check_phi(examples, blind, max_rate=0.0).passed
    second = gate.second_check_for(deidentifier)
    with pytest.raises(gate.PhiGateError) as err:
        gate.check_phi(examples, blind, max_rate=0.0, second_check=second)
    report = err.value.report
    assert [row["id"] for row in report.flagged] == ["a"]
    assert {"second_check:PHONE_NUMBER", "second_check:EMAIL_ADDRESS"} <= set(report.flagged[0]["types"])
    sc = report.second_check
    assert sc["flagged"][0]["id"] == "a" and {"PHONE_NUMBER", "EMAIL_ADDRESS"} <= set(sc["by_type"])
    assert {"PERSON", "NAME_LEXICON"} & set(sc["by_type"])  # reported, not blocking
    summary = report.summary()
    assert "second check" in summary and "PHONE_NUMBER" in summary and "248-3307" not in summary


def test_the_second_check_adds_nothing_where_the_de_identifier_already_found_it(deidentifier):
    examples = [{"id": "a", "response": "Call Maria Gonzalez back at 503-555-0142 about the refill."}]
    report = gate.check_phi(examples, deidentifier, max_rate=1.0, second_check=gate.second_check_for(deidentifier))
    assert report.second_check["flagged"] == [] and report.flagged[0]["types"] == ["NAME", "PHONE"]


def test_the_trainer_gate_runs_the_second_check_and_reports_it(deidentifier, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"id": "x1", "patient_key": "k", "task": "lab_results_ready", "facts": {}, '
                    '"response": "Your lab results are ready in the portal."}\n')
    report = gate.run_gate([str(path)], gate.default_config(), deidentifier=deidentifier)
    assert report.passed and report.second_check is not None and report.second_check["flagged"] == []
    cfg = gate.default_config()
    cfg.second_check = False
    assert gate.run_gate([str(path)], cfg, deidentifier=deidentifier).second_check is None


# --------------------------------------------------------------------------- issue #18

def _clinic_named_like_a_person(tmp_path, deidentifier):
    """Prepares four reminders from a clinic called "Gordon Ellery" (the clinic's
    `location_name`, which the de-identifier keeps); returns the prepared split files."""
    rows = []
    for i, (name, day) in enumerate([("Ana", "Monday"), ("Luis", "Tuesday"), ("Maria", "Friday"), ("Peter", "Thursday")]):
        rows.append({"id": f"g{i}", "patient_id": f"P-77{i}", "channel": "sms", "direction": "outbound",
                     "task": "appointment_reminder",
                     "facts": {"preferred_name": name, "location_name": "Gordon Ellery", "appointment_time": "9:30 AM"},
                     "text": f"Hi {name}, this is a reminder of your appointment at Gordon Ellery on {day} at 9:30 AM. "
                             "Reply C to confirm or call us to reschedule."})
    raw = tmp_path / "raw.jsonl"
    raw.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = ml_collections.ConfigDict({"prepare": stage.default_config()})
    config.prepare.inputs = str(raw)
    report = stage.run(config, str(tmp_path / "w"), deidentifier=deidentifier)
    assert report["kept"] == 4
    return [str(tmp_path / "w" / "data" / f"{s}.jsonl") for s in ("train", "val", "test")]


def test_the_gate_does_not_refuse_prepares_output_for_a_clinic_named_like_a_person(deidentifier, tmp_path):
    paths = _clinic_named_like_a_person(tmp_path, deidentifier)
    blob = "".join(open(p, encoding="utf-8").read() for p in paths)
    assert blob.count("Gordon Ellery") >= 8  # kept in facts and text, as the de-identifier decided
    report = gate.run_gate(paths, gate.default_config(), deidentifier=deidentifier)
    assert report.passed and report.ignored_kept >= 4
    # Without the de-identifier's kept facts the gate would read the clinic as a place or a name.
    examples = [e for p in paths for e in gate.read_examples_for_gate(p)[0]]
    known = gate.load_known_surrogates(str(tmp_path / "w" / "data"))
    strict = gate.check_phi(examples, deidentifier, 0.0, known_surrogates=known, keep_fact_keys=(), org_names=(),
                            raise_on_fail=False)
    assert not strict.passed


def test_the_gate_uses_the_de_identifiers_organization_names(deidentifier):
    examples = [{"id": "o1", "facts": {}, "response": "Your results from Wallace Brennan are ready; "
                                                       "records from Legacy Emanuel were received."}]
    # A configured organization (config.prepare.deid.org_names) that reads like a person's name.
    assert not gate.check_phi(examples, deidentifier, 0.0, org_names=(), raise_on_fail=False).passed
    report = gate.check_phi(examples, deidentifier, 0.0, org_names=("Wallace Brennan",))
    assert report.passed and report.ignored_kept >= 1
    # A name outside the organization still counts.
    examples[0]["response"] += " Ask for Maria Gonzalez."
    assert not gate.check_phi(examples, deidentifier, 0.0, org_names=("Wallace Brennan",), raise_on_fail=False).passed


def test_the_gate_honours_data_on_error(deidentifier, tmp_path):
    path = tmp_path / "train.jsonl"
    good = {"id": "x1", "patient_key": "k", "task": "lab_results_ready", "facts": {},
            "response": "Your lab results are ready in the portal."}
    path.write_bytes(json.dumps(good).encode() + b"\n" + b'{"id": "x2", "task": "lab_results_ready", "resp\n'
                     + b'{"id": "x3", "response": "Hola \xff\xfe"}\n' + b'{"id": "x4", "task": "t"}\n')
    cfg = gate.default_config()
    cfg.second_check = False
    # reject (the trainer's default): bad lines are skipped and counted, never a crash
    report = gate.run_gate([str(path)], cfg, deidentifier=deidentifier)
    assert report.passed and report.n_examples == 1 and report.skipped_lines == 3
    assert "3 unreadable line(s) not scanned" in report.summary()
    assert not list(tmp_path.glob("*rejects*"))  # the gate writes nothing; the trainer's reader does
    # raise: the reader's one-line file:line error
    with pytest.raises(RecordError, match=r"train.jsonl:2: field '<json>'"):
        gate.run_gate([str(path)], cfg, deidentifier=deidentifier, on_error="raise")


def test_only_the_shipped_sample_passes_as_synthetic(tmp_path, monkeypatch):
    """Configs never wave a file through the gate; the trainer skips the scan only for the
    shipped synthetic sample itself, not for a copy of it or any other file."""
    import shutil

    from trainer.data import files
    from trainer.train import sft

    calls = []
    monkeypatch.setattr(gate, "run_gate", lambda paths, *a, **k: calls.append(list(paths)))
    import importlib.util

    for name in ("tiny_gpt2_lora.py", "tiny_gemma_lora.py", "gemma3_270m_lora.py"):
        spec = importlib.util.spec_from_file_location("c", os.path.join(REPO, "configs", name))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        cfg = mod.get_config()
        assert cfg.train.phi_gate.allow_synthetic is False and cfg.rate.phi_gate.allow_synthetic is False, name
    cfg.data.train_file = ""
    sft.phi_gate_check(cfg, str(tmp_path / "w"))  # the shipped sample itself: skipped
    assert calls == []
    copy = tmp_path / "clean_train.jsonl"
    shutil.copy(files.SAMPLE_TRAIN, copy)
    cfg.data.train_file = str(copy)
    sft.phi_gate_check(cfg, str(tmp_path / "w"))  # a copy is an arbitrary file: scanned
    assert calls == [[str(copy)]]
