"""An independent second look for identifiers, for the PHI gate.

The gate's first check is the de-identifier itself, so it shares the de-identifier's blind
spots. This one reads the text with other tools: Presidio's stock recognizers (its default
registry: libphonenumber phones, e-mail, URL, IP, SSN, credit card, spaCy's PERSON / LOCATION /
DATE_TIME) on their own spaCy pass, and the name lexicon (a capitalized word that is a known
name and no word of the language). It reuses none of `trainer.deid.recognizers`.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
from typing import Any, Iterable, Sequence

if not os.environ.get("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"):
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

from trainer.deid.lexicon import DOCTOR_TITLES, TITLES, WORD_RE, Lexicon
from trainer.deid.types import DeidSetupError, Span

# Presidio entity types precise enough on clinic text to refuse data on their own; the others
# (PERSON, LOCATION, DATE_TIME from a small NER model, NAME_LEXICON) are reported for review.
BLOCKING_TYPES = ("PHONE_NUMBER", "EMAIL_ADDRESS", "US_SSN", "IP_ADDRESS", "CREDIT_CARD")
_IGNORED = {"NRP", "US_BANK_NUMBER", "US_DRIVER_LICENSE", "US_ITIN", "US_PASSPORT", "MEDICAL_LICENSE",
            "UK_NHS", "IBAN_CODE", "CRYPTO", "AU_ABN", "AU_ACN", "AU_TFN", "AU_MEDICARE", "IN_PAN",
            "IN_AADHAAR", "IN_VEHICLE_REGISTRATION", "IN_VOTER", "IN_PASSPORT", "SG_NRIC_FIN",
            "UK_NINO", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE", "IT_DRIVER_LICENSE", "IT_VAT_CODE",
            "IT_PASSPORT", "IT_IDENTITY_CARD", "PL_PESEL", "FI_PERSONAL_IDENTITY_CODE"}
_CAP_WORD_RE = re.compile(r"(?<![\w@.])[A-Z][a-zà-ÿ]{2,}(?:[-'’][A-Z][a-zà-ÿ]+)?(?![\w@])")


class SecondCheck:
    """Presidio's stock analyzer and the name lexicon, on texts the de-identifier has scanned.
    `min_score` is below Presidio's usual 0.5: a phone number without a "phone" word near it
    scores 0.4, and a second net should rather see too much than too little."""

    def __init__(self, model_name: str, lexicon: Lexicon, clinician_names: Sequence[str] = (),
                 min_score: float = 0.35):
        self.lexicon = lexicon
        self.min_score = min_score
        self._analyzer = _stock_analyzer(model_name)
        # The clinic's own clinicians stay in prepared text; their names are no finding.
        self._clinician_words = {w.lower() for name in clinician_names for w in WORD_RE.findall(name)
                                 if w.lower() not in TITLES | DOCTOR_TITLES}

    def scan_many(self, texts: Iterable[str], batch_size: int = 32) -> list[list[Span]]:
        """Spans per text; `Span.type` is Presidio's entity type or "NAME_LEXICON"."""
        from presidio_analyzer import BatchAnalyzerEngine

        texts = list(texts)
        batch = BatchAnalyzerEngine(analyzer_engine=self._analyzer)
        results = batch.analyze_iterator(texts, language="en", batch_size=batch_size,
                                         score_threshold=self.min_score)
        out = []
        for text, found in zip(texts, results):
            spans = [Span(r.start, r.end, r.entity_type, text[r.start:r.end], float(r.score))
                     for r in found if r.entity_type not in _IGNORED]
            spans += self.lexicon_names(text)
            out.append(spans)
        return out

    def lexicon_names(self, text: str) -> list[Span]:
        """Capitalized words inside a sentence that are known names and no everyday word."""
        lex = self.lexicon
        out = []
        for m in _CAP_WORD_RE.finditer(text):
            w = m.group(0).lower()
            before = text[:m.start()].rstrip()
            if not before or before[-1] in ".!?:\n" or w in self._clinician_words:
                continue
            if w in lex.strong_names and w not in lex.never_name and not lex.known(w) \
                    and lex.english.get(w, 0) < 1000:
                out.append(Span(m.start(), m.end(), "NAME_LEXICON", m.group(0), 0.6))
        return out


@functools.lru_cache(maxsize=2)
def _stock_analyzer(model_name: str) -> Any:
    """Presidio as it ships: its default recognizers and NER mapping, on the offline model."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    if importlib.util.find_spec(model_name) is None:
        raise DeidSetupError(f"spaCy model {model_name!r} for the PHI gate's second check is not installed")
    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model_name}]}
    return AnalyzerEngine(nlp_engine=NlpEngineProvider(nlp_configuration=conf).create_engine(),
                          supported_languages=["en"])
