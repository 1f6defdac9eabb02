"""The filters every augmentation candidate must pass, each with a reason code for the ledger.

In order (cheap first; the ledger names the first that fails):
  generation_failed / placeholder_lost  set by the generator (empty output, a made-up {placeholder})
  fact_missing           a key fact of the task that the source states is not stated exactly
                         (trainer/facts check_facts; the source's own omissions are not asked for)
  hallucination          a date, time, phone, amount, URL, e-mail or name no fact supports
  wrong_language         not written in the source's language (trainer/util/language)
  sms_too_long           an SMS over the fact checker's sms_max_chars
  too_similar / too_dissimilar   similarity to the source outside the method's band
  identifier_introduced  the de-identifier finds an identifier that is neither a stated fact nor
                         already in the source message
  near_duplicate         Jaccard of shingles (trainer/prepare/dedup) at or above the threshold
                         with any train/val/test message or an earlier kept candidate
"""
from __future__ import annotations

import copy
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

import ml_collections

from trainer.augment import masking
from trainer.augment.generators import Candidate
from trainer.facts import checks
from trainer.prepare import dedup
from trainer.util.language import english_or_spanish

REASONS = ("generation_failed", "placeholder_lost", "fact_missing", "hallucination", "wrong_language", "sms_too_long",
           "too_similar", "too_dissimilar", "identifier_introduced", "near_duplicate")


def facts_missing(c: Candidate, facts_cfg, source_facts: Mapping[str, Any] | None = None) -> str:
    """Key facts of the task the candidate does not state exactly.

    With `source_facts`, a key fact that the source message itself leaves unstated is not asked
    of the candidate (it can be no better than its source), but every one the source states is.
    """
    check = checks.check_facts(c.response, c.task, c.facts, facts_cfg)
    missing = check.missing
    if source_facts is not None and missing:
        src = checks.check_facts(c.source_response, c.task, source_facts, facts_cfg)
        missing = [k for k in missing if k not in src.missing]
    return f"not stated: {missing}" if missing else ""


def hallucinated(c: Candidate, facts_cfg) -> str:
    found = checks.find_hallucinations(c.response, c.facts, facts_cfg)
    return "; ".join(f"{h.kind} {h.text!r}" for h in found[:5]) if found else ""


def wrong_language(c: Candidate) -> str:
    got = english_or_spanish(c.response)
    return f"written in {got}, source in {c.language}" if got != c.language else ""


def sms_too_long(c: Candidate, max_chars: int) -> str:
    ok = checks.sms_length_ok(c.response, c.facts, max_chars)
    return f"{len(c.response)} characters > {max_chars}" if ok is False else ""


def similarity_reason(sim: float, band: Mapping[str, float]) -> tuple[str, str]:
    if sim > band["max"]:
        return "too_similar", f"similarity {sim:.3f} > {band['max']}"
    if sim < band["min"]:
        return "too_dissimilar", f"similarity {sim:.3f} < {band['min']}"
    return "", ""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.casefold()))


def introduced_identifiers(c: Candidate, spans: Iterable[Any], facts_cfg, known: Sequence[str] = ()) -> list[str]:
    """Identifier types in the candidate that are neither a stated fact nor words of the source.

    A span overlapping a span that states one of the candidate's facts is that fact (facts are
    de-identified surrogates by the data contract); a span whose every word occurs in the source
    message (or the source's known surrogates) was already there.
    """
    fact_spans = masking.fact_spans(c.response, c.facts, c.language, facts_cfg)
    source_words = _words(c.source_response) | {w for s in known for w in _words(s)}
    out = []
    for sp in spans:
        if any(sp.start < f.end and f.start < sp.end for f in fact_spans):
            continue
        w = _words(sp.text)
        if w and w <= source_words:
            continue
        out.append(sp.type)
    return out


