"""Organization names (clinics, hospitals, pharmacies, stores): not identifiers, so the names
and places inside them stay ("Riverside Family Clinic", "St. Vincent", "Fred Meyer")."""
from __future__ import annotations

import re

from trainer.deid.lexicon import FAMILY_WORDS, TITLES, read_list
from trainer.deid.recognizers.base import Context, inside
from trainer.deid.recognizers.tokens import Token, Tokens
from trainer.deid.types import Span

_ORG_PARTICLES = {"de", "del", "la", "las", "los"}
# Chains whose names look like a person's ("Fred Meyer") or hold a place word.
_CHAIN_RES = [re.compile(r"\b" + re.escape(n) + r"\b", re.I) for n in (
    "Fred Meyer", "Rite Aid", "Trader Joe's", "Whole Foods", "Planned Parenthood",
    "Kaiser Permanente", "Mayo Clinic", "Dollar General", "Family Dollar", "Home Depot", "Best Buy",
    "Harris Teeter", "Stop & Shop", "Piggly Wiggly", "Winn-Dixie", "Food Lion", "Giant Eagle",
    "Hy-Vee", "Meijer", "Wegmans", "Shop Rite", "ShopRite", "Sam's Club", "Dr. Pepper")]
# Health systems and services named after people and places (trainer/assets/deid/health_orgs.txt).
_HEALTH_ORG_RE = re.compile(r"(?<![\w.])(?:" + "|".join(
    re.escape(n) for n in sorted(read_list("health_orgs.txt", lower=False), key=len, reverse=True))
    + r")(?:['’]s)?(?!\w)", re.I)

_FACILITY_PLACE_RE = re.compile(r"[ \t]+[A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?(?![\w'’])")
# "the ER at St. Vincent", "admitted to Saint Mary's": a hospital, not a person or a place.
_HOSPITAL_CTX = re.compile(r"\b(?:er|e\.r\.|emergency|hospital|hosp|admitted|urgent care|clinic|"
                           r"medical|icu|surgery|rehab|records|discharged?|transferred|inpatient|"
                           r"ambulance|nicu|labor and delivery|l&d)\b", re.I)
# "University of Washington Medical Center", "Oregon Health & Science University": a place name
# inside a university's or a school's name is no address.
_UNIVERSITY_RE = re.compile(r"\b(?:(?:the\s+)?Univ(?:ersity|\.)?\s+of\s+(?:[A-Z][\w.'’&-]*\s*){1,3}"
                            r"(?:(?:Medical|Health|Hospital|Children['’]s|Center|Clinic|Medicine|Health\s+System)\b\s*){0,3}|"
                            r"(?:[A-Z][\w.'’-]*\s+(?:&\s+)?){1,4}(?:University|College|State)\b"
                            r"(?:\s+(?:Medical|Health|Hospital|Center|Clinic|Medicine)\b)*)")
_SAINT_RE = re.compile(r"\b(?:st\.?|saint|san|santa|mount|mt\.?)\s+[A-Z][\w'’]+(?:'s|’s)?", re.I)


