"""Blinded human ratings: export a rating sheet, ingest filled sheets, agreement by Krippendorff's alpha.

Raters see each message with its task and facts under an opaque item id, in a seeded random
order; which model wrote it lives only in a separate key file. Each rater returns one CSV; every
rating is an integer 1-5 (blank = not rated). The key also stores a hash of every message, so a
sheet from an older export cannot be credited to newer outputs.
"""
from __future__ import annotations

import csv
import hashlib
import os
import random
from typing import Any, Mapping, Sequence

import numpy as np

from trainer.util.jsonl import RecordError
from trainer.eval.metrics import bootstrap_counts, confidence_interval

DIMENSIONS = ("relevance", "accuracy", "empathy", "personalization")
SHEET_COLUMNS = ("item_id", "task", "language", "channel", "facts", "message") + DIMENSIONS + ("comment",)
KEY_COLUMNS = ("item_id", "example_id", "model", "message_sha256")

INSTRUCTIONS = """Rating instructions (one score per column, integers 1-5; leave blank to skip):
- relevance: does the message do what the task asks? 1 = off task, 5 = exactly on task.
- accuracy: are the facts stated correctly and nothing invented? 1 = wrong or invented facts, 5 = all correct.
- empathy: is the tone warm and respectful? 1 = cold or inappropriate, 5 = warm and caring.
- personalization: does it speak to this patient (name, their visit, their details)? 1 = generic, 5 = personal.
Judge each message against its facts only. Do not change the item_id, facts or message columns.
"""


def _digest(message: str) -> str:
    # Whitespace-insensitive: spreadsheet programs rewrite line endings.
    return hashlib.sha256(" ".join(message.split()).encode("utf-8")).hexdigest()


