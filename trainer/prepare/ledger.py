"""The prepare ledger: every input record ends as exactly one outcome, and the counts add up.

An outcome row is kept | dropped(reason) | rejected(error), keyed by the record's place in its
input file; the report sums them per input, per reason and per split and says whether
records in == kept + dropped + rejected.
"""
from __future__ import annotations

import collections
from typing import Any, Mapping, Sequence

import ml_collections

from trainer.prepare import readers

KEPT, DROPPED, REJECTED = "kept", "dropped", "rejected"

def outcome_row(item: Mapping[str, Any], outcome: str, reason: str | None = None, detail: str = "",
             **extra: Any) -> dict[str, Any]:
    row = {"source": item["source"], "line": item["line"], "order": item["order"], "id": item.get("id"),
           "outcome": outcome}
    if reason:
        row["reason" if outcome != REJECTED else "error"] = reason
    if detail:
        row["detail"] = detail
    row.update(extra)
    return row


def reject_row(rej: readers.RawReject) -> dict[str, Any]:
    row = outcome_row({"source": rej.source, "line": rej.line, "order": rej.order, "id": rej.id}, REJECTED,
                      rej.kind, rej.message, field=rej.field)
    if rej.byte_offset is not None:
        row["byte_offset"] = rej.byte_offset
    if rej.whole_file:
        row["whole_file"] = True  # nothing of the file could be read; this row stands for all of it
    return row


