"""Overlap resolution: from the overlapping spans of every recognizer, one reading of the text."""
from __future__ import annotations

from typing import Iterable

from trainer.deid.types import TYPE_PRIORITY, Span

# Kinds whose longer span beats a shorter one inside it, whatever was taken first.
_SOFT = ("NAME", "CITY")


# Number kinds a keyword can make of a street address's house number ("billing: 4418 SE ...").
_NUMBER_KINDS = ("ID", "ACCOUNT", "MRN", "HEALTH_PLAN", "ZIP", "DATE", "AGE")


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Non-overlapping spans sorted by start: higher-priority types first, then longer spans,
    then earlier ones; among equals, the span that came first in `spans`. A number span that
    starts a longer street address is its house number, not an identifier of its own."""
    spans = list(spans)
    addresses = [s for s in spans if s.type == "ADDRESS"]
    spans = [s for s in spans if not (s.type in _NUMBER_KINDS and s.text.strip().isdigit() and any(
        a.start == s.start and a.end > s.end for a in addresses))]
    spans = sorted(spans, key=lambda s: (-TYPE_PRIORITY.get(s.type, 0), -(s.end - s.start), s.start))
    taken: list[Span] = []
    for s in spans:
        if s.end <= s.start:
            continue
        clash = [t for t in taken if s.start < t.end and t.start < s.end]
        if not clash:
            taken.append(s)
        elif s.type in _SOFT and all(t.type in _SOFT and s.start <= t.start and t.end <= s.end
                                     and (t.start, t.end) != (s.start, s.end) for t in clash):
            # A name or place that contains a shorter one ("lourdes de la cruz" vs "la cruz")
            # is the better reading: the longer span wins.
            taken = [t for t in taken if t not in clash] + [s]
    return sorted(taken, key=lambda s: s.start)
