"""Contact details: e-mail and web addresses, IP addresses, phone and fax numbers."""
from __future__ import annotations

import re

import phonenumbers

from trainer.deid.recognizers.base import Context, Recognizer, register
from trainer.deid.types import Span, trimmed_span
from trainer.util.patterns import EMAIL_RE, PHONE_INTL_RE, PHONE_RE, URL_RE, URL_TLDS

# "maria at gmail dot com", "maria [at] gmail.com": written out so that filters let it through.
EMAIL_OBF_RE = re.compile(
    r"\b[A-Za-z0-9][A-Za-z0-9._\-]*(?:\s+(?:dot|punto|underscore|guion)\s+[A-Za-z0-9][A-Za-z0-9._\-]*)*"
    r"\s*(?:\[at\]|\(at\)|\s+at\s+|\s+arroba\s+)\s*[A-Za-z0-9\-]+\s*"
    r"(?:\[dot\]|\(dot\)|\s+dot\s+|\s+punto\s+|\.)\s*(?:com|net|org|edu|gov|us|mx|es)\b", re.I)
IPV4_RE = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                     r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])")
IPV6_RE = re.compile(r"(?<![\w:])(?:[0-9a-f]{1,4}:){2,7}(?::|[0-9a-f]{1,4})(?::[0-9a-f]{1,4}){0,6}(?![\w:])", re.I)
# A seven-digit number after a phone word ("call 555-0142", "cel 555 0142").
PHONE_LOCAL_RE = re.compile(
    r"\b(?:call|phone|cell|tel|text|txt|number|num|ph|fone|cel|celular|teléfono|telefono|"
    r"llame|llamar|llámeme|marque|fax|home|work|mobile|#)\b[^\d\n]{0,20}?(?<!\d)(\d{3}[\s.\-]{1,3}\d{4})(?![\d/\-])",
    re.I)
FAX_CTX_RE = re.compile(r"\bfax\b", re.I)
_DIGIT_WORD = (r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|cero|uno|dos|tres|cuatro|"
               r"cinco|seis|siete|ocho|nueve)")
_TLDS = URL_TLDS[3:-1]
# A number typed with a space between every digit ("5 0 3 5 5 5 0 1 9 2"), as some patients
# do to get past filters.
SPACED_PHONE_RE = re.compile(r"(?<![\w.])(?:\+?1[ .\-])?\d(?:[ .\-]\d){9}(?![\w]|[ .\-]\d)")
# Voicemail transcripts spell numbers out: "five five five one two three ...".
SPELLED_PHONE_RE = re.compile(r"\b" + _DIGIT_WORD + r"(?:[\s,.\-]+" + _DIGIT_WORD + r"){6,}\b", re.I)


@register
class EmailRecognizer(Recognizer):
    name = "email"
    types = ("EMAIL",)
    order = 10

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for m in EMAIL_RE.finditer(text):
            # "instagram @lexi.marie.22" is a handle after a word, not an address with a space
            if re.search(r"\s@", m.group(0)) and not re.search(r"\.(?:" + _TLDS + r")$", m.group(0), re.I):
                continue
            out.append(trimmed_span(text, m.start(), m.end(), "EMAIL", 1.0))
        for m in EMAIL_OBF_RE.finditer(text):
            # "... dot com" alone is a sentence about a web site; an "at" makes it an address
            if re.search(r"\[at\]|\(at\)| at | arroba ", m.group(0), re.I):
                out.append(trimmed_span(text, m.start(), m.end(), "EMAIL", 0.8))
        return out


@register
class UrlRecognizer(Recognizer):
    name = "url"
    types = ("URL",)
    order = 20

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for m in URL_RE.finditer(text):
            # the domain of an e-mail address, or a version / lab value like "4.6.2"
            if "@" in text[max(0, m.start() - 1):m.start()] or re.fullmatch(r"[\d.]+", m.group(0)):
                continue
            out.append(trimmed_span(text, m.start(), m.end(), "URL", 0.95))
        return out


@register
class IpRecognizer(Recognizer):
    name = "ip"
    types = ("IP",)
    order = 30

    def find(self, text: str, context: Context) -> list[Span]:
        out = [trimmed_span(text, m.start(), m.end(), "IP", 0.95) for m in IPV4_RE.finditer(text)]
        for m in IPV6_RE.finditer(text):
            s = m.group(0)
            # a bare "12:30:45" or "a:b:c" is no address; a "::" or enough hex groups is
            if "::" in s or (s.count(":") >= 5 and re.search(r"[a-f]", s, re.I)):
                out.append(trimmed_span(text, m.start(), m.end(), "IP", 0.9))
        return out


@register
class PhoneRecognizer(Recognizer):
    """Phone numbers in any spacing, spelled out, or seven digits after a phone word; a number
    after "fax" is a FAX unless a phone word comes between."""

    name = "phone"
    types = ("PHONE", "FAX")
    order = 50
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for rx in (PHONE_RE, PHONE_INTL_RE):
            for m in rx.finditer(text):
                digits = re.sub(r"\D", "", m.group(0))
                if len(digits) < 10:
                    continue
                pre = text[max(0, m.start() - 30):m.start()]
                after_fax = pre.split("fax")[-1] if "fax" in pre.lower() else ""
                fax = FAX_CTX_RE.search(pre) and not re.search(
                    r"\b(?:phone|call|cell|tel)\b[^\n]*$", after_fax, re.I)
                out.append(trimmed_span(text, m.start(), m.end(), "FAX" if fax else "PHONE", 0.95))
        for m in SPACED_PHONE_RE.finditer(text):
            out.append(trimmed_span(text, m.start(), m.end(), "PHONE", 0.85))
        if "+" in text:
            # Numbers with a country code: libphonenumber knows every country's plan.
            for match in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE):
                out.append(trimmed_span(text, match.start, match.end, "PHONE", 0.9))
        for m in SPELLED_PHONE_RE.finditer(text):
            out.append(trimmed_span(text, m.start(), m.end(), "PHONE", 0.85))
        for m in PHONE_LOCAL_RE.finditer(text):
            pre = text[max(0, m.start(1) - 30):m.start(1)]
            kind = "FAX" if FAX_CTX_RE.search(pre) else "PHONE"
            out.append(trimmed_span(text, m.start(1), m.end(1), kind, 0.8))
        return out
