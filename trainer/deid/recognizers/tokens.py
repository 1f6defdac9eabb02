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
    tag: str = ""  # spaCy's fine-grained tag ("NN", "VBD", "MD", ...)


# A dot after these ends an abbreviation, not a sentence ("Dr. Chen", "appt. on").
_ABBREV_RE = re.compile(r"(?i)(?:" + "|".join(sorted(TITLES | {"st", "jr", "vs", "approx", "appt",
                                                                   "etc", "no", "apt", "ave"}, key=len,
                                                                  reverse=True)) + r"|[a-z])\.")


_WEEKDAY_WORDS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
_HOLIDAY_DAY_RE = re.compile(r"(?:year|christmas|xmas|boxing|mother|father|labor|labour|memorial|independence|"
                             r"veterans?|valentine|presidents?|election|thanksgiving|patrick|mlk|king|columbus|"
                             r"juneteenth|indigenous|flag|earth|groundhog)['’]?s?['’]?\s+$", re.I)
_HOLIDAY_EVE_RE = re.compile(r"(?:year|christmas|xmas|hallows|navidad)['’]?s?\s+$", re.I)
_WORD_START_RE = re.compile(r"[^\W\d_]")
_FUNCTION_POS = {"VERB", "AUX", "ADV", "ADP", "SCONJ", "CCONJ", "PART", "PRON", "DET", "NUM", "INTJ"}


def _doc_tokens(doc: Any) -> list[tuple]:
    """(text, start, is_space, like_url, like_email, pos, tag, ent) per spaCy token, read from the
    doc's arrays in one call (creating a Token object per word costs more than the rules)."""
    from spacy.attrs import ENT_TYPE, IDX, IS_SPACE, LENGTH, LIKE_EMAIL, LIKE_URL, POS, TAG

    strings = doc.vocab.strings
    arr = doc.to_array([IDX, LENGTH, IS_SPACE, LIKE_URL, LIKE_EMAIL, POS, TAG, ENT_TYPE])
    text = doc.text
    out = []
    for idx, length, space, url, email, pos, tag, ent in arr.tolist():
        out.append((text[idx:idx + length], idx, bool(space), bool(url), bool(email),
                    strings[pos] if pos else "", strings[tag] if tag else "", strings[ent] if ent else ""))
    return out


def _tokens(doc_toks: list[tuple], text: str, allcaps: bool, trust_ner: bool = True) -> list[Token]:
    toks = []
    prev_end = 0
    prev_text = ""
    for t_text, s, is_space, like_url, like_email, pos, tag, ent in doc_toks:
        if is_space:
            prev_text = "\n" if "\n" in t_text else prev_text
            continue
        word = bool(_WORD_START_RE.match(t_text)) and not like_url and not like_email
        gap = text[prev_end:s]
        sent_start = (not toks or "\n" in gap or prev_text in (".", "!", "?", "...", ":", ";", "¡", "¿", "\n")
                      or (prev_text.endswith((".", "!", "?")) and not _ABBREV_RE.fullmatch(prev_text))
                      or (bool(re.fullmatch(r"[^\w\s]+", prev_text)) and not re.search(r"[,'\"()&/\-]", prev_text)))
        text_t = t_text
        dash = re.match(r"[-~–—]+(?=[^\W\d_])", text_t)
        if dash:
            # "-MK", "-Tasha": spaCy keeps a signature's dash on the word; the word is the name
            toks.append(Token(len(toks), dash.group(0), dash.group(0), s, s + dash.end(), False, False,
                              sent_start, "PUNCT", "", "HYPH"))
            s += dash.end()
            text_t = text_t[dash.end():]
            word, sent_start = True, False
        cap = (not allcaps) and text_t[:1].isupper()
        toks.append(Token(len(toks), text_t, text_t.lower(), s, s + len(text_t), word, cap,
                          sent_start, pos, ent if trust_ner else "", tag))
        prev_end = s + len(text_t)
        prev_text = text_t
    return toks


