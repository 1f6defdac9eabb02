"""Surrogates: same format as the original, deterministic per record, dates shifted by whole weeks."""
import datetime as dt
import random
import re

import pytest

from trainer.deid.lexicon import load_lexicon
from trainer.deid.surrogates import SurrogateMapper, shift_date_text


@pytest.mark.parametrize("original,pattern", [
    ("2025-10-16", r"\d{4}-\d{2}-\d{2}"), ("2025-01-05", r"\d{4}-\d{2}-\d{2}"),
    ("2025/10/16", r"\d{4}/\d{2}/\d{2}"), ("2025-10-16T14:30:00", r"\d{4}-\d{2}-\d{2}T14:30:00"),
    ("2025-8-6", r"\d{4}-\d{1,2}-\d{1,2}"), ("03/04/2025", r"\d{2}/\d{2}/\d{4}"),
    ("3/4/25", r"\d{1,2}/\d{1,2}/\d{2}"), ("March 4, 2025", r"[A-Z][a-z]+ \d{1,2}, \d{4}"),
    ("4 de marzo", r"\d{1,2} de [a-z]+"), ("(503) 555-0142", r"\(\d{3}\) 555-01\d{2}"),
])
def test_surrogates_keep_the_format_of_the_original(original, pattern):
    from trainer.deid.surrogates import SurrogateMapper

    kind = "PHONE" if original.startswith("(") else "DATE"
    for key in ("a", "b", "c", "d", "e", "f"):
        new = SurrogateMapper(key, "salt").replace(kind, original)
        assert re.fullmatch(pattern, new) and new != original, (original, new)


def test_one_surrogate_per_original_and_tag_mode_writes_tags():
    mapper = SurrogateMapper("r1", "salt")
    assert mapper.replace("PHONE", "503-555-0142") == mapper.replace("PHONE", "503-555-0142")
    assert mapper.replace("PHONE", "503-555-0142") != SurrogateMapper("r2", "salt").replace("PHONE", "503-555-0142")
    assert SurrogateMapper("r1", "salt", mode="tag").replace("NAME", "Maria") == "[NAME]"


def test_names_keep_titles_particles_and_case():
    new = SurrogateMapper("r1", "salt", lexicon=load_lexicon()).replace("NAME", "Dr. Maria de la Cruz")
    assert new.startswith("Dr. ") and " de la " in new
    assert "Maria" not in new and "Cruz" not in new


@pytest.mark.parametrize("original,words", [
    ("4 de marzo", {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
                    "septiembre", "octubre", "noviembre", "diciembre"}),
    ("4 dic", {"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"}),
    ("March 4", {"January", "February", "March", "April", "May", "June", "July", "August",
                 "September", "October", "November", "December"}),
    ("Mar. 4", {"Jan.", "Feb.", "Mar.", "Apr.", "May.", "Jun.", "Jul.", "Aug.", "Sep.", "Oct.", "Nov.", "Dec."}),
])
def test_written_months_stay_in_their_language_and_length(original, words):
    for key in "abcdef":
        new = SurrogateMapper(key, "salt").replace("DATE", original)
        assert any(w in new.split() for w in words), (original, new)


def test_dates_move_by_the_shift_and_keep_their_format():
    two_weeks = dt.timedelta(days=14)
    rng = random.Random(0)
    assert shift_date_text("2025-03-04", two_weeks, rng) == "2025-03-18"
    assert shift_date_text("March 4th, 2025", two_weeks, rng) == "March 18th, 2025"
    assert shift_date_text("3/4", two_weeks, rng, [dt.date(2025, 3, 4)]) == "3/18"
    with pytest.raises(ValueError):
        shift_date_text("no date here", two_weeks, rng)
