"""Where a message states each fact, and what to do with those spans.

`fact_spans` finds the exact characters that state each fact (with the fact checker's own
extractors, so "Mon, Feb 22" is found for 2027-02-22); `mask` turns them into `{key}`
placeholders before a message goes to the LM and `unmask` puts the very same characters back
after, so a paraphrase or back-translation can never change a date, a phone number or a dose;
`substitute` replaces a fact's value *at those spans*, rendered the way the source rendered it
(an edge case built from a real message: another date in the same format, noon in the same clock
style, another name), and `drop_sentence_of` removes an optional fact with its sentence.
"""
from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Any, Mapping, Sequence

import ml_collections

from trainer.facts import checks
from trainer.facts.amounts import find_amounts, parse_amount
from trainer.facts.config import default_config as facts_default_config
from trainer.facts.contacts import find_emails, find_phones, find_urls, phone_digits, phone_matches, strip_scheme
from trainer.facts.dates import date_matches, find_dates, parse_iso_date
from trainer.facts.kinds import fact_kind
from trainer.facts.names import TITLES
from trainer.facts.text import fold_aligned
from trainer.facts.times import find_times, parse_time, time_matches
from trainer.util import calendar

# Facts that steer the message rather than being stated in it.
STEERING = frozenset({"language", "channel"})
PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*(?:#\d+)?)\s*\}")
# Anything in braces: what an LM makes of a placeholder ("{other-address}", "{time. }").
BRACED = re.compile(r"\{[^{}\n]{0,60}\}")


@dataclasses.dataclass(frozen=True)
class FactSpan:
    key: str
    start: int
    end: int
    text: str
    kind: str


def _locate(text: str, said: str, near: int) -> int:
    """Offset of mention text `said` reported at about `near` (extractors may normalise or strip)."""
    for lo in (max(0, near - 3), 0):
        i = text.find(said, lo)
        if i >= 0:
            return i
    return -1


def _literal_spans(text: str, needle: str) -> list[tuple[int, int]]:
    """Occurrences of `needle` as whole words, case and accents ignored (offsets in `text`)."""
    needle = needle.strip()
    if not needle:
        return []
    hay, pat = fold_aligned(text), re.escape(fold_aligned(needle))
    return [(m.start(), m.end()) for m in re.finditer(rf"(?<![\w]){pat}(?![\w])", hay)]


def _person_forms(value: str) -> list[str]:
    """'Dr. Laura Chen' -> ['Dr. Laura Chen', 'Laura Chen', 'Dr. Chen']: the forms messages use."""
    forms = [value.strip()]
    tokens = value.split()
    while tokens and re.sub(r"\W", "", tokens[0]).casefold() in TITLES:
        title = tokens.pop(0)
        if tokens:
            forms.append(" ".join(tokens))
            if len(tokens) > 1:
                forms.append(f"{title} {tokens[-1]}")
    return [f for f in dict.fromkeys(forms) if f]


def spans_of_fact(text: str, key: str, value: Any, lang: str = "en",
                  cfg: ml_collections.ConfigDict | None = None) -> list[FactSpan]:
    """Every span of `text` that states fact `key`=`value` (overlaps allowed; see fact_spans)."""
    cfg = cfg or facts_default_config()
    if value is None or isinstance(value, bool) or key in STEERING:
        return []
    kind = fact_kind(key, value, cfg.get("kind_overrides"))
    s = str(value).strip()
    found: list[tuple[int, int]] = []
    if kind == "date":
        d = parse_iso_date(s)
        for m in find_dates(text, lang, cfg.numeric_date_order) if d else ():
            if m.month and date_matches(m, d):
                i = _locate(text, m.text, m.start)
                found += [(i, i + len(m.text))] if i >= 0 else []
    elif kind == "time":
        hm = parse_time(s)
        for m in find_times(text) if hm else ():
            if time_matches(m, hm, cfg.bare_12h_time_matches):
                i = _locate(text, m.text, m.start)
                found += [(i, i + len(m.text))] if i >= 0 else []
    elif kind == "phone":
        digits = phone_digits(s)
        found += [(m.start, m.start + len(m.text)) for m in find_phones(text)
                  if len(m.value) >= len(digits) and phone_matches(m.value, digits)]
    elif kind == "amount":
        want = str(parse_amount(value))
        found += [(m.start, m.start + len(m.text)) for m in find_amounts(text, include_bare=True) if m.value == want]
    elif kind == "url":
        found += [(m.start, m.start + len(m.text)) for m in find_urls(text)
                  if m.value.rstrip("/") == s.rstrip("/") or strip_scheme(m.value).rstrip("/") == strip_scheme(s).rstrip("/")]
    elif kind == "email":
        found += [(m.start, m.start + len(m.text)) for m in find_emails(text) if m.value == s.lower()]
    elif kind == "person":
        for form in _person_forms(s):
            found += _literal_spans(text, form)
    elif kind == "number":
        digits = str(int(float(s))) if re.fullmatch(r"\d+(\.0+)?", s) else s
        found += [(m.start(), m.end()) for m in re.finditer(rf"(?<![\d:/.,$]){re.escape(digits)}(?![\d:/]|[.,]\d)", text)]
    elif kind == "text":
        found += _literal_spans(text, s)
    return [FactSpan(key, a, b, text[a:b], kind) for a, b in found]


def fact_spans(text: str, facts: Mapping[str, Any], lang: str | None = None,
               cfg: ml_collections.ConfigDict | None = None) -> list[FactSpan]:
    """Non-overlapping fact spans of `text`, sorted; a longer span wins over one inside it."""
    lang = lang or str(facts.get("language") or "en")
    spans = [sp for k, v in facts.items() for sp in spans_of_fact(text, k, v, lang, cfg)]
    spans.sort(key=lambda sp: (-(sp.end - sp.start), sp.start, sp.key))
    taken: list[FactSpan] = []
    for sp in spans:
        if all(sp.end <= t.start or sp.start >= t.end for t in taken):
            taken.append(sp)
    return sorted(taken, key=lambda sp: sp.start)


# --------------------------------------------------------------------------------------------
# Masking

@dataclasses.dataclass(frozen=True)
class Masked:
    text: str  # the message with {key} placeholders
    slots: dict[str, str]  # placeholder name -> the exact characters it replaced
    keys: dict[str, str]  # placeholder name -> fact key


def mask(text: str, facts: Mapping[str, Any], lang: str | None = None,
         cfg: ml_collections.ConfigDict | None = None) -> Masked | None:
    """Replaces each stated fact by `{key}` (`{key#2}` for a second wording of the same fact).

    None when the text already holds something that reads as a placeholder (it could not be told
    apart on the way back).
    """
    if BRACED.search(text):
        return None
    slots: dict[str, str] = {}
    keys: dict[str, str] = {}
    by_surface: dict[tuple[str, str], str] = {}
    out, pos = [], 0
    for sp in fact_spans(text, facts, lang, cfg):
        name = by_surface.get((sp.key, sp.text))
        if name is None:
            n = sum(1 for k in keys.values() if k == sp.key) + 1
            name = sp.key if n == 1 else f"{sp.key}#{n}"
            slots[name], keys[name] = sp.text, sp.key
            by_surface[(sp.key, sp.text)] = name
        out += [text[pos:sp.start], "{" + name + "}"]
        pos = sp.end
    out.append(text[pos:])
    return Masked("".join(out), slots, keys)


def unmask(text: str, slots: Mapping[str, str]) -> tuple[str, list[str]]:
    """Puts the original characters back; returns (text, placeholders the LM made up).

    Restored fact text never contains braces (mask refuses such messages), so any brace group
    left after restoring is one the LM invented ("{other-address}") and is reported.
    """
    unknown: list[str] = []
    marks: list[str] = []

    def put(m: re.Match) -> str:
        if m[1] in slots:
            marks.append(slots[m[1]])
            return f"\x00{len(marks) - 1}\x00"
        return m[0]

    held = PLACEHOLDER.sub(put, text)
    unknown += [m[0].strip("{} ") or m[0] for m in BRACED.finditer(held)]
    return re.sub("\x00(\\d+)\x00", lambda m: marks[int(m[1])], held), unknown


# --------------------------------------------------------------------------------------------
# Re-rendering a fact value in the source's own format

_ORDINAL = re.compile(r"^(\d{1,2})(st|nd|rd|th)$", re.I)


def _ordinal(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _same_case(template: str, word: str) -> str:
    if template.isupper() and len(template) > 1:
        return word.upper()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word.lower()


def _month_word(template: str, month: int, lang: str) -> str:
    low = template.lower().rstrip(".")
    english = low in [m.lower() for m in calendar.MONTHS_EN + calendar.MONTHS_EN_ABBR] or low == "sept"
    if low in calendar.MONTHS_ES or low == "setiembre" or (low in calendar.MONTHS_ES_ABBR and (lang == "es" or not english)):
        word = calendar.month_name(month, "es", abbr=low in calendar.MONTHS_ES_ABBR and low not in calendar.MONTHS_ES)
    else:
        abbr = low not in [m.lower() for m in calendar.MONTHS_EN]
        word = calendar.month_name(month, "en", abbr=abbr)
        if abbr and low == "sept" and month == 9:
            word = "Sept"
    return _same_case(template.rstrip("."), word)


def _weekday_word(template: str, weekday: int) -> str:
    low = template.lower().rstrip(".")
    if low in calendar.WEEKDAYS_ES or low in ("miercoles", "sabado"):
        word = calendar.WEEKDAYS_ES[weekday]
    elif low in calendar.WEEKDAYS_ES_ABBR:
        word = calendar.WEEKDAYS_ES_ABBR[weekday]
    elif low in [w.lower() for w in calendar.WEEKDAYS_EN]:
        word = calendar.WEEKDAYS_EN[weekday]
    else:
        word = calendar.WEEKDAYS_EN[weekday][: max(3, len(low))]
    return _same_case(template.rstrip("."), word)


def render_date_like(surface: str, old: datetime.date, new: datetime.date, lang: str = "en",
                     cfg: ml_collections.ConfigDict | None = None) -> str | None:
    """`surface` (how a message wrote `old`) rewritten for `new` in the same format, or None.

    "Monday, February 22" -> "Thursday, December 30"; "6/14" -> "12/30"; "2 de diciembre" ->
    "30 de diciembre"; the result is checked with the fact checker's own date reader.
    """
    cfg = cfg or facts_default_config()
    numeric = re.fullmatch(r"(\d{1,4})([/.\-])(\d{1,2})(?:\2(\d{2,4}))?", surface.strip())
    if numeric:
        a, sep, b, y = numeric[1], numeric[2], numeric[3], numeric[4]

        def pad(template: str, n: int) -> str:
            return f"{n:0{len(template)}d}" if template.startswith("0") or len(template) == 2 and n >= 10 else str(n)

        if len(a) == 4:  # ISO
            out = f"{new.year:04d}{sep}{new.month:02d}{sep}{new.day:02d}" if b else None
        else:
            md = (int(a), int(b)) == (old.month, old.day)
            first, second = (new.month, new.day) if md else (new.day, new.month)
            out = f"{pad(a, first)}{sep}{pad(b, second)}"
            if y:
                out += sep + (f"{new.year % 100:02d}" if len(y) == 2 else f"{new.year:04d}")
    else:
        def word(m: re.Match) -> str:
            w = m[0]
            low = w.lower().rstrip(".")
            folded = fold_aligned(low)
            if low in calendar.MONTH_NUMBER and (len(low) > 3 or w[:1].isupper() or low in calendar.MONTHS_ES_ABBR):
                if calendar.MONTH_NUMBER[low] == old.month:
                    return _month_word(w, new.month, lang) + ("." if w.endswith(".") else "")
            if low in calendar.WEEKDAY_NUMBER or folded in calendar.WEEKDAY_NUMBER:
                wd = calendar.WEEKDAY_NUMBER.get(low, calendar.WEEKDAY_NUMBER.get(folded))
                if wd == old.weekday():
                    return _weekday_word(w, new.weekday()) + ("." if w.endswith(".") else "")
            if low in calendar.WEEKDAY_ES_ABBR_NUMBER and calendar.WEEKDAY_ES_ABBR_NUMBER[low] == old.weekday():
                return _same_case(w, calendar.WEEKDAYS_ES_ABBR[new.weekday()])
            return w

        def number(m: re.Match) -> str:
            w = m[0]
            ordm = _ORDINAL.match(w)
            if ordm and int(ordm[1]) == old.day:
                return f"{new.day}{_same_case(ordm[2], _ordinal(new.day))}"
            if w.isdigit() and len(w) == 4 and int(w) == old.year:
                return f"{new.year:04d}"
            if w.isdigit() and len(w) <= 2 and int(w) == old.day:
                return f"{new.day:02d}" if len(w) == 2 and w.startswith("0") else str(new.day)
            return w

        out = re.sub(r"[^\W\d_]+\.?", word, surface)
        out = re.sub(r"\d+(?:st|nd|rd|th)?", number, out, flags=re.I)
    if out is None:
        return None
    mentions = [m for m in find_dates(out, lang, cfg.numeric_date_order) if m.month]
    return out if len(mentions) == 1 and date_matches(mentions[0], new) else None


def render_time_like(surface: str, new: tuple[int, int], noon_word: bool = False, lang: str = "en") -> str | None:
    """`surface` (how a message wrote a time) rewritten for `new`=(hour, minute) in its clock style.

    "2:30 PM" -> "12:00 PM" (or "noon"), "14:30" -> "12:00", "a las 2 de la tarde" -> "12 del
    mediodía"; checked with the fact checker's time reader.
    """
    hour, minute = new
    m = re.search(r"(\d{1,2})(?:([:.h])(\d{2}))?(\s*)([AaPp]\.?\s?[Mm]\.?)?", surface)
    if not m:
        return None
    h, sep, mm, space, ampm = m[1], m[2], m[3], m[4], m[5]
    if noon_word and (hour, minute) == (12, 0) and (ampm or re.search(r"(?i)tarde|mañana|manana|noche", surface)):
        word = "mediodía" if lang == "es" else "noon"
        out = word
    else:
        tail = surface[m.end():]
        if ampm or re.search(r"(?i)de la (tarde|mañana|manana|noche)|del mediod", tail):
            h12 = hour % 12 or 12
            new_h = str(h12)
            new_ampm = ""
            if ampm:
                letter = "p" if hour >= 12 else "a"
                new_ampm = re.sub(r"[AaPp]", lambda x: letter.upper() if x[0].isupper() else letter, ampm, count=1)
            tail = re.sub(r"(?i)de la (tarde|mañana|manana|noche)",
                          "del mediodía" if (hour, minute) == (12, 0) else
                          ("de la tarde" if 12 <= hour < 19 else "de la noche" if hour >= 19 else "de la mañana"), tail)
        else:
            new_h = f"{hour:02d}" if h.startswith("0") or len(h) == 2 and hour >= 10 else str(hour)
            new_ampm = ""
        if mm is None and minute:
            sep, mm = ":", "00"
        new_mm = f"{sep}{minute:02d}" if mm is not None else ""
        out = surface[: m.start()] + new_h + new_mm + (space + new_ampm if new_ampm else space if not ampm else "") + tail
        out = out.rstrip() if not surface.endswith(" ") else out
    got = find_times(out)
    if len(got) != 1 or got[0].minute != minute:
        return None
    t = got[0]
    # "12:00" without am/pm reads as noon or midnight: accepted the way the fact checker does
    return out if (t.hour == hour if not t.ambiguous else t.hour % 12 == hour % 12) else None


def _person_surface(old: str, new: str, surface: str) -> str | None:
    for o, n in zip(_person_forms(old), _person_forms(new)):
        if fold_aligned(o) == fold_aligned(surface):
            return n
    return None


def _digits_like(surface: str, old_digits: str, new_digits: str) -> str | None:
    """A phone written like `surface` ("(503) 555-0178") with `new_digits` in place of the old."""
    have = re.sub(r"\D", "", surface)
    if len(have) != len(new_digits) and not (len(have) == 11 and have.startswith("1") and len(new_digits) == 10):
        return None
    digits = iter(("1" + new_digits) if len(have) == 11 else new_digits)
    return re.sub(r"\d", lambda _: next(digits), surface)


def render_value(kind: str, key: str, old: Any, new: Any, surface: str, lang: str,
                 cfg: ml_collections.ConfigDict | None = None, noon_word: bool = False) -> str | None:
    """The characters that state `new` where `surface` stated `old`, or None if it cannot say."""
    if kind == "date":
        a, b = parse_iso_date(str(old)), parse_iso_date(str(new))
        return render_date_like(surface, a, b, lang, cfg) if a and b else None
    if kind == "time":
        hm = parse_time(str(new))
        return render_time_like(surface, hm, noon_word, lang) if hm else None
    if kind == "person":
        return _person_surface(str(old), str(new), surface)
    if kind == "phone":
        return _digits_like(surface, phone_digits(str(old)), phone_digits(str(new)))
    if kind in ("text", "url", "email"):
        return str(new) if fold_aligned(surface) == fold_aligned(str(old).strip()) else None
    if kind == "number":
        return str(new) if surface.strip().isdigit() else None
    return None


def substitute(text: str, facts: Mapping[str, Any], changes: Mapping[str, Any], lang: str | None = None,
               cfg: ml_collections.ConfigDict | None = None, noon_word: bool = False
               ) -> tuple[str, dict[str, Any]] | None:
    """The message and facts with `changes` applied at the spans that state each changed fact.

    None when a changed fact is stated in a way this cannot re-render (then nothing is invented).
    A changed fact the message does not state only changes the facts.
    """
    cfg = cfg or facts_default_config()
    lang = lang or str(facts.get("language") or "en")
    spans = fact_spans(text, facts, lang, cfg)
    out, pos = [], 0
    for sp in spans:
        if sp.key not in changes or changes[sp.key] == facts.get(sp.key):
            continue
        new = render_value(sp.kind, sp.key, facts[sp.key], changes[sp.key], sp.text, lang, cfg, noon_word)
        if new is None:
            return None
        out += [text[pos:sp.start], new]
        pos = sp.end
    out.append(text[pos:])
    new_facts = dict(facts)
    new_facts.update(changes)
    return "".join(out), new_facts


# A sentence ends at . ! ? followed by a space or the end (not inside "$719.54" or a URL, not after
# a title such as "Dr."), or at a newline.
_BOUNDARY = re.compile(r"[.!?]+(?=\s|$)|\n")
_NO_END_AFTER = re.compile(r"(?i)(?:^|\W)(?:dr|dra|mr|mrs|ms|sr|sra|srta|st|mt|lic|no|vs)$")


def sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, following spaces included (so a deletion leaves clean text)."""
    out, start = [], 0
    for m in _BOUNDARY.finditer(text):
        if m[0] != "\n" and _NO_END_AFTER.search(text[start:m.start()]):
            continue
        end = m.end()
        while end < len(text) and text[end] == " ":
            end += 1
        if end > start:
            out.append((start, end))
        start = end
    if start < len(text):
        out.append((start, len(text)))
    return out


def drop_sentence_of(text: str, facts: Mapping[str, Any], key: str, keep: Sequence[str],
                     lang: str | None = None, cfg: ml_collections.ConfigDict | None = None
                     ) -> tuple[str, dict[str, Any]] | None:
    """The message without the sentence(s) stating optional fact `key`, and the facts without it.

    None when such a sentence also states a fact in `keep` (a key fact), or is the whole message.
    """
    spans = fact_spans(text, facts, lang, cfg)
    mine = [sp for sp in spans if sp.key == key]
    if not mine:
        return None
    cut: list[tuple[int, int]] = []
    for a, b in sentences(text):
        if any(sp.start < b and a < sp.end for sp in mine):
            if any(sp.start < b and a < sp.end for sp in spans if sp.key in keep):
                return None
            cut.append((a, b))
    new = "".join(text[p:q] for p, q in _complement(cut, len(text))).strip()
    if not new or len(new) < 0.3 * len(text):
        return None
    new_facts = {k: v for k, v in facts.items() if k != key}
    return new, new_facts


def _complement(cuts: list[tuple[int, int]], n: int) -> list[tuple[int, int]]:
    out, pos = [], 0
    for a, b in sorted(cuts):
        out.append((pos, a))
        pos = b
    out.append((pos, n))
    return out


def key_facts_of(task: str, facts: Mapping[str, Any], cfg: ml_collections.ConfigDict | None = None) -> list[str]:
    return checks.key_fact_names(task, facts, cfg)
