"""Dates in English and Spanish messages: "Sat, Oct 3", "3 de octubre de 2026", "10/03", ISO.

The month and weekday words come from trainer.util.calendar; this module decides which of them
a date parser may trust (see WEEKDAY_OF) and how each written form reads.
"""
from __future__ import annotations

import dataclasses
import datetime
import re
import unicodedata
from typing import Any, Mapping

from trainer.facts.text import alternation, fold, fold_aligned
from trainer.util import calendar

MONTH_OF: dict[str, int] = dict(calendar.MONTH_NUMBER)
# Folded weekday words plus the Spanish three-letter abbreviations, except "mar": in a date it is
# March far more often than martes.
WEEKDAY_OF: dict[str, int] = {fold(w): d for w, d in calendar.WEEKDAY_NUMBER.items()}
WEEKDAY_OF.update({w: d for w, d in calendar.WEEKDAY_ES_ABBR_NUMBER.items() if w not in MONTH_OF})
# Full weekday names only: alone, "sat"/"sun"/"mar" are ordinary words.
_WEEKDAY_FULL = {fold(w) for w in calendar.WEEKDAYS_EN + calendar.WEEKDAYS_ES}
# Only an abbreviation takes a dot ("Oct."); after a full name the dot ends the sentence.
_FULL_MONTHS = ({m.lower() for m in calendar.MONTHS_EN} | set(calendar.MONTHS_ES)
                | {n for n in MONTH_OF if len(n) > 4})  # longer variants: "setiembre"

_MON = (rf"(?:(?P<mon>{alternation(_FULL_MONTHS)})|(?P<mon_abbr>{alternation(set(MONTH_OF) - _FULL_MONTHS)})\.?)")
_WD = rf"(?:(?P<wd>{alternation(WEEKDAY_OF)})\.?,?\s+)"
_YEAR = r"(?P<year>(?:19|20)\d{2})(?!\d)"
_ORD = r"(?:st|nd|rd|th|ro|º|°|o\b)?"
# Matching runs on accent-folded text aligned with the original (see fold_aligned).
_DATE_PATTERNS = [
    # ISO 2026-10-03 and 2026/10/03
    re.compile(r"(?<![\d/.-])(?P<year>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?![\d/-])"),
    # Saturday, October 3rd, 2026 / Oct. 3 / sábado, octubre 3
    re.compile(rf"\b{_WD}?(?:the\s+)?{_MON}\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}(?!\d)"
               rf"(?:,?\s+(?:de\s+)?{_YEAR})?"),
    # sábado 3 de octubre de 2026 / el 3 de oct. / 3rd of October / 3 October 2026
    re.compile(rf"\b{_WD}?(?:(?:el|the|dia)\s+)*(?P<d>\d{{1,2}}|primero){_ORD}\s+(?:de\s+|of\s+)?"
               rf"{_MON}(?![a-z])(?:,?\s+(?:de\s+|del\s+)?{_YEAR})?"),
    # 10/03, 10/3/2026, 10-03-26, 03.10.2026 (order depends on language)
    re.compile(rf"(?<![\d/.:,$-])(?:\b{_WD})?(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})(?:/(?P<y>\d{{4}}|\d{{2}}))?(?![\d/])"),
    re.compile(r"(?<![\d/.:,$-])(?P<a>\d{1,2})([-.])(?P<b>\d{1,2})\2(?P<y>\d{4}|\d{2})(?![\d/.-]\d)"),
]
_STANDALONE_WEEKDAY = re.compile(rf"\b(?P<wd>{alternation(_WEEKDAY_FULL)})\b")
# "1/2 tablet", "24/7": fractions and slogans that look like numeric dates.
_NOT_A_DATE_AFTER = re.compile(
    r"\s*(?:of\b|tab|pill|cap|dose|cup|tsp|tbsp|teaspoon|tablespoon|tableta|pastilla|comprimido|"
    r"cucharad|capsul|dosis|mg\b|ml\b)")

_WEEKDAY_TOKEN = re.compile(rf"\b({alternation(WEEKDAY_OF)})\b\.?")
_RANGE_WORD = re.compile(r"\s*(?:-|–|—|to|through|thru|a|al|hasta)\s*$")


