"""Spans and identifier kinds."""
from trainer.deid.types import PHI_TYPES, TYPE_PRIORITY, Span, trimmed_span


def test_every_identifier_kind_has_a_priority():
    assert set(TYPE_PRIORITY) == set(PHI_TYPES)
    assert TYPE_PRIORITY["EMAIL"] > TYPE_PRIORITY["PHONE"] > TYPE_PRIORITY["DATE"] > TYPE_PRIORITY["NAME"]


def test_trimmed_span_drops_spaces_and_punctuation_but_keeps_an_abbreviations_dot():
    text = " Maria Lopez, lives at 12 Oak St. since 3/4."
    name = trimmed_span(text, 0, text.index(",") + 1, "NAME")
    assert name == Span(1, 12, "NAME", "Maria Lopez", 0.9)
    start = text.index("12")
    assert trimmed_span(text, start, start + 10, "ADDRESS").text == "12 Oak St."
    assert trimmed_span(text, text.index("3/4"), len(text), "DATE", 0.8) == Span(40, 43, "DATE", "3/4", 0.8)
