"""Regular expressions for contact details in message text: e-mail, web address, phone number.

Written for what patients and clinics actually type: "maria@gmail .com", "mychart.example.org/x",
"( 555 )1234567", "555 - 123  4567 ext 22", "+52 33 1234 5678". The de-identifier finds contact
details with them; other stages should read contact details the same way rather than keep their
own copies.
"""
from __future__ import annotations

import re

EMAIL_RE = re.compile(
    r"\b[A-Za-z0-9][A-Za-z0-9._%+\-]*\s?@\s?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}\b")

# Top-level domains a bare host ("clinic.org/survey", no scheme, no www) may end in.
URL_TLDS = r"(?:com|org|net|edu|gov|io|ly|me|us|co|info|biz|health|care|clinic|app|mx|es|ca)"
# A scheme or "www." address up to the next space or bracket, or a bare host name with a known
# top-level domain and an optional path. The bare form skips e-mail domains ("@gmail.com").
URL_RE = re.compile(
    r"\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'()\[\]]+"
    r"|\b(?<![@\w.])(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+" + URL_TLDS +
    r"\b(?:/[^\s<>\"'()\[\]]*)?", re.I)

# A web address or e-mail as one whitespace-free token, for stages that only need to step over it
# (signature lines, word counts), not to find every way people write one.
LINK_OR_EMAIL_TOKEN = r"https?://\S+|www\.\S+|[\w.+\-]+@[\w\-]+\.[\w.\-]+"

# Up to four separators between digit groups: people type "555 - 123  4567" and "555_123_4567".
_SEP = r"[\s.\-–—_/]{0,4}"
# A North American number: ten digits in 3-3-4 groups, with an optional "+1" or "1-" before,
# brackets around the area code and an extension after.
PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+\s?1" + _SEP + r"|1" + r"[\s.\-–]{1,3})?"
    r"(?:\(\s*\d{3}\s*\)|\d{3})" + _SEP + r"\d{3}" + _SEP + r"\d{4}(?!\d)"
    r"(?:\s*(?:ext\.?|x|extension|ext)\s*\d{1,5})?", re.I)
# A number written with a country code of the US, Mexico, Spain, the UK or Central and South
# America ("+52 33 1234 5678"); 8 to 12 digits after the code, so callers count the digits.
PHONE_INTL_RE = re.compile(r"(?<!\w)\+\s?(?:52|34|44|1|57|58|53|502|503|504|505|506|507|51|54|56)"
                           r"(?:[\s.\-–()]{0,3}\d){8,12}(?!\d)")