@dataclasses.dataclass(frozen=True)
class DateMention:
    text: str
    start: int
    month: int  # 0 for a weekday said alone
    day: int
    year: int | None
    weekday: int | None


def valid_date(year: int, month: int, day: int) -> bool:
    try:
        datetime.date(year, month, day)
        return True
    except ValueError:
        return False


def find_dates(text: str, lang: str = "en", numeric_order: Mapping[str, str] | None = None) -> list[DateMention]:
    """Date mentions in `text`, including a weekday named alone ("see you Monday")."""
    text = unicodedata.normalize("NFC", text)
    folded = fold_aligned(text)
    order = dict(numeric_order or {"en": "MD", "es": "DM"}).get(lang, "MD")
    taken: list[tuple[int, int]] = []
    found: list[DateMention] = []

    def free(s: int, e: int) -> bool:
        return all(e <= a or s >= b for a, b in taken)

    for i, pattern in enumerate(_DATE_PATTERNS):
        for m in pattern.finditer(folded):
            if not free(m.start(), m.end()):
                continue
            g = m.groupdict()
            wd = WEEKDAY_OF.get(g.get("wd") or "")
            year = None
            if i == 0:
                year, month, day = int(g["year"]), int(g["m"]), int(g["d"])
            elif i in (1, 2):
                month = MONTH_OF[g["mon"] or g["mon_abbr"]]
                day = 1 if g["d"] == "primero" else int(g["d"])
                year = int(g["year"]) if g.get("year") else None
            else:
                a, b, y = int(g["a"]), int(g["b"]), g.get("y")
                if y is None and (_NOT_A_DATE_AFTER.match(folded, m.end()) or (a, b) == (24, 7)):
                    continue
                year = None if y is None else (int(y) + 2000 if len(y) == 2 else int(y))
                month, day = (a, b) if order == "MD" else (b, a)
                # A date that only reads the other way round is accepted when a year pins it down.
                if not valid_date(year or 2024, month, day) and y is not None:
                    month, day = day, month
            if not valid_date(year or 2024, month, day):  # 2024 is a leap year: Feb 29 stays valid
                continue
            taken.append((m.start(), m.end()))
            found.append(DateMention(text[m.start():m.end()], m.start(), month, day, year, wd))
    # "Monday through Friday", "de lunes a viernes": opening hours, not a date.
    day_tokens = list(_WEEKDAY_TOKEN.finditer(folded))
    for a, b in zip(day_tokens, day_tokens[1:]):
        if _RANGE_WORD.match(folded[a.end():b.start()]):
            taken += [(a.start(), a.end()), (b.start(), b.end())]
    for m in _STANDALONE_WEEKDAY.finditer(folded):
        if free(m.start(), m.end()):
            found.append(DateMention(text[m.start():m.end()], m.start(), 0, 0, None, WEEKDAY_OF[m["wd"]]))
    return sorted(found, key=lambda d: d.start)


def fact_weekdays(text: str) -> set[int]:
    """Weekdays a free-text fact names, ranges expanded: 'Mon-Fri' -> {0..4}, 'lunes a viernes'."""
    folded = fold_aligned(unicodedata.normalize("NFC", text))
    tokens = list(_WEEKDAY_TOKEN.finditer(folded))
    days = {WEEKDAY_OF[m[1]] for m in tokens}
    for a, b in zip(tokens, tokens[1:]):
        if _RANGE_WORD.match(folded[a.end():b.start()]):
            start, end = WEEKDAY_OF[a[1]], WEEKDAY_OF[b[1]]
            days |= {(start + i) % 7 for i in range((end - start) % 7 + 1)}
    return days


def parse_iso_date(value: Any) -> datetime.date | None:
    """'2026-10-03' (a time part may follow) -> date; anything else, or an impossible date, -> None."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", str(value))
    if not m:
        return None
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def date_matches(mention: DateMention, date: datetime.date) -> bool:
    """True when the mention names this date and says nothing that contradicts it."""
    if mention.weekday is not None and mention.weekday != date.weekday():
        return False
    if mention.month == 0:  # weekday alone: consistent, but it does not state the date
        return True
    return (mention.month, mention.day) == (date.month, date.day) and mention.year in (None, date.year)
