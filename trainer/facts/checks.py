"""Fact accuracy and hallucination checks for generated patient messages (English and Spanish).

A message is faithful when every key fact of its task is stated exactly (in any natural wording:
"2026-10-03" may be "Sat, Oct 3" or "3 de octubre") and nothing checkable is invented: every
date, time, phone number, amount, URL, e-mail and person name in the message must come from the
facts. One set of extractors (dates, times, contacts, amounts, names) serves both directions: a
fact is stated when an extracted mention equals it; a mention is a hallucination when it equals
no fact.
"""
from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import re
from typing import Any, Mapping

import ml_collections

from trainer.facts.amounts import find_amounts, parse_amount
from trainer.facts.config import default_config
from trainer.facts.contacts import (find_emails, find_phones, find_urls, phone_digits, phone_matches, strip_scheme,
                                    url_stated)
from trainer.facts.dates import DateMention, date_matches, fact_weekdays, find_dates, parse_iso_date, valid_date
from trainer.facts.kinds import PROVIDER_KEYS, fact_kind
from trainer.facts.names import TITLES, find_names, person_stated
from trainer.facts.text import contains_words, fold, words
from trainer.facts.times import TimeMention, find_times, parse_time, time_matches
from trainer.util.language import english_or_spanish

# --------------------------------------------------------------------------------------------
# Key facts and recall

_NUMBER_WORDS = {
    0: ("zero", "cero"), 1: ("one", "uno"), 2: ("two", "dos"), 3: ("three", "tres"),
    4: ("four", "cuatro"), 5: ("five", "cinco"), 6: ("six", "seis"), 7: ("seven", "siete"),
    8: ("eight", "ocho"), 9: ("nine", "nueve"), 10: ("ten", "diez"), 11: ("eleven", "once"),
    12: ("twelve", "doce"),
}


def _number_stated(value: Any, output: str) -> bool:
    try:
        n = float(value)
    except (TypeError, ValueError):
        return False
    if not math.isfinite(n):
        return False
    digits = str(int(n)) if n == int(n) else str(value)
    # Not inside 2:30, 10/3, 1.5 or 120: a count stands alone.
    if re.search(rf"(?<![\d:/.,$]){re.escape(digits)}(?![\d:/]|[.,]\d)", output):
        return True
    spelled = _NUMBER_WORDS.get(int(n), ()) if n == int(n) else ()
    folded = fold(output)
    return any(re.search(rf"\b{w}\b", folded) for w in spelled)


def fact_stated(key: str, value: Any, output: str, lang: str = "en",
                config: ml_collections.ConfigDict | None = None) -> bool:
    """Whether `output` states fact `key`=`value` exactly (in any natural wording)."""
    cfg = config or default_config()
    kind = fact_kind(key, value, cfg.get("kind_overrides"))
    s = str(value).strip()
    if kind == "date":
        d = parse_iso_date(s)
        return any(m.month and date_matches(m, d) for m in find_dates(output, lang, cfg.numeric_date_order))
    if kind == "time":
        hm = parse_time(s)
        return any(time_matches(m, hm, cfg.bare_12h_time_matches) for m in find_times(output))
    if kind == "phone":
        digits = phone_digits(s)
        return any(len(m.value) >= len(digits) and phone_matches(m.value, digits) for m in find_phones(output))
    if kind == "amount":
        value_ = str(parse_amount(value))
        return any(m.value == value_ for m in find_amounts(output, include_bare=True))
    if kind == "url":
        return url_stated(s, output)
    if kind == "email":
        return s.lower() in output.lower()
    if kind == "person":
        return person_stated(s, output, bool(PROVIDER_KEYS.search(key.lower())))
    if kind == "number":
        return _number_stated(value, output)
    if kind == "text":
        return contains_words(words(output), words(s))
    return False


def key_fact_names(task: str, facts: Mapping[str, Any], config: ml_collections.ConfigDict | None = None) -> list[str]:
    """The facts of this example that the message must state."""
    cfg = config or default_config()
    overrides = cfg.get("kind_overrides")
    listed = cfg.key_facts.get(task) if task in cfg.key_facts else None
    keys = list(listed) if listed is not None else sorted(facts)
    return [k for k in keys if k in facts and fact_kind(k, facts[k], overrides) != "skip"]


