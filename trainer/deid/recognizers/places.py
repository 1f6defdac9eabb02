"""Places smaller than a state: street addresses, ZIP codes, and cities (after a state code, as
a known place name in a place position, or as spaCy reads them)."""
from __future__ import annotations

import re

import usaddress

from trainer.deid.lexicon import NAME_PARTICLES, NOT_CITIES, US_STATES, Lexicon
from trainer.deid.recognizers.base import Context, Recognizer, inside, register
from trainer.deid.recognizers.names import name_finder
from trainer.deid.recognizers.organizations import outside_organizations
from trainer.deid.recognizers.tokens import Tokens
from trainer.deid.types import Span, trimmed_span

_I = re.I
_STATE_CODES = "|".join(US_STATES)
_STATE_NAMES = "|".join(sorted(US_STATES.values(), key=len, reverse=True))

_STREET_SFX = (
    r"(?:street|st|avenue|ave|av|road|rd|boulevard|blvd|drive|dr|lane|ln|court|ct|way|wy|place|pl|"
    r"terrace|ter|circle|cir|highway|hwy|parkway|pkwy|trail|trl|square|sq|loop|row|pike|path|"
    r"crossing|xing|alley|aly|plaza|plz|ridge|rdg|heights|hts|hollow|cove|cv|bend|creek|grove|"
    r"gardens|gdns|commons|expressway|expy|freeway|fwy|turnpike|tpke|run|walk|point|pt|trace|"
    r"estates|manor|meadows|landing|harbor|junction|jct|pass|spur|summit|village|vista|view|"
    r"park|center|ctr|mall|oval|close|green)")
_STREET_WORD = (r"(?!(?:and|or|the|to|of|on|in|at|for|with|is|are|was|be|my|i|you|he|she|we|they|"
                r"it|live|lives|a|an|but|so|from|by|am|pm|mg|mcg|ml|tabs?|pills?|days?|weeks?|hours?|"
                r"hrs?|times?|units?|minutes?|mins?|x|kids?|more|times|years?|yrs?|months?|until|"
                r"more|then|also|have|has|had|take|taking|every|each|per|about|after|before)\b)"
                r"[A-Za-z0-9ÁÉÍÓÚÑáéíóúñ][A-Za-z0-9ÁÉÍÓÚÑáéíóúñ'\.\-]*")
_UNIT = (r"(?:,?\s*(?:(?:apt|apartment|unit|ste|suite|bldg|building|fl|floor|rm|room|lot|space|spc|"
         r"trlr|no|dept|depto)\b\.?|#)\s*#?\s*[A-Za-z0-9\-]{1,6}\b)")
