"""The recognizer registry: a new identifier kind is one registered class."""
import re

import pytest

from trainer.deid.config import default_config
from trainer.deid.engine import Deidentifier
from trainer.deid.recognizers import (
    Context, Recognizer, drop_clock_times, find_spans, register, registered, unregister,
)
from trainer.deid.types import Span, trimmed_span


class RoomNumberRecognizer(Recognizer):
    """A toy: hospital room numbers ("room 412B") as IDs."""

    name = "test_room_number"
    types = ("ID",)

    def find(self, text: str, context: Context) -> list[Span]:
        return [trimmed_span(text, m.start(1), m.end(1), "ID", 0.9)
                for m in re.finditer(r"\broom\s+(\d{3}[A-Z]?)\b", text, re.I)]


def test_a_registered_recognizer_feeds_deidentify_and_leaves_when_unregistered():
    cfg = default_config()
    cfg.mode = "tag"
    deid = Deidentifier(cfg)
    text = "she is in room 412B until friday"
    assert deid.deidentify(text, None, "r").text == text
    register(RoomNumberRecognizer)
    try:
        assert registered()[-1].name == "test_room_number"  # after the built-in ones
        res = deid.deidentify(text, None, "r")
        assert [(s.text, s.type) for s in res.spans] == [("412B", "ID")]
        assert res.text == "she is in room [ID] until friday"
    finally:
        unregister("test_room_number")
    assert "test_room_number" not in [r.name for r in registered()]
    assert deid.deidentify(text, None, "r").text == text


def test_built_in_recognizers_run_in_a_fixed_order_text_only_ones_first():
    names = [r.name for r in registered()]
    assert names == ["email", "url", "ip", "ssn", "phone", "date", "age", "keyword_id", "vin", "address",
                     "zip", "city_state", "county", "number_id", "reversed_name", "name", "city", "after_place"]
    needs_doc = [r.name for r in registered() if r.needs_doc]
    assert needs_doc == ["name", "city", "after_place"]


def test_registering_checks_names_and_types():
    class Twice(RoomNumberRecognizer):
        name = "email"

    class Unknown(RoomNumberRecognizer):
        name = "test_unknown"
        types = ("ROOM",)

    with pytest.raises(ValueError, match="already registered"):
        register(Twice)
    with pytest.raises(ValueError, match="unknown PHI types"):
        register(Unknown)


def test_a_recognizer_must_emit_the_types_it_declares(rules):
    class Liar(RoomNumberRecognizer):
        name = "test_liar"
        types = ("DATE",)

    register(Liar)
    try:
        with pytest.raises(ValueError, match="test_liar"):
            find_spans("room 412", rules)
    finally:
        unregister("test_liar")


def test_spans_overlap_in_run_order_and_later_recognizers_see_earlier_ones(rules):
    seen = []

    class Watcher(RoomNumberRecognizer):
        name = "test_watcher"

        def find(self, text, context):
            seen.extend((s.text, s.type) for s in context.found)
            return []

    register(Watcher)
    try:
        spans = find_spans("MRN 00482913, call 503-555-0142 at 10:30", rules)
    finally:
        unregister("test_watcher")
    expected = [("503-555-0142", "PHONE"), ("00482913", "MRN"), ("00482913", "ID"), ("503-555-0142", "ID")]
    assert [(s.text, s.type) for s in spans] == expected and seen == expected


def test_clock_times_are_no_ids_dates_phones_or_ages():
    assert drop_clock_times("10:30 pm", [Span(0, 5, "ID", "10:30")]) == []
    name = Span(0, 5, "NAME", "10:30")
    assert drop_clock_times("10:30 pm", [name]) == [name]
