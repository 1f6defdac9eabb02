"""The reward of one sampled message: reward model score + the automatic terms the project computes.

    total = rm * RM score (0-1)            [0 when there are no ratings: the run says so loudly]
          + fact_recall * key facts stated (0-1)
          - hallucination * invented details (capped)
          - sms_length * [SMS over eval.facts.sms_max_chars]
          - language * [not in the facts' language]
          - length * (response tokens over length_target) / length_target

Weights live in config.rl.reward. The KL penalty to the SFT adapter is applied by the agent.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import ml_collections
import numpy as np

from trainer import facts as facts_lib

TERMS = ("rm", "fact_recall", "hallucination", "sms_length", "language", "length")

NO_RATINGS_WARNING = ("NO HUMAN RATINGS: the reward is the automatic terms alone (fact recall, inventions, SMS "
                      "length, language, length); nothing here learns what clinicians rate highly. Collect ratings "
                      "(--mode=eval rating sheets or --mode=rate) and rerun --mode=rl.")


def length_target(cfg: ml_collections.ConfigDict) -> int:
    return int(cfg.reward.length_target or max(1, cfg.max_new_tokens * 3 // 4))


def automatic_terms(message: str, task: str, facts: Mapping[str, Any], n_tokens: int, target: int,
                    facts_cfg: ml_collections.ConfigDict | None = None, hallucination_cap: int = 3) -> dict[str, float]:
    """Unweighted terms of one message (penalties as positive numbers, subtracted by `combine`)."""
    s = facts_lib.score_output(message, task, facts, facts_cfg)
    return {
        "fact_recall": 0.0 if s["fact_recall"] is None else float(s["fact_recall"]),
        "hallucination": float(min(len(s["hallucinations"]), hallucination_cap)),
        "sms_length": 1.0 if s["sms_length_ok"] is False else 0.0,
        "language": 0.0 if s["language_match"] else 1.0,
        "length": max(0.0, (n_tokens - target) / max(target, 1)),
    }


_SIGN = {"rm": 1.0, "fact_recall": 1.0, "hallucination": -1.0, "sms_length": -1.0, "language": -1.0, "length": -1.0}


def combine(terms: Mapping[str, np.ndarray], weights: ml_collections.ConfigDict) -> np.ndarray:
    total = None
    for name in TERMS:
        if name in terms:
            part = _SIGN[name] * float(weights[name]) * np.asarray(terms[name], np.float64)
            total = part if total is None else total + part
    return np.zeros(0) if total is None else total


class Reward:
    """Callable (messages, tasks, facts, token counts) -> (total [n], unweighted terms {name: [n]})."""

    def __init__(self, cfg: ml_collections.ConfigDict, reward_model: Any = None,
                 facts_cfg: ml_collections.ConfigDict | None = None):
        self.cfg, self.reward_model, self.facts_cfg = cfg, reward_model, facts_cfg
        self.target = length_target(cfg)

    @property
    def has_ratings(self) -> bool:
        return self.reward_model is not None

    def __call__(self, messages: Sequence[str], tasks: Sequence[str], facts: Sequence[Mapping[str, Any]],
                 n_tokens: Sequence[int]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        rows = [automatic_terms(m, t, f, n, self.target, self.facts_cfg, self.cfg.reward.hallucination_cap)
                for m, t, f, n in zip(messages, tasks, facts, n_tokens)]
        terms = {k: np.array([r[k] for r in rows], np.float64) for k in TERMS if k != "rm"}
        terms["rm"] = (np.asarray(self.reward_model.score(messages, tasks, facts, self.facts_cfg), np.float64)
                       if self.reward_model is not None else np.zeros(len(messages)))
        return combine(terms, self.cfg.reward), terms
