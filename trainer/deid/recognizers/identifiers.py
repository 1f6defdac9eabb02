"""Numbers that identify: social security numbers, record / member / account / license /
plate / device numbers after their keyword, vehicle identification numbers, and long numbers
or codes with no keyword."""
from __future__ import annotations

import re

from trainer.deid.recognizers.base import CLOCK_RE, Context, Recognizer, register
from trainer.deid.types import Span, trimmed_span

_I = re.I
SSN_LAST4_RE = re.compile(
    r"\b(?:(?:ssn|ss#?|social(?:\s+security)?(?:\s+number)?|seguro\s+social)\s*[,:\-]?\s*)?"
    r"(?:last|[uú]ltimos)\s+(?:4|four|cuatro)(?:\s+(?:digits|d[ií]gitos))?(?:\s+(?:of|de)\s+(?:my\s+|mi\s+)?"
    r"(?:ssn|ss#?|social(?:\s+security)?(?:\s+number)?|seguro\s+social))?\s*(?:is|are|es|son|=|:|-)?\s*"
    r"(?P<val>\d{4})\b", _I)
SSN_RE = re.compile(r"(?<![\d\-])\d{3}(?:[\s\-.]{1,3})\d{2}(?:[\s\-.]{1,3})\d{4}(?![\d\-])")
SSN_KW_RE = re.compile(
    r"\b(?:ssn|ss#|ss\s*#|ss\s+number|social(?:\s+security)?(?:\s*(?:number|no\.?|num|#))?|"
    r"seguro\s+social|n[uú]mero\s+de\s+seguro\s+social)\b[^\d\n]{0,25}?"
    r"(?P<val>\d{3}[\s\-.]?\d{2}[\s\-.]?\d{4}|\d{4})(?!\d)", _I)

