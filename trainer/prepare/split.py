"""Patient-level train/val/test split, stratified by task, seeded.

Splitting by message would put one patient's near-identical reminders on both sides and make the
test set easier than real use; so whole patients are assigned. A patient's stratum is their most
common task; within each stratum patients are shuffled with a seeded RNG and dealt out so each
split's share of *records* follows the configured ratios.
"""
from __future__ import annotations

import collections
import hashlib
import hmac
import os
import random
from typing import Iterable, Mapping

import ml_collections

SPLITS = ("train", "val", "test")
DEV_SALT = "carelora-dev-salt"  # only for synthetic data; the report flags its use


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.ratios = ml_collections.ConfigDict({"train": 0.8, "val": 0.1, "test": 0.1})
    c.seed = 0
    # Secret salt for patient keys; empty -> $CARELORA_PATIENT_SALT -> DEV_SALT (flagged in the report).
    c.salt = ""
    return c


def resolve_salt(cfg: ml_collections.ConfigDict) -> tuple[str, str]:
    """(salt, where it came from)."""
    if cfg.salt:
        return cfg.salt, "config"
    env = os.environ.get("CARELORA_PATIENT_SALT", "")
    if env:
        return env, "env:CARELORA_PATIENT_SALT"
    return DEV_SALT, "default (development only)"


def patient_key(patient_id: str, salt: str) -> str:
    """Salted hash of a patient id; ids differing only in case or surrounding space match."""
    norm = " ".join(str(patient_id).split()).casefold()
    return hmac.new(salt.encode("utf-8"), norm.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def assign_splits(records: Iterable[tuple[str, str]], ratios: Mapping[str, float], seed: int) -> dict[str, str]:
    """records: (patient_key, task) per example -> {patient_key: split}. Deterministic for a seed."""
    names = [s for s in ratios if ratios[s] > 0]
    total_ratio = sum(ratios[s] for s in names)
    if not names or total_ratio <= 0:
        raise ValueError(f"split ratios must have a positive entry, got {dict(ratios)}")
    share = {s: ratios[s] / total_ratio for s in names}

    tasks_by_patient: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for key, task in records:
        tasks_by_patient[key][task] += 1
    strata: dict[str, list[str]] = collections.defaultdict(list)
    for key, tasks in tasks_by_patient.items():
        top = max(tasks.items(), key=lambda kv: (kv[1], kv[0]))[0] if len(tasks) > 1 else next(iter(tasks))
        strata[top].append(key)

    assignment: dict[str, str] = {}
    for stratum in sorted(strata):
        patients = sorted(strata[stratum])
        random.Random(f"{seed}:{stratum}").shuffle(patients)
        stratum_total = sum(sum(tasks_by_patient[p].values()) for p in patients)
        done = 0
        for p in patients:
            n = sum(tasks_by_patient[p].values())
            # Place the patient by the midpoint of its records on the cumulative [0, 1) line.
            mid = (done + n / 2) / stratum_total
            acc = 0.0
            for s in names:
                acc += share[s]
                if mid < acc or s == names[-1]:
                    assignment[p] = s
                    break
            done += n
    _fill_empty_splits(assignment, tasks_by_patient, names, seed)
    return assignment


def _fill_empty_splits(assignment: dict[str, str], tasks_by_patient, names: list[str], seed: int) -> None:
    """With few patients a wanted split can come out empty; move one patient from the largest."""
    for s in names:
        if not assignment or s in assignment.values():
            continue
        counts = collections.Counter(assignment.values())
        donor = max(counts, key=lambda k: (counts[k], k))
        if counts[donor] < 2:
            continue
        candidates = sorted(p for p, v in assignment.items() if v == donor)
        smallest = min(candidates, key=lambda p: (sum(tasks_by_patient[p].values()),
                                                  hashlib.sha1(f"{seed}:{p}".encode()).hexdigest()))
        assignment[smallest] = s
