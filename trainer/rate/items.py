"""The blinded items of DIR/eval/ (what the rating sheet holds) and the PHI gate they pass first.

An item is one model's message for one example under an opaque id: `rating_sheet.csv` gives what
a rater sees (task, language, channel, facts, message), `rating_key.csv` which model wrote it and a
hash of the message, `predictions.jsonl` the facts as a dict (for the reward model's export).
"""
from __future__ import annotations

import csv
import dataclasses
import json
import os
from typing import Any, Mapping, Sequence

import ml_collections

from trainer.data import files as data_files
from trainer.deid import gate
from trainer.eval import human
from trainer.util.jsonl import RecordError, read_jsonl

SHEET = "rating_sheet.csv"
KEY = "rating_key.csv"
PREDICTIONS = "predictions.jsonl"


@dataclasses.dataclass(frozen=True)
class Item:
    item_id: str
    example_id: str
    model: str
    task: str
    language: str
    channel: str
    facts_text: str  # as on the sheet: "key: value" lines, language and channel left out
    facts: dict[str, Any]
    message: str
    message_sha256: str


def _facts_from_text(text: str) -> dict[str, str]:
    facts = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            facts[key.strip()] = value
    return facts


def load_items(eval_dir: str) -> list[Item]:
    """Items of eval_dir's rating sheet, checked against its key (errors name file, line, field)."""
    sheet_path, key_path = os.path.join(eval_dir, SHEET), os.path.join(eval_dir, KEY)
    for path in (sheet_path, key_path):
        if not os.path.exists(path):
            raise FileNotFoundError(f"{path} is missing: run --mode=eval first (it writes the rating sheet)")
    key = human.read_key(key_path)
    # The blank sheet read as a filled one: this checks every item id and message hash against
    # the key, so a sheet edited by hand or from another export is refused here.
    human.read_sheet(sheet_path, key)
    facts_by_example: dict[str, dict] = {}
    pred_path = os.path.join(eval_dir, PREDICTIONS)
    if os.path.exists(pred_path):
        for p in read_jsonl(pred_path):
            if isinstance(p, dict) and isinstance(p.get("facts"), dict):
                facts_by_example[str(p.get("id"))] = p["facts"]
    items = []
    with open(sheet_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        for col in ("item_id", "task", "language", "channel", "facts", "message"):
            if col not in (reader.fieldnames or []):
                raise RecordError(sheet_path, 1, col, "missing column")
        for row in reader:
            if not any((v or "").strip() for v in row.values()):
                continue
            k = key[row["item_id"].strip()]
            facts = facts_by_example.get(k["example_id"])
            if facts is None:
                facts = _facts_from_text(row["facts"])
                for name in ("language", "channel"):
                    if row[name]:
                        facts[name] = row[name]
            items.append(Item(row["item_id"].strip(), k["example_id"], k["model"], row["task"], row["language"],
                              row["channel"], row["facts"], dict(facts), row["message"], k["message_sha256"]))
    if not items:
        raise RecordError(sheet_path, 2, "item_id", "the rating sheet holds no items")
    return items


def declared_synthetic(config: ml_collections.ConfigDict, workdir: str) -> tuple[bool, str]:
    """(synthetic?, why): by config, or when the model saw only the shipped synthetic sample and
    the items answer the shipped held-out sample (the train stage's rule for its own gate)."""
    if config.rate.phi_gate.allow_synthetic:
        return True, "rate.phi_gate.allow_synthetic=True"
    train_file = data_files.train_files(config, workdir)[0]
    heldout = data_files.heldout_file(workdir, config.eval.file, config)
    if data_files.is_shipped_synthetic(train_file) and data_files.is_shipped_synthetic(heldout):
        return True, "trained and evaluated on the shipped synthetic sample"
    return False, ""


def known_surrogates(config: ml_collections.ConfigDict, workdir: str) -> dict[str, list[str]]:
    """Surrogates prepare inserted in the held-out examples (its manifest beside the file; {} if none)."""
    heldout = data_files.heldout_file(workdir, config.eval.file, config)
    return gate.load_known_surrogates(os.path.dirname(os.path.abspath(heldout)))


def gate_items(items: Sequence[Item], cfg: ml_collections.ConfigDict, synthetic: bool = False,
               deidentifier: Any = None,
               known_surrogates: Mapping[str, Sequence[str]] | None = None) -> tuple[list[Item], list[str], str]:
    """(items to show, ids withheld, summary). Every item the de-identifier flags in its message or
    facts is withheld, except for spans that are surrogates the prepare stage inserted in that
    example (`known_surrogates`, by example id, from its manifest: the train stage's rule). The
    summary names items by id and span type only, never by text."""
    if not cfg.enabled:
        return list(items), [], "PHI gate disabled (rate.phi_gate.enabled=False): every item is shown"
    if synthetic:
        return list(items), [], "PHI gate skipped: items declared synthetic"
    if deidentifier is None:
        from trainer.deid.engine import Deidentifier  # spaCy + Presidio: load only when scanning
        deidentifier = Deidentifier()
    examples = [{"id": it.item_id, "response": it.message, "facts": it.facts} for it in items]
    by_item = {it.item_id: list((known_surrogates or {}).get(it.example_id, ())) for it in items}
    report = gate.check_phi(examples, deidentifier, 0.0, scan_facts=cfg.scan_facts, raise_on_fail=False,
                            known_surrogates=by_item)
    withheld = [row["id"] for row in report.flagged]
    flagged = set(withheld)
    shown = [it for it in items if it.item_id not in flagged]
    lines = [f"PHI gate: {len(shown)} of {len(items)} items shown; {len(withheld)} withheld because "
             "the de-identifier found identifiers in them."]
    if report.by_type:
        lines.append("  spans by type: " + ", ".join(f"{k}={v}" for k, v in sorted(report.by_type.items())))
    lines += [f"  {row['id']}: {', '.join(row['types'])}" for row in report.flagged[:20]]
    if len(report.flagged) > 20:
        lines.append(f"  ... and {len(report.flagged) - 20} more")
    return shown, withheld, "\n".join(lines)


def facts_json(item: Item) -> str:
    return json.dumps(item.facts, ensure_ascii=False, sort_keys=True)
