"""Surrogate values for identifiers: natural fake values, one per original value per record.

Every choice is a hash of (salt, record key, type, original), so a record always gets the same
surrogates, the same original maps to the same fake value in the text and in the facts, and the
order in which values are seen does not matter. Dates move by a whole number of weeks (one shift
per record), so weekdays and intervals stay true.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import random
import re
from typing import Iterable

from trainer.deid.lexicon import MONTHS, NAME_PARTICLES, TITLES, Lexicon, strip_accents
from trainer.util import calendar, people

# Month words only Spanish uses: a date written with one is shifted into a Spanish month name.
_ES_ONLY = ({m.lower() for m in calendar.MONTHS_ES + calendar.MONTHS_ES_ABBR}
            - {m.lower() for m in calendar.MONTHS_EN + calendar.MONTHS_EN_ABBR}) | {"setiembre"}

STREETS = ["Oak", "Maple", "Cedar", "Pine", "Elm", "Willow", "Birch", "Lakeview", "Hillcrest",
           "Park", "Main", "Church", "Mill", "River", "Sunset", "Highland", "Meadow", "Forest",
           "Spring", "Ridge", "Valley", "Walnut", "Chestnut", "Poplar", "Aspen", "Orchard",
           "Magnolia", "Juniper", "Sycamore", "Laurel", "Holly", "Dogwood", "Brookside", "Fairway"]
STREETS_ES = ["Los Pinos", "Las Flores", "Hidalgo", "Morelos", "Juárez", "Reforma", "Del Sol",
              "Las Palmas", "San Martín", "Libertad", "Independencia", "Los Olivos"]
TOWNS = ["Millbrook", "Fairview", "Oakdale", "Riverton", "Cedar Falls", "Greenville", "Brookfield",
         "Ashland", "Clinton", "Georgetown", "Franklin", "Milford", "Salem", "Madison", "Dover",
         "Kingston", "Marion", "Bristol", "Hudson", "Lexington", "Newport", "Oxford", "Winchester"]
EMAIL_DOMAINS_KEEP = {"gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com",
                      "aol.com", "live.com", "msn.com", "comcast.net", "att.net", "hotmail.es",
                      "yahoo.com.mx", "protonmail.com", "me.com"}
_KEEP_ADDRESS_WORDS = {w.lower() for w in (
    "st street ave avenue av rd road blvd boulevard dr drive ln lane ct court way wy pl place ter "
    "terrace cir circle hwy highway pkwy parkway trl trail sq square loop row pike path crossing "
    "xing alley plaza ridge heights hollow cove bend creek grove gardens commons run walk point "
    "estates manor meadows landing harbor junction pass spur summit village vista view center "
    "apt apartment unit ste suite bldg building fl floor rm room lot space dept depto n s e w ne "
    "nw se sw north south east west p.o. po box calle avenida avda bulevar calzada carretera "
    "camino paseo privada cerrada colonia col int interior piso no num número numero route rte "
    "county state us apartado postal").split()}


def _hash_int(*parts: str) -> int:
    h = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(h, "big")


def _match_case(template: str, value: str) -> str:
    if template.isupper() and len(template) > 1:
        return value.upper()
    if template.islower():
        return value.lower()
    return value[:1].upper() + value[1:]


@functools.lru_cache(maxsize=1)
def _name_pools() -> tuple[list[str], list[str], list[str]]:
    """Female first names, male first names and surnames that surrogate names are drawn from."""
    En, Es = people.person_providers(("en_US", "es_MX"))
    female = sorted({n for n in list(En.first_names_female) + list(getattr(Es, "first_names_female", ())) if n.isalpha()})
    male = sorted({n for n in list(En.first_names_male) + list(getattr(Es, "first_names_male", ())) if n.isalpha()})
    last = sorted({n for n in list(En.last_names) + list(Es.last_names) if n.replace(" ", "").isalpha() and " " not in n})
    return female, male, last


class SurrogateMapper:
    """Replaces one record's identifiers; `replace(type, original)` is the only entry point."""

    def __init__(self, record_key: str, salt: str, mode: str = "surrogate", lexicon: Lexicon | None = None,
                 max_shift_weeks: int = 52, known_dates: Iterable[str] = ()):
        self.key = record_key
        self.salt = salt
        self.mode = mode
        self.lexicon = lexicon
        weeks = 1 + _hash_int(salt, record_key, "date-shift") % max(1, max_shift_weeks)
        sign = -1 if _hash_int(salt, record_key, "date-sign") % 2 else 1
        self.shift = dt.timedelta(days=7 * weeks * sign)
        self._name_map: dict[str, str] = {}
        self._used_names: set[str] = set()
        self._cache: dict[tuple[str, str], str] = {}
        # Dates the facts know (ISO): a year-less "3/4" in the text takes its year from them,
        # so text and facts shift to the same day.
        self.known_dates = []
        for v in known_dates:
            try:
                self.known_dates.append(dt.date.fromisoformat(v.strip()[:10]))
            except ValueError:
                pass

    def _rng(self, kind: str, value: str) -> random.Random:
        return random.Random(_hash_int(self.salt, self.key, kind, value))

    def replace(self, kind: str, original: str) -> str:
        """The surrogate (in tag mode, "[KIND]") of `original`, a value of PHI type `kind`: the
        same every time the record meets the same original."""
        if self.mode == "tag":
            return f"[{kind}]"
        fn = getattr(self, "_" + kind.lower(), None)
        key = (kind, original)
        if key not in self._cache:
            try:
                self._cache[key] = fn(original) if fn else self._shape(original, kind)
            except (ValueError, OverflowError):
                self._cache[key] = self._shape(original, kind)
        return self._cache[key]

    # -- names ----------------------------------------------------------------------------------
    def _name(self, original: str) -> str:
        parts = re.split(r"([^\W\d_]+(?:['’][^\W\d_]+)?)", original)
        out = []
        word_pos = 0
        for piece in parts:
            if not piece or not re.match(r"[^\W\d_]", piece):
                out.append(piece)
                continue
            low = piece.lower()
            if low in TITLES or low in NAME_PARTICLES or low in ("'s", "’s"):
                out.append(piece)
                continue
            out.append(_match_case(piece, self._name_token(low, word_pos)))
            word_pos += 1
        return "".join(out)

    def _name_token(self, low: str, pos: int) -> str:
        norm = strip_accents(low)
        if norm in self._name_map:
            return self._name_map[norm]
        female, male, last = _name_pools()
        lex = self.lexicon
        sex = lex.first_names.get(norm) if lex is not None else None
        is_last = lex is not None and norm in lex.last_names
        if sex and not (is_last and pos > 0):
            pool = female if sex == "f" else male if sex == "m" else female + male
        elif is_last or pos > 0:
            pool = last
        else:
            pool = female + male
        rng = self._rng("NAME", norm)
        for _ in range(50):
            cand = pool[rng.randrange(len(pool))]
            if cand.lower() != norm and cand.lower() not in self._used_names:
                break
        self._used_names.add(cand.lower())
        self._name_map[norm] = cand
        return cand

    # -- dates ------------------------------------------------------------------------------
    def _date(self, original: str) -> str:
        return shift_date_text(original, self.shift, self._rng("DATE", original), self.known_dates)

    # -- numbers with a format ----------------------------------------------------------------
    def _phone(self, original: str) -> str:
        digits = re.sub(r"\D", "", original)
        rng = self._rng("PHONE", digits[-10:])
        area = str(rng.randrange(201, 990))
        while area[1] == "9" or area[1:] == "11":
            area = str(rng.randrange(201, 990))
        new = area + "555" + "01" + f"{rng.randrange(100):02d}"
        return _fill_digits(original, new)

    _fax = _phone

    def _ssn(self, original: str) -> str:
        rng = self._rng("SSN", re.sub(r"\D", "", original))
        digits = "9" + "".join(str(rng.randrange(10)) for _ in range(8))
        return _fill_digits(original, digits)

    def _age(self, original: str) -> str:
        return "90+" if original.strip().isdigit() else re.sub(r"\d+", "90+", original, count=1)

    def _zip(self, original: str) -> str:
        rng = self._rng("ZIP", original)
        digits = str(rng.randrange(10000, 99999)) + "".join(str(rng.randrange(10)) for _ in range(4))
        return _fill_digits(original, digits, align="left")

    def _ip(self, original: str) -> str:
        rng = self._rng("IP", original)
        if ":" in original:
            return "2001:db8::" + format(rng.randrange(1, 0xFFFF), "x")
        net = rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{net}.{rng.randrange(1, 255)}"

    def _email(self, original: str) -> str:
        rng = self._rng("EMAIL", original.lower())
        female, male, last = _name_pools()
        first = rng.choice(female + male).lower()
        surname = rng.choice(last).lower()
        style = rng.randrange(3)
        local = (f"{first}.{surname}" if style == 0 else f"{first[0]}{surname}{rng.randrange(10, 99)}"
                 if style == 1 else f"{first}{rng.randrange(1950, 2010)}")
        m = re.search(r"@\s*([\w.\-]+)", original)
        domain = m.group(1).lower() if m else ""
        if domain not in EMAIL_DOMAINS_KEEP:
            domain = "example.com"
        return f"{local}@{domain}"

    def _url(self, original: str) -> str:
        rng = self._rng("URL", original)
        m = re.match(r"(?i)(https?://|ftp://)?(www\.)?([^/\s?#]+)(.*)", original)
        scheme, www, host, rest = m.groups() if m else ("", "", original, "")
        labels = host.split(".")
        new_host = ("portal." if len(labels) > 2 and not www else "") + "example.org"
        new_rest = _shape_random(rest, rng) if rest else ""
        return f"{scheme or ''}{www or ''}{new_host}{new_rest}"

    def _address(self, original: str) -> str:
        rng = self._rng("ADDRESS", original.lower())
        tokens = re.split(r"(\s+|,)", original)
        out = []
        replaced_name = False
        spanish = bool(re.match(r"(?i)\s*(calle|c/|avenida|av\.|avda|bulevar|calzada|carretera|"
                                r"camino|paseo|privada|cerrada|colonia|col\.)", original))
        for tok in tokens:
            low = tok.lower().strip(".#")
            if not tok or tok.isspace() or tok == ",":
                out.append(tok)
            elif any(c.isdigit() for c in tok):
                out.append(_shape_random(tok, rng))
            elif low in _KEEP_ADDRESS_WORDS or not low:
                out.append(tok)
            elif not replaced_name:
                street = rng.choice(STREETS_ES if spanish else STREETS)
                out.append(_match_case(tok, street))
                replaced_name = True
            else:
                # Drop further street-name words (a multi-word name becomes one word); keep
                # the whitespace balanced by removing the separator we just added.
                if out and out[-1].isspace():
                    out.pop()
        return "".join(out)

    def _city(self, original: str) -> str:
        rng = self._rng("CITY", original.lower())
        town = rng.choice(TOWNS)
        if town.lower() == original.lower():
            town = TOWNS[(TOWNS.index(town) + 1) % len(TOWNS)]
        return _match_case(original, town)

    def _shape(self, original: str, kind: str = "ID") -> str:
        rng = self._rng(kind, re.sub(r"[\W_]", "", original).upper())
        return _shape_random(original, rng)


