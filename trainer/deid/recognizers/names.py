"""Names of people, found Philter-style: a word that is not a known English or Spanish word (nor
medical, nor a drug) in a name-like position is a name; known first names and surnames are names
anywhere unless they are everyday words ("faith", "will"), which need a cue ("this is faith",
"Hi Will,", "my son will"). Configured clinicians in clinician context stay."""
from __future__ import annotations

import re
from typing import Any

from trainer.deid.clinic import ClinicRules
from trainer.deid.lexicon import DOCTOR_TITLES, KIN_WORDS, NAME_PARTICLES, NOT_CITIES, TITLES, US_STATES
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
_SIGN_OFF_FILLER = {"you", "u", "ya", "so", "much", "again", "very", "all", "a", "lot", "in", "advance", "kindly",
                    "muchas", "mil"}
_AFTER_CUES = {"re", "here", "calling", "speaking", "aqui", "aquí", "hablando", "dob", "d.o.b", "d.o.b.",
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
# What a phone or a mail program adds under a signature ("Sent from my iPhone").
_FOOTER_RE = re.compile(r"\n\s*(?:sent\s+from\s+my\b|get\s+outlook\s+for\b|enviado\s+desde\s+mi\b|"
                        r"sent\s+from\s+yahoo\b|sent\s+via\b)[^\n]*\s*$", re.I)
_QUOTES = {'"', "“", "”", "'", "‘", "’", "``", "''"}
_VOCATIVE_END = {",", "!", ".", ":", ";", "-", "—", "–", "?", "¡", "…", "...", ")"}
# Cues that fit a place or a thing as well as a person ("from church", "with walker"): enough
# for a capitalized word, not for a lower-case one in a message whose writer capitalizes.
_WEAK_CUES = {("from",), ("per",), ("for",), ("para",), ("with",), ("con",), ("and",), ("y",), ("of",),
              ("de",), ("re",), ("call",), ("called",), ("tell",), ("ask",), ("by",), ("cc",)}
# People's roles at a clinic, a pharmacy or home: the word right before or after one names the
# person in it ("pharmacist Kim", "MA Jordan", "Lety, front desk", "Devonte (the MA)").
ROLE_WORDS = {"pharmacist", "pharmacy", "ma", "cma", "rn", "lpn", "lvn", "cna", "receptionist", "scheduler",
              "aide", "caseworker", "interpreter", "coordinator", "tech", "technician", "therapist",
              "counselor", "navigator", "manager", "supervisor", "secretary", "chaplain", "doula",
              "midwife", "billing", "desk", "lab", "phlebotomist", "dietitian", "pt", "ot", "enfermera",
              "enfermero", "recepcionista", "recepción", "recepcion", "farmacéutico", "farmacéutica",
              "farmaceutico", "farmaceutica", "trabajadora", "trabajador", "partera", "asistente",
              "office", "front", "nurse", "church", "school", "work", "farmacia", "laboratorio", "clinic",
              "clínica", "clinica", "records", "check-in", "checkin", "reception", "registration",
              "intake", "triage", "scheduling", "it", "hr", "dispatch"}
# Before a name, only these roles (a place word before a word is no cue: "lab results").
_ROLE_BEFORE = ROLE_WORDS - {"billing", "desk", "lab", "office", "front", "church", "school", "work",
                             "farmacia", "laboratorio", "clinic", "clínica", "clinica", "records", "pharmacy",
                             "pt", "ot", "nurse", "recepción", "recepcion", "check-in", "checkin", "reception",
                             "registration", "intake", "triage", "scheduling", "it", "hr", "dispatch"}
_ROLE_LINKS = {",", "(", "the", "la", "el", "de", "del", "from", "at", "in", "of", "our", "your", "with", "-", "–"}
# What a chatbot calls itself is no person ("Hi! I'm Ava, Riverside's virtual assistant").
_ASSISTANT_RE = re.compile(r"^[\s,\-–(]*(?:(?:the|your|our|a|an|tu|su|el|la)\s+)?(?:[\w'’]+\s+){0,2}?"
                           r"(?:virtual|digital|automated|ai|online|chat)\s+(?:assistant|agent|helper|nurse)|"
                           r"^[\s,\-–(]*(?:(?:the|your|our|a)\s+)?(?:[\w'’]+\s+){0,2}?(?:chat)?bot\b|"
                           r"^[\s,\-–(]*(?:tu|su)\s+asistente\s+virtual", re.I)
# Verbs whose object is a person, and what follows that person ("tell rich his labs are back").
_TELL_VERBS = {"tell", "ask", "thank", "remind", "text", "email", "call", "let", "have", "give", "show",
               "send", "pls", "please", "thx", "thanks"}
_TOLD_NEXT = {"his", "her", "their", "my", "that", "to", "if", "about", "back", "i", "we", "thank", "thanks",
              "ty", "hi", "hello", "the", "when", "whether", "not"}
_BOOK_VERBS = {"reschedule", "schedule", "book", "rebook", "move", "bring", "see", "squeeze", "fit"}
_BOOKED_NEXT = {"to", "for", "on", "in", "today", "tomorrow", "tmrw", "monday", "tuesday", "wednesday", "thursday",
                "friday", "saturday", "sunday", "next", "this"}
_DETERMINERS = {"the", "a", "an", "these", "those", "your", "our", "their", "el",
                "la", "los", "las", "un", "una", "este", "esta", "ese", "esa"}
# Verbs after a bare subject that a person does ("hunter threw up", "bill called").
_NOT_PERSON_VERBS = {"is", "was", "has", "does", "seems", "looks", "sounds", "means", "costs", "goes",
                     "comes", "starts", "ends", "gets", "helps", "works", "hurts", "stops", "happens"}
_SUBJECT_BEFORE = {"that", "and", "but", "because", "cause", "cuz", "bc", "so", "if", "when", "since",
                   "said", "says", "think", "guess", "tell", "told", "hey", "hi", "ok", "okay", "yes", "also"}


# Credentials after a signing clinician's initials ("KM RN", "-jk, MA").
_CREDENTIAL_RE = re.compile(r"\b(?:rn|ma|lpn|lvn|md|np|pa|pa-c|cma|cna|do|fnp|dnp|pharmd)\b", re.I)


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
    def cue(self, tok: Token, cues: set | list, signature: bool = True, context: bool = True,
            titles: bool = True) -> bool:
        prev = self.prev_words(tok, 3)
        for c in cues:
            if len(prev) >= len(c) and prev[-len(c):] == c:
                return True
        if titles and self.after_title(tok):
            return True
        if prev and prev[-1] in _ROLE_BEFORE and (tok.cap or self.allcaps or not self.cased) \
                and self.kind(tok) in ("strong", "common", "unknown"):
            return True  # "pharmacist Kim", "MA Jordan"; not "THE TECH ASKED"
        if context and self.role_after(tok):
            return True
        p = self.prev_tok(tok)
        if p is not None and p.text in (",",) and tok.i >= 2:
            pp = self.toks[tok.i - 2]
            if pp.lower in KIN_WORDS:
                return True
        if prev and prev[-1] in KIN_WORDS:
            return True
        if len(prev) >= 2 and prev[-1] in ("de", "of", "del") and prev[-2] in KIN_WORDS and (
                tok.cap or not self.dictionary_word(tok)):
            return True  # "la mamá de Kevin", not "la mamá del niño"
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

    def subject_told_of(self, tok: Token) -> bool:
        """A first name that is also a word, opening a sentence as the subject of a finite verb,
        with no article before it, and taken up later by "he"/"she" of the name's sex ("Hunter has
        had a fever ... and he won't eat"): a singular noun with no article is no subject in
        English, so the word is the person the pronoun refers to."""
        if not (tok.cap and tok.sent_start) or tok.tag not in ("NN", "NNP"):
            return False
        sex = self.lex.first_names.get(self.norm(tok))
        nxt = self.next_tok(tok)
        if sex not in ("m", "f") or nxt is None or nxt.tag not in ("VBZ", "VBD"):
            return False
        pronoun = "he" if sex == "m" else "she"
        return any(t.lower == pronoun for t in self.toks[tok.i + 2:])

    def modal_use(self, tok: Token) -> bool:
        """`tok` is a modal verb here ("will", "may", "can"): spaCy tags it MD and a verb's base
        form follows, or it opens a question before a pronoun or an article ("Will the clinic",
        "May I"). A name followed by a verb is tagged a noun ("Will called")."""
        if tok.tag != "MD":
            return False
        nxt = self.next_tok(tok)
        if nxt is None:
            return False
        if nxt.tag in ("VB", "RB") or nxt.lower in ("not", "n't", "also", "still", "need", "be", "have"):
            return True
        return tok.sent_start and nxt.pos in ("PRON", "DET")

    def after_title(self, tok: Token) -> bool:
        """A title ("Dr.", "Mrs", "Sra.") right before `tok`."""
        p = self.prev_tok(tok)
        if p is not None and p.text == "." and tok.i >= 2:
            p = self.toks[tok.i - 2]
        return p is not None and p.lower.rstrip(".") in TITLES

    def role_after(self, tok: Token) -> bool:
        """A role or a workplace right after `tok`: "Lety, front desk", "Devonte (the MA)",
        "Sunny from the lab", "Ximena de la recepción", "April from Dr. Patel's office"."""
        j, links = tok.i + 1, 0
        while j < len(self.toks) and links <= 3:
            t = self.toks[j]
            if "\n" in self.text[self.toks[j - 1].end:t.start]:
                return False
            if t.lower in _ROLE_LINKS:
                links += 1
                j += 1
                continue
            if links == 0:
                return False
            if re.match(r"check[\s-]?in\b", self.text[t.start:t.start + 9], re.I):
                return True
            if t.lower.rstrip(".") in DOCTOR_TITLES and links and self.toks[j - 1].lower in ("from", "at", "in", "de", "del"):
                return True
            return t.lower.rstrip(".") in ROLE_WORDS and not (t.lower in ("pt", "ot", "nurse") and self.toks[j - 1].text != ",")
        return False

    def addressed(self, tok: Token) -> bool:
        """A person by the words around: told, asked or thanked ("tell dawn thank you", "can you
        tell rich his labs are back"), beside "I" ("Ivy and I will"), or introducing themselves
        ("hi i'm summer, new patient")."""
        p, nxt = self.prev_tok(tok), self.next_tok(tok)
        if p is not None and p.lower in _TELL_VERBS and nxt is not None and nxt.lower in _TOLD_NEXT:
            return True
        if p is not None and p.lower in _BOOK_VERBS and nxt is not None and nxt.lower in _BOOKED_NEXT:
            return True  # "pls reschedule mark to Sep. 22": what is booked for a day is a person
        if nxt is not None and nxt.lower in ("and", "&") and tok.i + 2 < len(self.toks) \
                and self.toks[tok.i + 2].lower in ("i", "me"):
            return True
        if p is None:
            return False
        if p.lower in ("and", "&") and p.i > 0 and self.toks[p.i - 1].lower in ("me", "i"):
            return True
        if p.lower in ("'m", "’m", "im", "am") and (p.lower != "am" or p.i > 0 and self.toks[p.i - 1].lower == "i"):
            return nxt is None or nxt.text in (",", ".", "!", ";", "-") or nxt.lower in ("from", "here", "calling")
        return False

    def bare_subject(self, tok: Token) -> bool:
        """A lower-case singular noun with no article before it and a verb of its own after it
        ("tell dr patel that hunter threw up"): English needs an article there unless the
        word is a name."""
        nxt = self.next_tok(tok)
        kind = self.kind(tok)
        if kind == "word" and not self.lex.known(self.norm(tok)):
            kind = "unknown"  # "kaden": one letter from "laden", but no word
        if kind not in ("strong", "common", "unknown", "propn") or nxt is None or not nxt.is_word:
            return False
        p = self.prev_tok(tok)
        if p is not None and p.tag == "MD" and nxt.tag == "VB" and (p.sent_start or p.i == 0):
            return True  # "can sage come with me?", "could bill pick it up?" (the tagger may call it a verb)
        if p is not None and p.lower in ("have", "let", "tell", "ask", "get", "make") and nxt.tag == "VB" \
                and nxt.lower not in ("be", "know", "go"):
            return True  # "pls have coco call me back", "let bill know": a person is made to act
        if tok.tag not in ("NN", "NNP") or nxt.tag not in ("VBD", "VBZ"):
            return False
        if nxt.lower in _NOT_PERSON_VERBS and (kind == "common" or self.dictionary_word(tok)):
            return False  # "hope is ...", "summer has ...": an everyday word may start a sentence
        return p is None or tok.sent_start or p.lower in _SUBJECT_BEFORE

    def initials_signature(self, tok: Token) -> bool:
        """Initials signing a note: "-MK", "- jk", "~TN RN" at the end of a line."""
        w = tok.text
        if not (2 <= len(w) <= 3 and w.isalpha()) or w.lower() in self.lex.stopwords:
            return False
        p = self.prev_tok(tok)
        rest = self.text[tok.end:].split("\n", 1)[0]
        credentials = _CREDENTIAL_RE.findall(rest)
        if re.search(r"[^\W\d_]", _CREDENTIAL_RE.sub("", rest)):
            return False  # more words follow on the line: no signature
        if p is not None and p.text in ("-", "--", "—", "–", "~") and p.end == tok.start:
            return p.start == 0 or self.text[p.start - 1].isspace()
        if self.norm(tok) in self.lex.medical or self.norm(tok) in self.lex.never_name:
            return False
        if credentials and w.isupper() and not self.allcaps and (p is None or p.text in (".", "!", "\n") or tok.sent_start):
            return True  # "... per Dr. Reyes. KM RN": initials before a credential close a note
        # "thx js": lower-case initials after a sign-off word, as the message's last word
        return (p is not None and p.lower in _SIGN_OFF and p.is_word and w.islower()
                and not self.lex.known(w) and not self.text[tok.end:].strip())  # not "thanks bye"

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
        footer = _FOOTER_RE.search(self.text)
        body_end = footer.start() if footer else len(self.text)
        tail = [t for t in self.words if t.end <= body_end][-3:]
        if tok not in tail:
            return False
        if re.search(r"[\w@/]", self.text[tail[-1].end:body_end]):
            return False
        j = tok.i - 1
        while j >= 0 and (self.toks[j].is_word and self.toks[j] in tail):
            j -= 1
        while j >= 0 and self.toks[j].text in (",", "!", "."):
            j -= 1
        if j < 0:
            return False
        p = self.toks[j]
        k = j
        while k > 0 and self.toks[k].lower in _SIGN_OFF_FILLER and j - k < 4:
            k -= 1  # "Thank u, andrew smith", "thanks so much, Bev"
        if (p.lower in _SIGN_OFF or self.toks[k].lower in _SIGN_OFF) and p.is_word:
            return True
        if p.text in ("-", "--", "—", "–", "~") and (p.start == 0 or self.text[p.start - 1].isspace()):
            return True
        gap = self.text[p.end:tok.start]
        before = self.prev_tok(tok)
        if before is not None and before.text in (".", "!") and tok is tail[-1] and tok.cap \
                and self.lex.first_names.get(self.norm(tok)) and "\n" not in gap:
            return True  # "Sí, confirmo. Alba": a first name closing a message signs it
        # A last line alone (no sign-off word) is a name when capitalized or a known name; a
        # lowercase unknown word there is a code or a label ("...\nsms").
        return "\n" in gap and all(t.cap or self.kind(t) in ("strong", "common") for t in tail if t.i >= tok.i)

    def after_greeting(self, tok: Token) -> bool:
        """`tok` comes right after a greeting that opens the message, a line or a sentence."""
        key = ("after_greeting", tok.i)
        if key not in self._memo:
            self._memo[key] = self._after_greeting(tok)
        return self._memo[key]

    def _after_greeting(self, tok: Token) -> bool:
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
            if self.modal_use(tok) and not self.cue(tok, _STRONG_CUES, signature=False, context=False, titles=False):
                continue  # "Will the clinic be open", "Pt may need a walker": the verb, not a person
            kind = self.kind(tok)
            if kind == "medical":
                continue
            if kind == "word" and self.possessive_kin(tok):
                is_name[tok.i] = True
                continue
            if self.initials_signature(tok):
                is_name[tok.i] = True
                continue
            lower = not (tok.cap or self.allcaps)
            p = self.prev_tok(tok)
            if p is not None and p.lower in _DETERMINERS and kind in ("common", "propn") and not tok.cap:
                continue  # "THE COMPANY SAYS", "the will": an article makes a noun
            nxt = self.next_tok(tok)
            if nxt is not None and nxt.text == ":" and kind in ("common", "propn", "word") and tok is not self.words[0] \
                    and (tok.sent_start or "  " in self.text[max(0, tok.start - 3):tok.start]):
                continue  # a form's field label ("Sex: F   Allergies: NKDA")
            # a lower-case word in a message that capitalizes needs a cue that fits only a person
            cues = _AMBIG_CUES - _WEAK_CUES if lower and (self.cased or kind == "common") else _AMBIG_CUES
            if kind == "strong":
                w = self.norm(tok)
                if not lower:
                    is_name[tok.i] = not (tok.sent_start and self.function_use(tok) and self.dictionary_word(tok)) \
                        or self.cue(tok, _CUE_BEFORE)
                elif self.dictionary_word(tok):
                    # "till", "walker", "hora": words first, names in context
                    is_name[tok.i] = self.cue(tok, cues) or self.bare_subject(tok) or (
                        not self.cased and not self.function_use(tok) and len(w) > 3)
                else:
                    is_name[tok.i] = len(w) > 3 or self.cue(tok, _CUE_BEFORE)
            elif kind == "common":
                is_name[tok.i] = self.cue(tok, cues) or self.possessive_kin(tok) or self.addressed(tok) or (
                    tok.cap and not tok.sent_start and (tok.pos == "PROPN" or tok.ent == "PERSON")) or (
                    lower and self.bare_subject(tok)) or self.subject_told_of(tok)
            elif kind == "propn":
                if self.spanish and lower and self.lex.spanish_form(self.norm(tok)):
                    continue  # "mi hermana vive en ...": a Spanish verb after a kin word, no name
                is_name[tok.i] = (not self.function_use(tok) and (
                    (tok.cap and not tok.sent_start) or self.cue(tok, cues) or (self.allcaps and tok.ent == "PERSON"))
                ) or (lower and self.bare_subject(tok))
            elif kind == "unknown":
                w = self.norm(tok)
                if tok.cap and not tok.text.isupper():
                    is_name[tok.i] = not tok.sent_start or tok.pos == "PROPN" or tok.ent == "PERSON" or self.cue(tok, _CUE_BEFORE)
                elif tok.text.isupper() and not self.allcaps and len(w) <= 5:
                    is_name[tok.i] = self.cue(tok, _AMBIG_CUES)  # acronyms
                else:
                    is_name[tok.i] = len(w) >= 3 and (self.cue(tok, _CUE_BEFORE) or tok.ent == "PERSON"
                                                      or self.bare_subject(tok))
            elif lower and not self.lex.known(self.norm(tok)) and self.bare_subject(tok):
                is_name[tok.i] = True  # a near-word that acts as a person ("said kaden has ...")
            else:  # everyday word: only after "my name is", or capitalized after a title
                strong_cue = self.cue(tok, _STRONG_CUES, signature=False, context=False, titles=False) or (
                    (tok.cap or not self.cased) and self.lex.english.get(self.norm(tok), 0) < 1000
                    and self.signature(tok))
                titled = self.after_title(tok) and not lower
                is_name[tok.i] = ((strong_cue or titled) and tok.lower not in self.lex.stopwords
                                  and tok.pos in ("PROPN", "NOUN", "ADJ"))
                p = self.prev_tok(tok)
                if p is not None and p.lower.rstrip(".") in TITLES - DOCTOR_TITLES and tok.cap:
                    is_name[tok.i] = True
            if tok.ent == "PERSON" and not is_name[tok.i] and kind != "word" and (tok.cap or self.allcaps) \
                    and not (tok.sent_start and (self.function_use(tok) or kind in ("propn", "common")
                                                 and self.dictionary_word(tok))):
                is_name[tok.i] = True
        self._extend(is_name)
        self._join_hyphenated(is_name)
        self._join_coordinated(is_name)
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
                if self.cased and not (tok.cap or self.allcaps) and not any(
                        t.text.islower() for t in self._name_neighbors(tok, is_name)):
                    continue  # "Ms. Kowalski ambulates": a lower-case word does not join a capitalized name
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
                if not ok and tok.ent == "PERSON" and (tok.cap or self.allcaps) and kind == "word" and not tok.sent_start \
                        and tok.lower not in self.lex.stopwords and not self.function_use(tok) and any(
                            n.ent == "PERSON" and n.i in (tok.i - 1, tok.i + 1) for n in self._name_neighbors(tok, is_name)):
                    # spaCy reads one person across both words ("Pt: Hollis Grant"): a capitalized
                    # word that is also a dictionary word belongs to the name beside it
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
                    elif (tok.cap or not self.allcaps and tok.text.islower()) and tok.lower in NAME_PARTICLES \
                            and self.after_title(tok) \
                            and self._neighbor_name(tok, +1, is_name, skip_particles=True):
                        # a surname that starts with a particle, after a title: "Mr. Ó Briain",
                        # "Sra. De la Cruz", "Mrs. Van Dyke"
                        is_name[tok.i] = True
                        changed = True

    def _join_hyphenated(self, is_name: list[bool]) -> None:
        """The parts of a hyphenated name are one name ("Min-jun Choi", "Ji-ho", "Aubree-Lynn"),
        even where a part alone is short or a word of its own: a capitalized compound that is no
        word ("x-ray", "follow-up" are) and touches a name is a name."""
        toks = self.toks
        for k in range(1, len(toks) - 1):
            a, h, b = toks[k - 1], toks[k], toks[k + 1]
            if h.text not in ("-", "‐") or a.end != h.start or h.end != b.start or not (a.is_word and b.is_word):
                continue
            compound = f"{a.lower}-{b.lower}"
            if not (a.cap or self.allcaps) or self.lex.known(compound) or compound in self.lex.medical \
                    or self.kind(a) == "medical" or self.kind(b) == "medical" or len(b.text) > 12:
                continue
            before = toks[a.i - 1] if a.i > 0 else None
            after = toks[b.i + 1] if b.i + 1 < len(toks) else None
            near = (is_name[a.i] or is_name[b.i]
                    or (after is not None and is_name[after.i] and "\n" not in self.text[b.end:after.start])
                    or (before is not None and is_name[before.i] and "\n" not in self.text[before.end:a.start]))
            if near:
                is_name[a.i] = is_name[b.i] = True

    def _join_coordinated(self, is_name: list[bool]) -> None:
        """"jess and tay are coming": a word joined by "and" to a name, written the same way and
        able to be one, is a name too."""
        toks = self.toks
        for k in range(1, len(toks) - 1):
            a, c, b = toks[k - 1], toks[k], toks[k + 1]
            if c.lower not in ("and", "&", "y", "or", "+") or not (a.is_word and b.is_word):
                continue
            for x, y in ((a, b), (b, a)):
                if is_name[y.i] and not is_name[x.i] and x.cap == y.cap and not self.protected(x) \
                        and self.kind(x) in ("strong", "unknown", "propn") and not self.function_use(x) \
                        and not (x.lower in self.lex.stopwords):
                    is_name[x.i] = True

    def _any_cap(self) -> bool:
        return any(t.cap for t in self.words)

    def _name_neighbors(self, tok: Token, is_name: list[bool]) -> list[Token]:
        """The name tokens next to `tok` on its line, across particles and initials."""
        out = []
        for step in (-1, 1):
            j = tok.i + step
            while 0 <= j < len(self.toks) and (self.toks[j].lower in NAME_PARTICLES or self.is_initial(self.toks[j])) \
                    and not is_name[j]:
                j += step
            if 0 <= j < len(self.toks) and is_name[j] and "\n" not in self.text[
                    min(self.toks[j].end, tok.end):max(self.toks[j].start, tok.start)]:
                out.append(self.toks[j])
        return out

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
            while True:
                if j + 4 < len(toks) and toks[j + 1].text in _QUOTES and toks[j + 2].is_word \
                        and toks[j + 3].text in _QUOTES and is_name[j + 4] \
                        and "\n" not in self.text[toks[j].end:toks[j + 4].start]:
                    j += 4  # 'Wilhelmina "Billie" Grant': a nickname in quotes inside the name
                    continue
                if not (j + 1 < len(toks) and (is_name[j + 1] or (
                        toks[j + 1].text in ("-", "'", ".") and j + 2 < len(toks) and is_name[j + 2]
                        and toks[j + 1].start == toks[j].end
                        and (toks[j + 1].text != "." or toks[j].lower in NAME_PARTICLES or len(toks[j].text) == 1)))):
                    break
                if "\n" in self.text[toks[j].end:toks[j + 1].start]:
                    break
                j += 1
            while j > i and toks[j].lower in NAME_PARTICLES:
                j -= 1
            while i > 0 and re.fullmatch(r"[A-Z]\.", toks[i - 1].text) and toks[i - 1].end < toks[i].start \
                    and "\n" not in self.text[toks[i - 1].end:toks[i].start] and not is_name[i - 1]:
                i -= 1  # "T. Nakamura": the initial belongs to the name
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
        spans = [sp for sp in finder.spans() if not _ASSISTANT_RE.match(text, sp.end)
                 and not _ASSISTANT_RE.match(re.sub(r"^['’]s\b", "", text[sp.end:]))]
        return outside_organizations(spans, context, finder)


_RWORD = r"[A-ZÁÉÍÓÚÑ][A-Za-zÁÉÍÓÚÑáéíóúñ0-9'’]*(?:-[A-ZÁÉÍÓÚÑ][A-Za-zÁÉÍÓÚÑáéíóúñ'’]+)?"
# "LAST, FIRST M" as labels, forms and lists print a name ("CHAVEZ, DOLORES M", "Okonkwo, Chidi").
# Particles inside a printed given name: "MARIA DE LOS ANGELES", "Juan de Dios".
_RPARTICLES = r"(?:(?:[Dd][Ee]|DEL|[Dd]el|LA|[Ll]a|LOS|[Ll]os|LAS|[Ll]as|Y|y|VAN|[Vv]an|VON|[Vv]on|DA|[Dd]a) )*"
REVERSED_NAME_RE = re.compile(
    r"(?<![\w,])(?P<last>" + _RWORD + r"(?: " + _RWORD + r")?),[ \t]?(?P<first>" + _RWORD
    + r"(?: " + _RPARTICLES + _RWORD + r"){0,2})(?: (?P<mi>[A-Z])\b\.?)?(?![\w'’-])")
_NAME_LABEL_RE = re.compile(r"(?:name|patient|pt|pte|paciente|nombre|re|for|witness|label|member|insured|chart|"
                            r"guarantor|subscriber|client|resident|from|to|attn|signed|by)\.?\s*[:#\-]?\s*$", re.I)
_OCR_TO_LETTERS = str.maketrans({"0": "o", "1": "i"})


@register
class ReversedNameRecognizer(Recognizer):
    """Names printed surname first ("NAKASHIMA, KENJI T", "Gómez Pérez, Juana") after a label,
    at the start of a line, or in capitals; the parts must read as a name (a known first name
    or surname, or no word of the language), never as a place ("Salem, Oregon")."""

    name = "reversed_name"
    types = ("NAME",)
    order = 140

    def find(self, text: str, context: Context) -> list[Span]:
        out: list[Span] = []
        pos = 0
        while True:
            m = REVERSED_NAME_RE.search(text, pos)
            if m is None:
                return out
            span = self._read(text, m, context)
            if span is None:
                # The pattern is greedy at both ends ("Pt RAMIREZ, LUIS A", "O'NEIL, MARY-KATE
                # DOB"): a label before the surname or a word after the given name must not
                # hide the name inside, so the same place is read again one word in.
                pos = m.start() + max(1, len(m.group("last").split(" ")[0]))
                continue
            out.append(span)
            pos = span.end

    def _read(self, text: str, m: re.Match, context: Context) -> Span | None:
        """The name span of the longest reading of match `m` that is a name, trying the given
        name shorter word by word (the words after it may be a label: "DOB", "MRN")."""
        firsts = m.group("first").split(" ")
        for k in range(len(firsts), 0, -1):
            first = " ".join(firsts[:k])
            if first.split(" ")[-1].lower() in NAME_PARTICLES:
                continue
            mi = m.group("mi") if k == len(firsts) else None
            end = m.end() if mi else m.start("first") + len(first)
            if k > 1 and len(firsts[k - 1]) == 1:
                mi = firsts[k - 1]  # the pattern read the middle initial as a given name ("DELBERT R")
            if self._is_name(text, m.start(), m.group("last"), first, mi, context):
                return trimmed_span(text, m.start(), end, "NAME", 0.85)
        return None

    def _is_name(self, text: str, start: int, last: str, first: str, mi: str | None,
                 context: Context) -> bool:
        lex = context.rules.lexicon
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        upper = last.isupper() and first.isupper() and len(last) > 1
        labelled = not before.strip() or bool(_NAME_LABEL_RE.search(before))
        if not (upper or mi or labelled):
            return False
        # Whole words, hyphenated parts together: "SOO-AH" is one given name, its "AH" no word.
        words = [w.lower().translate(_OCR_TO_LETTERS) for w in re.split(r"[ \t]+", f"{last} {first}")
                 if len(w) > 1 and w.lower() not in NAME_PARTICLES]  # a middle initial says nothing
        if any(w in TITLES or w in DOCTOR_TITLES or w in lex.stopwords or w in lex.never_name
               or w in NOT_CITIES or w in lex.org_words or w.upper() in US_STATES and len(w) == 2 for w in words):
            return False  # "Medical Records, Kaiser": a department of an organization
        if any(re.fullmatch(r"[A-Za-z]\d[\dA-Za-z]?", w) for w in re.split(r"[ \t-]+", f"{last} {first}")):
            return False  # diagnosis codes ("I10, E78.5"): a letter and digits is no name, even OCR'd
        parts = [p for w in words for p in w.split("-") if len(p) > 1]
        n_last = len([w for w in re.split(r"[ \t]+", last) if len(w) > 1 and w.lower() not in NAME_PARTICLES])
        first_w = [p for w in words[n_last:] for p in w.split("-")]
        named = any(lex.first_names.get(w) for w in first_w) or any(
            p in lex.last_names for p in parts) or all(not lex.known(p) for p in parts)
        # A surname and given name printed in capitals with a label or a middle initial is how
        # forms print a person ("Pt: ABERNATHY, CLYDE", "YAZZIE, DELBERT R"), whatever else the
        # words mean; medical words and digits still say it is something else ("CBC, CMP").
        printed = upper and (mi or labelled) and not any(c.isdigit() for c in last + first) and not any(
            p in lex.medical or p in lex.org_words for p in parts)
        if not (named or printed) or context.rules.is_clinician(f"{first} {last}"):
            return False
        return True
