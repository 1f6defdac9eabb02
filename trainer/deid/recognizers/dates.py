"""Dates in every form patients write them ("3/4", "March 4th", "tues the 5th", "4 de marzo",
"mid-June") and ages over the Safe Harbor threshold ("93 y/o", "mom is 93")."""
from __future__ import annotations

import re

from trainer.deid.lexicon import KIN_WORDS, MONTHS, WEEKDAYS
from trainer.deid.recognizers.base import CLOCK_RE, Context, Recognizer, register
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
               r"?\b(?:,?\s*(?:of\s+|de\s+|del\s+)?(?:\d{4}|'\d{2})\b|[\-/](?:\d{4}|\d{2})\b)?", _I),
    # day (of) month (year)
    re.compile(r"\b(?:" + _WDAY + r"\.?,?\s+)?(?:(?:the|el)\s+)?\d{1,2}" + _ORD + r"?\s*(?:of\s+|de\s+|-)?"
               + _MONTH + r"\b\.?(?:,?\s*(?:-|de\s+|del\s+)?(?:\d{4}|'\d{2}|\d{2}(?=\b)))?", _I),
    # month year ("March 2024", "Aug '19")
    re.compile(r"\b" + _MONTH + r"\.?,?\s+(?:of\s+|de\s+|del\s+)?(?:(?:19|20)\d{2}\b|['’]\d{2}\b)", _I),
    # weekday + ordinal / day number ("next tues the 5th", "lunes 5")
    re.compile(r"\b" + _WDAY + r"\.?,?\s+(?:the\s+|el\s+)?\d{1,2}" + _ORD + r"(?![\w:])", _I),
    re.compile(r"\b(?:lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)\s+\d{1,2}\b(?!\s*(?::|am|pm|de la|hrs?|horas))", _I),
]
# Full month names alone ("since March", "a finales de enero"); not "may", which is mostly the verb.
_FULL_MONTHS = "(?:" + "|".join(
    [m.lower() for m in calendar.MONTHS_EN if m != "May"] + ["sept"] + list(calendar.MONTHS_ES)) + ")"
BARE_MONTH_RE = re.compile(
    r"\b(?:in|since|by|until|till|before|after|during|early|mid|late|next|last|this|of|around|from|"
    r"en|de|desde|hasta|para|principios\s+de|mediados\s+de|finales\s+de)[\s\-]+(?:(?:early|mid|late)[\s\-]+)?"
    r"(?P<val>" + _FULL_MONTHS + r")\b(?!\s*\d)", _I)
# "the 5th", "on the 22nd", "the 21st or 22nd": a day of the month unless a noun follows ("the
# 2nd floor", "3rd dose") or an ordinal word comes before ("my 2nd", "his 3rd").
_NOT_A_DAY_AFTER = (r"(?!\s+(?:floor|fl|dose|shot|time|times|grade|graders?|trimester|opinion|visit|round|booster|"
                    r"week|day|month|year|one|child|kid|baby|son|daughter|st|street|ave|avenue|attempt|try|piso|"
                    r"dosis|vez|place|percentile|line|cycle|pregnancy|period|set|series|page|step|stage|degree|"
                    r"birthday|bday|b-day|cumpleaños|anniversary|generation|class|appointment|appt|injection|"
                    r"infusion|session|treatment|chemo|week's|cousin|edition|reminder|notice|request|refill|"
                    r"call|message|msg|test|sample|draw|try|option|choice|priority)\b)")
DAY_ORD_RE = re.compile(
    r"\b(?:(?:on|by|before|after|until|till|thru|through|from|for|due|since|el|del|al|the)\s+)"
    r"(?P<val>(?:the\s+)?\d{1,2}" + _ORD + r")\b" + _NOT_A_DAY_AFTER, _I)
# "... the 21st or 22nd": a bare ordinal joined to a day just found.
NEXT_ORD_RE = re.compile(r"^\s*(?:,|or|and|to|through|thru|-|–|o|y|al)\s*(?:the\s+)?(?P<val>\d{1,2}" + _ORD + r")\b"
                         + _NOT_A_DAY_AFTER, _I)