@dataclasses.dataclass
class FactCheck:
    stated: list[str]
    missing: list[str]

    @property
    def recall(self) -> float | None:
        total = len(self.stated) + len(self.missing)
        return len(self.stated) / total if total else None


def check_facts(output: str, task: str, facts: Mapping[str, Any],
                config: ml_collections.ConfigDict | None = None) -> FactCheck:
    """Which of the task's key facts `output` states; the language of `facts` reads dates."""
    cfg = config or default_config()
    lang = str(facts.get("language") or "en")
    stated, missing = [], []
    for key in key_fact_names(task, facts, cfg):
        (stated if fact_stated(key, facts[key], output, lang, cfg) else missing).append(key)
    return FactCheck(stated, missing)


# --------------------------------------------------------------------------------------------
# Hallucinations

HALLUCINATION_KINDS = ("date", "time", "phone", "amount", "url", "email", "name")


@dataclasses.dataclass(frozen=True)
class Hallucination:
    kind: str  # date, time, phone, amount, url, email, name
    text: str


def _allowed(facts: Mapping[str, Any], cfg: ml_collections.ConfigDict) -> dict[str, Any]:
    """Everything checkable that the facts hold, from typed facts and from free-text values."""
    lang = str(facts.get("language") or "en")
    overrides = cfg.get("kind_overrides")
    allowed: dict[str, Any] = {"dates": [], "weekday_words": set(), "times": [], "phones": [],
                               "amounts": set(), "urls": [], "emails": set(), "names": []}
    for key, value in facts.items():
        if value is None or isinstance(value, bool):
            continue
        s = str(value)
        kind = fact_kind(key, value, overrides)
        if kind == "date":
            allowed["dates"].append(parse_iso_date(s))
        elif kind == "time":
            allowed["times"].append(parse_time(s))
        elif kind == "phone":
            allowed["phones"].append(phone_digits(s))
        elif kind == "amount":
            allowed["amounts"].add(str(parse_amount(value)))
        elif kind == "url":
            allowed["urls"].append(s.strip())
        elif kind == "email":
            allowed["emails"].add(s.strip().lower())
        if kind in ("skip",) and key in ("language", "channel"):
            continue
        # Free text may hold more: "office_hours": "Mon-Fri 8am-5pm", a second phone, a name.
        for m in find_dates(s, lang, cfg.numeric_date_order) if kind != "date" else []:
            if m.month and m.year and valid_date(m.year, m.month, m.day):
                allowed["dates"].append(datetime.date(m.year, m.month, m.day))
            elif m.month:
                allowed["dates"].append(m)
        allowed["weekday_words"] |= fact_weekdays(s)
        allowed["times"] += [(t.hour, t.minute, t.ambiguous) for t in find_times(s)] if kind != "time" else []
        allowed["phones"] += [p.value for p in find_phones(s)] if kind != "phone" else []
        allowed["amounts"] |= {a.value for a in find_amounts(s)}
        allowed["urls"] += [u.value for u in find_urls(s)] if kind != "url" else []
        allowed["emails"] |= {e.value for e in find_emails(s)}
        if isinstance(value, str):
            allowed["names"].append(set(words(s)) - TITLES)
    return allowed


def _date_allowed(m: DateMention, allowed: dict[str, Any]) -> bool:
    for a in allowed["dates"]:
        if isinstance(a, datetime.date):
            if date_matches(m, a):
                return True
        elif m.month == 0:
            if a.weekday == m.weekday:
                return True
        elif (m.month, m.day) == (a.month, a.day) and (m.year is None or a.year is None or m.year == a.year) \
                and (m.weekday is None or a.weekday is None or m.weekday == a.weekday):
            return True
    return m.month == 0 and m.weekday in allowed["weekday_words"]


def _time_allowed(m: TimeMention, allowed: dict[str, Any], bare_ok: bool) -> bool:
    for a in allowed["times"]:
        if len(a) == 3:  # from free text: compare on the 12-hour clock when either side is ambiguous
            h, mi, amb = a
            if mi == m.minute and (h == m.hour or ((amb or m.ambiguous) and h % 12 == m.hour % 12)):
                return True
        elif time_matches(m, a, bare_ok):
            return True
    return False


