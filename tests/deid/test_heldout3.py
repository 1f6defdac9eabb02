"""The CI guard on the hand-written held-out set (tests/fixtures/deid_heldout3.jsonl).

The set was written and scored before any change it inspired (deid_heldout3.FIRST_SCORE.md). It
is never tuned on, so a drop here is a real regression; its hash is pinned so that nobody
"fixes" a regression by editing the gold. The development set (deid_dev3.jsonl) was read while
changing the rules: its bar is a floor against breakage, not a measure.
"""
import hashlib
import json
import re

import pytest

from tests.deid.helpers import CLINICIANS, CLINICS, ROOT, load_tool

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def ev():
    return load_tool("eval_deid")


def _score(ev, deid, name):
    gold = ev.read_gold(str(FIXTURES / name))
    preds = [[s.to_json() for s in spans] for spans in deid.find_many([g["text"] for g in gold])]
    return gold, ev.score(gold, preds)


def test_the_fixtures_clinic_is_the_one_the_tests_configure():
    clinic = json.loads((FIXTURES / "deid_clinic3.json").read_text())
    assert clinic == {"clinician_names": CLINICIANS, "org_names": CLINICS}


def test_the_held_out_gold_is_the_file_first_scored():
    first = (FIXTURES / "deid_heldout3.FIRST_SCORE.md").read_text()
    pinned = re.search(r"`([0-9a-f]{64})  tests/fixtures/deid_heldout3.jsonl`", first).group(1)
    assert hashlib.sha256((FIXTURES / "deid_heldout3.jsonl").read_bytes()).hexdigest() == pinned


def test_held_out_recall_precision_and_false_alarms(ev, deid):
    gold, result = _score(ev, deid, "deid_heldout3.jsonl")
    assert len(gold) >= 150 and result["empty_lines"] >= 30
    # 0.989 / 0.953 and 2 of 50 at the last change (the goal of issue #13 is recall 0.98)
    assert result["recall"] >= 0.98, result["per_type"]
    assert result["precision"] >= 0.94
    # at most 1 in 10 identifier-free messages with any false alarm
    assert result["false_alarm_lines"] * 10 <= result["empty_lines"], result["false_alarm_lines"]


def test_development_set_floor(ev, deid):
    gold, result = _score(ev, deid, "deid_dev3.jsonl")
    assert len(gold) >= 100
    assert result["recall"] >= 0.98, result["misses"]
    assert result["precision"] >= 0.95
    assert result["false_alarm_lines"] * 10 <= result["empty_lines"]


def test_annotation_sources_and_gold_agree(ev):
    for name in ("deid_dev3", "deid_heldout3"):
        src = ev.parse_markup((FIXTURES / f"{name}.src").read_text(encoding="utf-8"))
        gold = ev.read_gold(str(FIXTURES / f"{name}.jsonl"))
        assert src == gold
