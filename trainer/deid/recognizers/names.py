"""Names of people, found Philter-style: a word that is not a known English or Spanish word (nor
medical, nor a drug) in a name-like position is a name; known first names and surnames are names
anywhere unless they are everyday words ("faith", "will"), which need a cue ("this is faith",
"Hi Will,", "my son will"). Configured clinicians in clinician context stay."""
from __future__ import annotations

import re
from typing import Any

from trainer.deid.clinic import ClinicRules
from trainer.deid.lexicon import DOCTOR_TITLES, KIN_WORDS, NAME_PARTICLES, TITLES
from trainer.deid.recognizers.base import Context, Recognizer, register
from trainer.deid.recognizers.organizations import outside_organizations
from trainer.deid.recognizers.tokens import Token, Tokens
from trainer.deid.types import Span, trimmed_span

# Words before a person's name ("this is", "hola", "for", "thanks"): cues for a word that is a
# known name or no known word.
_CUE_BEFORE = [
    ("my", "name", "is"), ("name", "is"), ("names",), ("name's",), ("name",), ("me", "llamo"),
    ("mi", "nombre", "es"), ("nombre",), ("soy",), ("this", "is"), ("it", "'s"), ("it", "is"),
    ("its",), ("i", "'m"), ("im",), ("i", "am"), ("habla",), ("le", "habla"), ("hi",),
    ("hello",), ("hey",), ("dear",), ("hola",), ("estimado",), ("estimada",), ("querida",),
    ("querido",), ("attn",), ("attention",), ("patient",), ("pt",), ("paciente",), ("re",),
    ("for",), ("para",), ("with",), ("con",), ("and",), ("y",), ("tell",), ("ask",), ("call",),
    ("called",), ("named",), ("llamada",), ("llamado",), ("of",), ("de",), ("thanks",),
    ("thank", "you"), ("thx",), ("gracias",), ("love",), ("regards",), ("sincerely",),
    ("atentamente",), ("saludos",), ("cheers",), ("from",), ("signed",), ("by",), ("cc",),
    ("morning",), ("afternoon",), ("evening",), ("días",), ("dias",), ("tardes",),
]
# Cues strong enough to make even an everyday word a name ("my name is Sunny").
_STRONG_CUES = {("my", "name", "is"), ("name", "is"), ("me", "llamo"), ("mi", "nombre", "es"),
                ("names",), ("name's",), ("named",), ("llamada",), ("llamado",)}
# Cues for names that are also everyday words ("this is faith", "hi hope", "for grace").
_AMBIG_CUES = {("my", "name", "is"), ("name", "is"), ("names",), ("name's",), ("name",),
               ("me", "llamo"), ("mi", "nombre", "es"), ("nombre",), ("soy",), ("this", "is"),
               ("habla",), ("le", "habla"), ("hi",), ("hello",), ("hey",), ("dear",), ("hola",),
               ("estimado",), ("estimada",), ("querida",), ("querido",), ("attn",), ("patient",),
               ("pt",), ("paciente",), ("named",), ("llamada",), ("llamado",), ("thanks",),
               ("thx",), ("gracias",), ("love",), ("regards",), ("sincerely",), ("atentamente",),
               ("saludos",), ("cheers",), ("signed",), ("morning",), ("días",), ("dias",), ("tardes",),
               ("it", "'s"), ("it", "’s"), ("its",), ("spoke", "to"), ("spoke", "with"),
               ("talked", "to"), ("talked", "with"), ("spoke", "w/"), ("per",), ("mi", "nombre"),
               ("holder",), ("policyholder",), ("subscriber",), ("insured",), ("guarantor",),
               ("patient", "name"), ("pt", "name"), ("from",)}
# Person cues that are never place cues ("from Charlotte" may be either).
_PERSON_CUES = _AMBIG_CUES - {("from",), ("per",)}
_SIGN_OFF = {"thanks", "thank", "thx", "ty", "gracias", "love", "regards", "sincerely",
             "atentamente", "saludos", "cheers", "best", "xoxo", "bendiciones", "-", "--", "—",
             "–", "~", "att", "atte"}