def _url_allowed(url: str, allowed_urls: list[str]) -> bool:
    for a in allowed_urls:
        if url == a or url.rstrip("/") == a.rstrip("/"):
            return True
        # A bare domain taken from an allowed URL ("visit clinic.org" for https://clinic.org/pay).
        if not re.match(r"(?i)https?://", url) and strip_scheme(a).lower().startswith(strip_scheme(url).lower()) \
                and "/" not in strip_scheme(url).rstrip("/"):
            return True
        if strip_scheme(url) == strip_scheme(a) and not re.match(r"(?i)https?://", a):
            return True
    return False


def find_hallucinations(output: str, facts: Mapping[str, Any],
                        config: ml_collections.ConfigDict | None = None) -> list[Hallucination]:
    """Checkable details in `output` that no fact supports."""
    cfg = config or default_config()
    lang = str(facts.get("language") or "en")
    allowed = _allowed(facts, cfg)
    found: list[Hallucination] = []
    for m in find_dates(output, lang, cfg.numeric_date_order):
        if not _date_allowed(m, allowed):
            found.append(Hallucination("date", m.text))
    for m in find_times(output):
        if not _time_allowed(m, allowed, cfg.bare_12h_time_matches):
            found.append(Hallucination("time", m.text))
    for m in find_phones(output):
        if not any(phone_matches(m.value, p) for p in allowed["phones"]):
            found.append(Hallucination("phone", m.text))
    for m in find_amounts(output):
        if m.value not in allowed["amounts"]:
            found.append(Hallucination("amount", m.text))
    for m in find_urls(output):
        if not _url_allowed(m.value, allowed["urls"]):
            found.append(Hallucination("url", m.text))
    for m in find_emails(output):
        if m.value not in allowed["emails"]:
            found.append(Hallucination("email", m.text))
    use_spacy = bool(cfg.use_spacy_names) and english_or_spanish(output) == "en"
    for m in find_names(output, use_spacy=use_spacy):
        tokens = set(m.value.split())
        if not any(tokens <= fact_words for fact_words in allowed["names"]):
            found.append(Hallucination("name", m.text))
    return found


# --------------------------------------------------------------------------------------------
# Channel and readability

def sms_length_ok(output: str, facts: Mapping[str, Any], max_chars: int = 320) -> bool | None:
    """None when the message is not an SMS."""
    if str(facts.get("channel", "")).lower() != "sms":
        return None
    return len(output) <= max_chars


@functools.lru_cache(maxsize=None)
def _pyphen(lang: str):
    import pyphen  # textstat's own syllable backend
    return pyphen.Pyphen(lang="es" if lang == "es" else "en_US")


def reading_grade(text: str, lang: str = "en") -> float | None:
    """US school grade: Flesch-Kincaid for English, Crawford (textstat) for Spanish.

    English syllables come from pyphen (textstat's fallback) rather than NLTK's cmudict, which
    textstat would try to download; the grade is then the same on every machine.
    """
    from textstat.backend import metrics as ts_metrics
    from textstat.backend.selections._list_words import list_words

    if not re.search(r"[^\W\d_]", text):
        return None
    if lang == "es":
        return float(ts_metrics.crawford(text, "es"))
    tokens = list_words(text, lowercase=True)
    if not tokens:
        return None
    dic = _pyphen("en")
    syllables = sum(len(dic.positions(w)) + 1 for w in tokens)
    return 0.39 * ts_metrics.words_per_sentence(text) + 11.8 * syllables / len(tokens) - 15.59


# --------------------------------------------------------------------------------------------
# One call per message

def score_output(output: str, task: str, facts: Mapping[str, Any],
                 config: ml_collections.ConfigDict | None = None) -> dict[str, Any]:
    """Every fact-level score of one message (JSON-ready)."""
    cfg = config or default_config()
    lang = str(facts.get("language") or "en")
    check = check_facts(output, task, facts, cfg)
    halluc = find_hallucinations(output, facts, cfg)
    detected = english_or_spanish(output)
    return {
        "key_facts": len(check.stated) + len(check.missing),
        "facts_stated": check.stated,
        "facts_missing": check.missing,
        "fact_recall": check.recall,
        "hallucinations": [dataclasses.asdict(h) for h in halluc],
        "hallucinated": bool(halluc),
        "faithful": not check.missing and not halluc,
        "sms_length_ok": sms_length_ok(output, facts, cfg.sms_max_chars),
        "chars": len(output),
        "reading_grade": reading_grade(output, lang),
        "language": detected,
        "language_match": detected == lang,
    }