ADDRESS_RES = [
    # a street line never runs across a line break ("PAGE 1 OF 2\nPt Name")
    re.compile(r"(?<![:\d.,$/])\b\d{1,6}[A-Za-z]?(?:-\d{1,4})?[ \t]+(?:(?:N|S|E|W|NE|NW|SE|SW|north|south|east|west)\.?[ \t]+)?"
               r"(?:" + _STREET_WORD + r"[ \t]+){0,4}" + _STREET_SFX + r"\b\.?"
               r"(?:\s+(?:N|S|E|W|NE|NW|SE|SW)\b\.?)?" + _UNIT + "?", _I),
    re.compile(r"\b\d{1,6}\s+(?:state\s+|county\s+|us\s+|u\.s\.\s+)?(?:highway|hwy|route|rte|road|rd|"
               r"cr|fm|sr)\s+\d{1,4}\b" + _UNIT + "?", _I),
    re.compile(r"\bp\.?\s?o\.?\s*box\s*#?\s*\d+\b|\bapartado\s+postal\s+\d+\b|"
               r"\b(?:rt|rte|route|rr|hc|star\s+route)\.?\s*\d+\s*,?\s*box\s*#?\s*\d+\b|"
               # a house number and a numbered street with no suffix: "4417 SE 52nd"
               r"(?<![:\d.,$/])\b\d{1,6}[ \t]+(?:N|S|E|W|NE|NW|SE|SW)\.?[ \t]+\d{1,3}(?:st|nd|rd|th)\b", _I),
    re.compile(r"\b(?:calle|c/|avenida|av\.|avda\.?|bulevar|calzada|carretera|camino|paseo|privada|"
               r"cerrada|andador|callej[oó]n|prolongaci[oó]n|circuito|colonia|col\.)\s+"
               r"(?:[A-Za-zÁÉÍÓÚÑáéíóúñ0-9\.]+\s+){0,4}?(?:#\s*|no\.?\s*|n[uú]m\.?\s*)?\d{1,5}[A-Za-z]?\b"
               r"(?:\s*(?:int\.?|interior|depto\.?|dpto\.?|piso|apt\.?)\s*[A-Za-z0-9\-]+)?", _I),
    # (a unit alone, "Suite 210", "Room 118", is a room of a building, not an address)
    # a corner: "the Walgreens at Hawthorne and 39th", "on MLK & Killingsworth"
    re.compile(r"(?:(?<=\bon )|(?<=\bat )|(?<=\boff )|(?<=\bnear )|(?<=\bby ))(?:(?:N|S|E|W|NE|NW|SE|SW)\.?\s+)?"
               r"(?:\d{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z]+)(?:\s+" + _STREET_SFX + r"\.?)?\s+(?:and|&|/|y)\s+"
               r"(?:(?:N|S|E|W|NE|NW|SE|SW)\.?\s+)?(?:\d{1,3}(?:st|nd|rd|th)|[A-Z][A-Za-z]+)(?:\s+" + _STREET_SFX + r"\b\.?)?"
               r"(?<=\d(?:st|nd|rd|th))|(?:(?<=\bon )|(?<=\bat )|(?<=\boff )|(?<=\bnear )|(?<=\bby ))"
               r"\d{1,3}(?:st|nd|rd|th)(?:\s+" + _STREET_SFX + r"\.?)?\s+(?:and|&|/|y)\s+[A-Z][A-Za-z]+"
               r"(?:\s+" + _STREET_SFX + r"\b\.?)?"),
    # a place of business on a street named alone: "the Rite Aid on Killingsworth", "a Target off
    # Powell", "the bus stop on MLK", "la farmacia en la calle Stark"
    re.compile(r"(?i:\b(?:cvs|aid|meyer|safeway|walgreens|target|walmart|costco|kroger|starbucks|pharmacy|"
               r"clinic|store|stop|station|office|house|apartments?|lab|library|school|church|park|market|"
               r"bank|hospital|shop|mall|one|place|corner|building|entrance)\s+(?:on|off)\s+|"
               r"\ben\s+la\s+(?:calle|avenida)\s+)"
               r"(?P<val>(?:(?:N|S|E|W|NE|NW|SE|SW)\.?\s+)?(?:[A-Z][a-z]{2,}|[A-Z]{2,4}|\d{1,3}(?:st|nd|rd|th)))\b(?![\w'’-])"),
    # a street named without a house number: "the Walgreens on 82nd Ave", "off Burnside St"
    re.compile(r"(?:(?<=\bon )|(?<=\bat )|(?<=\boff )|(?<=\bnear ))(?:(?:N|S|E|W|NE|NW|SE|SW)\.?\s+)?(?:\d{1,3}(?:st|nd|rd|th)|[A-Z][a-z]+)"
               r"\s+(?:Ave|Avenue|St|Street|Blvd|Boulevard|Rd|Road|Dr|Drive|Way|Pkwy|Parkway|Hwy|Highway|"
               r"Ln|Lane|Ct|Court|Pl|Place|Ter|Terrace)\b\.?"),
    # a numbered road named alone: "on Hwy 26", "off I-5", "near Route 9", "en la carretera 15"
    re.compile(r"(?:(?<=\bon )|(?<=\bat )|(?<=\boff )|(?<=\bnear )|(?<=\balong )|(?<=\bby )|(?<=\bla ))"
               r"(?:(?i:highway|hwy|route|rte|state\s+route|county\s+road|carretera|autopista)\.?\s*|"
               r"(?:I|US|SR|CR|FM|OR|WA|CA)[- ])\d{1,4}[A-Z]?\b(?![.,]\d)"),
]
ZIP_KW_RE = re.compile(r"\b(?:zip(?:\s*code)?|zipcode|postal\s+code|c[oó]digo\s+postal|c\.p\.)\s*"
                       r"(?:is|es|:|#)?\s*:?\s*(?P<val>\d{5}(?:-\d{4})?)\b", _I)
