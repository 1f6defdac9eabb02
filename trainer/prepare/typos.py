"""A conservative, offline typo fixer for clinic messages.

`TypoFixer` runs after de-identification and changes a word only when it is unknown, not
protected, and has one clear dictionary neighbour. Spell checkers "correct" statin->station and
Ozempic->Olympic, so the fixer protects a medical vocabulary (trainer/assets/medical_terms*.txt),
names, numbers, identifier-like tokens, surrogate tokens and every word of the record's facts.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import os
import random
import re
from typing import Any, Iterable, Mapping, Sequence

import ml_collections

from trainer.util import people

_ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.enabled = True
    # Spanish is off by default: the only offline Spanish dictionary here (pyspellchecker) lacks
    # most inflections ("tiene", "resultados"), so it would "fix" correct words.
    c.languages = ("en",)
    c.min_word_len = 4  # shorter words are too ambiguous ("teh" could be the/ten/tea)
    c.long_word_len = 8  # from this length an edit distance of 2 is allowed
    c.min_suggestion_count = 10000  # the fix must be a reasonably common word (en counts)
    c.min_count_ratio = 3.0  # best candidate must beat the runner-up at the same distance by this
    c.corpus_min_docs = 3  # a word seen in this many records is domain vocabulary, not a typo
    c.extra_protected = ()  # clinic-specific words (site names, product names)
    return c


# ---------------------------------------------------------------------------------------------
# Vocabularies
# ---------------------------------------------------------------------------------------------

def _read_terms(path: str) -> set[str]:
    words: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0]
            for term in line.split():
                words.add(term.casefold())
                words.update(p.casefold() for p in re.split(r"[-/']", term) if p)
                if term.endswith("'s"):
                    words.add(term[:-2].casefold())
    return words


@functools.lru_cache(maxsize=None)
def medical_terms() -> frozenset[str]:
    """Casefolded protected medical/clinic words from trainer/assets/medical_terms*.txt."""
    words: set[str] = set()
    for name in sorted(os.listdir(_ASSETS)):
        if name.startswith("medical_terms") and name.endswith(".txt"):
            words |= _read_terms(os.path.join(_ASSETS, name))
    return frozenset(words)


@functools.lru_cache(maxsize=None)
def person_names() -> frozenset[str]:
    """First and last names from Faker's locales: a capitalized unknown word may be a name."""
    names: set[str] = set()
    for provider in people.person_providers(people.BROAD_NAME_LOCALES + people.NAME_LOCALES + people.EXTRA_NAME_LOCALES):
        for attr in ("first_names", "first_names_male", "first_names_female", "last_names", "first_names_nonbinary"):
            value = getattr(provider, attr, None)
            if isinstance(value, (list, tuple, dict)):
                names.update(str(n).casefold() for n in value)
    return frozenset(n for n in names if n.isalpha())


def _load_symspell_en():
    import symspellpy

    sym = symspellpy.SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    path = os.path.join(os.path.dirname(symspellpy.__file__), "frequency_dictionary_en_82_765.txt")
    sym.load_dictionary(path, term_index=0, count_index=1, encoding="utf-8")
    return sym