# A year of birth: an identifier when it implies an age over the threshold ("born in 1931",
# "DOB 1930", "b. 1934").
BIRTH_YEAR_RE = re.compile(
    r"\b(?:born(?:\s+(?:in|on))?|b\.|d\.?o\.?b\.?|date\s+of\s+birth|birth\s*year|year\s+of\s+birth|"
    r"naci[oó]\s+en|nac[ií]\s+en|fecha\s+de\s+nacimiento|a[nñ]o\s+de\s+nacimiento)"
    r"\s*(?:is|was|es|fue|:|-)?\s*(?:in\s+|en\s+)?(?P<val>(?:18|19)\d{2})\b(?![/\-.]\d)", _I)
# Spanish "nos vemos el 5", "regreso el 20 de mi viaje": "el" and a day, then nothing that
# makes the number a count or a time.
ES_EL_DAY_RE = re.compile(r"\bel\s+(?P<val>[1-9]|[12]\d|3[01])(?:ro|º|°)?(?=\s*(?:$|[,.;!?)]|entonces|pero|a\s+las|"
                          r"en\s+la\s+(?:mañana|tarde|noche)|por\s+la|y\s|o\s|de\s+(?:mi|este|ese|la|el)\s|del\s+mes|"
                          r"que\s+viene|próximo|proximo|sin\s+falta|temprano))", _I)
# Spanish "para el 9", "hasta el 14": a day of the month after a date-taking word.
ES_BARE_DAY_RE = re.compile(
    r"\b(?:cita|para|hasta|desde|antes\s+del?|despu[eé]s\s+del?|regreso|regresamos|vuelvo|volvemos|llego|"
    r"llegamos|lunes|martes|mi[eé]rcoles|jueves|viernes|s[aá]bado|domingo)\s+(?:el\s+)?(?:d[ií]a\s+)?"
    r"(?P<val>\d{1,2})\b(?!\s*(?:[:.,]\d|%|mg|am|pm|a\.m|p\.m|h\b|hrs?|horas?|d[ií]as|semanas|meses|a[nñ]os|"
    r"minutos|veces|pastillas|tabletas|de\s+(?:la|los|las)\b|/|x\b))", _I)
SHORT_DATE_RE = re.compile(r"(?:\b" + _WDAY + r"\.?,?\s+)?(?<![\d/.\-:$])(\d{1,2})\s?/\s?(\d{1,2})(?![\d/]|\.\d|\s*(?:mg|tab|pill|cup|dose|"
                           r"of\b|pain|scale|x\b|times|ml|units|%|chance|split))", _I)
DATE_RANGE_RE = re.compile(r"(?<![\d/])(\d{1,2}/\d{1,2})\s*[-–]\s*(\d{1,2}/\d{1,2})(?![\d/])")
SHORT_DASH_DATE_RE = re.compile(
    r"\b(?:on|by|due|dob|fecha|el|for|till|until|thru|before|after|from|date|d\.o\.b\.?)\s*:?\s*"
    r"(?P<val>\d{1,2}-\d{1,2})(?![\d\-])", _I)
# A fraction-like "3/4" is a date when what follows is something that happens on a day ("the 3/4
# visit", "your 1/2 appt").
_DATE_NOUN_AFTER_RE = re.compile(r"\s+(?:visit|appt|appointment|cita|consulta|surgery|procedure|follow[\s-]?up|f/u|"
                                 r"deadline|statement|bill|invoice|labs?|draw|call|message|msg)\b", _I)
NOT_SHORT_DATE_PRE = re.compile(r"(?:bp|blood pressure|pressure|presi[oó]n|pain|dolor|score|"
                                r"rated?|level|ratio|\d)\s*(?:is|was|of|at|:|es|de)?\s*$", _I)

_AGE_UNIT = r"(?:y/?o\b|y\.o\.?|yrs?\b\.?(?:\s*old)?|years?(?:\s*-?\s*old)?|-?year-old|años|anos|añitos)"
# Ages written in words, as voicemail transcripts and Spanish messages have them.
_UNITS_EN = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_UNITS_ES = ["uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"]
_TEENS_EN = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
             "eighteen", "nineteen", "twenty"]