_AFTER_CUES = {"here", "calling", "speaking", "aqui", "aquí", "hablando", "dob", "d.o.b", "d.o.b.",
               "mrn", "fecha", "ssn", "called", "said", "says", "asked", "wants", "texted", "emailed",
               "llamó", "llamo", "dijo", "quiere"}
# Greetings whose next word is the person spoken to ("Hola Sean", "Dear Will", "Buenos días Ana").
_GREETINGS = sorted({
    ("hi",), ("hello",), ("hey",), ("hiya",), ("dear",), ("greetings",), ("good", "morning"),
    ("good", "afternoon"), ("good", "evening"), ("hola",), ("estimado",), ("estimada",),
    ("querido",), ("querida",), ("buenos", "días"), ("buenos", "dias"), ("buenas", "tardes"),
    ("buenas", "noches"), ("buenas",), ("buen", "día"), ("buen", "dia"), ("saludos",),
}, key=len, reverse=True)
_BEFORE_GREETING = {"oh", "well", "ok", "okay", "hi", "hello", "hey", "hola", "y", "and", "yes", "si", "sí"}
# Words spoken to after a greeting that are not names ("Hi all", "Hola a todos", "Dear patient").
_GREETING_NOT_NAMES = {
    "all", "everyone", "everybody", "there", "team", "friend", "friends", "folks", "guys", "yall",
    "y'all", "again", "patient", "patients", "sir", "madam", "maam", "doc", "doctor", "doctora",
    "nurse", "staff", "todos", "todas", "amigo", "amiga", "amigos", "familia", "family",
    "paciente", "pacientes", "member", "members", "valued", "parent", "parents", "guardian",
    "caller", "customer", "office", "clinic", "world", "neighbor", "sorry", "thanks", "good",
    "quick", "question", "just", "ya", "buenos", "buenas", "morning", "afternoon", "evening",
    "tardes", "noches", "días", "dias", "día", "dia"}
_VOCATIVE_END = {",", "!", ".", ":", ";", "-", "—", "–", "?", "¡", "…", "...", ")"}


