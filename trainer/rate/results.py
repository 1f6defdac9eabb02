"""Statistics and exports of the web ratings, through trainer.eval.human so the numbers are the report's.

Each rater's ratings become one sheet in today's CSV layout (`human.SHEET_COLUMNS`), written to
DIR/eval/human/web-<rater>.csv where `python -m trainer.eval.evaluate` and the report already read
filled sheets; DIR/rate/ratings.jsonl holds one line per rating for the reward model.
"""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import tempfile
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

import ml_collections

from trainer.eval import human
from trainer.rate.store import Store, StoreError
from trainer.util.files import write_text
from trainer.util.jsonl import write_jsonl

PREFIX = "web-"


def sheet_name(name_key: str) -> str:
    return f"{PREFIX}{name_key}"


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def sheet_csv(ratings: Sequence[Mapping[str, Any]]) -> str:
    """One rater's ratings as a filled sheet (skips left out: a blank row is not a rating)."""
    rows = sorted((r for r in ratings if not r["skipped"]), key=lambda r: r["item_id"])
    return _csv_text(human.SHEET_COLUMNS, (
        [r["item_id"], r["task"], r["language"], r["channel"], r["facts_text"], r["message"]]
        + [r["scores"].get(d, "") for d in human.DIMENSIONS] + [r["comment"]] for r in rows))


def write_sheets(ratings: Sequence[Mapping[str, Any]], out_dir: str) -> list[str]:
    """One filled sheet per rater with a rating, named web-<rater>.csv; removes the web sheets of
    raters with no rating left. Returns the paths written."""
    by_rater: dict[str, list[Mapping[str, Any]]] = {}
    for r in ratings:
        if not r["skipped"]:
            by_rater.setdefault(r["name_key"], []).append(r)
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for key, rows in sorted(by_rater.items()):
        path = os.path.join(out_dir, sheet_name(key) + ".csv")
        write_text(path, sheet_csv(rows))
        paths.append(path)
    for stale in set(glob.glob(os.path.join(out_dir, PREFIX + "*.csv"))) - set(paths):
        os.remove(stale)
    return paths


def write_key(items: Sequence[Mapping[str, Any]], path: str) -> None:
    write_text(path, _csv_text(human.KEY_COLUMNS, ([i["item_id"], i["example_id"], i["model"], i["message_sha256"]]
                                                   for i in sorted(items, key=lambda i: i["item_id"]))))


def reward_rows(ratings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One record per (rater, item) with scores: the reward model's input."""
    return [{"item_id": r["item_id"], "example_id": r["example_id"], "model": r["model"], "task": r["task"],
             "facts": json.loads(r["facts_json"]), "message": r["message"], "rater": sheet_name(r["name_key"]),
             "scores": {d: r["scores"][d] for d in human.DIMENSIONS if d in r["scores"]},
             "comment": r["comment"], "shared": bool(r["overlap"]), "rated_at": r["rated_at"]}
            for r in ratings if not r["skipped"]]


def compute(store: Store, eval_cfg: ml_collections.ConfigDict) -> dict[str, Any]:
    """Per-model means with bootstrap CIs and Krippendorff's alpha (ordinal) of the web ratings
    (human.ingest_ratings on their sheets), plus rater counts and progress."""
    ratings = store.ratings()
    raters = [r for r in store.raters() if r["role"] == "rater"]
    out: dict[str, Any] = {"raters": raters, "human": None}
    rated = [r for r in ratings if not r["skipped"]]
    per_item = Counter(r["item_id"] for r in rated)
    models = sorted({r["model"] for r in rated})
    out["raters_per_model"] = {m: len({r["rater_id"] for r in rated if r["model"] == m}) for m in models}
    out["ratings_per_model"] = {m: sum(1 for r in rated if r["model"] == m) for m in models}
    out["items_with_2_raters"] = sum(1 for n in per_item.values() if n >= 2)
    out["n_skipped"] = sum(1 for r in ratings if r["skipped"])
    if not rated:
        return out
    with tempfile.TemporaryDirectory(prefix="carelora-rate-") as tmp:
        key_path = os.path.join(tmp, "key.csv")
        items = {r["item_id"]: r for r in rated}
        write_key(list(items.values()), key_path)
        sheets = write_sheets(rated, os.path.join(tmp, "human"))
        out["human"] = human.ingest_ratings(sheets, key_path, eval_cfg.n_bootstrap, eval_cfg.seed, eval_cfg.confidence)
    return out


def check_key(ratings: Sequence[Mapping[str, Any]], key_path: str) -> None:
    """The eval/ key must know every rated item with the same message, or the report would refuse
    (or misattribute) the exported sheets."""
    if not os.path.exists(key_path):
        raise StoreError(f"{key_path} is missing: the rated items came from an eval/ that is gone")
    key = human.read_key(key_path)
    for r in ratings:
        k = key.get(r["item_id"])
        if k is None or k["message_sha256"] != r["message_sha256"]:
            raise StoreError(f"{key_path}: item {r['item_id']!r} {'is missing' if k is None else 'holds another message'}"
                             " there; eval/ was re-run after these ratings. Restore that eval/ before exporting")


def export(store: Store, workdir: str, config: ml_collections.ConfigDict | None = None,
           refresh_report: bool = True) -> dict[str, Any]:
    """Writes eval/human/web-*.csv and rate/ratings.jsonl; re-renders eval/report.* when the eval
    stage's metrics are there. `config` is the whole config or its eval section (defaults if None)."""
    ratings = store.ratings()
    eval_dir = os.path.join(workdir, "eval")
    rated = [r for r in ratings if not r["skipped"]]
    check_key(rated, os.path.join(eval_dir, "rating_key.csv"))
    sheets = write_sheets(ratings, os.path.join(eval_dir, "human"))
    jsonl = os.path.join(os.path.dirname(os.path.abspath(store.path)), "ratings.jsonl")
    n = write_jsonl(jsonl, reward_rows(ratings))
    out: dict[str, Any] = {"sheets": sheets, "jsonl": jsonl, "n_ratings": n, "report": None}
    if refresh_report and os.path.exists(os.path.join(eval_dir, "metrics.json")):
        from trainer.eval import config as eval_config
        from trainer.eval import evaluate  # matplotlib and the metric registry: only when re-rendering
        evaluate.rerender(config if config is not None else eval_config.default_config(), workdir)
        out["report"] = os.path.join(eval_dir, "report.html")
    store.audit(None, "export", None, {"sheets": len(sheets), "ratings": n})
    return out
