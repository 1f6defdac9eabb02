"""Quality score of a cleaned message and the keep/drop decision with its reason.

The score is a weighted mean of components in [0, 1]: length, readability (textstat, offline
formulas only), fact coverage (share of the task's key facts the message states, by the same
checker as the evaluation), unsupported details (dates, phones, names... the facts do not hold),
typo rate (words the dictionary still does not know) and shouting. Components that cannot be
measured (no key facts) are left out of the mean rather than scored as zero.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any, Mapping

import ml_collections

from trainer.facts import checks as fact_checks
from trainer.util import patterns


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.min_score = 0.55
    c.min_fact_coverage = 0.0  # >0 drops messages that state too few of their facts, whatever the score
    c.ideal_words = (12, 160)  # full length score inside this range
    c.max_unsupported = -1  # >=0 drops messages stating more unsupported details than this
    c.weights = ml_collections.ConfigDict({"length": 1.0, "readability": 1.0, "fact_coverage": 2.0,
                                           "unsupported": 1.0, "typo_rate": 1.0, "shouting": 0.5})
    return c


# ---------------------------------------------------------------------------------------------
# Facts: the same checker the evaluation uses, so "coverage" here is eval's fact recall
# ---------------------------------------------------------------------------------------------

def fact_coverage(text: str, task: str, facts: Mapping[str, Any]) -> tuple[float | None, list[str]]:
    """(share of the task's key facts the text states, keys not stated); None: no key facts."""
    check = fact_checks.check_facts(text, task, facts)
    return check.recall, check.missing


def unsupported_details(text: str, facts: Mapping[str, Any]) -> list[str]:
    """Dates, times, phones, amounts, URLs, e-mails and names the text states but no fact holds.
    A training target full of these teaches the model to invent details."""
    return [f"{h.kind}:{h.text}" for h in fact_checks.find_hallucinations(text, facts)]


# ---------------------------------------------------------------------------------------------
# Score
# ---------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _textstat(lang: str):
    from textstat.textstat import textstatistics

    ts = textstatistics()
    ts.set_lang(lang)
    return ts


_NOT_WORDS = re.compile(patterns.LINK_OR_EMAIL_TOKEN + r"|[(+]?\d[\d()/:.,\s\-]*\d|\d")


def readability(text: str, lang: str) -> tuple[float, float | None]:
    """(score in [0, 1], raw index). English uses Coleman-Liau (no syllable dictionary: textstat's
    Flesch would try to download cmudict); Spanish uses Fernandez-Huerta (pyphen syllables).
    URLs, e-mails and numbers are not read as words, so they are left out."""
    text = _NOT_WORDS.sub(" ", text)
    if not re.search(r"[^\W\d_]{2,}", text):
        return 1.0, None
    if lang == "es":
        fh = _textstat("es").fernandez_huerta(text)
        return max(0.0, min(1.0, (fh - 30) / 40)), fh  # 70+ easy, 30- hard
    grade = _textstat("en").coleman_liau_index(text)
    return max(0.0, min(1.0, (16 - grade) / 8)), grade  # grade 8 or below reads easily for patients


def _length_score(n_words: int, ideal: tuple[int, int]) -> float:
    lo, hi = ideal
    if n_words < lo:
        return n_words / lo
    if n_words > hi:
        return max(0.0, 1 - (n_words - hi) / hi)
    return 1.0


@dataclasses.dataclass
class Quality:
    score: float
    components: dict[str, float]
    missing_facts: list[str]
    unsupported: list[str]
    reason: str | None  # None: selected
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"score": round(self.score, 4), "components": {k: round(v, 4) for k, v in self.components.items()},
                "missing_facts": self.missing_facts, "unsupported": len(self.unsupported)}


def score_message(text: str, task: str, facts: Mapping[str, Any], lang: str, n_checked: int, n_unknown: int,
                  cfg: ml_collections.ConfigDict) -> Quality:
    """Scores one cleaned, de-identified message; `n_checked`/`n_unknown` come from the typo fixer."""
    words = re.findall(r"[^\W_]+", text)
    comps: dict[str, float] = {"length": _length_score(len(words), tuple(cfg.ideal_words))}
    if words:
        comps["readability"], _ = readability(text, "es" if lang == "es" else "en")
    cov, missing = fact_coverage(text, task, facts)
    if cov is not None:
        comps["fact_coverage"] = cov
    unsupported = unsupported_details(text, facts)
    comps["unsupported"] = max(0.0, 1 - 0.5 * len(unsupported))
    if n_checked:
        comps["typo_rate"] = max(0.0, 1 - 5 * n_unknown / n_checked)  # 20% unknown words -> 0
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 20:
        comps["shouting"] = 1 - max(0.0, (sum(c.isupper() for c in letters) / len(letters) - 0.3) / 0.5)
        comps["shouting"] = max(0.0, min(1.0, comps["shouting"]))
    weights = dict(cfg.weights)
    total = sum(weights.get(k, 0.0) for k in comps)
    score = sum(weights.get(k, 0.0) * v for k, v in comps.items()) / total if total else 0.0
    reason, detail = None, ""
    if 0 <= cfg.max_unsupported < len(unsupported):
        reason, detail = "unsupported_details", f"{len(unsupported)} details not in facts: {unsupported[:5]}"
    elif cov is not None and cov < cfg.min_fact_coverage:
        reason, detail = "low_fact_coverage", f"coverage {cov:.2f} < {cfg.min_fact_coverage}; missing {missing}"
    elif score < cfg.min_score:
        worst = sorted(comps.items(), key=lambda kv: kv[1])[:2]
        reason = "low_quality"
        detail = f"score {score:.2f} < {cfg.min_score} (" + ", ".join(f"{k}={v:.2f}" for k, v in worst) + ")"
    return Quality(score, comps, missing, unsupported, reason, detail)
