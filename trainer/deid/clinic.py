"""What a clinic configures about who stays: its clinicians (in clinician context) and its
organizations, with the lexicon and the age threshold every recognizer reads."""
from __future__ import annotations

import dataclasses
import datetime
import re
from typing import Iterable

from trainer.deid.lexicon import DOCTOR_TITLES, FAMILY_WORDS, TITLES, WORD_RE, Lexicon

# Titles that put a configured clinician's name in clinician context ("Dr. Chen", "la Dra. Laura").
_CLINICIAN_TITLE = r"(?:dr|dra|doctor|doctora|doc|np|nurse|enfermera|enfermero)\b\.?\s*"


@dataclasses.dataclass
class ClinicRules:
    """The settings the recognizers read besides the text: the lexicon, the clinic's
    clinicians ("Dr. Anita Patel": stays in clinician context) and organizations ("Riverside
    Family Clinic": stays), and the age above which an age is an identifier."""

    lexicon: Lexicon
    clinician_names: tuple = ()
    org_names: tuple = ()
    age_threshold: int = 89
    # The year ages are counted from (a birth year before it by more than the threshold is an
    # identifier); 0: the current year.
    reference_year: int = 0

    def __post_init__(self):
        if not self.reference_year:
            self.reference_year = datetime.date.today().year
        clinicians = []
        for name in self.clinician_names:
            toks = tuple(t for t in WORD_RE.findall(name.lower())
                         if t not in TITLES and t not in DOCTOR_TITLES)
            if toks:
                clinicians.append(toks)
        self.clinicians = tuple(clinicians)
        self.clinician_tokens = frozenset(t for c in clinicians for t in c)
        self._clinician_res = [self._clinician_re(c) for c in clinicians]
        # A configured organization's first word alone is that organization, not a town ("a
        # Riverside office", "Riverside's assistant" for "Riverside Family Clinic").
        self.org_heads = frozenset(words[0] for o in self.org_names
                                   for words in [WORD_RE.findall(o.lower())] if len(words) >= 2)
        self.org_patterns = [re.compile(r"\b" + re.escape(o) + r"\b", re.I) for o in self.org_names if o]
        # "Riverside Family" is "Riverside Family Clinic" cut short: word prefixes of configured
        # organization names are organizations too when they hold an organization word ("Maple
        # Grove" of "Maple Grove Family Medicine" is a town).
        self.org_prefixes = frozenset(
            tuple(words[:n]) for o in self.org_names
            for words in [WORD_RE.findall(o.lower())] for n in range(2, len(words) + 1)
            if any(w in self.lexicon.org_words for w in words[:n]))

    @staticmethod
    def _clinician_re(toks: tuple) -> re.Pattern:
        """A clinician's name in clinician context: after a title ("Dr. Laura", "Dr Chen",
        "Dr. Laura Chen"), or the full name ("Laura Chen", "Laura M. Chen")."""
        esc = [re.escape(t) for t in toks]
        full = [r"\s+".join(esc)]
        if len(toks) >= 2:
            full.append(esc[0] + r"\s+(?:[^\W\d_]\.?\s+)+" + esc[-1])
            full.append(esc[0] + r"\s+" + esc[-1])
        titled = full + sorted(esc, key=len, reverse=True)
        alts = [_CLINICIAN_TITLE + "(?:" + "|".join(titled) + ")"]
        if len(toks) >= 2:
            alts += full
        return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.I)

    def clinician_ranges(self, text: str, extra_values: Iterable[str] = ()) -> list[tuple[int, int]]:
        """Where `text` names a configured clinician in clinician context; `extra_values` (the
        record's kept provider names) are clinician context wherever they occur."""
        out = [(m.start(), m.end()) for rx in self._clinician_res for m in rx.finditer(text)]
        for value in extra_values:
            words = [w for w in WORD_RE.findall(value) if w.lower() not in TITLES | DOCTOR_TITLES]
            if not words:
                continue
            core = r"\s+".join(re.escape(w) for w in words)
            rx = re.compile(r"(?<!\w)(?:" + _CLINICIAN_TITLE + ")?" + core + r"(?!\w)", re.I)
            out += [(m.start(), m.end()) for m in rx.finditer(text)]
        return out

    def is_clinician(self, value: str) -> bool:
        """Every word of `value` (titles aside) belongs to one configured clinician."""
        toks = {t for t in WORD_RE.findall(value.lower()) if t not in TITLES and t not in DOCTOR_TITLES}
        return bool(toks) and any(toks <= set(c) for c in self.clinicians)

    def is_clinician_mention(self, value: str) -> bool:
        """`value` as a whole is a configured clinician in clinician context ("Dr. Chen",
        "Laura Chen"); a bare first name ("Laura") is not."""
        words = list(WORD_RE.finditer(value))
        if not words:
            return False
        a, b = words[0].start(), words[-1].end()
        return any(s <= a and b <= e for s, e in self.clinician_ranges(value))

    def is_org(self, value: str) -> bool:
        """`value` names an organization: a configured one (or its first words), or words
        ending in an organization word ("Riverside Family", "Oak Hill Pediatrics"), but not a
        person's family ("the Lopez Family")."""
        if any(rx.search(value) for rx in self.org_patterns):
            return True
        words = [w.lower() for w in WORD_RE.findall(value)]
        if len(words) >= 2 and tuple(words) in self.org_prefixes:
            return True
        lex = self.lexicon
        if len(words) < 2:
            return False
        for k, w in enumerate(words):
            if w not in lex.org_words:
                continue
            if w in FAMILY_WORDS and not any(x in lex.org_words for x in words[k + 1:]) and all(
                    x in ("the", "la", "los") or lex.first_names.get(x) or x in lex.last_names
                    for x in words[:k]):
                continue
            return True
        return False