_VAL = r"(?P<val>[A-Z0-9](?:[A-Z0-9]|[\-./ ](?=[A-Z0-9])){2,24})"
_KW_TAIL = r"(?:\s*(?:number|num|nbr|no\.?|#|id|code))?"
_IS = r"[\s:#=\-.]*(?:(?:is|es|was|are|number|num|no\.?|#|of|id|code|:)[\s:#=\-.]*){0,3}"
KEYWORD_RES = [
    ("MRN", re.compile(
        r"\b(?:mrn|m\.r\.n\.?|medical\s+record(?:s)?|med\.?\s*rec(?:ord)?s?|chart|patient\s+id|pt\.?\s+id|"
        r"patient\s*#|pt\s*#|patient\s+number|record|expediente|historia\s+cl[ií]nica|"
        r"hospital\s+(?:id|number|#))" + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
    ("HEALTH_PLAN", re.compile(
        r"\b(?:member|mem|subscriber|sub|policy|insurance|ins|plan|group|grp|medicaid|medicare|"
        r"medi-cal|mbi|hicn|bcbs|aetna|cigna|humana|uhc|tricare|p[oó]liza|afiliado|afiliaci[oó]n|"
        r"seguro|beneficiary|health\s+plan)" + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
    ("ACCOUNT", re.compile(
        r"\b(?:account|acct|acc't|acc|billing|statement|invoice|guarantor|cuenta|factura|bill)"
        + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
    ("LICENSE", re.compile(
        r"\b(?:driver'?s?\s+licen[cs]e|drivers?\s+lic|dl|licen[cs]e|lic|licencia(?:\s+de\s+conducir)?|"
        r"dea|npi|certificate|cert)" + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
    ("VEHICLE", re.compile(
        r"\b(?:vin|license\s+plate|licen[cs]e\s+plate\s+number|plate|tag|placas?|veh[ií]culo|vehicle)"
        + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
    ("DEVICE", re.compile(
        r"\b(?:serial|s/n|sn|device|pacemaker|pump|monitor|udi|imei|model|lot|n[uú]mero\s+de\s+serie|serie|"
        r"meter|sensor|implant|cgm)" + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
    ("ID", re.compile(
        r"\b(?:confirmation|conf|reference|ref|case|claim|ticket|order|rx|prescription|auth(?:orization)?|"
        r"pin|code|id|passport|student|employee|badge|referral|tracking|booking|folio|n[uú]mero|"
        r"identification|ident|number|num|no\.|c[oó]digo|pasaporte|matr[ií]cula)" + _KW_TAIL + r"\b" + _IS + _VAL, _I)),
]
VIN_RE = re.compile(r"\b(?=[A-HJ-NPR-Z0-9]{17}\b)(?=\w*\d)(?=\w*[A-HJ-NPR-Z])[A-HJ-NPR-Z0-9]{17}\b", _I)
UNITS = (r"(?:mg|mcg|ug|µg|g|gm|gms|kg|lb|lbs|ml|cc|l|iu|u|units?|meq|mmol|mmhg|bpm|hrs?|mins?|"
         r"secs?|am|pm|st|nd|rd|th|x|yo|yrs?|mos?|wks?|k|cal|kcal|oz|in|ft|cm|mm|%|mgs|tabs?|pm|hz|d)")
ALNUM_ID_RE = re.compile(
    r"(?<![\w\-])(?=[A-Z0-9\-]*\d)(?=[A-Z0-9\-]*[A-Z])[A-Z0-9]{1,8}(?:-?[A-Z0-9]){3,20}(?![\w\-])", _I)
LONG_DIGITS_RE = re.compile(r"(?<![\w$.,\-])\d{6,}(?![\w.,]\d|\w)")
DASHED_ID_RE = re.compile(r"(?<![\w\-])\d{2,}(?:-[0-9A-Z]{2,}){2,}(?![\w\-])", _I)


@register
class SsnRecognizer(Recognizer):
    """A social security number: after its keyword (also the last four digits), or nine digits
    grouped 3-2-4."""

    name = "ssn"
    types = ("SSN",)
    order = 40
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for m in SSN_LAST4_RE.finditer(text):
            if re.search(r"ssn|ss#|social|seguro", m.group(0), _I) or re.search(
                    r"\b(?:ssn|social|seguro)\b", text[max(0, m.start() - 40):m.start()], _I):
                out.append(trimmed_span(text, m.start("val"), m.end("val"), "SSN", 0.9))
        for m in SSN_KW_RE.finditer(text):
            out.append(trimmed_span(text, m.start("val"), m.end("val"), "SSN", 1.0))
        for m in SSN_RE.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            if len(digits) == 9 and not re.search(r"\d{3}[\s\-.]{1,3}\d{3}", m.group(0)):
                out.append(trimmed_span(text, m.start(), m.end(), "SSN", 0.85))
        return out


@register
class KeywordIdRecognizer(Recognizer):
    """The value after a keyword that names its kind: "MRN 00482913", "member id XJH88441",
    "acct # 55-20931-7", "plate 8KLM442", "pump serial # NG2219847H", "Rx #: 7734120"."""

    name = "keyword_id"
    types = tuple(kind for kind, _ in KEYWORD_RES)
    order = 80
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for kind, rx in KEYWORD_RES:
            pos = 0
            while True:
                # search, not finditer: a keyword whose value fails ("pump serial # X") must not
                # swallow the next keyword ("serial")
                m = rx.search(text, pos)
                if not m:
                    break
                val = _clean_value(m.group("val"), kind)
                if val:
                    start = m.start("val")
                    if start >= 2 and text[start - 1] == "-" and text[start - 2].isalnum():
                        start = m.start()  # "sn-5259-697": the keyword is part of the value
                        val = text[start:m.start("val")] + val
                    out.append(trimmed_span(text, start, start + len(val), kind, 0.95))
                    pos = start + len(val)
                else:
                    pos = m.start() + 1
        return out


@register
class VinRecognizer(Recognizer):
    name = "vin"
    types = ("VEHICLE",)
    order = 90

    def find(self, text: str, context: Context) -> list[Span]:
        return [trimmed_span(text, m.start(), m.end(), "VEHICLE", 0.9) for m in VIN_RE.finditer(text)]


@register
class NumberIdRecognizer(Recognizer):
    """Numbers and codes with no keyword that can only be identifiers: six or more digits,
    dashed groups ("12-3456-78"), letter-digit codes with at least four digits ("AB12345");
    not doses ("500mg"), dates or medical words ("B12")."""

    name = "number_id"
    types = ("ID",)
    order = 130
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        for m in LONG_DIGITS_RE.finditer(text):
            out.append(trimmed_span(text, m.start(), m.end(), "ID", 0.7))
        for m in DASHED_ID_RE.finditer(text):
            out.append(trimmed_span(text, m.start(), m.end(), "ID", 0.7))
        for m in ALNUM_ID_RE.finditer(text):
            s = m.group(0)
            digits = sum(c.isdigit() for c in s)
            if (digits < 4 or re.fullmatch(r"\d+" + UNITS + r"s?", s, _I)
                    or s.lower() in context.rules.lexicon.medical):
                continue
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d+(?:-\d+)*", s):
                continue
            out.append(trimmed_span(text, m.start(), m.end(), "ID", 0.7))
        return out


_NOT_A_VALUE = {"to", "on", "for", "at", "in", "from", "with", "and", "the", "my", "your", "is", "was", "of", "a",
                "by", "via", "please", "pls"}


def _clean_value(val: str, kind: str) -> str:
    """Cut a keyword's captured value to the identifier itself; '' when it is no identifier."""
    val = val.strip()
    # Stop at the first word with no digit after a space ("12345 please call").
    parts = val.split(" ")
    if parts[0].lower() in _NOT_A_VALUE:
        return ""  # "statement to 88 Pine St": a word of the sentence, then an address
    kept = [parts[0]]
    for p in parts[1:]:
        if any(c.isdigit() for c in p) or (kind == "VEHICLE" and len(p) <= 4 and p.isalpha()
                                           and (p.isupper() or kept[-1].isdigit())):
            kept.append(p)
        else:
            break
    val = " ".join(kept).rstrip(".-/")
    digits = sum(c.isdigit() for c in val)
    if kind == "VEHICLE":
        ok = digits >= 1 and len(val.replace(" ", "")) >= 4
    elif kind == "ID":
        ok = digits >= 3 and len(val) >= 4
    else:
        ok = digits >= 2 and len(val) >= 4
    if not ok or CLOCK_RE.fullmatch(val) or re.fullmatch(r"\d+" + UNITS, val, _I):
        return ""
    if re.fullmatch(r"(?:19|20)\d{2}", val):
        return ""
    return val

