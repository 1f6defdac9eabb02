"""Phone numbers, URLs and e-mail addresses in messages, normalised so that any format compares.

The patterns are the fact checker's own: trainer.util.patterns (the de-identifier's) may find
more, but a change there must not silently change fact accuracy or hallucination counts.
"""
from __future__ import annotations

import re

from trainer.facts.text import Mention

_PHONE10 = re.compile(r"(?<![\w+])(?:\+?\s?1[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?![\d-])")
_PHONE7 = re.compile(r"(?<![\w.-])\d{3}[.-]\d{4}(?![\w-])")

URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'()\[\]]+")
# A bare domain ("clinic.org/pay"), limited to the endings clinics use so "Dr.Smith" is no URL.
_DOMAIN = re.compile(r"(?i)(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:com|org|net|gov|edu|health|us|io|info|mx|es)"
                     r"\b(?:/[^\s<>\"'()\[\]]*)?")
EMAIL = re.compile(r"(?i)\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Punctuation that ends a sentence after a URL rather than belonging to it.
_TRAILING = ".,;:!?¡¿*"


def phone_digits(text: str) -> str:
    """The digits of a phone number without the US country code."""
    digits = re.sub(r"\D", "", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits


def find_phones(text: str) -> list[Mention]:
    """Ten-digit numbers in any common format, then seven-digit local numbers ("555-1234")."""
    found = [Mention(m[0], m.start(), phone_digits(m[0])) for m in _PHONE10.finditer(text)]
    spans = [(m.start, m.start + len(m.text)) for m in found]
    for m in _PHONE7.finditer(text):
        if all(m.end() <= a or m.start() >= b for a, b in spans):
            found.append(Mention(m[0], m.start(), phone_digits(m[0])))
    return sorted(found, key=lambda p: p.start)


def phone_matches(mention_digits: str, fact_digits: str) -> bool:
    """Same number; a seven-digit side compares on the local part only."""
    if len(mention_digits) == 7 or len(fact_digits) == 7:
        return mention_digits[-7:] == fact_digits[-7:]
    return mention_digits == fact_digits


def find_urls(text: str) -> list[Mention]:
    """URLs and bare domains, without trailing sentence punctuation; never part of an e-mail."""
    emails = [(m.start(), m.end()) for m in EMAIL.finditer(text)]
    found: list[Mention] = []
    for pattern in (URL, _DOMAIN):
        for m in pattern.finditer(text):
            s, e = m.start(), m.end()
            if any(not (e <= a or s >= b) for a, b in emails + [(f.start, f.start + len(f.text)) for f in found]):
                continue
            url = m[0].rstrip(_TRAILING)
            found.append(Mention(url, s, url))
    return sorted(found, key=lambda u: u.start)


def find_emails(text: str) -> list[Mention]:
    return [Mention(m[0], m.start(), m[0].lower()) for m in EMAIL.finditer(text)]


def strip_scheme(url: str) -> str:
    return re.sub(r"(?i)^(?:https?://)?(?:www\.)?", "", url)


def url_stated(url: str, output: str) -> bool:
    """Exact URL, with an end boundary ('.../abc' is not stated by '.../abcd')."""
    url = url.strip()
    for m in re.finditer(re.escape(url), output):
        rest = output[m.end():]
        if not rest or not re.match(r"[\w/%?=&#~+-]", rest) or re.match(rf"[{re.escape(_TRAILING)}](\s|$)", rest):
            return True
    return False