class Tokens:
    """The tokens of `text` (from its spaCy `doc`) and the word-class questions every name and
    place rule asks about them."""

    def __init__(self, text: str, doc: Any, rules: ClinicRules):
        self.text = text
        self.rules = rules
        self._memo: dict[tuple[str, int], Any] = {}  # per-token answers the rules ask again and again
        self.lex = rules.lexicon
        letters = [c for c in text if c.isalpha()]
        upper = sum(c.isupper() for c in letters)
        self.allcaps = len(letters) >= 8 and upper / len(letters) > 0.7
        # Spanish text reads differently: its function words and everyday words are no names.
        doc_toks = _doc_tokens(doc)
        lowered = [t[0].lower() for t in doc_toks if t[0].isalpha()]
        lex = self.lex
        es_only = sum(lex.spanish.get(w, 0) >= 1000 and lex.english.get(w, 0) < 100 for w in lowered)
        en_only = sum(lex.english.get(w, 0) >= 1000 and lex.spanish.get(w, 0) < 100 for w in lowered)
        self.spanish = mostly_spanish(lowered) or es_only > en_only
        # The English NER model tags Spanish words as PERSON at random: ignore it there.
        self.toks = _tokens(doc_toks, text, self.allcaps, trust_ner=not self.spanish)
        self.words = [t for t in self.toks if t.is_word]
        self.ents = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        # Whether the writer capitalizes (sentences start upper case): then a lower-case word is
        # a name only where the words around it say so ("with walker" is the aid, not Mr. Walker).
        starts = [t for t in self.words if t.sent_start]
        self.cased = not self.allcaps and bool(starts) and sum(t.text[:1].isupper() for t in starts) * 2 >= len(starts)

    def dictionary_word(self, tok: Token) -> bool:
        """A frequent word of the message's language as well as whatever else it may be ("till",
        "walker", "hora"): a name only in context."""
        w = self.norm(tok)
        if self.spanish:
            return self.lex.spanish.get(w, 0) >= 1000 or self.lex.spanish.get(strip_accents(w), 0) >= 1000
        return self.lex.english.get(w, 0) >= 1000

    def function_use(self, tok: Token) -> bool:
        """spaCy reads `tok` as a verb, adverb, preposition, pronoun, ... here: not a name, unless
        it is capitalized inside a sentence."""
        return tok.pos in _FUNCTION_POS and not (tok.cap and not tok.sent_start)

    # -- word classes ---------------------------------------------------------------------
    def norm(self, tok: Token) -> str:
        w = tok.lower.strip("'’.")
        return w

    def protected(self, tok: Token) -> bool:
        """Never a name here: a medical word, eponym or safe word in its medical or plain use,
        a coded value ("sms")."""
        key = ("protected", tok.i)
        if key not in self._memo:
            self._memo[key] = self._protected(tok)
        return self._memo[key]

    def _protected(self, tok: Token) -> bool:
        w = self.norm(tok)
        lex = self.lex
        if w == "eve" and _HOLIDAY_EVE_RE.search(self.text[max(0, tok.start - 16):tok.start]):
            return True  # "New Year's Eve", "Christmas Eve"
        if w == "day" and _HOLIDAY_DAY_RE.search(self.text[max(0, tok.start - 16):tok.start]):
            return True  # "Christmas Day", "New Year's Day", "Mother's Day": a holiday

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
        if w.endswith("s") and w[:-1] in lex.never_name and w[:-1] in _WEEKDAY_WORDS:
            return True  # "on Fridays"
        if w in lex.category_words and (tok.text.islower() or tok.text.isupper()):
            return True  # "sms", "portal", "ES": coded values, never names
        if w in lex.eponyms_in_context:
            # "Lou Gehrig's", "Epstein Barr virus": an eponym of two names counts as one
            nxt = self.next_tok(tok)
            while nxt is not None and self.norm(nxt) in lex.eponyms_in_context | lex.medical \
                    and nxt.lower not in MEDICAL_NEXT:
                nxt = self.next_tok(nxt)
            return nxt is not None and nxt.lower in MEDICAL_NEXT
        return False

    def kind(self, tok: Token) -> str:
        """'strong' (a name that is no everyday word), 'common' (a name that is also an everyday
        word), 'propn' (a proper noun the name lists lack), 'medical', 'unknown' word, or 'word'."""
        key = ("kind", tok.i)
        if key not in self._memo:
            self._memo[key] = self._kind(tok)
        return self._memo[key]

    def _kind(self, tok: Token) -> str:
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
        if re.fullmatch(r"[a-z]{3,}['’](?:d|t|ll|ve|re|m|n)", w):
            return "word"  # "rec'd", "req'd", "gov't": shorthand, no name
        parts = re.split(r"['’]", w)
        if len(parts) == 2 and len(parts[0]) <= 2 and len(parts[1]) > 2 and parts[0] != "y":
            # O'Neil, D'Angelo
            return "strong" if parts[1] in lex.strong_names or parts[1] in lex.last_names else "unknown"
        if lex.known(w) and lex.english.get(w, 0) < 100 and lex.spanish.get(w, 0) < 100 \
                and lex.web.get(w, 0) < 1_000_000 and w not in lex.never_name:
            return "unknown"  # a word the dictionaries hardly know ("tameka", "lakeisha"): case decides
        if lex.known(w) or lex.known(wa):
            # A known word that never follows "the/a/to/my" is a proper noun (surnames Faker
            # lacks: "lopez", "boise"): a name when capitalized or cued; see `decide`.
            if lex.web.get(w, 0) > 50_000 and not lex.everyday(w) and w not in lex.cities:
                return "propn"
            return "word"
        if lex.spanish_form(w) and (self.spanish or not tok.cap or tok.sent_start or tok.pos != "PROPN"):
            # "necesito", "llámenos": Spanish verb forms. In an English message a capitalized
            # proper noun mid-sentence that merely reduces to a Spanish infinitive is a name
            # ("pt Amari wants", "my son Tobi").
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
