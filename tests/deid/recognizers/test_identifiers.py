"""Identifier recognizers: SSN, keyword IDs (MRN, member, account, license, plate, device), VIN,
numbers with no keyword."""
import pytest

from tests.deid.helpers import found
from trainer.deid.recognizers import Context
from trainer.deid.recognizers.identifiers import (
    KeywordIdRecognizer, NumberIdRecognizer, SsnRecognizer,
)


@pytest.mark.parametrize("text,kind,value", [
    ("MRN 00482913 for the chart", "MRN", "00482913"),
    ("member id XJH884412093 group 44521", "HEALTH_PLAN", "XJH884412093"),
    ("acct # 55-20931-7 please", "ACCOUNT", "55-20931-7"),
    ("drivers license D1234567 on file", "LICENSE", "D1234567"),
    ("plate 8KLM442 silver Honda", "VEHICLE", "8KLM442"),
    ("VIN 1HGCM82633A004352", "VEHICLE", "1HGCM82633A004352"),
    ("pump serial # NG2219847H alarming", "DEVICE", "NG2219847H"),
    ("SSN 123-45-6789", "SSN", "123-45-6789"),
    ("last 4 of my ssn is 3390", "SSN", "3390"),
    ("Rx #: 7734120 for atorvastatin", "ID", "7734120"),
])
def test_identifier_kinds_with_context(deid, text, kind, value):
    assert (value, kind) in found(deid, text)


def _found(recognizer, text, rules):
    return [(s.text, s.type) for s in recognizer.find(text, Context(rules))]


def test_a_keyword_value_stops_at_words_and_is_never_a_time_or_a_year(rules):
    text = "MRN 00482913 please call; order at 10:30; insurance 2024"
    assert _found(KeywordIdRecognizer(), text, rules) == [("00482913", "MRN")]


def test_a_keyword_whose_value_fails_does_not_swallow_the_next_keyword(rules):
    assert _found(KeywordIdRecognizer(), "pump serial # X then serial 5259-697", rules) == [("5259-697", "DEVICE")]


def test_numbers_without_a_keyword_but_not_doses_or_medical_words(rules):
    text = "call about 7734120 or AB12345, took 500mg and B12"
    assert _found(NumberIdRecognizer(), text, rules) == [("7734120", "ID"), ("AB12345", "ID")]


def test_ssn_with_its_keyword_or_its_shape(rules):
    assert set(_found(SsnRecognizer(), "ssn 123-45-6789, last 4 of my social is 3390", rules)) == {
        ("123-45-6789", "SSN"), ("3390", "SSN")}
    assert _found(SsnRecognizer(), "call 503-555-0142", rules) == []