def unreadable_inputs(outcomes: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Inputs of which nothing could be read, in input order: [{path, error, detail}]."""
    return [{"path": o["source"], "error": o["error"], "detail": o.get("detail", "")}
            for o in sorted(outcomes, key=lambda o: o["order"]) if o.get("whole_file")]


def _counts(counter: collections.Counter) -> dict[str, int]:
    """Largest first, ties by name, so reports compare equal across runs and runners."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def _mean_components(qualities: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    sums: collections.Counter = collections.Counter()
    counts: collections.Counter = collections.Counter()
    for q in qualities:
        for k, v in q["components"].items():
            sums[k] += v
            counts[k] += 1
    return {k: round(sums[k] / counts[k], 4) for k in sorted(sums)}


def build_report(paths: Sequence[str], outcomes: Sequence[Mapping[str, Any]], scored: Sequence[Mapping[str, Any]],
                 by_split: Mapping[str, list], dedup_stats: Mapping[str, Any], cfg: ml_collections.ConfigDict,
                 salt_source: str, runtime_s: float, records_read: int) -> dict[str, Any]:
    counts = collections.Counter(o["outcome"] for o in outcomes)
    dropped = collections.Counter(o["reason"] for o in outcomes if o["outcome"] == DROPPED)
    rejected = collections.Counter(o["error"] for o in outcomes if o["outcome"] == REJECTED)
    per_input = []
    unreadable = unreadable_inputs(outcomes)
    why = {u["path"]: f"{u['error']}: {u['detail']}" for u in unreadable}
    for p in paths:
        c = collections.Counter(o["outcome"] for o in outcomes if o["source"] == p)
        per_input.append({"path": p, "records": sum(c.values()), KEPT: c[KEPT], DROPPED: c[DROPPED],
                          REJECTED: c[REJECTED], **({"unreadable": why[p]} if p in why else {})})
    identifiers: collections.Counter = collections.Counter()
    typo_pairs: collections.Counter = collections.Counter()
    stripped: collections.Counter = collections.Counter()
    for c in scored:
        identifiers.update(c["identifiers"])
        typo_pairs.update(f"{a} -> {b}" for a, b in c["typo_changes"])
        stripped.update(c["stripped"])
    for o in outcomes:
        stripped.update(o.get("stripped", ()))
    kept_scores = [o["score"] for o in outcomes if o["outcome"] == KEPT]
    kept_quality = [o["quality"] for o in outcomes if o["outcome"] == KEPT]
    splits_info = {}
    patients_by_split = {}
    for s, rows in by_split.items():
        patients_by_split[s] = {r["patient_key"] for r in rows}
        splits_info[s] = {"examples": len(rows), "patients": len(patients_by_split[s]),
                          "by_task": dict(sorted(collections.Counter(r["task"] for r in rows).items()))}
    leaks = set()
    names = list(patients_by_split)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            leaks |= patients_by_split[a] & patients_by_split[b]
    n_in = records_read  # counted as the readers yield, independent of the outcome rows
    return {
        "inputs": per_input,
        "records_in": n_in,
        KEPT: counts[KEPT],
        DROPPED: counts[DROPPED],
        REJECTED: counts[REJECTED],
        "accounting_ok": n_in == counts[KEPT] + counts[DROPPED] + counts[REJECTED] == len(outcomes)
        and len({o["order"] for o in outcomes}) == n_in,
        "unreadable_inputs": unreadable,
        "dropped_by_reason": _counts(dropped),
        "rejected_by_error": _counts(rejected),
        "identifiers_found": _counts(identifiers),
        "records_with_identifiers": sum(1 for c in scored if c["identifiers"]),
        "deidentified_records": len(scored),
        "typos_fixed": sum(typo_pairs.values()),
        "typo_fixes_top": dict(list(_counts(typo_pairs).items())[:25]),
        "normalization": _counts(stripped),
        "duplicates_removed": {"exact": dedup_stats["exact"], "near": dedup_stats["near"],
                               "near_threshold": cfg.dedup.threshold, "near_examples": dedup_stats["near_pairs"]},
        "quality": {"min_score": cfg.quality.min_score,
                    "mean_score_kept": round(sum(kept_scores) / len(kept_scores), 4) if kept_scores else None,
                    "mean_components_kept": _mean_components(kept_quality),
                    "kept_with_unsupported_details": sum(1 for q in kept_quality if q.get("unsupported"))},
        "splits": splits_info,
        "patients_in_two_splits": len(leaks),
        "patient_salt": salt_source,
        "runtime_s": round(runtime_s, 2),
    }


def format_summary(report: Mapping[str, Any]) -> str:
    r = report
    lines = ["carelora prepare summary", "========================",
             f"records in: {r['records_in']}  =  kept {r[KEPT]}  +  dropped {r[DROPPED]}  +  rejected {r[REJECTED]}"
             f"   [{'OK' if r['accounting_ok'] else 'MISMATCH'}]", ""]
    for inp in r["inputs"]:
        if "unreadable" in inp:
            lines.append(f"  {inp['path']}: NOT READ ({inp['unreadable']})")
            continue
        lines.append(f"  {inp['path']}: {inp['records']} records (kept {inp[KEPT]}, dropped {inp[DROPPED]}, "
                     f"rejected {inp[REJECTED]})")
    lines += ["", "dropped, by reason:"]
    lines += [f"  {k:<22} {v}" for k, v in r["dropped_by_reason"].items()] or ["  (none)"]
    lines += ["", "rejected, by error (details in rejects.jsonl):"]
    lines += [f"  {k:<22} {v}" for k, v in r["rejected_by_error"].items()] or ["  (none)"]
    lines += ["", f"de-identified records: {r['deidentified_records']} "
                  f"({r['records_with_identifiers']} had identifiers)", "identifiers found, by type:"]
    lines += [f"  {k:<22} {v}" for k, v in r["identifiers_found"].items()] or ["  (none)"]
    lines += ["", f"typos fixed: {r['typos_fixed']}"]
    lines += [f"  {k}  x{v}" for k, v in list(r["typo_fixes_top"].items())[:10]]
    lines += ["", "normalization (records affected):"]
    lines += [f"  {k:<22} {v}" for k, v in r["normalization"].items()] or ["  (none)"]
    d = r["duplicates_removed"]
    lines += ["", f"duplicates removed: exact {d['exact']}, near {d['near']} (Jaccard >= {d['near_threshold']})",
              f"quality: min score {r['quality']['min_score']}, mean score of kept {r['quality']['mean_score_kept']}",
              "", "splits (by patient, stratified by task):"]
    for s, info in r["splits"].items():
        lines.append(f"  {s:<6} {info['examples']:>6} examples  {info['patients']:>6} patients")
    lines.append(f"patients in two splits: {r['patients_in_two_splits']}")
    lines.append(f"patient key salt: {r['patient_salt']}")
    lines.append(f"runtime: {r['runtime_s']} s")
    return "\n".join(lines) + "\n"
