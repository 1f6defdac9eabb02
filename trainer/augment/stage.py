"""The augment stage: data/train.jsonl -> filtered synthetic examples with provenance.

    python -m trainer.main --config=configs/X.py --workdir=DIR --mode=prepare,augment,train

Reads the prepared training split only (val/test are read for nothing but the near-duplicate
filter), generates candidates (edge cases, LM paraphrase, LM back-translation; each switchable
and sized in config.augment), runs every candidate through the filters (trainer/augment/filters)
and writes to DIR/data/:
  augmented.jsonl        kept candidates: clean examples + source_id, method, category
  augment_ledger.jsonl   one line per candidate: kept, or rejected with a reason code
  augment_manifest.json  surrogates per augmented id (for the PHI gate of the mixed train file)
  prepare_report.json    gains the key "augment" (counts by method, category and reason; speed)
Training takes originals + augmented by config.data.augmented_weight (trainer/data/files.py).
"""
from __future__ import annotations

import collections
import json
import os
import time
from typing import Any

import ml_collections
from absl import logging

from trainer.augment import config as augment_config
from trainer.augment import filters, generators, lm, masking
from trainer.data import files
from trainer.data.records import read_clean_examples, write_jsonl
from trainer.deid import gate
from trainer.facts.config import default_config as facts_default_config
from trainer.prepare import dedup
from trainer.util import files as util_files
from trainer.util.errors import UserError

AUGMENTED = "augmented.jsonl"
LEDGER = "augment_ledger.jsonl"
MANIFEST = "augment_manifest.json"


class SplitLeak(RuntimeError):
    """An augmented example carries a patient key of val or test (must never happen)."""


