"""Overlap resolution: priority, then length, then order of discovery."""
from trainer.deid.resolve import resolve
from trainer.deid.types import Span


def test_the_higher_priority_type_wins_an_overlap():
    phone = Span(5, 17, "PHONE", "503-555-0142")
    assert resolve([Span(5, 17, "ID", "503-555-0142"), phone]) == [phone]
    assert resolve([Span(0, 20, "NAME", "x" * 20), phone]) == [phone]


def test_at_equal_priority_the_longer_span_then_the_one_found_first_wins():
    long_date = Span(0, 12, "DATE", "March 4 2025")
    assert resolve([Span(0, 7, "DATE", "March 4"), long_date]) == [long_date]
    url, ssn = Span(0, 11, "URL", "a" * 11), Span(0, 11, "SSN", "1" * 11)
    assert resolve([url, ssn]) == [url] and resolve([ssn, url]) == [ssn]


def test_a_name_containing_a_place_is_the_better_reading():
    # "la cruz" is taken first (CITY outranks NAME); the whole name replaces it
    city = Span(11, 18, "CITY", "la cruz")
    name = Span(0, 18, "NAME", "lourdes de la cruz")
    assert resolve([city, name]) == [name]


def test_empty_spans_go_and_the_rest_come_back_in_text_order():
    spans = [Span(20, 23, "DATE", "3/4"), Span(5, 5, "NAME", ""), Span(0, 4, "NAME", "Rosa")]
    assert [s.start for s in resolve(spans)] == [0, 20]