# A ZIP asked for and given a little later ("Please enter your ZIP code.\nUser: 98661"), or
# where a place goes ("urgent cares around 97006").
ZIP_LATER_RE = re.compile(r"\b(?:zip(?:\s*code)?|zipcode|postal\s+code|c[oó]digo\s+postal)\b[^\d]{0,60}?"
                          r"(?<![\d$.,\-/])(?P<val>\d{5}(?:-\d{4})?)(?![\d/]|[.,]\d)", _I)
ZIP_NEAR_RE = re.compile(r"\b(?:near|around|close\s+to|cerca\s+de|by)\s+(?:the\s+)?(?:zip\s+)?"
                         r"(?P<val>\d{5})\b(?![\d/.,]\d|\s*(?:steps|miles|mi|km|feet|ft|dollars|units|mg|people))", _I)
STATE_ZIP_RE = re.compile(r"\b(?:" + _STATE_CODES + r"|" + _STATE_NAMES + r")\.?,?\s+(?P<val>\d{5}(?:-\d{4})?)\b", _I)
CITY_STATE_RE = re.compile(
    r"(?P<city>\b[A-Z][A-Za-z\.'\-]+(?:\s+[A-Z][A-Za-z\.'\-]+){0,2}),?\s+(?:" + _STATE_CODES + r")\b"
    r"(?=\s*,?\s*(?:\d{5}|$|[\s.,;!?)]))")
CITY_STATE_NAME_RE = re.compile(
    r"(?P<city>\b[A-Z][A-Za-z\.'\-]+(?:\s+[A-Z][A-Za-z\.'\-]+){0,2}),\s+(?:" + _STATE_NAMES + r")\b", _I)
CITY_ZIP_LOWER_RE = re.compile(
    r"(?P<city>\b[a-z][a-z\.'\-]+(?:\s+[a-z][a-z\.'\-]+){0,2}),?\s+(?:" + _STATE_CODES + r"|"
    + _STATE_NAMES + r")\.?,?\s+\d{5}\b", _I)

_MOVE_VERBS = {"move", "moving", "moved", "live", "lives", "living", "lived", "staying", "stay",
               "visiting", "relocating", "relocated", "vivo", "vive", "vivimos", "mudé", "mude",
               "mudamos", "mudo", "located", "based", "reside", "resides", "residing"}
_LOC_CUES = {"in", "from", "to", "near", "en", "desde", "cerca", "outside", "around", "visiting"}
_CITY_PREFIXES = {"port", "lake", "east", "west", "north", "south", "new", "fort", "ft", "mount", "mt",
                  "saint", "st", "san", "santa", "el", "la", "los", "las", "palm", "glen", "grand",
                  "cedar", "spring", "springs", "bay", "point", "little", "big", "white", "green"}

_NEAR_ZIP = re.compile(r"^[\s,]*(?:(?:" + _STATE_CODES + r")\b\.?[\s,]*)?(\d{5}(?:-\d{4})?)\b", re.I)
_NEAR_CITY = re.compile(r"^,\s*([A-Za-z][A-Za-z'\-]+(?:\s+[A-Za-z][A-Za-z'\-]+){0,2})\b")


# The labels usaddress gives to what may follow a street line as part of the same address.
_UNIT_LABELS = {"OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier"}
_OCR_LETTERS = str.maketrans({"0": "O", "1": "I"})


# "Washington County", "Clackamas Co.": a county, unless an organization word follows
# ("Multnomah County Health Department").
COUNTY_RE = re.compile(r"\b(?:[A-Z][a-z]+\s+){1,2}(?:County|Co\.|Parish|Borough)(?!\s+[A-Z])(?!\s+(?i:health|"
                       r"department|jail|court|sheriff|hospital|clinic|program|services|transit|library|fair)\b)")


