"""Dates in every form patients write them ("3/4", "March 4th", "tues the 5th", "4 de marzo",
"mid-June") and ages over the Safe Harbor threshold ("93 y/o", "mom is 93")."""
from __future__ import annotations

import re

from trainer.deid.lexicon import MONTHS, WEEKDAYS
from trainer.deid.recognizers.base import Context, Recognizer, register
from trainer.deid.types import Span, trimmed_span
from trainer.util import calendar

_I = re.I
_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
_WDAY = r"(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")"
_ORD = r"(?:st|nd|rd|th|ro|do|vo|to|º|°)"

_NUM_DATE = r"(?<![\d/.\-:])(?:\d{1,2}\s?[/\-.]\s?\d{1,2}\s?[/\-.]\s?(?:\d{4}|\d{2})|\d{4}[/\-]\d{1,2}[/\-]\d{1,2})(?![\d/:]|\.\d)"
DATE_RES = [
    # numeric with year, ISO
    re.compile(_NUM_DATE),
    # month name day (, year)
    re.compile(r"\b(?:" + _WDAY + r"\.?,?\s+)?" + _MONTH + r"\.?\s*-?\s*\d{1,2}" + _ORD +
               r"?\b(?:,?\s*(?:of\s+|de\s+|del\s+)?(?:\d{4}|'\d{2})\b)?", _I),
    # day (of) month (year)
    re.compile(r"\b(?:" + _WDAY + r"\.?,?\s+)?(?:(?:the|el)\s+)?\d{1,2}" + _ORD + r"?\s*(?:of\s+|de\s+|-)?"
               + _MONTH + r"\b\.?(?:,?\s*(?:-|de\s+|del\s+)?(?:\d{4}|'\d{2}|\d{2}(?=\b)))?", _I),
    # month year
    re.compile(r"\b" + _MONTH + r"\.?,?\s+(?:of\s+|de\s+|del\s+)?(?:19|20)\d{2}\b", _I),
    # weekday + ordinal / day number ("next tues the 5th", "lunes 5")
    re.compile(r"\b" + _WDAY + r"\.?,?\s+(?:the\s+|el\s+)?\d{1,2}" + _ORD + r"(?![\w:])", _I),
    re.compile(r"\b(?:lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)\s+\d{1,2}\b(?!\s*(?::|am|pm|de la|hrs?|horas))", _I),
]
# Full month names alone ("since March", "a finales de enero"); not "may", which is mostly the verb.
_FULL_MONTHS = "(?:" + "|".join(
    [m.lower() for m in calendar.MONTHS_EN if m != "May"] + ["sept"] + list(calendar.MONTHS_ES)) + ")"
BARE_MONTH_RE = re.compile(
    r"\b(?:in|since|by|until|till|before|after|during|early|mid|late|next|last|this|of|around|"
    r"en|de|desde|hasta|para|principios\s+de|mediados\s+de|finales\s+de)[\s\-]+(?:(?:early|mid|late)[\s\-]+)?"
    r"(?P<val>" + _FULL_MONTHS + r")\b(?!\s*\d)", _I)
# "the 5th": a day of the month unless a noun follows ("the 2nd floor", "3rd dose").
DAY_ORD_RE = re.compile(
    r"\b(?:on|by|before|after|until|till|thru|through|from|for|due|el|del|al)\s+"
    r"(?P<val>(?:the\s+)?\d{1,2}" + _ORD + r")\b(?!\s+(?:floor|dose|shot|time|times|grade|trimester|"
    r"opinion|visit|round|booster|week|day|month|year|one|child|kid|baby|st|street|ave|avenue|"
    r"attempt|try|piso|dosis|vez))", _I)
SHORT_DATE_RE = re.compile(r"(?:\b" + _WDAY + r"\.?,?\s+)?(?<![\d/.\-:$])(\d{1,2})\s?/\s?(\d{1,2})(?![\d/]|\.\d|\s*(?:mg|tab|pill|cup|dose|"
                           r"of\b|pain|scale|x\b|times|ml|units|%|chance|split))", _I)
DATE_RANGE_RE = re.compile(r"(?<![\d/])(\d{1,2}/\d{1,2})\s*[-–]\s*(\d{1,2}/\d{1,2})(?![\d/])")
SHORT_DASH_DATE_RE = re.compile(
    r"\b(?:on|by|due|dob|fecha|el|for|till|until|thru|before|after|from|date|d\.o\.b\.?)\s*:?\s*"
    r"(?P<val>\d{1,2}-\d{1,2})(?![\d\-])", _I)
NOT_SHORT_DATE_PRE = re.compile(r"(?:bp|blood pressure|pressure|presi[oó]n|pain|dolor|score|"
                                r"rated?|level|ratio|\d)\s*(?:is|was|of|at|:|es|de)?\s*$", _I)

