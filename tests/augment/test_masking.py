"""Masking restores facts byte for byte; facts re-rendered in the source's own format."""
import datetime

import pytest

from tests.augment.helpers import TRAIN
from trainer.augment import masking
from trainer.facts import checks


@pytest.mark.parametrize("ex", TRAIN, ids=[e["id"] for e in TRAIN])
def test_mask_round_trip_is_byte_exact(ex):
    m = masking.mask(ex["response"], ex["facts"])
    assert m is not None and m.slots
    back, unknown = masking.unmask(m.text, m.slots)
    assert back.encode("utf-8") == ex["response"].encode("utf-8") and not unknown
    # every key fact the message states is behind a placeholder, with its exact characters
    stated = checks.check_facts(ex["response"], ex["task"], ex["facts"]).stated
    assert set(stated) <= set(m.keys.values())
    for name, surface in m.slots.items():
        assert surface in ex["response"] and "{" + name + "}" in m.text
        assert not checks.fact_stated(m.keys[name], ex["facts"][m.keys[name]], m.text.replace("{" + name + "}", ""),
                                      ex["facts"]["language"])


def test_mask_survives_a_reworded_message():
    ex = TRAIN[0]
    m = masking.mask(ex["response"], ex["facts"])
    rewritten = "{location_name}: see {provider_name} on {appointment_date}, {appointment_time}. " \
                "{preferred_name}, call {callback_phone} to change it."
    out, unknown = masking.unmask(rewritten, m.slots)
    assert not unknown
    assert checks.check_facts(out, ex["task"], ex["facts"]).missing == []
    assert "Friday, June 14" in out and "1:15 PM" in out and "831-555-0183" in out


def test_unmask_reports_made_up_placeholders_and_spacing_variants():
    out, unknown = masking.unmask("Hi { preferred_name }, see {doctor}.", {"preferred_name": "Lucía"})
    assert out == "Hi Lucía, see {doctor}." and unknown == ["doctor"]
    # what a real LM made of placeholders (Gemma 3 270M): not a fact, never kept as text
    out, unknown = masking.unmask("{preferred_name}: at {other-address} at {time. }", {"preferred_name": "Lucía"})
    assert out.startswith("Lucía:") and unknown == ["other-address", "time."]


def test_mask_refuses_text_with_braces():
    assert masking.mask("Use code {abc} at checkout", {"preferred_name": "Ann"}) is None


@pytest.mark.parametrize("surface,old,new,lang,want", [
    ("Friday, June 14", "2024-06-14", "2024-12-30", "en", "Monday, December 30"),
    ("Sat, Jun 13", "2026-06-13", "2026-12-31", "en", "Thu, Dec 31"),
    ("6/14", "2024-06-14", "2025-01-02", "en", "1/2"),
    ("10/31/2025", "2025-10-31", "2025-12-29", "en", "12/29/2025"),
    ("2024-06-14", "2024-06-14", "2025-01-01", "en", "2025-01-01"),
    ("el 18 de febrero", "2026-02-18", "2026-12-30", "es", "el 30 de diciembre"),
    ("Sep 7", "2025-09-07", "2025-12-28", "en", "Dec 28"),
    ("June 3rd", "2025-06-03", "2025-12-22", "en", "December 22nd"),
])
def test_render_date_like_keeps_the_source_format(surface, old, new, lang, want):
    d = datetime.date.fromisoformat
    assert masking.render_date_like(surface, d(old), d(new), lang) == want


@pytest.mark.parametrize("surface,noon_word,lang,want", [
    ("1:15 PM", False, "en", "12:00 PM"),
    ("8:00 am", False, "en", "12:00 pm"),
    ("1:15 PM", True, "en", "noon"),
    ("16:45", False, "es", "12:00"),
    ("9:30", True, "es", "12:00"),
])
def test_render_time_like_keeps_the_clock_style(surface, noon_word, lang, want):
    assert masking.render_time_like(surface, (12, 0), noon_word, lang) == want


def test_substitute_changes_facts_only_where_stated():
    ex = TRAIN[0]
    changes = {"appointment_date": "2024-12-31", "appointment_time": "12:00", "preferred_name": "Ana-Sofía",
               "callback_phone": "503-555-0199"}
    text, facts = masking.substitute(ex["response"], ex["facts"], changes)
    assert text == ("Hi Ana-Sofía, this is Eastside Urgent Care reminding you of your appointment with Dr. Tony "
                    "Shields on Tuesday, December 31 at 12:00 PM. Reply C to confirm or call 503-555-0199.")
    assert facts["appointment_date"] == "2024-12-31" and facts["language"] == "en"
    assert checks.check_facts(text, ex["task"], facts).missing == []
    assert checks.find_hallucinations(text, facts) == []


def test_drop_sentence_of_optional_fact_keeps_key_facts():
    ex = TRAIN[7]  # lab results; provider_name is optional for lab_results_ready
    keys = masking.key_facts_of(ex["task"], ex["facts"])
    text, facts = masking.drop_sentence_of(ex["response"], ex["facts"], "provider_name", keys)
    assert "Tricia" not in text and "provider_name" not in facts
    assert text.endswith("https://portal.example.org/cds0jf2.")
    assert checks.check_facts(text, ex["task"], facts).missing == []
    # a sentence that also states a key fact is never dropped
    assert masking.drop_sentence_of(TRAIN[6]["response"], TRAIN[6]["facts"], "portal_link",
                                    ["preferred_name", "balance_amount"]) is not None
    assert masking.drop_sentence_of(TRAIN[6]["response"], TRAIN[6]["facts"], "portal_link",
                                    ["callback_phone"]) is None