@register
class CountyRecognizer(Recognizer):
    name = "county"
    types = ("CITY",)
    order = 125

    def find(self, text: str, context: Context) -> list[Span]:
        lex = context.rules.lexicon
        out = []
        for m in COUNTY_RE.finditer(text):
            words = m.group(0).split()
            while len(words) > 2 and (words[0].lower() in lex.stopwords or words[0].lower() in lex.never_name):
                words = words[1:]
            if words[0].lower() in lex.stopwords or words[0].lower() in lex.never_name:
                continue
            start = m.end() - len(" ".join(words))
            out.append(trimmed_span(text, start, m.end(), "CITY", 0.8))
        return out


@register
class AddressRecognizer(Recognizer):
    """Street addresses and P.O. boxes, each one span through its unit, city, state and ZIP
    ("1200 NW Everett St, Unit 5, Portland, OR 97209"): the patterns find where an address
    starts, usaddress (a CRF trained on US addresses) reads how far it goes."""

    name = "address"
    types = ("ADDRESS",)
    order = 100
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = []
        lex = context.rules.lexicon
        for k, rx in enumerate(ADDRESS_RES):
            for m in rx.finditer(text):
                start, end = (m.start("val"), m.end("val")) if "val" in rx.groupindex else (m.start(), m.end())
                last = re.findall(r"[A-Za-z]+", text[start:end])
                if k in _NO_NUMBER and re.fullmatch(r"\s+[A-Z][a-z]", text[end:end + 3]) and \
                        re.search(r"\bSt\.?$", text[start:end]):
                    continue  # "Providence St. Vincent": a saint's name, not a street
                if k == _ON_STREET and last and not re.search(r"\d", text[start:end]) and (
                        last[-1].lower() in lex.stopwords or last[-1].lower() in lex.never_name
                        or last[-1].lower() in lex.category_words):
                    continue  # "the one on Monday", "the clinic on Saturday": no street
                if k in _EXTENDABLE:
                    end = address_end(text, start, end, context.rules.lexicon)
                out.append(trimmed_span(text, start, end, "ADDRESS", 0.9))
        return out


# ADDRESS_RES patterns that start a postal address (house number + street, P.O. box).
_EXTENDABLE = (0, 1, 2)
_ON_STREET = 5  # the business-on-street pattern
_NO_NUMBER = (4, 5, 6)  # patterns of streets named without a house number


_AFTER_ADDRESS_CITY_RE = re.compile(r",?[ \t]*(?P<city>[A-Z][a-z]+(?:[ \t][A-Z][a-z]+){0,2})")
_CITY_LINE_RE = re.compile(r"\n[ \t]*[A-Za-z][A-Za-z .'\-]{1,40}?,?[ \t]+(?P<last>(?:" + _STATE_CODES + r"|"
                           + _STATE_NAMES + r")\.?,?[ \t]+\d{5}(?:-\d{4})?)[ \t]*(?=\n|$)")


def _is_state(word: str, lower_ok: bool) -> bool:
    w = word.strip(".,;").translate(_OCR_LETTERS)
    if w.upper() in US_STATES and (w.isupper() or lower_ok):
        return True
    return w.lower() in US_STATES.values()


