"""What kind of value a fact holds (date, phone, person, ...), which decides how it is matched.

Precedence: the config's kind_overrides, then the kinds the task registry declares
(trainer.tasks), then inference from the key name and the value. An override the value cannot
satisfy ("date" for "next Tuesday") falls back to plain text matching, as the user asked for
that key to be matched by format; a declared kind the value cannot satisfy falls back to
inference, so a mistyped export column is still matched by what its value looks like.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

from trainer import tasks
from trainer.facts.amounts import parse_amount
from trainer.facts.contacts import EMAIL, URL
from trainer.facts.dates import parse_iso_date
from trainer.facts.times import parse_time

# tasks.FACT_KINDS plus "skip": a fact that is never stated in a message.
KINDS = tasks.FACT_KINDS + ("skip",)

# Facts that steer a message but are never stated in it.
NEVER_STATED = frozenset({"language", "channel", "patient_key", "patient_id", "id", "direction", "timestamp"})

PROVIDER_KEYS = re.compile(r"provider|doctor|physician|clinician|nurse|therapist|dentist|surgeon")
_PERSON_KEYS = re.compile(r"^(preferred_name|first_name|last_name|patient_name|full_name|name)$|"
                          r"provider|doctor|physician|clinician|nurse|therapist|dentist|surgeon|caregiver")
_AMOUNT_KEYS = re.compile(r"(^|_)(amount|balance|copay|co_pay|cost|price|fee|charge|charges|owed|total|due_amount|deductible)(_|$)")


def parse_number(value: Any) -> float | None:
    """2, 2.5, "2" -> float; "two", NaN or a bool -> None (matched as text instead)."""
    if isinstance(value, bool):
        return None
    try:
        n = float(value)
    except (TypeError, ValueError):
        return None
    return n if math.isfinite(n) else None


# Kinds whose values must parse for the format-aware matcher to apply.
_PARSERS = {"date": parse_iso_date, "time": parse_time, "amount": parse_amount, "number": parse_number}


def _fits(kind: str, value: Any) -> bool:
    parses = _PARSERS.get(kind)
    return parses is None or parses(value) is not None


def _unstateable(key: str, value: Any) -> bool:
    k = key.lower()
    return (value is None or isinstance(value, bool) or k in NEVER_STATED or k.endswith("_id")
            or not str(value).strip())


def fact_kind(key: str, value: Any, overrides: Mapping[str, str] | None = None) -> str:
    """One of date, time, phone, amount, url, email, person, number, text, skip."""
    if overrides and key in overrides:
        kind = overrides[key]
        return kind if _fits(kind, value) else "text"
    if _unstateable(key, value):
        return "skip"
    declared = tasks.fact_kinds().get(key)
    if declared is not None and _fits(declared, value):
        return declared
    return infer_kind(key, value)


def infer_kind(key: str, value: Any) -> str:
    """The kind from the key name and the value alone (facts no task declares)."""
    k = key.lower()
    if _unstateable(key, value):
        return "skip"
    s = str(value).strip()
    if "email" in k or EMAIL.fullmatch(s):
        return "email"
    if re.search(r"link|url|website", k) or URL.fullmatch(s):
        return "url"
    if "phone" in k or "fax" in k or re.search(r"(^|_)tel(_|$)", k):
        return "phone"
    if parse_iso_date(s) and ("date" in k or re.fullmatch(r"\d{4}-\d{2}-\d{2}", s)):
        return "date"
    if ("time" in k or re.fullmatch(r"\d{1,2}:\d{2}", s)) and parse_time(s):
        return "time"
    if _AMOUNT_KEYS.search(k) and parse_amount(value) is not None:
        return "amount"
    if isinstance(value, str) and s.startswith("$") and parse_amount(s) is not None:
        return "amount"
    if _PERSON_KEYS.search(k):
        return "person"
    if isinstance(value, (int, float)):
        return "number"
    return "text"
