"""How a record's facts steer what happens to its text.

The facts know some identifiers for sure (the patient's name and phone): those are redacted in
the text wherever they stand, even where no recognizer fired, and a span of the text that is such
a value takes the fact's type, so text and facts get the same surrogate. Values the config keeps
(the clinic's location) stay in the text as in the facts.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Iterable

from trainer.deid.clinic import ClinicRules
from trainer.deid.lexicon import DOCTOR_TITLES, NAME_PARTICLES, NAME_SUFFIXES, TITLES, WORD_RE
from trainer.deid.types import Span, trimmed_span

def spans_of_values(text: str, values: Iterable[tuple[str, str]], rules: ClinicRules,
                    clinician_values: Iterable[str] = ()) -> list[Span]:
    """Occurrences in `text` of identifier values known from the record's facts.

    A name value is found wherever any of its words occurs (case-insensitive, whole words),
    whatever the recognizers thought of it there, except where a configured clinician or a kept
    provider name (`clinician_values`) stands in clinician context ("Dr. Laura Chen")."""
    out = []
    clinician = None
    for value, kind in values:
        if kind == "NAME":
            if clinician is None:
                clinician = rules.clinician_ranges(text, clinician_values)
            for part in WORD_RE.findall(value):
                low = part.lower().rstrip(".")
                if len(low) < 2 or low in TITLES or low in DOCTOR_TITLES or low in NAME_PARTICLES \
                        or low in NAME_SUFFIXES:
                    continue
                for m in re.finditer(r"(?<!\w)" + re.escape(part) + r"(?!\w)", text, re.I):
                    if any(a <= m.start() and m.end() <= b for a, b in clinician):
                        continue
                    out.append(trimmed_span(text, m.start(), m.end(), "NAME", 0.99))
        elif kind in ("PHONE", "FAX"):
            digits = re.sub(r"\D", "", value)[-10:]
            if len(digits) < 7:
                continue
            pattern = r"[\s().\-]*".join(re.escape(d) for d in digits)
            for m in re.finditer(r"(?<!\d)" + pattern + r"(?!\d)", text):
                out.append(trimmed_span(text, m.start(), m.end(), kind, 0.99))
        elif kind in ("EMAIL", "MRN", "HEALTH_PLAN", "ACCOUNT"):
            for m in re.finditer(r"(?<!\w)" + re.escape(value.strip()) + r"(?!\w)", text, re.I):
                out.append(trimmed_span(text, m.start(), m.end(), kind, 0.99))
    return out


def occurrences(text: str, values: Iterable[str]) -> list[tuple[int, int]]:
    """Where each value occurs in `text` (case-insensitive, whole words, any spacing)."""
    out = []
    for v in values:
        words = v.split()
        if words:
            rx = r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)"
            out += [(m.start(), m.end()) for m in re.finditer(rx, text, re.I)]
    return out


def retype(found: list[Span], from_facts: list[Span], values: Iterable[tuple[str, str]]) -> list[Span]:
    """A found span that is a fact's value takes the fact's type ("Hola Jackson" typed CITY
    while the facts say preferred_name); a place overlapping the patient's name is that name."""
    by_value = {" ".join(v.split()).casefold(): k for v, k in values}
    names = [f for f in from_facts if f.type == "NAME"]
    out = []
    for s in found:
        kind = by_value.get(" ".join(s.text.split()).casefold())
        if kind is None and s.type == "CITY" and any(f.start < s.end and s.start < f.end for f in names):
            kind = "NAME"
        out.append(dataclasses.replace(s, type=kind) if kind and kind != s.type else s)
    return out
