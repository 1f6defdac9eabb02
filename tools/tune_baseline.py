"""Pick the prompted baseline's shot count on the validation split only (never the test split).

    python tools/tune_baseline.py --config=configs/gemma3_270m_lora.py --workdir=DIR
        [--shots=0,1,2,3] [--max_examples=N] [--n_bootstrap=N] [--metric=rougeL] [--set=a.b=v ...]

The base model (no adapter) writes the validation split's messages once per shot count, with the
config's baseline prompt (eval.baseline.prompt), retrieval seed and decoding; shots come from the
training file, as in --mode=eval. Files are the config's (trainer/data/files.py train_files): by
default the corpus' train split (shots) and val split (scored). trainer/eval scores every arm in
one report (DIR/tune_baseline/eval/), and DIR/tune_baseline/tune_baseline.json holds each arm's
metrics and the best count by --metric (ties go to fewer shots). Use it as
--config.eval.baseline.n_shots=K. On the 270M model every arm is a full generation pass over the
62 val examples, so expect it to take several times as long as --mode=eval's baseline half.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Sequence

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import trainer  # noqa: E402,F401  (Keras switch before TensorFlow)

OUT = "tune_baseline"
REPORTED = ("bleu", "chrf", "rougeL", "fact_recall", "facts_in_role", "hallucination_rate", "sms_length_ok",
            "language_match")


def load_config(spec: str, sets: Sequence[str]):
    """configs/X.py or configs/X.py:variant, then --set overrides (a.b=value, typed like the default)."""
    import importlib.util

    path, _, variant = spec.partition(":")
    module_spec = importlib.util.spec_from_file_location("tune_config", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    config = module.get_config(variant) if variant else module.get_config()
    for item in sets:
        if "=" not in item:
            raise ValueError(f"--set {item!r}: expected a.b=value")
        key, value = item.split("=", 1)
        node = config
        *parents, leaf = key.split(".")
        for p in parents:
            node = node[p]
        old = node[leaf]
        node[leaf] = value if isinstance(old, str) or old is None else type(old)(json.loads(value))
    return config


def parse_shots(text: str) -> list[int]:
    try:
        shots = sorted({int(s) for s in text.split(",") if s.strip()})
    except ValueError as e:
        raise ValueError(f"--shots {text!r}: expected comma-separated counts like 0,1,2,3") from e
    if not shots or shots[0] < 0:
        raise ValueError(f"--shots {text!r}: expected counts >= 0")
    return shots


def best_arm(metrics: dict[str, Any], arms: Sequence[str], metric: str) -> str:
    """The arm with the highest `metric` (lowest where lower is better); ties go to the first (fewest shots)."""
    from trainer.eval import registry

    sign = -1.0 if registry.get(metric).higher_is_better is False else 1.0
    best = arms[0]
    for arm in arms[1:]:
        if sign * metrics[arm][metric] > sign * metrics[best][metric]:
            best = arm
    return best


def tune(cfg, workdir: str, shots: Sequence[int], max_examples: int = 0, metric: str = "rougeL") -> dict[str, Any]:
    """Scores each shot count on the validation split; returns (and writes) the summary."""
    from absl import logging

    from trainer.data import files
    from trainer.eval import baseline, evaluate, registry
    from trainer.models import backbones, generate, precision

    if metric not in registry.names():
        raise ValueError(f"--metric {metric!r}: not a registered metric ({', '.join(registry.names())})")
    train_file, val_file = files.train_files(cfg, workdir)
    if not val_file:
        raise ValueError(f"no validation file for {train_file}: set data.val_file (tuning never reads the test split)")
    examples = evaluate.load_examples(val_file)[: max_examples or None]
    pool = evaluate.load_examples(train_file)
    base_cfg, gen_cfg = cfg.eval.baseline, cfg.eval.generation
    prompt = base_cfg.get("prompt", baseline.DEFAULT_PROMPT)
    prec = precision.resolve(gen_cfg.dtype)
    bundle = backbones.build_backbone(cfg.model, prec.dtype)
    lm = generate.make_causal_lm(bundle, cfg.data.seq_len + gen_cfg.max_new_tokens, sampler=gen_cfg.sampler)
    limit = int(bundle.max_sequence_length or 0)

    def arm(k: int):
        def run(exs: list[dict]) -> list[str]:
            prompts = baseline.baseline_prompts(exs, pool, k, base_cfg.seed, cfg.eval.facts.sms_max_chars, prompt)
            if limit:
                for e, p in zip(exs, prompts):
                    n = len(bundle.tokenizer(p)) + 1
                    if n + gen_cfg.max_new_tokens > limit:
                        raise ValueError(f"{k}-shot prompt of {e['id']} is {n} tokens; with "
                                         f"eval.generation.max_new_tokens={gen_cfg.max_new_tokens} it exceeds the "
                                         f"model's {limit}: lower --shots")
            t0 = time.time()
            out = generate.generate_texts(lm, bundle, prompts, gen_cfg.max_new_tokens, gen_cfg.batch_size)
            logging.info("%d-shot: %d messages in %.1fs", k, len(out), time.time() - t0)
            return out
        return run

    names = [f"{k}-shot" for k in shots]
    cfg.eval.compare = (names[-1], names[0]) if len(names) > 1 else ("", "")
    cfg.eval.human.export = False
    root = os.path.join(workdir, OUT)
    metrics = evaluate.run_eval(cfg, root, examples, {name: arm(k) for name, k in zip(names, shots)},
                                baseline=baseline.describe(prompt, shots[-1], base_cfg.seed, train_file))
    best = best_arm(metrics, names, metric)
    summary = {
        "model": cfg.model.source, "prompt": prompt, "seed": base_cfg.seed, "metric": metric,
        "val_file": val_file, "shots_file": train_file, "n_examples": len(examples),
        "arms": {name: {"n_shots": k, **{m: metrics[name].get(m) for m in REPORTED},
                        "ci": {m: metrics[name]["ci"].get(m) for m in REPORTED}} for name, k in zip(names, shots)},
        "best_n_shots": shots[names.index(best)],
        "report": os.path.join(root, "eval", "report.html"),
    }
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, "tune_baseline.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True, help="configs/X.py or configs/X.py:variant")
    ap.add_argument("--workdir", required=True, help="writes WORKDIR/tune_baseline/")
    ap.add_argument("--shots", default="0,1,2,3", help="shot counts to compare (default 0,1,2,3)")
    ap.add_argument("--max_examples", type=int, default=0, help="first N validation examples (0 = all)")
    ap.add_argument("--n_bootstrap", type=int, default=1000)
    ap.add_argument("--metric", default="rougeL", help="registered metric that picks the best count")
    ap.add_argument("--set", action="append", default=[], help="config override a.b=value (repeatable)")
    args = ap.parse_args(argv)
    try:
        shots = parse_shots(args.shots)
        cfg = load_config(args.config, args.set)
    except (ValueError, KeyError, AttributeError) as e:
        print(f"tune_baseline: {e}", file=sys.stderr)
        return 2
    cfg.eval.n_bootstrap = cfg.eval.n_bootstrap_per_task = args.n_bootstrap
    os.umask(0o077)
    summary = tune(cfg, args.workdir, shots, args.max_examples, args.metric)
    for name, row in summary["arms"].items():
        print(f"{name}: " + " ".join(f"{m} {row[m]}" for m in REPORTED))
    print(f"best by {summary['metric']}: --config.eval.baseline.n_shots={summary['best_n_shots']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