def address_end(text: str, start: int, end: int, lex: Lexicon) -> int:
    """Where the address that `text[start:end]` begins ends: past the unit, city, state and ZIP
    that follow on the same line as usaddress labels them. A city counts only when a state or
    ZIP follows it or it is a known place; anything else stops the address."""
    line_end = text.find("\n", end)
    stop = min(len(text), end + 90) if line_end < 0 else min(line_end, end + 90)
    segment = text[start:stop]
    try:
        parsed = usaddress.parse(segment)
    except Exception:  # noqa: BLE001 -- a parse failure leaves the pattern's span as it is
        return end
    pos, best, pending = 0, end, []
    for token, label in parsed:
        at = segment.find(token, pos)
        if at < 0:
            break
        pos = at + len(token)
        t_start, t_end = start + at, start + pos
        if t_start < end:  # the pattern's own words
            continue
        word = token.strip(".,;:")
        if not word:
            continue
        if label in _UNIT_LABELS and (pending == [] and re.fullmatch(r"#?[A-Za-z]{0,9}\.?#?\d{0,6}[A-Za-z]?", word)
                                      and (any(c.isdigit() for c in word) or word.lower().rstrip(".") in
                                           ("apt", "apartment", "unit", "ste", "suite", "#", "no", "lot", "spc", "space", "bldg", "fl", "floor", "rm", "room", "trlr"))):
            best = t_end
        elif label == "PlaceName" and len(pending) < 3 and word.lower() not in lex.stopwords \
                and word.lower() not in lex.never_name and not any(c.isdigit() for c in word.translate(_OCR_LETTERS)):
            pending.append((t_start, t_end, word))
        elif label == "StateName" and _is_state(word, lower_ok=bool(pending)):
            best = t_end
            pending = []
        elif label == "ZipCode" and re.fullmatch(r"\d{5}(?:-\d{4})?", word):
            best = t_end
            break
        else:
            break
        if pending and " ".join(w.lower() for _, _, w in pending) in lex.cities and all(
                w[0].isupper() for _, _, w in pending):
            best = pending[-1][1]
    # usaddress may stop inside a city it does not know ("Lake Oswego"): a known place right after
    # the address on its line is part of it
    m = _AFTER_ADDRESS_CITY_RE.match(text, best)
    if m and (line_end < 0 or m.end() <= line_end):
        words = m.group("city").split()
        for n in range(len(words), 0, -1):
            if " ".join(words[:n]).lower() in lex.cities:
                best = m.start("city") + len(" ".join(words[:n]))
                break
    if line_end >= 0 and not text[best:line_end].strip(" ,.\t"):
        # a letter's address goes on: "1902 Alder St.\nEugene, OR 97401"
        m = _CITY_LINE_RE.match(text, line_end)
        if m:
            best = m.end("last")
    return best


@register
class ZipRecognizer(Recognizer):
    """A ZIP code after its keyword or after a state ("OR 97206"); see `AfterPlaceRecognizer`
    for one after a city or an address."""

    name = "zip"
    types = ("ZIP",)
    order = 110
    reads_digits = True

    def find(self, text: str, context: Context) -> list[Span]:
        out = [trimmed_span(text, m.start("val"), m.end("val"), "ZIP", 0.95) for m in ZIP_KW_RE.finditer(text)]
        out += [trimmed_span(text, m.start("val"), m.end("val"), "ZIP", 0.85) for m in ZIP_LATER_RE.finditer(text)]
        out += [trimmed_span(text, m.start("val"), m.end("val"), "ZIP", 0.8) for m in ZIP_NEAR_RE.finditer(text)]
        out += [trimmed_span(text, m.start("val"), m.end("val"), "ZIP", 0.9) for m in STATE_ZIP_RE.finditer(text)]
        return out


@register
class CityStateRecognizer(Recognizer):
    """A city before a state ("Springfield, IL", "Bend, Oregon", "salem or 97301")."""

    name = "city_state"
    types = ("CITY",)
    order = 120

    def find(self, text: str, context: Context) -> list[Span]:
        rules = context.rules
        letters = [c for c in text if c.isalpha()]
        allcaps = len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7
        out = []
        for rx in (CITY_STATE_RE, CITY_STATE_NAME_RE, CITY_ZIP_LOWER_RE):
            for m in rx.finditer(text):
                s, e = _trim_city(text, m.start("city"), m.end("city"), rules.lexicon)
                # in all capitals every word looks like a city: only known ones count
                if allcaps and text[s:e].lower() not in rules.lexicon.cities:
                    continue
                if e > s and not rules.is_clinician(text[s:e]):
                    out.append(trimmed_span(text, s, e, "CITY", 0.85))
        return out


def _trim_city(text: str, start: int, end: int, lex: Lexicon) -> tuple[int, int]:
    """Drop leading words of a 'City, ST' match that are not part of the city ("live in")."""
    words = list(re.finditer(r"\S+", text[start:end]))
    for k in range(len(words) - 1, -1, -1):
        if re.fullmatch(_STREET_SFX + r"\.?,?", words[k].group(0), _I) and k < len(words) - 1:
            words = words[k + 1:]
            break
    while words:
        w = words[0].group(0).lower().strip(".,")
        rest = " ".join(x.group(0).lower() for x in words)
        if rest in lex.cities:
            break
        if w in _CITY_PREFIXES and len(words) > 1:
            break
        if w in lex.stopwords or w in lex.never_name or (w in lex.english and lex.english[w] > 50_000
                                                          and w not in lex.cities) or lex.spanish_form(w):
            words.pop(0)
            continue
        break
    if not words:
        return start, start
    return start + words[0].start(), start + words[-1].end()