_AGE_UNIT = r"(?:y/?o\b|y\.o\.?|yrs?\b\.?(?:\s*old)?|years?(?:\s*-?\s*old)?|-?year-old|años|anos|añitos)"
AGE_RES = [
    re.compile(r"\b(?P<val>\d{2,3})\s*-?\s*" + _AGE_UNIT, _I),
    re.compile(r"\b(?:age|aged|edad(?:\s+de)?|turns?|turned|turning|cumple|cumpli[oó]|cumplir[aá])\s*:?\s*(?P<val>\d{2,3})\b(?!\s*(?:mg|%|lbs?|/))", _I),
    re.compile(r"\b(?P<val>\d{2,3})(?:st|nd|rd|th)\s+(?:birthday|bday|b-day|cumpleaños)", _I),
    re.compile(r"\b(?:she|he|i|mom|mother|dad|father|grandma|grandpa|grandmother|grandfather|"
               r"patient|pt|abuela|abuelo|mam[aá]|pap[aá]|husband|wife|esposo|esposa)"
               r"(?:'s|’s|\s+is|\s+was|\s+turned|\s+turns|\s+tiene|\s+am|\s+will be)\s+(?P<val>\d{2,3})\b"
               r"(?!\s*(?:mg|%|lbs?|pounds|kg|units|:|am|pm|min|minutes|hours|days|weeks|months|"
               r"dollars|/|\.\d))", _I),
]


def _valid_md(a: int, b: int) -> bool:
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


@register
class DateRecognizer(Recognizer):
    name = "date"
    types = ("DATE",)
    order = 60

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for rx in DATE_RES:
            for m in rx.finditer(text):
                s = m.group(0)
                nums = re.findall(r"\d+", s)
                if rx is DATE_RES[0]:
                    a, b = int(nums[0]), int(nums[1])
                    if len(nums[0]) == 4:
                        if not (1 <= b <= 12 and 1 <= int(nums[2]) <= 31):
                            continue
                    elif not _valid_md(a, b):
                        continue
                    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{2}", s):  # versions, lab values
                        continue
                elif nums and rx is not DATE_RES[3]:
                    day = int(nums[0]) if not (len(nums[0]) == 4) else 1
                    if not 1 <= day <= 31:
                        continue
                if re.fullmatch(r"may\s+\d{1,2}", s, _I) and re.search(  # "may 2 pills", the verb
                        r"\bmay\s+\d{1,2}\s*(?:mg|%|x|times|pills?)", text[m.start():m.end() + 8], _I):
                    continue
                out.append(trimmed_span(text, m.start(), m.end(), "DATE", 0.9))
        for m in SHORT_DATE_RE.finditer(text):
            a, b = int(m.group(1)), int(m.group(2))
            frac = re.sub(r"\s", "", m.group(0)[-5:]).split("/")
            if not _valid_md(a, b) or m.group(0) in ("24/7", "50/50"):
                continue
            if len(frac) == 2 and frac[0] in "123" and frac[1] in ("2", "3", "4"):
                # "1/2 tab" or "1/2": a fraction unless a date cue or another date is near
                near = text[max(0, m.start() - 25):m.end() + 25]
                if re.search(r"\b(?:on|by|due|since|from|until|dob|fecha|el|appt|appointment|cita|before|"
                             r"after|thru|visit|scheduled|sched)(?:\s+(?:is|was|es|for|on))?\s*:?\s*$",
                             text[max(0, m.start() - 20):m.start()], _I) or \
                        len(re.findall(r"(?<![\d/])\d{1,2}/\d{1,2}(?![\d/])", near)) >= 2:
                    out.append(trimmed_span(text, m.start(), m.end(), "DATE", 0.8))
                continue
            if NOT_SHORT_DATE_PRE.search(text[max(0, m.start() - 24):m.start()]):
                continue
            out.append(trimmed_span(text, m.start(), m.end(), "DATE", 0.8))
        for m in DATE_RANGE_RE.finditer(text):
            for g in (1, 2):
                a, b = (int(x) for x in m.group(g).split("/"))
                if _valid_md(a, b):
                    out.append(trimmed_span(text, m.start(g), m.end(g), "DATE", 0.8))
        for m in SHORT_DASH_DATE_RE.finditer(text):
            a, b = (int(x) for x in m.group("val").split("-"))
            if _valid_md(a, b):
                out.append(trimmed_span(text, m.start("val"), m.end("val"), "DATE", 0.8))
        for m in BARE_MONTH_RE.finditer(text):
            s, e = m.start("val"), m.end("val")
            if re.search(r"(?:early|mid|late)[\s\-]+$", text[max(0, s - 6):s], _I):
                s = text.rfind(re.findall(r"(?:early|mid|late)[\s\-]+$", text[max(0, s - 6):s], _I)[0], 0, s)
            out.append(trimmed_span(text, s, e, "DATE", 0.7))
        for m in DAY_ORD_RE.finditer(text):
            day = int(re.search(r"\d+", m.group("val")).group(0))
            if 1 <= day <= 31:
                out.append(trimmed_span(text, m.start("val"), m.end("val"), "DATE", 0.75))
        return out


@register
class AgeRecognizer(Recognizer):
    """Ages above `rules.age_threshold` (Safe Harbor: 89); younger ages are not identifiers."""

    name = "age"
    types = ("AGE",)
    order = 70

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for rx in AGE_RES:
            for m in rx.finditer(text):
                n = int(m.group("val"))
                if context.rules.age_threshold < n <= 125:
                    out.append(trimmed_span(text, m.start("val"), m.end("val"), "AGE", 0.9))
        return out
