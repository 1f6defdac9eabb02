"""Date and age recognizers."""
import dataclasses

import pytest

from tests.deid.helpers import covered, found
from trainer.deid.recognizers import Context
from trainer.deid.recognizers.dates import AgeRecognizer, DateRecognizer


@pytest.mark.parametrize("date", [
    "3/4", "03-04-2025", "3/4/1950", "2025-03-04", "March 4th", "Mar. 4", "4th of march",
    "tues the 5th", "4 de marzo", "el 4 de marzo de 2025", "March 4, 2025", "martes 14",
    "25/2/2025", "Jun 8", "mid-June",
])
def test_dates_in_all_forms(deid, date):
    text = f"my appt is {date} ok"
    assert covered(deid, text, date), found(deid, text)
    assert all(k == "DATE" for _, k in found(deid, text))


def test_ages_over_89_only(deid):
    assert found(deid, "mom is 93 and dad is 88") == [("93", "AGE")]
    assert found(deid, "tiene 91 años") == [("91", "AGE")]


def test_fractions_blood_pressure_and_pain_scores_are_no_dates(rules):
    spans = DateRecognizer().find("take 1/2 tab, BP 120/80, pain 7/10, due 3/4", Context(rules))
    assert [(s.text, s.type) for s in spans] == [("3/4", "DATE")]


def test_the_age_threshold_comes_from_the_rules(rules):
    assert [s.text for s in AgeRecognizer().find("mom is 93", Context(rules))] == ["93"]
    older = dataclasses.replace(rules, age_threshold=95)
    assert AgeRecognizer().find("mom is 93", Context(older)) == []