WORD_NUMBERS = {"ninety": 90, "noventa": 90, "hundred": 100, "one hundred": 100, "a hundred": 100,
                "cien": 100, "ciento": 100}
for _k, (_en, _es) in enumerate(zip(_UNITS_EN, _UNITS_ES), 1):
    for _sep in (" ", "-", ""):
        WORD_NUMBERS[f"ninety{_sep}{_en}"] = 90 + _k
    WORD_NUMBERS[f"noventa y {_es}"] = 90 + _k
    WORD_NUMBERS[f"one hundred {_en}"] = WORD_NUMBERS[f"one hundred and {_en}"] = 100 + _k
    WORD_NUMBERS[f"hundred and {_en}"] = WORD_NUMBERS[f"ciento {_es}"] = 100 + _k
for _k, _en in enumerate(_TEENS_EN, 10):
    WORD_NUMBERS[f"one hundred {_en}"] = WORD_NUMBERS[f"one hundred and {_en}"] = 100 + _k
# Kin words the name rules do not need but ages are told of ("granddad is ninety-six").
_MORE_KIN = {"granddad", "grandad", "gramps", "grandpop", "great grandma", "great grandpa", "great-grandma",
             "great-grandpa", "abuelita", "abuelito", "bisabuela", "bisabuelo", "grammy", "meemaw", "pawpaw",
             "mum", "mama", "mommy", "ma", "pop", "pops"}
_NUM = (r"(?P<val>\d{2,3}|" + "|".join(re.escape(w).replace("\\ ", r"[\s\-]+")
                                        for w in sorted(WORD_NUMBERS, key=len, reverse=True)) + r")")
_NOT_A_QUANTITY = (r"(?!\s*(?:mg|%|lbs?|pounds|kg|units|:|am|pm|min|minutes|hours|days|weeks|months|"
                   r"dollars|degrees?|°|bpm|/|\.\d|percent|mmhg))")
_PERSON = (r"(?:she|he|i|patient|pt|paciente|client|resident|member|veteran|"
           + "|".join(sorted((re.escape(w) for w in KIN_WORDS | _MORE_KIN), key=len, reverse=True)) + ")")
AGE_RES = [
    re.compile(r"\b" + _NUM + r"\s*-?\s*" + _AGE_UNIT, _I),
    re.compile(r"\b(?:age|aged|edad(?:\s+de)?|turns?|turned|turning|cumple|cumpli[oó]|cumplir[aá]|is\s+now)"
               r"\s*:?\s*" + _NUM + r"\b(?!\s*(?:mg|%|lbs?|/))", _I),
    re.compile(r"\b(?P<val>\d{2,3})(?:st|nd|rd|th)\s+(?:birthday|bday|b-day|cumpleaños)", _I),
    # "Mom's 90th", "her 100th": a person's ordinal is a birthday
    re.compile(r"(?:['’]s|\b(?:her|his|my|your|their))\s+(?P<val>\d{2,3})(?:st|nd|rd|th)\b", _I),
    # a person, then up to two words of a name, then the age ("my mom Mae is 97", "she's 94")
    re.compile(r"\b" + _PERSON + r"(?:\s+[A-Z][\w'’\-]+){0,2}"
               r"(?:'s|’s|\s+is|\s+was|\s+turned|\s+turns|\s+tiene|\s+am|\s+will\s+be|\s+just\s+turned)\s+"
               + _NUM + r"\b" + _NOT_A_QUANTITY, _I),
    # clinical shorthand: "96M", "92 F", "a 91yo", "94 y.o."
    re.compile(r"(?<![\w.])(?P<val>\d{2,3})\s?(?:M|F)\b(?![\w/])"),
]
# After a name or a person, in brackets or between commas: "Helga (94) lives alone", "Pt, 92, ...".
AGE_AFTER_NAME_RE = re.compile(r"(?P<who>\b[A-Za-z][\w'’\-]+)\s*(?:\(\s*(?P<val>\d{2,3})\s*\)|,\s*(?P<val2>\d{2,3})\s*,)")
_PERSON_RE = re.compile(_PERSON + "$", _I)
# Temperatures and other readings written like ages ("T 99F", "temp 100.2 F").
_NOT_AGE_BEFORE = re.compile(r"(?:\b(?:temp(?:erature)?|t|fever|tmax|°|sat|spo2|o2|hr|pulse|weight|wt|"
                             r"glucose|sugar|bs|bg)\b|°)\s*:?\s*(?:of|is|was|at)?\s*$", _I)


