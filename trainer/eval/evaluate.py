"""The eval stage: generate with each model, score, compare, write predictions, metrics and report.

    run_eval(config, workdir, examples, {"finetuned": gen_a, "baseline": gen_b})

writes workdir/eval/{predictions.jsonl, metrics.json, report.html, report.md, *.png}, a blinded
rating sheet (rating_sheet.csv + rating_key.csv) and, when raters' filled sheets are in
workdir/eval/human/, their scores. Re-render after ratings arrive (no model needed):

    python -m trainer.eval.evaluate --workdir=DIR
"""
from __future__ import annotations

import argparse
import functools
import glob
import json
import os
from collections import Counter
from typing import Any, Callable, Mapping, Sequence

import ml_collections

from trainer import facts as facts_lib
from trainer.eval.config import default_config
from trainer.data import corpus as corpus_lib
from trainer.data.records import read_clean_examples
from trainer.eval import baseline as baseline_lib
from trainer.eval import human as human_lib
from trainer.eval import metrics as metrics_lib
from trainer.eval import registry
from trainer.eval import report as report_lib
from trainer.util.files import atomic_open
from trainer.util.jsonl import read_jsonl, write_jsonl

Generator = Callable[[list[dict]], list[str]]


def _section(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """Accepts the whole config (with .eval) or the eval section itself."""
    if "eval" in config and "n_bootstrap" in config.eval:
        return config.eval
    return config


def load_examples(path: str) -> list[dict]:
    """Clean-example JSONL (response or reference) -> eval dicts; errors name file, line, field."""
    return [{"id": e.id, "task": e.task, "facts": dict(e.facts), "reference": e.response}
            for e in read_clean_examples(path)]


def _check_examples(examples: Sequence[Mapping[str, Any]]) -> list[dict]:
    checked, seen = [], {}
    for i, ex in enumerate(examples):
        where = f"examples[{i}] (id {ex.get('id', '?')!r})" if isinstance(ex, Mapping) else f"examples[{i}]"
        if not isinstance(ex, Mapping):
            raise ValueError(f"{where}: expected a dict, got {type(ex).__name__}")
        ref = ex.get("reference", ex.get("response"))
        for field, value, kind in (("id", ex.get("id"), str), ("task", ex.get("task"), str),
                                   ("facts", ex.get("facts", {}), dict), ("reference", ref, str)):
            if not isinstance(value, kind):
                raise ValueError(f"{where}: field '{field}': expected {kind.__name__}, got {type(value).__name__}")
        if ex["id"] in seen:
            raise ValueError(f"{where}: field 'id': duplicate of examples[{seen[ex['id']]}]")
        seen[ex["id"]] = i
        checked.append({"id": ex["id"], "task": ex["task"], "facts": dict(ex.get("facts", {})), "reference": ref})
    if not checked:
        raise ValueError("no examples to evaluate")
    return checked


def _generate(name: str, gen: Generator, examples: list[dict]) -> list[str]:
    outputs = list(gen([dict(e, facts=dict(e["facts"])) for e in examples]))
    if len(outputs) != len(examples):
        raise ValueError(f"generator {name!r} returned {len(outputs)} outputs for {len(examples)} examples")
    for i, o in enumerate(outputs):
        if not isinstance(o, str):
            raise ValueError(f"generator {name!r}: output {i} (id {examples[i]['id']!r}) is "
                             f"{type(o).__name__}, not str")
    return [o.strip() for o in outputs]


def _recall_by_fact(scores: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | int]]:
    stated, total = Counter(), Counter()
    for s in scores:
        stated.update(s["facts_stated"])
        total.update(s["facts_stated"] + s["facts_missing"])
    return {k: {"recall": stated[k] / total[k], "n": total[k]} for k in sorted(total)}


@functools.lru_cache(maxsize=4)
def _dictionary(path: str) -> tuple[dict[str, Any], ml_collections.ConfigDict]:
    """The fact dictionary of the role check and the checker settings that read kinds from it."""
    dictionary = corpus_lib.load_dictionary(path or None)
    return dictionary, facts_lib.dictionary_config(dictionary)