@register
class CityRecognizer(Recognizer):
    """Cities from the words: known place names in a place position ("we live in Hillsboro"),
    unknown words after a moving verb ("moving to milwaukie"), and spaCy's places. A word the
    name rules read as the person spoken to or about ("Hola Charlotte!", "Thanks Brooklyn") is
    a name even where it is also a place."""

    name = "city"
    types = ("CITY",)
    order = 210
    needs_doc = True

    def find(self, text: str, context: Context) -> list[Span]:
        finder = name_finder(text, context)
        people = finder.person_cued_ranges()
        cities = [c for c in city_spans(finder) if not inside(c.start, c.end, people)
                  and c.text.lower() not in context.rules.org_heads]
        return outside_organizations(cities, context, finder)


# Parts of a building: the word before a room's number or letter, never a place's name.
ROOM_WORDS = {"suite", "ste", "room", "rm", "unit", "building", "bldg", "floor", "fl", "wing", "ward", "bay",
              "pod", "lobby", "door", "entrance", "exam", "conference", "sala", "cuarto", "piso", "edificio"}


def city_spans(tokens: Tokens) -> list[Span]:
    """Cities the words show (see `CityRecognizer`), before people and organizations claim any."""
    out = []
    lex = tokens.lex
    words = tokens.words
    for k, tok in enumerate(words):
        for n in (4, 3, 2, 1):
            seq = words[k:k + n]
            if len(seq) < n or any(seq[x + 1].i != seq[x].i + 1 for x in range(n - 1)):
                continue
            name = " ".join(t.lower for t in seq)
            if n > 1 and seq[0].lower not in lex.city_heads:
                continue
            if name not in lex.cities or name in NOT_CITIES:
                continue
            if any(tokens.protected(t) for t in seq) and n == 1:
                break
            all_cap = all(t.cap for t in seq if t.lower not in NAME_PARTICLES)
            prev = tokens.prev_words(tok, 2)
            loc_cue = bool(prev) and prev[-1] in {"in", "from", "to", "near", "en", "de", "desde",
                                                  "cerca", "at", "outside", "around", "visiting",
                                                  "moved", "live", "lives", "living", "vivo", "vive"}
            single_common = n == 1 and (lex.everyday(tok.lower) or tok.lower in lex.first_names
                                        or tok.lower in lex.last_names or lex.spanish.get(tok.lower, 0) > 1000)
            if single_common:
                # a known place after "in", "to", "en" that is no frequent word ("live in estacada")
                rare = lex.english.get(tok.lower, 0) < 1000 and lex.spanish.get(tok.lower, 0) < 1000 \
                    and not lex.first_names.get(tok.lower)
                ok = loc_cue and ((all_cap and not tok.sent_start) or rare)
            else:
                ok = (all_cap and (n > 1 or not tok.sent_start or loc_cue)) or loc_cue or tokens.allcaps and loc_cue
            if ok:
                out.append(trimmed_span(tokens.text, seq[0].start, seq[-1].end, "CITY", 0.8))
                break
    for k, tok in enumerate(words):
        # "moving to milwaukie", "vivo en tlaquepaque": an unknown word where a place goes
        prev = tokens.prev_words(tok, 2)
        if len(prev) == 2 and prev[0] in _MOVE_VERBS and prev[1] in ("to", "in", "near", "en", "a") \
                and tokens.kind(tok) in ("unknown", "propn") and not tokens.protected(tok):
            end = tok
            nxt = words[k + 1] if k + 1 < len(words) else None
            if nxt is not None and nxt.i == tok.i + 1 and nxt.cap and tok.cap and tokens.kind(nxt) in ("unknown", "propn", "strong"):
                end = nxt
            out.append(trimmed_span(tokens.text, tok.start, end.end, "CITY", 0.7))
    for k, tok in enumerate(words):
        # "moved to port russell", "in Lake Oswego": prefix + place word after a location cue
        prev = tokens.prev_words(tok, 1)
        if not prev or prev[-1] not in _LOC_CUES or tok.lower not in _CITY_PREFIXES:
            continue
        if tok.lower in ("el", "la", "los", "las") and not (k + 1 < len(words) and words[k + 1].cap):
            continue
        seq = [tok]
        for t in words[k + 1:k + 3]:
            if t.i != seq[-1].i + 1 or t.lower in lex.stopwords or tokens.protected(t):
                break
            if lex.everyday(t.lower) and not t.cap:
                break
            seq.append(t)
        if len(seq) > 1:
            out.append(trimmed_span(tokens.text, seq[0].start, seq[-1].end, "CITY", 0.75))
    for ent_start, ent_end, label in tokens.ents:
        if label in ("GPE", "LOC", "FAC"):
            seg = tokens.text[ent_start:ent_end]
            low = seg.lower().strip()
            if low in NOT_CITIES or low.startswith("the ") and low[4:] in NOT_CITIES:
                continue
            toks = [t for t in tokens.words if ent_start <= t.start < ent_end]
            if not toks or any(tokens.protected(t) for t in toks):
                continue
            if len(seg) <= 3 and seg.isupper() or any(c.isdigit() for c in seg):
                continue
            if toks[0].sent_start and tokens.lex.known(toks[0].lower) and len(toks) == 1:
                continue
            if toks[0].lower.rstrip(".") in ROOM_WORDS:
                continue  # "in Suite 210", "Room B": the clinic's rooms (spaCy reads some as places)
            if all(t.lower in tokens.rules.clinician_tokens for t in toks):
                continue
            if all(tokens.kind(t) == "word" and not t.cap for t in toks):
                continue
            if all(tokens.kind(t) == "word" for t in toks) and label != "GPE":
                continue
            out.append(trimmed_span(tokens.text, ent_start, ent_end, "CITY", 0.6))
    return out


