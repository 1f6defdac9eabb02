"""Edge cases recombine the training data: each category does what it says, facts stay exact."""
import datetime
import re

import pytest

from tests.augment.helpers import TRAIN
from trainer.augment import config as augment_config
from trainer.augment import generators
from trainer.data.records import parse_clean_example
from trainer.facts import checks
from trainer.facts.config import default_config as facts_config

FACTS = facts_config()


@pytest.fixture(scope="module")
def made():
    cfg = augment_config.default_config().edge_cases
    cfg.per_category = 3
    train = [parse_clean_example(e) for e in TRAIN]
    cands, stats = generators.edge_cases(train, cfg, FACTS, FACTS.sms_max_chars, seed=0)
    return train, cands, stats


def by_cat(cands, name):
    return [c for c in cands if c.category == name]


def test_every_candidate_keeps_its_source_patient_and_facts_exact(made):
    train, cands, _ = made
    src = {e.id: e for e in train}
    assert cands
    for c in cands:
        s = src[c.source_id]
        assert c.patient_key == s.patient_key and c.task == s.task and c.response != s.response
        assert checks.find_hallucinations(c.response, c.facts, FACTS) == [], (c.category, c.response)
        src_missing = set(checks.check_facts(s.response, s.task, s.facts, FACTS).missing)
        assert set(checks.check_facts(c.response, c.task, c.facts, FACTS).missing) <= src_missing


def test_categories(made):
    _, cands, stats = made
    noon = by_cat(cands, "noon")
    assert noon and all(c.facts["appointment_time"] in ("12:00", "12:00 PM") for c in noon)
    assert all(re.search(r"(?i)\bnoon\b|mediod[ií]a|12:00", c.response) for c in noon)
    year_end = by_cat(cands, "year_end")
    assert year_end
    for c in year_end:
        d = max(datetime.date.fromisoformat(v) for k, v in c.facts.items() if k.endswith("_date"))
        assert (d.month, d.day) >= (12, 27) or (d.month, d.day) <= (1, 4)
    assert all("-" in c.facts["preferred_name"] for c in by_cat(cands, "hyphenated_name"))
    assert all(re.search(r"[^\x00-\x7f]", c.facts["preferred_name"]) for c in by_cat(cands, "accented_name"))
    assert all(len(c.facts["preferred_name"]) >= 14 for c in by_cat(cands, "long_name"))
    assert all(c.language == "es" for c in by_cat(cands, "spanish"))
    dropped = by_cat(cands, "missing_optional")
    assert dropped and all(len(c.facts) < len(next(e for e in TRAIN if e["id"] == c.source_id)["facts"])
                           for c in dropped)
    # no message of this training set is written to a caregiver: the category says so, invents nothing
    assert stats["caregiver"]["candidates"] == 0 and not by_cat(cands, "caregiver")


def test_caregiver_messages_are_recombined_when_the_data_has_them():
    cfg = augment_config.default_config().edge_cases
    extra = dict(TRAIN[4], id="t9", patient_key="p09", facts=dict(TRAIN[4]["facts"], preferred_name="Rosa",
                                                                  refill_count=1, callback_phone="(503) 555-0111"),
                 response="Hi Rosa, as your son's caregiver: his refill of sertraline 50 mg was sent to the pharmacy. "
                          "1 refills remain. Questions? Call (503) 555-0111.")
    train = [parse_clean_example(e) for e in TRAIN + [extra]]
    cands, stats = generators.edge_cases(train, cfg, FACTS, FACTS.sms_max_chars, seed=0)
    care = by_cat(cands, "caregiver")
    assert care and all(c.source_id == "t9" and "caregiver" in c.response for c in care)


def test_same_seed_same_candidates(made):
    train, cands, _ = made
    cfg = augment_config.default_config().edge_cases
    cfg.per_category = 3
    again, _ = generators.edge_cases(train, cfg, FACTS, FACTS.sms_max_chars, seed=0)
    assert [(c.id, c.response) for c in again] == [(c.id, c.response) for c in cands]
