"""One message's words as the name and place rules read them: spaCy's tokens with case,
sentence starts and entity labels, and what kind of word each one is (a known name, an everyday
word that may be a name, an unknown word, a medical word)."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

from trainer.deid.clinic import ClinicRules
from trainer.deid.lexicon import MEDICAL_NEXT, NOT_CITIES, TITLES, strip_accents
from trainer.util.language import mostly_spanish


@dataclasses.dataclass
class Token:
    """One non-space spaCy token with what the rules ask of it."""

    i: int  # index among the message's non-space tokens
    text: str
    lower: str
    start: int
    end: int
    is_word: bool
    cap: bool  # starts upper case in a message that is not all capitals
    sent_start: bool  # first of a sentence or a line
    pos: str
    ent: str  # spaCy's entity label; "" where NER is not trusted (Spanish text)


# A dot after these ends an abbreviation, not a sentence ("Dr. Chen", "appt. on").
_ABBREV_RE = re.compile(r"(?i)(?:" + "|".join(sorted(TITLES | {"st", "jr", "vs", "approx", "appt",
                                                                   "etc", "no", "apt", "ave"}, key=len,
                                                                  reverse=True)) + r"|[a-z])\.")


def _tokens(doc: Any, text: str, allcaps: bool, trust_ner: bool = True) -> list[Token]:
    toks = []
    prev_end = 0
    prev_text = ""
    for t in doc:
        if t.is_space:
            prev_text = "\n" if "\n" in t.text else prev_text
            continue
        s = t.idx
        word = bool(re.match(r"[^\W\d_]", t.text)) and not t.like_url and not t.like_email
        gap = text[prev_end:s]
        sent_start = (not toks or "\n" in gap or prev_text in (".", "!", "?", "...", ":", ";", "¡", "¿", "\n")
                      or (prev_text.endswith((".", "!", "?")) and not _ABBREV_RE.fullmatch(prev_text))
                      or (bool(re.fullmatch(r"[^\w\s]+", prev_text)) and not re.search(r"[,'\"()&/\-]", prev_text)))
        cap = (not allcaps) and t.text[:1].isupper()
        toks.append(Token(len(toks), t.text, t.text.lower(), s, s + len(t.text), word, cap,
                          sent_start, t.pos_, t.ent_type_ if trust_ner else ""))
        prev_end = s + len(t.text)
        prev_text = t.text
    return toks


class Tokens:
    """The tokens of `text` (from its spaCy `doc`) and the word-class questions every name and
    place rule asks about them."""

    def __init__(self, text: str, doc: Any, rules: ClinicRules):
        self.text = text
        self.rules = rules
        self.lex = rules.lexicon
        letters = [c for c in text if c.isalpha()]
        upper = sum(c.isupper() for c in letters)
        self.allcaps = len(letters) >= 8 and upper / len(letters) > 0.7
        # Spanish text reads differently: its function words and everyday words are no names.
        self.spanish = mostly_spanish(t.lower_ for t in doc)
        # The English NER model tags Spanish words as PERSON at random: ignore it there.
        self.toks = _tokens(doc, text, self.allcaps, trust_ner=not self.spanish)
        self.words = [t for t in self.toks if t.is_word]
        self.ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]

    # -- word classes ---------------------------------------------------------------------
    def norm(self, tok: Token) -> str:
        w = tok.lower.strip("'’.")
        return w

    def protected(self, tok: Token) -> bool:
        """Never a name here: a medical word, eponym or safe word in its medical or plain use,
        a coded value ("sms")."""
        w = self.norm(tok)
        lex = self.lex
        if w in lex.medical:
            nxt = self.next_tok(tok)
            if nxt is not None and nxt.lower in MEDICAL_NEXT:
                return True  # "Parkinson's", "Raynaud disease", "Lyme disease"
        if w in lex.medical_names:
            # "ANA", "colon": medical as an acronym or lowercase; a name when cued or
            # capitalized ("Jason Colon", "gracias ana") -- see kind()
            return tok.text.isupper() and not self.allcaps and len(w) <= 4
        if w in lex.never_name or strip_accents(w) in lex.never_name:
            return True
        if w in lex.category_words and (tok.text.islower() or tok.text.isupper()):
            return True  # "sms", "portal", "ES": coded values, never names
        if w in lex.eponyms_in_context:
            nxt = self.next_tok(tok)
            return nxt is not None and nxt.lower in MEDICAL_NEXT
        return False

    def kind(self, tok: Token) -> str:
        """'strong' (a name that is no everyday word), 'common' (a name that is also an everyday
        word), 'propn' (a proper noun the name lists lack), 'medical', 'unknown' word, or 'word'."""
        w = self.norm(tok)
        lex = self.lex
        if len(w) < 2 or not tok.is_word:
            return "word"
        if w in lex.category_words:
            return "word"  # "English", "Portal": a name only after a title or beside a name
        wa = strip_accents(w)
        if w in lex.stopwords and (self.spanish or w in lex.en_stopwords):
            return "common" if w in lex.curated_common else "word"
        if self.spanish and (w in lex.spanish_common or wa in lex.spanish_common):
            return "common"
        if w in lex.medical_names:
            return "common"
        if w in lex.strong_names or wa in lex.strong_names:
            return "strong"
        if w in lex.common_names or wa in lex.common_names:
            return "common"
        if w in NOT_CITIES:
            return "word"
        parts = re.split(r"['’]", w)
        if len(parts) == 2 and len(parts[0]) <= 2 and len(parts[1]) > 2 and parts[0] != "y":
            # O'Neil, D'Angelo
            return "strong" if parts[1] in lex.strong_names or parts[1] in lex.last_names else "unknown"
        if lex.known(w) or lex.known(wa):
            # A known word that never follows "the/a/to/my" is a proper noun (surnames Faker
            # lacks: "lopez", "boise"): a name when capitalized or cued; see `decide`.
            if lex.web.get(w, 0) > 50_000 and not lex.everyday(w) and w not in lex.cities:
                return "propn"
            return "word"
        if lex.spanish_form(w):
            return "word"
        if lex.medical_like(w):
            return "medical"
        if tok.text.islower() and lex.typo_of_word(w):
            return "word"
        m = re.fullmatch(r"(re|pre|un|non|over|under|post|anti|co|sub|self|out|mis|dis|in)-?(\w{3,})", w)
        if m and lex.known(m.group(2)):
            return "word"  # "recheck", "preop", "overdue"
        if "'" in w or "’" in w:
            parts = re.split(r"['’]", w)
            base = parts[0]
            if base in lex.strong_names:
                return "strong"
            if lex.known(base):
                return "word"
        return "unknown"

    def prev_words(self, tok: Token, n: int) -> tuple[str, ...]:
        """Up to `n` lower-case words right before `tok` (commas and colons skipped)."""
        out = []
        j = tok.i - 1
        while j >= 0 and len(out) < n:
            t = self.toks[j]
            if t.text in (",", ":"):
                j -= 1
                continue
            if not (t.is_word or t.text in ("'s", "'m", "’s", "’m")):
                break
            out.append(t.lower.rstrip("."))
            j -= 1
        return tuple(reversed(out))

    def next_tok(self, tok: Token) -> Token | None:
        return self.toks[tok.i + 1] if tok.i + 1 < len(self.toks) else None

    def prev_tok(self, tok: Token) -> Token | None:
        return self.toks[tok.i - 1] if tok.i > 0 else None

    @staticmethod
    def is_initial(tok: Token) -> bool:
        return bool(re.fullmatch(r"[^\W\d_]\.?", tok.text))