@register
class AfterPlaceRecognizer(Recognizer):
    """A ZIP right after an address or city ("..., Bend 97701"); a city right after an address
    ("12 Oak St, Boise."). Reads the places found before it, spaCy's cities included."""

    name = "after_place"
    types = ("CITY", "ZIP")
    order = 220
    needs_doc = True

    def find(self, text: str, context: Context) -> list[Span]:
        lex = context.rules.lexicon
        out = []
        for s in context.found:
            if s.type not in ("ADDRESS", "CITY"):
                continue
            rest = text[s.end:s.end + 60]
            if s.type == "ADDRESS":
                m = _NEAR_CITY.match(rest)
                if m:
                    words = m.group(1).split()
                    cut = next((k for k, w in enumerate(words) if w.lower() in lex.stopwords
                                or re.match(r"i['’]", w, re.I)
                                or (w.upper() in US_STATES and (w.isupper() or k > 0))
                                or w.lower() in lex.never_name), len(words))
                    words = words[:cut]
                    for n in range(len(words), 0, -1):  # longest known place first
                        if " ".join(words[:n]).lower() in lex.cities:
                            words = words[:n]
                            break
                    else:
                        if words and not words[0][0].isupper():
                            after = text[s.end + m.start(1) + len(" ".join(words)):][:12]
                            if not re.match(r"[\s,]*(?:[A-Z]{2}\b|\d{5})", after):
                                words = []
                    if words:
                        start = s.end + m.start(1)
                        city = " ".join(words)
                        out.append(trimmed_span(text, start, start + len(city), "CITY", 0.8))
                        rest2 = text[start + len(city):start + len(city) + 40]
                        z = _NEAR_ZIP.match(rest2)
                        if z:
                            zs = start + len(city) + z.start(1)
                            out.append(trimmed_span(text, zs, zs + len(z.group(1)), "ZIP", 0.85))
            z = _NEAR_ZIP.match(rest)
            if z:
                out.append(trimmed_span(text, s.end + z.start(1), s.end + z.end(1), "ZIP", 0.85))
        return out