class NameFinder(Tokens):
    """Decides which tokens of one message are names and joins them into spans."""

    def __init__(self, text: str, doc: Any, rules: ClinicRules):
        super().__init__(text, doc, rules)
        self.clinician_ranges = rules.clinician_ranges(text)
        self._spans: list[Span] | None = None
        self._cued: set[tuple[int, int]] = set()  # name spans with a person cue

    def spans(self) -> list[Span]:
        """The names, before organizations and addresses claim any (see `NameRecognizer`)."""
        if self._spans is None:
            self._spans = self._find()
        return self._spans

    def person_cued_ranges(self) -> set[tuple[int, int]]:
        """(start, end) of the names a person cue marks ("Hola Charlotte!", "Thanks Brooklyn"):
        names even where the word is also a place."""
        self.spans()
        return self._cued

    # -- cues -------------------------------------------------------------------------------
    def cue(self, tok: Token, cues: set | list, signature: bool = True, context: bool = True) -> bool:
        prev = self.prev_words(tok, 3)
        for c in cues:
            if len(prev) >= len(c) and prev[-len(c):] == c:
                return True
        p = self.prev_tok(tok)
        if p is not None and p.text == "." and tok.i >= 2:
            p = self.toks[tok.i - 2]
        if p is not None and p.lower.rstrip(".") in TITLES:
            return True
        p = self.prev_tok(tok)
        if p is not None and p.text in (",",) and tok.i >= 2:
            pp = self.toks[tok.i - 2]
            if pp.lower in KIN_WORDS:
                return True
        if prev and prev[-1] in KIN_WORDS:
            return True
        if len(prev) >= 2 and prev[-1] in ("de", "of", "del") and prev[-2] in KIN_WORDS:
            return True
        if not context:
            return False
        if tok is self.words[0] and tok.i + 1 < len(self.toks) and self.toks[tok.i + 1].text in (":", ","):
            return True  # "Sandy: appt w/ ...", "Maria, your results"
        nxt = self.next_tok(tok)
        if nxt is not None:
            if nxt.lower in ("'s", "’s", "s") or nxt.text in ("'", "’"):
                after = self.toks[nxt.i + 1] if nxt.i + 1 < len(self.toks) else None
                if after is not None and after.lower in KIN_WORDS | {"mom", "dad", "wife", "husband", "phone", "cell", "number", "appointment", "appt", "meds", "prescription", "rx"}:
                    return True
            if nxt.lower in _AFTER_CUES:
                return True
            if nxt.text == "," and nxt.i + 1 < len(self.toks):
                after = self.toks[nxt.i + 1]
                if after.lower in ("calling", "here", "from") or self.possessive_kin(after):
                    return True
        if self.possessive_kin(tok):
            return True
        return signature and self.signature(tok)

    def possessive_kin(self, tok: Token) -> bool:
        """'hopes daughter' / "maria's son": tok names a person whose kin follows."""
        nxt = self.next_tok(tok)
        if nxt is None:
            return False
        if nxt.lower in ("'s", "’s") and nxt.i + 1 < len(self.toks):
            return self.toks[nxt.i + 1].lower in KIN_WORDS
        stem = tok.lower[:-1]
        return (tok.lower.endswith("s") and nxt.lower in KIN_WORDS and len(stem) > 2
                and (stem in self.lex.first_names or stem in self.lex.last_names))

    def signature(self, tok: Token) -> bool:
        """One of the last words of the message after a sign-off ("thanks, faith")."""
        tail = self.words[-3:]
        if tok not in tail:
            return False
        if re.search(r"[\w@/]", self.text[tail[-1].end:]):
            return False
        j = tok.i - 1
        while j >= 0 and (self.toks[j].is_word and self.toks[j] in tail):
            j -= 1
        while j >= 0 and self.toks[j].text in (",", "!", "."):
            j -= 1
        if j < 0:
            return False
        p = self.toks[j]
        if p.lower in _SIGN_OFF and p.is_word:
            return True
        if p.text in ("-", "--", "—", "–", "~") and (p.start == 0 or self.text[p.start - 1].isspace()):
            return True
        gap = self.text[p.end:tok.start]
        # A last line alone (no sign-off word) is a name when capitalized or a known name; a
        # lowercase unknown word there is a code or a label ("...\nsms").
        return "\n" in gap and all(t.cap or self.kind(t) in ("strong", "common") for t in tail if t.i >= tok.i)

    def after_greeting(self, tok: Token) -> bool:
        """`tok` comes right after a greeting that opens the message, a line or a sentence."""
        j = tok.i - 1
        words: list[Token] = []
        while j >= 0 and len(words) < 2:
            t = self.toks[j]
            if t.text in (",", ":"):
                j -= 1
                continue
            if not t.is_word or "\n" in self.text[t.end:self.toks[j + 1].start]:
                break
            words.insert(0, t)
            j -= 1
        low = tuple(t.lower for t in words)
        g = next((c for c in _GREETINGS if len(low) >= len(c) and low[-len(c):] == c), None)
        if g is None:
            return False
        first = words[-len(g)]
        before = self.prev_tok(first)
        while before is not None and before.text == "," and before.i > 0:
            before = self.toks[before.i - 1]  # "Hola, buenos días Ana"
        return first.sent_start or (before is not None and before.lower in _BEFORE_GREETING)

    def greeting_addressee(self, tok: Token) -> bool:
        """The word right after an opening greeting ("Hola Sean,", "Hi Will!", "Buenos días
        Ana"): the person spoken to, whatever the word is elsewhere, when it is a name or reads
        like one -- not "Hi all", "Hola a todos", "Hello Billing"."""
        if not self.after_greeting(tok):
            return False
        w = self.norm(tok)
        lex = self.lex
        if not tok.is_word or len(w) < 2 or w in _GREETING_NOT_NAMES or w in TITLES or self.protected(tok):
            return False
        known_name = bool(lex.first_names.get(w)) or w in lex.last_names
        if w in lex.stopwords and not known_name:
            return False  # "Hi I need...", "Hola a todos"
        nxt = self.next_tok(tok)
        vocative = nxt is None or nxt.text in _VOCATIVE_END or "\n" in self.text[tok.end:nxt.start] or (
            nxt.is_word and nxt.cap and self.kind(nxt) != "word")
        name_like = known_name or self.kind(tok) in ("strong", "common", "unknown", "propn")
        if tok.cap or self.allcaps:
            return name_like
        return name_like and vocative  # "hola sean," but not "hi will call you"

    def person_cued(self, tok: Token) -> bool:
        """A person cue before or around `tok` (greeting, title, "this is", sign-off, kin):
        such a word is a name even where it is also a place ("Hola Charlotte!")."""
        return self.greeting_addressee(tok) or self.cue(tok, _PERSON_CUES)

    # -- decision --------------------------------------------------------------------------
    def decide(self) -> list[bool]:
        n = len(self.toks)
        is_name = [False] * n
        for tok in self.words:
            if self.greeting_addressee(tok):
                is_name[tok.i] = True
                continue
            if self.protected(tok) or (self.norm(tok) in _GREETING_NOT_NAMES and self.after_greeting(tok)):
                continue
            kind = self.kind(tok)
            if kind == "medical":
                continue
            if kind == "word" and self.possessive_kin(tok):
                is_name[tok.i] = True
                continue
            if kind == "strong":
                w = self.norm(tok)
                is_name[tok.i] = tok.cap or len(w) > 3 or self.cue(tok, _CUE_BEFORE)
            elif kind == "common":
                is_name[tok.i] = self.cue(tok, _AMBIG_CUES) or self.possessive_kin(tok) or (
                    tok.cap and not tok.sent_start and (tok.pos == "PROPN" or tok.ent == "PERSON"))
            elif kind == "propn":
                is_name[tok.i] = (tok.cap and not tok.sent_start) or self.cue(tok, _AMBIG_CUES) or (
                    self.allcaps and tok.ent == "PERSON")
            elif kind == "unknown":
                w = self.norm(tok)
                if tok.cap and not tok.text.isupper():
                    is_name[tok.i] = not tok.sent_start or tok.pos == "PROPN" or tok.ent == "PERSON" or self.cue(tok, _CUE_BEFORE)
                elif tok.text.isupper() and not self.allcaps and len(w) <= 5:
                    is_name[tok.i] = self.cue(tok, _AMBIG_CUES)  # acronyms
                else:
                    is_name[tok.i] = len(w) >= 3 and (self.cue(tok, _CUE_BEFORE) or tok.ent == "PERSON")
            else:  # everyday word: only after "my name is", a title, ...
                is_name[tok.i] = (self.cue(tok, _STRONG_CUES, signature=False, context=False) and not tok.lower in self.lex.stopwords
                                  and tok.pos in ("PROPN", "NOUN", "ADJ"))
                p = self.prev_tok(tok)
                if p is not None and p.lower.rstrip(".") in TITLES - DOCTOR_TITLES and tok.cap:
                    is_name[tok.i] = True
            if tok.ent == "PERSON" and not is_name[tok.i] and kind != "word" and (tok.cap or self.allcaps):
                is_name[tok.i] = True
        self._extend(is_name)
        # A word found as a name once is a name everywhere in the message ("it's about rosa").
        seen = {self.norm(t) for t in self.words if is_name[t.i] and len(self.norm(t)) >= 3
                and t.lower not in self.lex.stopwords}
        seen |= {self.norm(t)[:-1] for t in self.words if is_name[t.i] and self.possessive_kin(t)}
        for tok in self.words:
            if not is_name[tok.i] and self.norm(tok) in seen and not self.protected(tok):
                nxt = self.next_tok(tok)
                if self.kind(tok) == "common" and nxt is not None and nxt.lower in ("de", "del", "of"):
                    continue  # "tiene dolores de cabeza"
                is_name[tok.i] = True
        return is_name

    def _extend(self, is_name: list[bool]) -> None:
        """Grow names over neighbouring surname-like words and particles ("Maria de la Cruz")."""
        changed = True
        while changed:
            changed = False
            for tok in self.words:
                if is_name[tok.i] or self.protected(tok):
                    continue
                left = self._neighbor_name(tok, -1, is_name, skip_particles=True)
                right = self._neighbor_name(tok, +1, is_name)
                if not (left or right):
                    continue
                kind = self.kind(tok)
                ok = False
                if kind == "medical" or (kind == "word" and tok.lower in self.lex.org_words):
                    continue  # "the Lopez Family": the name stops before the organization word
                if tok.text.isupper() and len(tok.text) <= 5 and not self.allcaps and kind not in (
                        "strong", "common"):
                    continue
                if kind in ("strong", "common", "unknown", "propn"):
                    ok = tok.cap or self.allcaps or kind in ("strong", "unknown") or (
                        kind == "common" and not self._any_cap())
                    if kind == "common" and not ok and left and tok.lower in self.lex.last_names:
                        j = tok.i - 1
                        while j > 0 and (self.toks[j].lower in NAME_PARTICLES or self.is_initial(self.toks[j])):
                            j -= 1
                        prev = self.toks[j]
                        ok = prev.text.islower() == tok.text.islower() and (
                            prev.lower in self.lex.first_names or prev.lower in self.lex.last_names
                            or j < tok.i - 1)
                    if kind == "common" and not ok and right and not left and tok.lower in self.lex.first_names:
                        nxt = self.toks[tok.i + 1]
                        ok = self.kind(nxt) == "strong" and (tok.sent_start or tok is self.words[0]
                                                             or nxt.text[:1].isupper() or tok.text.islower())
                    if kind == "common" and self.allcaps and not left:
                        ok = False
                    if kind == "common" and tok.lower in self.lex.stopwords:
                        ok = False
                elif tok.cap and not tok.sent_start and tok.pos == "PROPN":
                    ok = True
                if ok:
                    is_name[tok.i] = True
                    changed = True
            # particles between two name words
            for tok in self.toks:
                if not is_name[tok.i] and (tok.lower in NAME_PARTICLES or self.is_initial(tok)):
                    if self._neighbor_name(tok, -1, is_name) and self._neighbor_name(tok, +1, is_name, skip_particles=True):
                        is_name[tok.i] = True
                        changed = True

    def _any_cap(self) -> bool:
        return any(t.cap for t in self.words)

    def _neighbor_name(self, tok: Token, step: int, is_name: list[bool], skip_particles=False) -> bool:
        j = tok.i + step
        while 0 <= j < len(self.toks):
            t = self.toks[j]
            gap = self.text[min(t.end, tok.end):max(t.start, tok.start)]
            if "\n" in gap:
                return False
            if skip_particles and (t.lower in NAME_PARTICLES or self.is_initial(t)
                                   or (t.text == "." and step == 1)) and not is_name[j]:
                j += step
                continue
            return is_name[j] and t.is_word
        return False

    def _find(self) -> list[Span]:
        is_name = self.decide()
        out = []
        i = 0
        toks = self.toks
        while i < len(toks):
            if not is_name[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(toks) and (is_name[j + 1] or (
                    toks[j + 1].text in ("-", "'", ".") and j + 2 < len(toks) and is_name[j + 2]
                    and toks[j + 1].start == toks[j].end
                    and (toks[j + 1].text != "." or toks[j].lower in NAME_PARTICLES or len(toks[j].text) == 1))):
                if "\n" in self.text[toks[j].end:toks[j + 1].start]:
                    break
                j += 1
            while j > i and toks[j].lower in NAME_PARTICLES:
                j -= 1
            start, end = toks[i].start, toks[j].end
            if not self._drop_clinician(i, j):
                span = trimmed_span(self.text, start, end, "NAME", 0.85)
                out.append(span)
                if self.person_cued(toks[i]):
                    self._cued.add((span.start, span.end))
            i = j + 1
        return out

    def _drop_clinician(self, i: int, j: int) -> bool:
        """A configured clinician in clinician context ("Dr. Chen", "Laura Chen") stays; the
        same words elsewhere ("Hi Laura", a bare "Chen") are names like any other."""
        ct = self.rules.clinician_tokens
        if not ct:
            return False
        words = [self.norm(t) for t in self.toks[i:j + 1] if t.is_word and t.lower not in NAME_PARTICLES]
        if not words or not all(w in ct for w in words):
            return False
        start, end = self.toks[i].start, self.toks[j].end
        return any(s <= start and end <= e for s, e in self.clinician_ranges)


def name_finder(text: str, context: Context) -> NameFinder:
    """The name finder of `text`, built once and shared by the name and place recognizers."""
    return context.shared("name_finder", lambda: NameFinder(text, context.doc, context.rules))


@register
class NameRecognizer(Recognizer):
    name = "name"
    types = ("NAME",)
    order = 200
    needs_doc = True

    def find(self, text: str, context: Context) -> list[Span]:
        finder = name_finder(text, context)
        return outside_organizations(finder.spans(), context, finder)