def section(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    return config.augment if "augment" in config else augment_config.default_config()


def facts_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    if "eval" in config and "facts" in config.eval:
        return config.eval.facts
    return facts_default_config()


def _progress(name: str, t0: float):
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.perf_counter()
        if done == total or now - last[0] > 5:
            last[0] = now
            rate = done / max(now - t0, 1e-9)
            logging.info("augment %s: %d/%d (%.1f/s, ETA %.0fs)", name, done, total, rate, (total - done) / max(rate, 1e-9))

    return report


def check_patient_keys(records: list[dict], train_keys: set[str], heldout_keys: set[str]) -> dict[str, int]:
    """Counts of augmented records whose patient key is outside train / inside val or test."""
    outside = sum(1 for r in records if r["patient_key"] not in train_keys)
    leaked = sum(1 for r in records if r["patient_key"] in heldout_keys)
    return {"patients_outside_train": outside, "patients_in_val_or_test": leaked}


def run(config: ml_collections.ConfigDict, workdir: str, deidentifier: Any = None, encoder: Any = None) -> dict:
    """Runs the stage; returns the "augment" section written into prepare_report.json."""
    t_start = time.perf_counter()
    cfg = section(config)
    facts_cfg = facts_config(config)
    data_dir = files.prepared_dir(workdir)
    train_path = os.path.join(data_dir, "train.jsonl")
    if not os.path.exists(train_path):
        raise UserError(f"{train_path} is missing: run --mode=prepare first (augment reads the prepared train split)")
    train = read_clean_examples(train_path)
    heldout = {s: (read_clean_examples(os.path.join(data_dir, f"{s}.jsonl"))
                   if os.path.exists(os.path.join(data_dir, f"{s}.jsonl")) else []) for s in ("val", "test")}
    seed = int(cfg.seed)
    sms_max = int(cfg.filters.sms_max_chars or facts_cfg.sms_max_chars)

    timings: dict[str, float] = {}
    cands: list[generators.Candidate] = []
    edge_stats: dict[str, Any] = {}
    if cfg.edge_cases.enabled:
        t0 = time.perf_counter()
        made, edge_stats = generators.edge_cases(train, cfg.edge_cases, facts_cfg, sms_max, seed)
        cands += made
        timings[generators.EDGE] = time.perf_counter() - t0
    runner = None
    if cfg.paraphrase.enabled or cfg.backtranslation.enabled:
        runner = lm.CachedLM(config.model, cfg.lm, seed, os.path.join(workdir, "augment", "cache.jsonl"))
        for method, fn, sub in ((generators.PARAPHRASE, generators.paraphrases, cfg.paraphrase),
                                (generators.BACKTRANSLATION, generators.backtranslations, cfg.backtranslation)):
            if not sub.enabled:
                continue
            t0 = time.perf_counter()
            made = fn(train, sub, facts_cfg, runner, runner.n_tokens, runner.prompt_budget, seed)
            cands += made
            timings[method] = time.perf_counter() - t0
            logging.info("augment %s: %d candidates in %.1fs", method, len(made), timings[method])

    # Filters
    t0 = time.perf_counter()
    if deidentifier is None and cfg.filters.check_identifiers and cands:
        from trainer.deid.engine import Deidentifier

        deidentifier = Deidentifier(config.prepare.deid if "prepare" in config else None)
    if encoder is None and cands:
        from trainer.augment import similarity

        encoder = similarity.make_encoder(cfg.filters)
    dedup_cfg = config.prepare.dedup if "prepare" in config else dedup.default_config()
    existing = [(e.id, e.response) for e in train] + [(e.id, e.response) for s in heldout.values() for e in s]
    dup_index = filters.DuplicateIndex(existing, dedup_cfg, cfg.filters.dedup_threshold)
    known = gate.load_known_surrogates(data_dir)
    results = filters.run_filters(cands, cfg.filters, facts_cfg, encoder=encoder, deidentifier=deidentifier,
                                  dup_index=dup_index, known_surrogates=known,
                                  progress=_progress("filters", time.perf_counter()),
                                  source_facts={e.id: e.facts for e in train})
    timings["filters"] = time.perf_counter() - t0

    kept = [c.record() for c, reason, _ in results if not reason]
    ledger = [{"candidate_id": c.id, "source_id": c.source_id, "method": c.method, "category": c.category,
               "outcome": "rejected" if reason else "kept", "reason": reason, "detail": detail,
               "chars": len(c.response)} for c, reason, detail in results]
    train_keys = {e.patient_key for e in train}
    heldout_keys = {e.patient_key for s in heldout.values() for e in s}
    leak = check_patient_keys(kept, train_keys, heldout_keys)
    if leak["patients_in_val_or_test"] or leak["patients_outside_train"]:
        raise SplitLeak(f"augmented examples would leak across splits: {leak}")

    write_jsonl(os.path.join(data_dir, AUGMENTED), kept)
    write_jsonl(os.path.join(data_dir, LEDGER), ledger)
    # The mixed training file's PHI gate knows these as the fake values prepare (or the donor
    # records) put there: the source's surrogates, the candidate's fact values and the characters
    # that state them ("December 30" for 2026-12-30): facts are surrogates by the data contract.
    manifest = {r["id"]: sorted(set(known.get(r["source_id"], [])) |
                                {str(v) for k, v in r["facts"].items() if isinstance(v, str) and k not in ("language", "channel")} |
                                {sp.text for sp in masking.fact_spans(r["response"], r["facts"], None, facts_cfg)})
                for r in kept}
    util_files.write_json(os.path.join(data_dir, MANIFEST), {"surrogates": manifest}, indent=1, sort_keys=True)

    total_s = time.perf_counter() - t_start
    reasons = collections.Counter(r["reason"] for r in ledger if r["reason"])
    by_method: dict[str, dict[str, Any]] = {}
    for method in sorted({r["method"] for r in ledger}):
        rows = [r for r in ledger if r["method"] == method]
        by_method[method] = {"candidates": len(rows), "kept": sum(r["outcome"] == "kept" for r in rows),
                             "rejected_by_reason": dict(collections.Counter(r["reason"] for r in rows if r["reason"])),
                             "generation_s": round(timings.get(method, 0.0), 2)}
    by_category = {}
    for cat in sorted({r["category"] for r in ledger}):
        rows = [r for r in ledger if r["category"] == cat]
        by_category[cat] = {"candidates": len(rows), "kept": sum(r["outcome"] == "kept" for r in rows)}
    for cat, st in edge_stats.items():
        by_category.setdefault(cat, {"candidates": 0, "kept": 0})
        if not st["candidates"]:
            by_category[cat]["note"] = "no training message fits this category"
    report = {
        "source": "train.jsonl",
        "train_examples": len(train),
        "candidates": len(ledger),
        "kept": len(kept),
        "rejected": len(ledger) - len(kept),
        "accounting_ok": len(ledger) == len(cands) == len(kept) + sum(reasons.values()),
        "rejected_by_reason": dict(sorted(reasons.items())),
        "by_method": by_method,
        "by_category": by_category,
        **leak,
        "similarity_encoder": getattr(encoder, "name", None),
        "lm": None if runner is None else {"source": config.model.source, "cache_hits": runner.hits,
                                           "generated": runner.generated, "generate_s": round(runner.generate_s, 2),
                                           "sampler": cfg.lm.sampler, "seed": seed},
        "filter_s": round(timings.get("filters", 0.0), 2),
        "runtime_s": round(total_s, 2),
        "candidates_per_s": round(len(ledger) / total_s, 3) if total_s else None,
        "generated_per_s": (round(runner.generated / runner.generate_s, 3) if runner and runner.generate_s else None),
    }
    report_path = os.path.join(data_dir, "prepare_report.json")
    prep = {}
    if os.path.exists(report_path):
        with open(report_path, encoding="utf-8") as f:
            prep = json.load(f)
    prep["augment"] = report
    util_files.write_json(report_path, prep, indent=2)
    logging.info("augment: %d candidates -> kept %d, rejected %s (%.1fs, %.2f candidates/s)", len(ledger), len(kept),
                 dict(reasons), total_s, report["candidates_per_s"] or 0)
    return report
