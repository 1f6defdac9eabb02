"""PHI gate: refuses data that still holds identifiers, names the records, allows an override."""
import os

import ml_collections
import pytest

from trainer.data.records import CleanExample
from trainer.deid import gate
from trainer.deid.engine import Deidentifier
from trainer.deid.types import Span
from trainer.prepare import stage

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")

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