def role_fields(output: str, example: Mapping[str, Any], score: Mapping[str, Any],
                dictionary: Mapping[str, Any], cfg: ml_collections.ConfigDict) -> dict[str, Any]:
    """Key facts stated in their role (trainer.facts.roles) when the dictionary documents every key
    of the example (corpus examples); else the key-fact check's stated facts (generated examples,
    whose keys the dictionary does not document, have no roles to check)."""
    facts = example["facts"]
    if facts_lib.documented(facts, dictionary):
        check = facts_lib.check_roles(output, example["task"], facts, dictionary, cfg)
        return {"role_check": "dictionary", "role_key_facts": check.key_facts, "key_facts_in_role": len(check.in_role),
                "facts_wrong_role": check.wrong_role}
    return {"role_check": "key_facts", "role_key_facts": score["key_facts"],
            "key_facts_in_role": len(score["facts_stated"]), "facts_wrong_role": []}


def score_model(cfg: ml_collections.ConfigDict, examples: list[dict], outputs: list[str],
                counts) -> tuple[dict[str, Any], dict[str, metrics_lib.Stat], list[dict], dict[str, str]]:
    """Every registered metric with its CI, the per-task breakdown and the fact details of one model.

    Also returns the metrics' Stats (for the paired test), the per-example scores and the text
    metrics' signatures.
    """
    scores = [facts_lib.score_output(o, e["task"], e["facts"], cfg.facts) for o, e in zip(outputs, examples)]
    dictionary, role_cfg = _dictionary(str(cfg.get("fact_dictionary", "") or ""))
    for o, e, s in zip(outputs, examples, scores):
        s.update(role_fields(o, e, s, dictionary, role_cfg))
    batch = registry.Batch(outputs, examples, scores, cfg.bleu_tokenize, cfg.chrf_word_order)
    metrics = registry.all_metrics()
    # Per-example values first, so an example metric may read another metric's value.
    for metric in metrics:
        if metric.per_example is not None:
            for s, v in zip(scores, metric.per_example(batch)):
                s[metric.name] = v
    stats = {metric.name: metric.stat(batch) for metric in metrics}
    values, cis = metrics_lib.summarize(stats, counts, cfg.confidence)
    result: dict[str, Any] = dict(values)
    result["ci"] = cis
    result["per_task"] = metrics_lib.per_group(stats, [e["task"] for e in examples], cfg.n_bootstrap_per_task,
                                               cfg.seed, cfg.confidence)
    # Spanish is a quarter of the corpus: a model that writes it badly hides in the overall mean.
    languages = [str(e["facts"].get("language") or "en") for e in examples]
    result["per_language"] = metrics_lib.per_group(stats, languages, cfg.n_bootstrap_per_task, cfg.seed,
                                                   cfg.confidence)
    result["recall_by_fact"] = _recall_by_fact(scores)
    kinds = Counter(h["kind"] for s in scores for h in s["hallucinations"])
    result["hallucinations_by_kind"] = {k: kinds.get(k, 0) for k in facts_lib.HALLUCINATION_KINDS}
    result["n_hallucinations"] = sum(kinds.values())
    return result, stats, scores, batch.signatures()


def _human_section(cfg: ml_collections.ConfigDict, out_dir: str) -> dict[str, Any] | None:
    sheets = sorted(glob.glob(os.path.join(out_dir, "human", "*.csv")))
    key_path = os.path.join(out_dir, "rating_key.csv")
    if not sheets or not os.path.exists(key_path):
        return None
    return human_lib.ingest_ratings(sheets, key_path, cfg.n_bootstrap, cfg.seed, cfg.confidence)


