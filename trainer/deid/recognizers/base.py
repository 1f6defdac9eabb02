"""The recognizer interface, the registry, and `find_spans`, which runs every registered one.

A recognizer finds one family of identifiers. Adding one is one class in one module:

    @register
    class BadgeRecognizer(Recognizer):
        name = "badge"
        types = ("ID",)

        def find(self, text, context):
            return [trimmed_span(text, m.start(), m.end(), "ID") for m in BADGE_RE.finditer(text)]

Recognizers run in `order` and each sees what the earlier ones found (`context.found`). The
order matters beyond that: when two spans of equal priority and length start at the same place,
`resolve` keeps the one found first.
"""
from __future__ import annotations

import abc
import dataclasses
import re
from typing import Any, Callable, ClassVar, Iterable, TypeVar

from trainer.deid.clinic import ClinicRules
from trainer.deid.types import PHI_TYPES, Span

T = TypeVar("T")

# Clock times ("3:30 pm", "10:45"): never an ID, ZIP, date, phone or age, whatever matched them.
CLOCK_RE = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?m\.?|p\.?m\.?)|\b\d{1,2}:\d{2}\b", re.I)
_NOT_IN_CLOCKS = ("ID", "ZIP", "DATE", "PHONE", "AGE")


@dataclasses.dataclass
class Context:
    """What a recognizer may read about one text besides the text itself."""

    rules: ClinicRules
    doc: Any = None  # the spaCy doc of the text; None in a text-only scan (fact values)
    found: list[Span] = dataclasses.field(default_factory=list)  # spans of earlier recognizers
    _shared: dict[str, Any] = dataclasses.field(default_factory=dict, init=False, repr=False)

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """A per-text value several recognizers read (the tokens, the name finder's decisions),
        built by the first one that asks."""
        if key not in self._shared:
            self._shared[key] = build()
        return self._shared[key]


class Recognizer(abc.ABC):
    """Finds one family of identifiers in a text."""

    name: ClassVar[str]  # unique in the registry
    types: ClassVar[tuple[str, ...]]  # the PHI types its spans have
    # Run position (lower first); a new recognizer runs after the built-in ones by default.
    order: ClassVar[int] = 1000
    # Reads `context.doc`, or what recognizers that read it found; skipped in text-only scans,
    # which cost no spaCy pass.
    needs_doc: ClassVar[bool] = False
    # Reads numbers: runs on `ocr_digits(text)`, where scanned forms' letter-for-digit slips
    # ("O3/l7/1950", "(5O3) 555-O174") are digits again; offsets and span texts stay the text's.
    reads_digits: ClassVar[bool] = False

    @abc.abstractmethod
    def find(self, text: str, context: Context) -> list[Span]:
        """Spans of `text` (they may overlap each other and other recognizers' spans)."""


_REGISTRY: dict[str, Recognizer] = {}


def register(cls: type[Recognizer]) -> type[Recognizer]:
    """Class decorator: adds one instance of `cls` to the recognizers `find_spans` runs."""
    if cls.name in _REGISTRY:
        raise ValueError(f"a recognizer named {cls.name!r} is already registered")
    unknown = set(cls.types) - set(PHI_TYPES)
    if unknown:
        raise ValueError(f"recognizer {cls.name!r}: unknown PHI types {sorted(unknown)}")
    _REGISTRY[cls.name] = cls()
    return cls


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered() -> list[Recognizer]:
    """The registered recognizers in run order (ties: in order of registration)."""
    return sorted(_REGISTRY.values(), key=lambda r: r.order)


def find_spans(text: str, rules: ClinicRules, doc: Any = None) -> list[Span]:
    """Every identifier the registered recognizers see in `text`, overlapping (`resolve` picks
    among them), in run order. Without `doc` (the spaCy doc of `text`) only the recognizers that
    need no doc run. Clock times are not filtered here; see `drop_clock_times`."""
    context = Context(rules=rules, doc=doc)
    digits = ocr_digits(text)
    for recognizer in registered():
        if recognizer.needs_doc and doc is None:
            continue
        if recognizer.reads_digits and digits != text:
            spans = [dataclasses.replace(s, text=text[s.start:s.end])
                     for s in recognizer.find(digits, context)]
        else:
            spans = recognizer.find(text, context)
        wrong = {s.type for s in spans} - set(recognizer.types)
        if wrong:
            raise ValueError(f"recognizer {recognizer.name!r} made {sorted(wrong)} spans, "
                             f"but declares {recognizer.types}")
        context.found.extend(spans)
    return context.found


# A run of letters and digits holding a digit, where every letter is one OCR reads for a digit.
_OCR_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z0-9]*\d)[0-9OolI|]+(?![A-Za-z0-9])")
_OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "|": "1"})


def ocr_digits(text: str) -> str:
    """`text` with the letters of number-like tokens read as the digits they stand for in OCR
    output ("l1/O3/1961" -> "11/03/1961"); same length, so offsets carry over. Tokens with any
    other letter ("CO2", "B12", "E11.9") stay as they are."""
    return _OCR_TOKEN_RE.sub(lambda m: m.group(0).translate(_OCR_DIGITS), text)


def drop_clock_times(text: str, spans: list[Span]) -> list[Span]:
    """`spans` less the IDs, ZIPs, dates, phones and ages that lie inside a clock time."""
    clocks = [(m.start(), m.end()) for m in CLOCK_RE.finditer(text)]
    return [s for s in spans if not (s.type in _NOT_IN_CLOCKS and inside(s.start, s.end, clocks))]


def inside(start: int, end: int, ranges: Iterable[tuple[int, int]]) -> bool:
    """`[start, end)` lies within one of `ranges`."""
    return any(a <= start and end <= b for a, b in ranges)
