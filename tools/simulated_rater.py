"""A rubric-based SIMULATED rater: fills copies of DIR/eval/rating_sheet.csv as DIR/eval/human/sim-<n>.csv.

    python tools/simulated_rater.py --workdir=DIR [--raters=3] [--seed=0] [--noise=0.6]

THIS IS A SIMULATION, NOT HUMAN JUDGEMENT. It exists so that the reward-model and --mode=rl
path can be demonstrated end to end before clinicians have rated anything. Its scores come from
a fixed rubric over the fact checker's verdicts and a few word lists, plus per-rater bias and
noise; a reward model trained on them learns this rubric back, nothing more. Never use these
sheets (or a reward model or RL adapter trained on them) to report model quality: the reward
model marks itself `simulated` (raters named sim-*), and --mode=rl says so in its summary,
comparison and report section. Delete DIR/eval/human/sim-*.csv before real ratings are used.
"""
from __future__ import annotations

import argparse
import csv
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer import facts as facts_lib  # noqa: E402
from trainer.eval import human  # noqa: E402
from trainer.facts.text import fold  # noqa: E402
from trainer.rate import items as rate_items  # noqa: E402

WARM = ("thank", "sorry", "care", "happy to help", "hope", "please", "glad", "here for you", "gracias",
        "por favor", "con gusto", "esperamos", "cuidese", "cuídese")


def rubric(message: str, task: str, facts: dict) -> dict[str, float]:
    """The rubric's scores (floats, 1-5) of one message."""
    s = facts_lib.score_output(message, task, facts)
    recall = s["fact_recall"] if s["fact_recall"] is not None else 0.5
    inventions = len(s["hallucinations"])
    text = fold(message)
    name = str(facts.get("preferred_name") or "").split()
    provider = str(facts.get("provider_name") or "").split()
    warm = sum(w in text for w in (fold(w) for w in WARM))
    too_short = len(message) < 40
    return {
        "relevance": 1.5 + 3.0 * recall - (1.0 if too_short else 0.0) - (1.0 if not s["language_match"] else 0.0),
        "accuracy": 5.0 - 1.5 * min(inventions, 2) - 2.0 * (1.0 - recall),
        "empathy": 2.0 + min(warm, 3) - (1.0 if too_short else 0.0),
        "personalization": 1.0 + 2.0 * bool(name and fold(name[-1]) in text) + 1.0 * bool(provider and fold(provider[-1]) in text)
        + 1.0 * (recall > 0.5),
    }


def simulate(workdir: str, raters: int = 3, seed: int = 0, noise: float = 0.6) -> list[str]:
    eval_dir = os.path.join(workdir, "eval")
    items = rate_items.load_items(eval_dir)
    rng = np.random.default_rng(seed)
    out_dir = os.path.join(eval_dir, "human")
    os.makedirs(out_dir, exist_ok=True)
    base = {it.item_id: rubric(it.message, it.task, it.facts) for it in items}
    paths = []
    for n in range(raters):
        bias = rng.normal(0.0, 0.4, size=len(human.DIMENSIONS))
        path = os.path.join(out_dir, f"sim-{n + 1}.csv")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(human.SHEET_COLUMNS)
            for it in items:
                scores = [int(np.clip(round(base[it.item_id][d] + bias[k] + rng.normal(0.0, noise)), 1, 5))
                          for k, d in enumerate(human.DIMENSIONS)]
                w.writerow([it.item_id, it.task, it.language, it.channel, it.facts_text, it.message] + scores
                           + ["SIMULATED rater (tools/simulated_rater.py), not a human judgement"])
        paths.append(path)
    return paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--raters", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.6)
    args = parser.parse_args(argv)
    paths = simulate(args.workdir, args.raters, args.seed, args.noise)
    print("SIMULATED ratings (not human judgement) written to:\n  " + "\n  ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