def _facts_text(facts: Mapping[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in sorted(facts.items()) if k not in ("language", "channel"))


def export_rating_sheet(examples: Sequence[Mapping[str, Any]], outputs: Mapping[str, Sequence[str]],
                        sheet_path: str, key_path: str, seed: int = 0, n_examples: int | None = None) -> int:
    """Writes the blank sheet, the key and instructions; returns the number of items."""
    rng = random.Random(seed)
    chosen = list(range(len(examples)))
    if n_examples is not None and 0 < n_examples < len(chosen):
        chosen = sorted(rng.sample(chosen, n_examples))
    items = []
    used: set[str] = set()
    for i in chosen:
        ex = examples[i]
        for model in sorted(outputs):
            item_id = f"item-{rng.getrandbits(40):010x}"
            while item_id in used:
                item_id = f"item-{rng.getrandbits(40):010x}"
            used.add(item_id)
            items.append((item_id, ex, model, outputs[model][i]))
    rng.shuffle(items)
    for path in (sheet_path, key_path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(sheet_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(SHEET_COLUMNS)
        for item_id, ex, _, message in items:
            facts = ex.get("facts", {})
            w.writerow([item_id, ex["task"], facts.get("language", ""), facts.get("channel", ""),
                        _facts_text(facts), message] + [""] * (len(DIMENSIONS) + 1))
    with open(key_path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(KEY_COLUMNS)
        for item_id, ex, model, message in sorted(items, key=lambda t: t[0]):
            w.writerow([item_id, ex["id"], model, _digest(message)])
    with open(os.path.join(os.path.dirname(os.path.abspath(sheet_path)), "rating_instructions.txt"), "w",
              encoding="utf-8") as f:
        f.write(INSTRUCTIONS)
    return len(items)


def _rows(path: str):
    """Yields (first line of the row, header-keyed dict); tolerates a BOM and ';' or tab delimiters."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = f.readline()
        f.seek(0)
        if first.startswith("\ufeff"):
            f.read(1)
        try:
            dialect = csv.Sniffer().sniff(first, delimiters=",;\t")
            delimiter = dialect.delimiter
        except csv.Error:
            delimiter = ","
        reader = csv.reader(f, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise RecordError(path, 1, "<header>", "empty file")
        header = [h.strip().lower() for h in header]
        prev = reader.line_num
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                raise RecordError(path, start, "<row>", f"{len(row)} cells for {len(header)} columns")
            yield header, start, dict(zip(header, row))


def read_key(key_path: str) -> dict[str, dict[str, str]]:
    key: dict[str, dict[str, str]] = {}
    for header, line, row in _rows(key_path):
        for col in KEY_COLUMNS:
            if col not in header:
                raise RecordError(key_path, 1, col, "missing column")
        key[row["item_id"].strip()] = {c: row[c].strip() for c in KEY_COLUMNS}
    return key


def parse_rating(text: str, path: str, line: int, field: str) -> int | None:
    """'4' -> 4, '' -> None; anything else off the 1-5 integer scale raises RecordError."""
    s = text.strip()
    if not s:
        return None
    try:
        value = float(s.replace(",", "."))
    except ValueError:
        raise RecordError(path, line, field, f"rating {s!r} is not a number (use 1-5, blank to skip)") from None
    if not value.is_integer():
        raise RecordError(path, line, field, f"rating {s!r} is not a whole number (use 1-5)")
    if not 1 <= value <= 5:
        raise RecordError(path, line, field, f"rating {s!r} is outside 1-5")
    return int(value)


def read_sheet(path: str, key: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, int]]:
    """{item_id: {dimension: rating}} of one filled sheet, checked against the key."""
    ratings: dict[str, dict[str, int]] = {}
    seen: dict[str, int] = {}
    for header, line, row in _rows(path):
        for col in ("item_id", "message") + DIMENSIONS:
            if col not in header:
                raise RecordError(path, 1, col, "missing column")
        item_id = row["item_id"].strip()
        if item_id not in key:
            raise RecordError(path, line, "item_id", f"unknown item {item_id!r} (not in the key file)")
        if item_id in seen:
            raise RecordError(path, line, "item_id", f"item {item_id!r} rated twice (first on line {seen[item_id]})")
        seen[item_id] = line
        if _digest(row["message"]) != key[item_id]["message_sha256"]:
            raise RecordError(path, line, "message", "message text differs from the exported one "
                                                     "(sheet from another export, or edited)")
        values = {d: parse_rating(row.get(d, ""), path, line, d) for d in DIMENSIONS}
        rated = {d: v for d, v in values.items() if v is not None}
        if rated:
            ratings[item_id] = rated
    return ratings


# --------------------------------------------------------------------------------------------
# Agreement

def krippendorff_alpha(data: Sequence[Sequence[float | None]], level: str = "ordinal") -> float | None:
    """Krippendorff's alpha of a raters x units matrix (None/NaN = missing).

    level: nominal, ordinal, interval or ratio. Built on the coincidence matrix (Krippendorff
    2011, "Computing Krippendorff's Alpha-Reliability"); None when no pairable values or no
    variation (alpha undefined).
    """
    arr = np.array([[np.nan if v is None else float(v) for v in row] for row in data], dtype=float)
    present = ~np.isnan(arr)
    values = np.unique(arr[present])
    if values.size == 0:
        return None
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((values.size, values.size))
    for u in range(arr.shape[1]):
        col = arr[present[:, u], u]
        m = col.size
        if m < 2:
            continue
        n_u = np.zeros(values.size)
        for v in col:
            n_u[index[v]] += 1
        o += (np.outer(n_u, n_u) - np.diag(n_u)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    if n <= 1:
        return None
    c, k = np.meshgrid(values, values, indexing="ij")
    if level == "nominal":
        delta = (c != k).astype(float)
    elif level == "interval":
        delta = (c - k) ** 2
    elif level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = np.nan_to_num(((c - k) / (c + k)) ** 2)
    elif level == "ordinal":
        cum = np.cumsum(n_c)
        delta = np.zeros_like(o)
        for i in range(values.size):
            for j in range(values.size):
                lo, hi = min(i, j), max(i, j)
                between = cum[hi] - (cum[lo - 1] if lo > 0 else 0.0)
                delta[i, j] = (between - (n_c[i] + n_c[j]) / 2.0) ** 2
    else:
        raise ValueError(f"unknown level {level!r}")
    expected = (np.outer(n_c, n_c) * delta).sum()
    if expected == 0:
        return None
    return float(1.0 - (n - 1) * (o * delta).sum() / expected)


# --------------------------------------------------------------------------------------------
# Aggregation

def ingest_ratings(sheet_paths: Sequence[str], key_path: str, n_bootstrap: int = 1000, seed: int = 0,
                   confidence: float = 0.95) -> dict[str, Any]:
    """Per-model mean scores with bootstrap CIs (over items) and per-dimension Krippendorff's alpha."""
    key = read_key(key_path)
    sheets = {os.path.splitext(os.path.basename(p))[0]: read_sheet(p, key) for p in sorted(sheet_paths)}
    raters = sorted(sheets)
    items = sorted({i for r in sheets.values() for i in r})
    models = sorted({key[i]["model"] for i in items})
    out: dict[str, Any] = {"raters": raters, "n_items": len(items), "dimensions": list(DIMENSIONS),
                           "n_ratings": sum(len(v) for r in sheets.values() for v in r.values()),
                           "models": {}, "alpha": {}}
    for d in DIMENSIONS:
        matrix = [[sheets[r].get(i, {}).get(d) for i in items] for r in raters]
        out["alpha"][d] = krippendorff_alpha(matrix, "ordinal") if len(raters) > 1 else None
    for model in models:
        out["models"][model] = {}
        model_items = [i for i in items if key[i]["model"] == model]
        for d in DIMENSIONS:
            means = [np.mean(v) for i in model_items
                     if (v := [sheets[r][i][d] for r in raters if d in sheets[r].get(i, {})])]
            entry: dict[str, Any] = {"mean": float(np.mean(means)) if means else None, "n_items": len(means),
                                     "ci": None}
            if len(means) > 1 and n_bootstrap > 0:
                counts = bootstrap_counts(len(means), n_bootstrap, seed)
                entry["ci"] = confidence_interval(counts @ np.array(means) / len(means), confidence)
            out["models"][model][d] = entry
    return out