def age_value(val: str) -> int:
    """The number an age is written as: "94", "ninety-four", "noventa y dos"."""
    if val.isdigit():
        return int(val)
    return WORD_NUMBERS.get(re.sub(r"[\s\-]+", " ", val.lower()), WORD_NUMBERS.get(
        re.sub(r"[\s\-]+", "", val.lower()), 0))


def _valid_md(a: int, b: int) -> bool:
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


@register
class DateRecognizer(Recognizer):
    name = "date"
    types = ("DATE",)
    order = 60
    reads_digits = True

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
                             r"after|thru|visit|scheduled|sched)(?:\s+(?:is|was|es|for|on))?\s*:?\s*(?:the\s+)?$",
                             text[max(0, m.start() - 24):m.start()], _I) or _DATE_NOUN_AFTER_RE.match(text, m.end()) or \
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
            before = text[max(0, m.start() - 12):m.start()].lower()
            if 1 <= day <= 31 and not re.search(r"\b(?:my|his|her|their|your|our|its|a)\s*$", before):
                # "the" is part of a day written "the 21st" (the guide marks it so), whether it
                # was the cue itself or came after one
                start = m.start() if m.group(0).lower().startswith("the") else m.start("val")
                out.append(trimmed_span(text, start, m.end("val"), "DATE", 0.75))
        for d in [s for s in out if re.search(r"\d" + _ORD + r"$", s.text, _I)]:
            n = NEXT_ORD_RE.match(text[d.end:d.end + 20])
            if n and 1 <= int(re.match(r"\d+", n.group("val")).group(0)) <= 31:
                out.append(trimmed_span(text, d.end + n.start("val"), d.end + n.end("val"), "DATE", 0.7))
        year_now = context.rules.reference_year
        for m in BIRTH_YEAR_RE.finditer(text):
            if year_now - int(m.group("val")) > context.rules.age_threshold:
                out.append(trimmed_span(text, m.start("val"), m.end("val"), "DATE", 0.85))
        for m in ES_EL_DAY_RE.finditer(text):
            out.append(trimmed_span(text, m.start("val"), m.end("val"), "DATE", 0.65))
        for m in ES_BARE_DAY_RE.finditer(text):
            if 1 <= int(m.group("val")) <= 31 and not CLOCK_RE.match(text, m.start("val")):
                out.append(trimmed_span(text, m.start("val"), m.end("val"), "DATE", 0.7))
        return out


@register
class AgeRecognizer(Recognizer):
    """Ages above `rules.age_threshold` (Safe Harbor: 89); younger ages are not identifiers."""

    name = "age"
    types = ("AGE",)
    order = 70
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        lex = context.rules.lexicon
        for rx in AGE_RES + [AGE_AFTER_NAME_RE]:
            for m in rx.finditer(text):
                if rx is AGE_AFTER_NAME_RE:
                    who = m.group("who").lower()
                    if not (_PERSON_RE.match(who) or (m.group("who")[0].isupper() and who not in lex.never_name
                                                       and (who in lex.first_names or who in lex.last_names))):
                        continue
                group = "val" if m.group("val") is not None else "val2"
                n = age_value(m.group(group))
                if not context.rules.age_threshold < n <= 125:
                    continue
                if _NOT_AGE_BEFORE.search(text[max(0, m.start(group) - 16):m.start(group)]):
                    continue
                out.append(trimmed_span(text, m.start(group), m.end(group), "AGE", 0.9))
        return out