def _load_symspell_es():
    import spellchecker
    import symspellpy

    sym = symspellpy.SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    path = os.path.join(os.path.dirname(spellchecker.__file__), "resources", "es.json.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        counts = json.load(f)
    for word, count in counts.items():
        # pyspellchecker counts run ~100x below the English list; scale so one threshold fits both.
        sym.create_dictionary_entry(word, int(count) * 100)
    return sym


@functools.lru_cache(maxsize=None)
def spelling_dictionary(lang: str):
    """A SymSpell dictionary for `lang` with the medical terms added (loaded once per process)."""
    if lang == "en":
        sym = _load_symspell_en()
    elif lang == "es":
        sym = _load_symspell_es()
    else:
        raise ValueError(f"no offline spelling dictionary for language {lang!r}")
    # Medical words become valid targets too, so "metfromin" can become "metformin".
    for word in medical_terms():
        if word.isalpha() and len(word) >= 4:
            sym.create_dictionary_entry(word, 200000)
    return sym


# ---------------------------------------------------------------------------------------------
# Typo fixer
# ---------------------------------------------------------------------------------------------

_CHUNK = re.compile(r"\S+")
_EDGE = re.compile(r"^([\W_]*)(.*?)([\W_]*)$", re.S)
_LETTERS = re.compile(r"^[^\W\d_]+$")
_WORD = re.compile(r"[^\W\d_]+")
# Contractions typed without the apostrophe: the dictionary has no apostrophes, so "dont" would
# otherwise become "done". Only forms that are not words of their own ("cant", "wont", "lets" are).
_CONTRACTIONS = {w.replace("'", ""): w for w in (
    "don't", "didn't", "doesn't", "isn't", "aren't", "wasn't", "weren't", "haven't", "hasn't", "hadn't",
    "couldn't", "shouldn't", "wouldn't", "you're", "they're", "you've", "you'll", "they'll", "that's", "what's",
    "there's", "we've")}  # not "we'll", "i'll", "it's": "well", "ill", "its" are words
_ES_ENDINGS = ("s", "es", "n", "mos", "ron", "ndo", "ste", "ba", "ban", "ría", "rá", "rán", "do", "da", "dos",
               "das", "lo", "la", "le", "los", "las", "nos", "me", "se")


def protected_words(facts: Mapping[str, Any] | None = None, extra: Iterable[str] = ()) -> set[str]:
    """Casefolded words the fixer must not touch for one record: every word of every fact value."""
    words: set[str] = set()
    for value in (facts or {}).values():
        if isinstance(value, str):
            words.update(w.casefold() for w in _WORD.findall(value))
    for item in extra:
        words.update(w.casefold() for w in _WORD.findall(item))
    return words


@dataclasses.dataclass
class TypoFix:
    text: str
    changes: list[tuple[str, str]]  # (before, after)
    n_checked: int  # words eligible for checking
    n_unknown: int  # eligible words still unknown after fixing (typo-rate signal)


class TypoFixer:
    """Dictionary-based typo correction that refuses anything it is not sure about."""

    def __init__(self, cfg: ml_collections.ConfigDict | None = None, corpus_words: Iterable[str] = ()):
        self.cfg = cfg or default_config()
        self.medical = medical_terms()
        self.names = person_names()
        self.extra = {w.casefold() for item in self.cfg.extra_protected for w in _WORD.findall(item)}
        self.corpus = {w.casefold() for w in corpus_words}

    def with_corpus(self, corpus_words: Iterable[str]) -> "TypoFixer":
        return TypoFixer(self.cfg, corpus_words)

    def _known(self, word: str, lang: str) -> bool:
        sym = spelling_dictionary(lang)
        if word in sym.words:
            return True
        if lang == "es":  # the Spanish list lacks inflections; accept a known stem
            return any(word.endswith(e) and len(word) - len(e) >= 3 and word[:-len(e)] in sym.words
                       for e in _ES_ENDINGS)
        return False

    def _protected(self, word: str, core: str, sentence_start: bool, protect: set[str]) -> bool:
        w = word
        if w in self.medical or w in protect or w in self.extra or w in self.corpus or w in self.names:
            return True  # names too, even lowercase: "jaime" must not become "jamie"
        if core.isupper() or any(c.isupper() for c in core[1:]):
            return True  # acronyms (HbA1c, COPD) and CamelCase (MyChart, iPhone)
        if core[0].isupper():
            return not sentence_start  # mid-sentence capitals are proper nouns
        return False

    def _suggest(self, word: str, lang: str) -> str | None:
        import symspellpy

        cfg = self.cfg
        max_d = 2 if len(word) >= cfg.long_word_len else 1
        sym = spelling_dictionary(lang)
        found = sym.lookup(word, symspellpy.Verbosity.ALL, max_edit_distance=max_d)
        if not found:
            return None
        best_d = min(s.distance for s in found)
        top = sorted((s for s in found if s.distance == best_d), key=lambda s: -s.count)
        best = top[0]
        if best.count < cfg.min_suggestion_count:
            return None
        if len(top) > 1 and best.count < cfg.min_count_ratio * top[1].count:
            return None  # two plausible fixes: leave it
        if best.term[0] != word[0]:
            return None  # first letters are rarely mistyped; "vitaly" is a name, not "italy"
        return best.term

    def fix(self, text: str, lang: str = "en", protect: Iterable[str] = ()) -> TypoFix:
        """Fixes clear typos in `text`; `protect` adds per-record words (facts, surrogates)."""
        cfg = self.cfg
        active = cfg.enabled and lang in cfg.languages
        protect_set = {p.casefold() for p in protect}
        out: list[str] = []
        changes: list[tuple[str, str]] = []
        n_checked = n_unknown = 0
        pos = 0
        for m in _CHUNK.finditer(text):
            out.append(text[pos:m.start()])
            pos = m.end()
            chunk = m.group()
            lead, core, trail = _EDGE.match(chunk).groups()
            before = text[:m.start()].rstrip()
            sentence_start = not before or before[-1] in ".!?\n:" or lead in ("¿", "¡", '"', "(")
            if not core or not _LETTERS.match(core):
                out.append(chunk)  # numbers, ids, URLs, emails, surrogates, hyphen/apostrophe words
                continue
            word = core.casefold()
            if len(core) < cfg.min_word_len or self._protected(word, core, sentence_start, protect_set):
                out.append(chunk)
                continue
            if lang not in ("en", "es"):
                out.append(chunk)
                continue
            n_checked += 1
            if lang == "en" and word in _CONTRACTIONS:
                fixed = _CONTRACTIONS[word]
                fixed = fixed[0].upper() + fixed[1:] if core[0].isupper() else fixed
                if active:
                    changes.append((core, fixed))
                    out.append(lead + fixed + trail)
                else:
                    out.append(chunk)
                continue
            if self._known(word, lang):
                out.append(chunk)
                continue
            fixed = self._suggest(word, lang) if active else None
            if fixed is None or fixed == word:
                n_unknown += 1
                out.append(chunk)
                continue
            if core[0].isupper():
                fixed = fixed[0].upper() + fixed[1:]
            changes.append((core, fixed))
            out.append(lead + fixed + trail)
        out.append(text[pos:])
        return TypoFix("".join(out), changes, n_checked, n_unknown)


def corpus_word_counts(texts: Iterable[str]) -> dict[str, int]:
    """Document frequency of each casefolded word (a word counts once per text)."""
    counts: dict[str, int] = {}
    for text in texts:
        for w in {w.casefold() for w in _WORD.findall(text)}:
            counts[w] = counts.get(w, 0) + 1
    return counts


def frequent_corpus_words(doc_freq: Mapping[str, int], min_docs: int) -> set[str]:
    return {w for w, n in doc_freq.items() if n >= min_docs}


# ---------------------------------------------------------------------------------------------
# Measuring the fixer on injected typos
# ---------------------------------------------------------------------------------------------

_KEYBOARD = {
    "a": "qswz", "b": "vghn", "c": "xdfv", "d": "serfcx", "e": "wsdr", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "i": "ujko", "j": "huikmn", "k": "jiolm", "l": "kop", "m": "njk", "n": "bhjm",
    "o": "iklp", "p": "ol", "q": "wa", "r": "edft", "s": "awedxz", "t": "rfgy", "u": "yhji",
    "v": "cfgb", "w": "qase", "x": "zsdc", "y": "tghu", "z": "asx",
}


def make_typo(word: str, rng: random.Random) -> str:
    """One realistic keyboard error: drop, swap, double or hit a neighbouring key (not the 1st letter)."""
    i = rng.randrange(1, len(word) - 1) if len(word) > 2 else 1
    op = rng.choice(("drop", "swap", "double", "neighbour"))
    if op == "drop":
        return word[:i] + word[i + 1:]
    if op == "swap" and word[i] != word[i + 1 if i + 1 < len(word) else i - 1]:
        j = i + 1 if i + 1 < len(word) else i - 1
        a, b = min(i, j), max(i, j)
        return word[:a] + word[b] + word[a] + word[b + 1:]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    near = _KEYBOARD.get(word[i], "")
    return word[:i] + (rng.choice(near) if near else word[i]) + word[i + 1:]


@dataclasses.dataclass
class TypoEval:
    n_words: int  # word tokens seen
    injected: int  # typos injected
    fixed: int  # injected typos restored to the original word
    miscorrected: int  # injected typos changed, but to the wrong word
    missed: int  # injected typos left as they were
    wrongly_changed: int  # correct words the fixer changed (false positives)

    @property
    def fix_rate(self) -> float:
        return self.fixed / self.injected if self.injected else 0.0

    @property
    def false_change_rate(self) -> float:
        clean = self.n_words - self.injected
        return self.wrongly_changed / clean if clean else 0.0

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(fix_rate=round(self.fix_rate, 4), false_change_rate=round(self.false_change_rate, 5))
        return d


def evaluate_typo_fixer(
    fixer: TypoFixer,
    texts: Sequence[str],
    rate: float = 0.1,
    seed: int = 0,
    lang: str = "en",
    facts: Sequence[Mapping[str, Any]] | None = None,
) -> TypoEval:
    """Injects typos into ~`rate` of the plain dictionary words of `texts`, runs the fixer, and
    counts both sides: typos fixed and correct words wrongly changed."""
    rng = random.Random(seed)
    sym = spelling_dictionary(lang)
    totals = dict(n_words=0, injected=0, fixed=0, miscorrected=0, missed=0, wrongly_changed=0)
    for k, text in enumerate(texts):
        chunks = text.split()
        noisy, injected = [], set()
        for i, chunk in enumerate(chunks):
            if chunk.isalpha() and chunk.islower() and len(chunk) >= 5 and chunk in sym.words and rng.random() < rate:
                typo = make_typo(chunk, rng)
                if typo != chunk and typo not in sym.words:
                    noisy.append(typo)
                    injected.add(i)
                    continue
            noisy.append(chunk)
        rec_facts = facts[k] if facts is not None else None
        result = fixer.fix(" ".join(noisy), lang, protected_words(rec_facts)).text.split()
        if len(result) != len(chunks):
            raise AssertionError("the typo fixer changed the number of words")
        totals["n_words"] += len(chunks)
        totals["injected"] += len(injected)
        for i, (orig, before, after) in enumerate(zip(chunks, noisy, result)):
            if i in injected:
                key = "fixed" if after == orig else ("missed" if after == before else "miscorrected")
                totals[key] += 1
            elif after != orig:
                totals["wrongly_changed"] += 1
    return TypoEval(**totals)
