"""Text helpers every extractor shares: accent folding, word tokens, the common mention type."""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Iterable


@dataclasses.dataclass(frozen=True)
class Mention:
    """A phone, amount, URL, e-mail or name found in a message."""

    text: str
    start: int
    value: str  # normalised: phone digits, amount in cents, URL, e-mail, folded name tokens


def fold(text: str) -> str:
    """Lower-cases and strips accents, so 'López' == 'lopez'."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def fold_aligned(text: str) -> str:
    """fold() one character at a time, so match offsets in the result are offsets in `text`."""
    out = []
    for ch in text:
        f = fold(ch) if ord(ch) > 127 else ch.lower()
        out.append(f[0] if f else ch)
    return "".join(out)


def words(text: str) -> list[str]:
    """Accent-folded word tokens; '20mg' splits as '20 mg' so units compare."""
    text = fold(text)
    text = re.sub(r"(\d)([a-z])", r"\1 \2", text)
    text = re.sub(r"([a-z])(\d)", r"\1 \2", text)
    return re.findall(r"[a-z0-9]+", text)


def contains_words(haystack: list[str], needle: list[str]) -> bool:
    """Whether `needle` occurs as a contiguous run of `haystack`; an empty needle never does."""
    if not needle:
        return False
    n = len(needle)
    return any(haystack[i:i + n] == needle for i in range(len(haystack) - n + 1))


def alternation(names: Iterable[str]) -> str:
    """A regex alternation that tries longer words first, so 'sept' wins over 'sep'."""
    return "|".join(sorted(set(names), key=len, reverse=True))
