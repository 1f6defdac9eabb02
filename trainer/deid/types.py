"""What de-identification talks about: identifier kinds, spans of text, and results.

The bottom of `trainer.deid`: every other module reads these, and this one reads none of them.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any

# The HIPAA Safe Harbor identifier kinds, as the rest of the package names them.
PHI_TYPES = (
    "NAME", "DATE", "AGE", "PHONE", "FAX", "EMAIL", "SSN", "MRN", "HEALTH_PLAN", "ACCOUNT",
    "LICENSE", "VEHICLE", "DEVICE", "URL", "IP", "ADDRESS", "CITY", "ZIP", "ID",
)
# Where spans overlap, the higher-priority kind wins (see `trainer.deid.resolve`): a precise
# pattern (an e-mail, a keyword ID) beats a loose one (a long number, a capitalized word).
TYPE_PRIORITY = {
    "EMAIL": 10, "URL": 9, "SSN": 9, "MRN": 9, "HEALTH_PLAN": 9, "ACCOUNT": 9, "LICENSE": 9,
    "VEHICLE": 9, "DEVICE": 9, "IP": 8, "FAX": 8, "PHONE": 8, "ADDRESS": 7, "DATE": 7, "AGE": 7,
    "ZIP": 6, "ID": 6, "CITY": 6, "NAME": 5,
}


class DeidSetupError(RuntimeError):
    """The de-identifier cannot work as measured (a word list, a locale or the spaCy model is
    missing, or its self-check failed): an error at start-up, never a quietly weaker filter."""


@dataclasses.dataclass(frozen=True)
class Span:
    """One identifier in a text: `text[start:end]` (end-exclusive) of kind `type`."""

    start: int
    end: int
    type: str
    text: str
    score: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "type": self.type, "text": self.text}


@dataclasses.dataclass
class DeidResult:
    """De-identified `text` and `facts`; `spans` locate the identifiers in the original text."""

    text: str
    facts: dict[str, Any]
    spans: list[Span]


def trimmed_span(text: str, start: int, end: int, kind: str, score: float = 0.9) -> Span:
    """The span `text[start:end]` of kind `kind`, without surrounding whitespace or trailing
    sentence punctuation (they are not part of the identifier). An abbreviation's dot stays on a
    name or an address ("Oak St.", "Jr.")."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ".,;:!?)]}\"'"):
        if text[end - 1] == "." and kind in ("ADDRESS", "NAME") and re.search(
                r"(?:^|[\s.])[A-Za-z]{1,4}\.$", text[start:end]):
            break
        end -= 1
    return Span(start, end, kind, text[start:end], score)