class DuplicateIndex:
    """Near-duplicate search over the prepared splits plus kept candidates (prepare's dedup)."""

    def __init__(self, texts: Iterable[tuple[str, str]], cfg: ml_collections.ConfigDict, threshold: float):
        from datasketch import MinHashLSH

        self.cfg = copy.deepcopy(cfg)
        self.cfg.threshold = float(threshold)
        self.lsh = MinHashLSH(threshold=max(0.05, self.cfg.threshold - 0.15), num_perm=self.cfg.num_perm)
        self.prints: dict[str, dedup.Fingerprint] = {}
        self.exact: dict[str, str] = {}
        for key, text in texts:
            self.add(key, text)

    def add(self, key: str, text: str) -> None:
        fp = dedup.fingerprint(text, self.cfg)
        self.exact.setdefault(fp.exact, key)
        if key not in self.prints:
            self.lsh.insert(key, fp.minhash)
            self.prints[key] = fp

    def twin(self, text: str) -> tuple[str, float] | None:
        fp = dedup.fingerprint(text, self.cfg)
        if fp.exact in self.exact:
            return self.exact[fp.exact], 1.0
        best = None
        for key in self.lsh.query(fp.minhash):
            j = dedup.jaccard(fp.shingle_hashes, self.prints[key].shingle_hashes)
            if j >= self.cfg.threshold and (best is None or j > best[1]):
                best = (key, round(j, 4))
        return best


def run_filters(cands: Sequence[Candidate], cfg: ml_collections.ConfigDict, facts_cfg, *, encoder: Any,
                deidentifier: Any, dup_index: DuplicateIndex,
                known_surrogates: Mapping[str, Sequence[str]] | None = None,
                progress: Callable[[int, int], None] | None = None,
                source_facts: Mapping[str, Mapping[str, Any]] | None = None) -> list[tuple[Candidate, str, str]]:
    """(candidate, reason, detail) for each candidate, reason "" when kept. `cfg` is
    config.augment.filters; the de-identifier may be None only when check_identifiers is off."""
    sms_max = int(cfg.sms_max_chars or facts_cfg.sms_max_chars)
    known_surrogates = known_surrogates or {}
    verdict: dict[str, tuple[str, str]] = {}
    alive: list[Candidate] = []
    for c in cands:
        if c.error:
            verdict[c.id] = (c.error, c.detail)
            continue
        src_facts = source_facts.get(c.source_id) if source_facts is not None else None
        for reason, fn in (("fact_missing", lambda: facts_missing(c, facts_cfg, src_facts)),
                           ("hallucination", lambda: hallucinated(c, facts_cfg)),
                           ("wrong_language", lambda: wrong_language(c)),
                           ("sms_too_long", lambda: sms_too_long(c, sms_max))):
            detail = fn()
            if detail:
                verdict[c.id] = (reason, detail)
                break
        else:
            alive.append(c)
    if alive:
        sims = encoder.similarity([c.source_response for c in alive], [c.response for c in alive])
        nxt = []
        for c, s in zip(alive, sims):
            reason, detail = similarity_reason(float(s), cfg.bands[c.method])
            c.detail = f"similarity {float(s):.3f}"
            if reason:
                verdict[c.id] = (reason, detail)
            else:
                nxt.append(c)
        alive = nxt
    if alive and cfg.check_identifiers:
        found = deidentifier.find_many([c.response for c in alive]) if hasattr(deidentifier, "find_many") \
            else [deidentifier.find(c.response) for c in alive]
        nxt = []
        for c, spans in zip(alive, found):
            types = introduced_identifiers(c, spans, facts_cfg, known_surrogates.get(c.source_id, ()))
            if types:
                verdict[c.id] = ("identifier_introduced", f"types {sorted(set(types))}")
            else:
                nxt.append(c)
        alive = nxt
    for i, c in enumerate(alive):
        twin = dup_index.twin(c.response)
        if twin:
            verdict[c.id] = ("near_duplicate", f"Jaccard {twin[1]} with {twin[0]}")
        else:
            verdict[c.id] = ("", c.detail)
            dup_index.add(c.id, c.response)
        if progress:
            progress(i + 1, len(alive))
    return [(c, *verdict[c.id]) for c in cands]