def _fill_digits(template: str, digits: str, align: str = "right") -> str:
    """Put `digits` into the digit positions of `template`, keeping its punctuation."""
    slots = [i for i, c in enumerate(template) if c.isdigit()]
    chars = list(template)
    if align == "right":
        # The last 10 digits carry the number; a leading country code "1" stays.
        use = digits[-len(slots):] if len(slots) <= len(digits) else digits
        slots = slots[-len(use):]
    else:
        use = digits[:len(slots)]
        slots = slots[:len(use)]
    for i, d in zip(slots, use):
        chars[i] = d
    return "".join(chars)


def _shape_random(text: str, rng: random.Random) -> str:
    """Same shape: digits -> random digits, letters -> random letters of the same case."""
    out = []
    for c in text:
        if c.isdigit():
            out.append(str(rng.randrange(10)))
        elif c.isalpha() and c.isascii():
            letter = chr(ord("a") + rng.randrange(26))
            out.append(letter.upper() if c.isupper() else letter)
        else:
            out.append(c)
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# Date shifting that keeps the written format
# ----------------------------------------------------------------------------------------------
_REF_YEAR = 2025
_ORD_RE = r"(st|nd|rd|th|ro|do|vo|to|º|°)"


def _ordinal(n: int, template: str) -> str:
    t = template.lower()
    if t in ("st", "nd", "rd", "th"):
        suf = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return suf.upper() if template.isupper() else suf
    return template