def organization_ranges(tokens: Tokens) -> list[tuple[int, int]]:
    """(start, end) of organization names (clinic, pharmacy, insurer): configured names and
    their first words ("Riverside Family" for "Riverside Family Clinic"), known chains, a saint's
    name near a hospital word, and runs of capitalized words joined to an organization word
    ("at Riverside Family", "Oak Hill Pediatrics"). A run never crosses a line break."""
    ranges = []
    for rx in tokens.rules.org_patterns + _CHAIN_RES:
        ranges.extend((m.start(), m.end()) for m in rx.finditer(tokens.text))
    for m in _HEALTH_ORG_RE.finditer(tokens.text):
        # a system's facility is named by its place: "Kaiser Sunnyside", "IHS Shiprock"
        after = _FACILITY_PLACE_RE.match(tokens.text, m.end())
        end = m.end()
        if after and all(w.lower() in tokens.lex.cities or not tokens.lex.known(w.lower())
                         for w in after.group(0).split()) and not tokens.lex.first_names.get(after.group(0).split()[0].lower()):
            end = after.end()
        ranges.append((m.start(), end))
    for m in _UNIVERSITY_RE.finditer(tokens.text):
        ranges.append((m.start(), m.end()))
    for m in _SAINT_RE.finditer(tokens.text):
        if _HOSPITAL_CTX.search(tokens.text[max(0, m.start() - 40):m.end() + 20]):
            ranges.append((m.start(), m.end()))
    words = tokens.words
    lex = tokens.lex

    def joined(x: Token, y: Token) -> bool:
        return y.i == x.i + 1 and "\n" not in tokens.text[x.end:y.start]

    prefixes = tokens.rules.org_prefixes
    longest = max((len(p) for p in prefixes), default=0)
    for k in range(len(words)):
        for n in range(min(longest, len(words) - k), 1, -1):
            seq = words[k:k + n]
            if all(joined(seq[x], seq[x + 1]) for x in range(n - 1)) and \
                    tuple(tokens.norm(t) for t in seq) in prefixes:
                ranges.append((seq[0].start, seq[-1].end))
                break
    for k, tok in enumerate(words):
        if tok.lower not in lex.org_words:
            continue
        if not (tok.cap or tokens.allcaps) and not (k > 0 and words[k - 1].cap and not words[k - 1].sent_start):
            continue
        a = b = k
        while a - 1 >= 0 and k - a < 3 and joined(words[a - 1], words[a]) and (
                words[a - 1].cap or tokens.allcaps or words[a - 1].lower in ("de", "la", "del", "of", "the", "&")) \
                and words[a - 1].lower not in TITLES \
                and words[a - 1].lower not in ("at", "to", "from", "with", "in", "en", "my", "mi"):
            a -= 1
        if words[a].sent_start and a < k and words[a].lower in lex.stopwords:
            a += 1
        while b - k < 3:
            if b + 1 < len(words) and joined(words[b], words[b + 1]) and (
                    words[b + 1].cap or (tokens.allcaps and words[b + 1].lower in lex.org_words)) \
                    and words[b + 1].lower not in TITLES:
                b += 1
                continue
            # "Clínica Familiar del Valle", "Hospital de la Luz": Spanish particles inside
            p = b
            while p + 1 < len(words) and p - b < 2 and joined(words[p], words[p + 1]) and \
                    words[p + 1].lower in _ORG_PARTICLES:
                p += 1
            if p > b and words[b + 1].lower in ("de", "del") and p + 1 < len(words) and \
                    joined(words[p], words[p + 1]) and words[p + 1].cap and words[p + 1].lower not in TITLES:
                b = p + 1
                continue
            break
        if a == b == k and tok.lower not in ("clinic", "clínica", "clinica", "hospital", "pharmacy", "farmacia"):
            continue
        if tok.lower in FAMILY_WORDS and not any(w.lower in lex.org_words for w in words[k + 1:b + 1]):
            before = [tokens.norm(w) for w in words[a:k] if w.lower not in ("the", "la", "los", "de", "of")]
            if before and all(lex.first_names.get(w) or w in lex.last_names for w in before):
                continue  # "the Lopez Family": a person's family, not a practice
        ranges.append((words[a].start, words[b].end))
    return ranges


def outside_organizations(spans: list[Span], context: Context, tokens: Tokens) -> list[Span]:
    """`spans` less those inside an organization name, or inside an e-mail, web or street
    address an earlier recognizer found: such words are part of the bigger thing."""
    orgs = context.shared("organizations", lambda: organization_ranges(tokens))
    taken = [(s.start, s.end) for s in context.found if s.type in ("EMAIL", "URL", "ADDRESS")]
    return [s for s in spans if not inside(s.start, s.end, orgs) and not inside(s.start, s.end, taken)]