def run_eval(config: ml_collections.ConfigDict, workdir: str, examples: Sequence[Mapping[str, Any]],
             generators: Mapping[str, Generator], baseline: Mapping[str, Any] | None = None) -> dict:
    """Runs every generator on `examples` and writes workdir/eval/*; returns the metrics dict.

    `baseline` (trainer.eval.baseline.describe) says which prompt and how many shots the
    prompted baseline used: metrics.json keeps it as baseline_prompt and the report shows it
    among the signatures.
    """
    cfg = _section(config)
    if not generators:
        raise ValueError("no generators to evaluate")
    out_dir = os.path.join(workdir, "eval")
    os.makedirs(os.path.join(out_dir, "human"), exist_ok=True)
    examples = _check_examples(examples)
    outputs = {name: _generate(name, gen, examples) for name, gen in generators.items()}
    counts = metrics_lib.bootstrap_counts(len(examples), cfg.n_bootstrap, cfg.seed) if cfg.n_bootstrap > 0 else None

    metrics: dict[str, Any] = {"n": len(examples), "models": list(outputs)}
    all_stats, all_scores, signatures = {}, {}, {}
    for name, outs in outputs.items():
        metrics[name], all_stats[name], all_scores[name], signatures = score_model(cfg, examples, outs, counts)
    a, b = tuple(cfg.compare)
    if a in outputs and b in outputs and counts is not None:
        metrics["comparison"] = {"models": [a, b], "metrics": {
            m: metrics_lib.paired_bootstrap(all_stats[a][m], all_stats[b][m], counts) for m in registry.names()}}
    signatures["bootstrap"] = (f"resamples:{cfg.n_bootstrap}|seed:{cfg.seed}|ci:{cfg.confidence}|"
                               "percentile|paired:sacrebleu-bs")
    if baseline:
        metrics["baseline_prompt"] = dict(baseline)
        signatures["baseline_prompt"] = baseline_lib.signature(baseline)
    metrics["signatures"] = signatures

    predictions = [{"id": e["id"], "task": e["task"], "facts": e["facts"], "reference": e["reference"],
                    "outputs": {m: outputs[m][i] for m in outputs},
                    "scores": {m: all_scores[m][i] for m in outputs}} for i, e in enumerate(examples)]
    write_jsonl(os.path.join(out_dir, "predictions.jsonl"), report_lib.round_floats(predictions))

    if cfg.human.export:
        key_path = os.path.join(out_dir, "rating_key.csv")
        rated = glob.glob(os.path.join(out_dir, "human", "*.csv"))
        # Never orphan filled sheets: their key stays until they are moved away.
        if not (rated and os.path.exists(key_path)):
            human_lib.export_rating_sheet(examples, outputs, os.path.join(out_dir, "rating_sheet.csv"), key_path,
                                          cfg.human.seed, cfg.human.n_examples or None)
    human = _human_section(cfg, out_dir)
    if human:
        metrics["human"] = human
    metrics = report_lib.round_floats(metrics)
    _write_json(os.path.join(out_dir, "metrics.json"), metrics)
    report_lib.write_report(metrics, report_lib.round_floats(predictions), out_dir, cfg.report_examples)
    return metrics


def _write_json(path: str, obj: Any) -> None:
    # Not util.files.write_json: metrics.json is indented and ends with a newline, for diffs.
    with atomic_open(path) as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")


def rerender(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Re-reads metrics.json + predictions.jsonl, refreshes human ratings, rewrites the report."""
    cfg = _section(config)
    out_dir = os.path.join(workdir, "eval")
    with open(os.path.join(out_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    predictions = read_jsonl(os.path.join(out_dir, "predictions.jsonl"))
    human = _human_section(cfg, out_dir)
    metrics.pop("human", None)
    if human:
        metrics["human"] = human
    metrics = report_lib.round_floats(metrics)
    _write_json(os.path.join(out_dir, "metrics.json"), metrics)
    report_lib.write_report(metrics, predictions, out_dir, cfg.report_examples)
    return metrics


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Re-render workdir/eval/report.* (e.g. after human ratings).")
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    metrics = rerender(default_config(), args.workdir)
    print(os.path.join(args.workdir, "eval", "report.html"), "human ratings:" , "yes" if "human" in metrics else "no")


if __name__ == "__main__":
    main()