def _month_word(template: str, month: int) -> str:
    low = template.lower().rstrip(".")
    full_es = low in _ES_ONLY or low in ("mayo", "marzo") or low.endswith("iembre") or low.endswith("ubre")
    abbr = len(low) <= 4 and low not in ("june", "july", "mayo", "may")
    lang = "es" if low in _ES_ONLY or full_es and low not in ("may",) else "en"
    word = calendar.month_name(month, lang, abbr)
    if low == "sept" and month == 9:
        word = "Sept"
    return _match_case(template.rstrip("."), word) + ("." if template.endswith(".") else "")


def _safe_date(y: int, m: int, d: int) -> dt.date:
    d = max(1, min(d, 28 if m == 2 else 30 if m in (4, 6, 9, 11) else 31))
    return dt.date(y, max(1, min(m, 12)), d)


def _year_for(month: int, day: int, known: list[dt.date]) -> int:
    for d in known:
        if d.month == month and d.day == day:
            return d.year
    return known[0].year if known else _REF_YEAR


def shift_date_text(text: str, shift: dt.timedelta, rng: random.Random,
                    known_dates: Iterable[dt.date] = ()) -> str:
    """Shift the date written in `text` by `shift`, keeping its format."""
    s = text
    known = list(known_dates)
    # ISO and year-first numeric (an ISO date-time keeps its time part)
    m = re.fullmatch(r"(\s*)(\d{4})([/\-.])(\d{1,2})([/\-.])(\d{1,2})((?:[T ]\d{1,2}:\d{2}\S*)?\s*)", s)
    if m:
        y, mo, d = int(m.group(2)), int(m.group(4)), int(m.group(6))
        new = _safe_date(y, mo, d) + shift
        # Each field keeps its width: ISO "2025-10-16" -> "2025-09-25" stays ISO; "2025-8-6"
        # stays unpadded.
        wm, wd = len(m.group(4)), len(m.group(6))
        return (f"{m.group(1)}{new.year:04d}{m.group(3)}{new.month:0{wm}d}{m.group(5)}{new.day:0{wd}d}"
                f"{m.group(7)}")
    m = re.fullmatch(r"(\d{1,2})(\s?[/\-.]\s?)(\d{1,2})(?:(\s?[/\-.]\s?)(\d{2}|\d{4}))?", s.strip())
    if m:
        a, b = int(m.group(1)), int(m.group(3))
        day_first = a > 12
        mo, d = (b, a) if day_first else (a, b)
        ytxt = m.group(5)
        y = (int(ytxt) + (1900 if int(ytxt) > 30 else 2000) if ytxt and len(ytxt) == 2
             else int(ytxt) if ytxt else _year_for(mo, d, known))
        new = _safe_date(y, mo, d) + shift
        first, second = (new.day, new.month) if day_first else (new.month, new.day)
        # zero-padded style ("03/04") where the original pads a field; "10/16" (both fields two
        # digits, neither padded) says nothing, and US usage leaves them unpadded
        pad = 2 if "0" in (m.group(1)[0], m.group(3)[0]) else 1
        out = f"{first:0{pad}d}{m.group(2)}{second:0{pad}d}"
        if ytxt:
            out += m.group(4) + (f"{new.year % 100:02d}" if len(ytxt) == 2 else f"{new.year:04d}")
        return out
    # Written months: find month word, day number, year
    month_m = re.search(r"(?i)\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b\.?", s)
    day_m = None
    for dm in re.finditer(r"(?<![\d'])(\d{1,2})" + _ORD_RE + r"?(?!\d)", s):
        day_m = dm
        break
    year_m = re.search(r"(?<!\d)((?:19|20)\d{2})(?!\d)|'(\d{2})\b", s)
    if month_m:
        mo = MONTHS[month_m.group(1).lower()]
        d = int(day_m.group(1)) if day_m else 1
        y = int(year_m.group(1)) if year_m and year_m.group(1) else (
            2000 + int(year_m.group(2)) if year_m else _year_for(mo, d, known))
        if day_m and year_m and day_m.start() >= (year_m.start() if year_m else 10 ** 9):
            day_m = None
        new = _safe_date(y, mo, d) + shift
        if not day_m:  # month + year only: move by the shift's months
            new = _safe_date(y, mo, 15) + shift
        pieces = []  # (start, end, replacement)
        pieces.append((month_m.start(1), month_m.end(1), _month_word(month_m.group(1), new.month)))
        if day_m:
            rep = f"{new.day:0{2 if day_m.group(1).startswith('0') else 1}d}"
            if day_m.group(2):
                rep += _ordinal(new.day, day_m.group(2))
            pieces.append((day_m.start(), day_m.end(), rep))
        if year_m:
            rep = f"{new.year:04d}" if year_m.group(1) else f"'{new.year % 100:02d}"
            pieces.append((year_m.start(), year_m.end(), rep))
        return _splice(s, pieces)
    if day_m:  # day of month only ("the 5th", "tues the 5th", "lunes 5")
        d = int(day_m.group(1))
        new_day = (d - 1 + shift.days) % 28 + 1
        if new_day == d:  # a shift of whole 4-week blocks would leave the day as it was
            new_day = d % 28 + 1
        rep = f"{new_day:0{2 if day_m.group(1).startswith('0') else 1}d}"
        if day_m.group(2):
            rep += _ordinal(new_day, day_m.group(2))
        return _splice(s, [(day_m.start(), day_m.end(), rep)])
    raise ValueError(f"no date in {text!r}")


def _splice(s: str, pieces: list[tuple[int, int, str]]) -> str:
    for start, end, rep in sorted(pieces, reverse=True):
        s = s[:start] + rep + s[end:]
    return s
