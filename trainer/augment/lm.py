"""The base LM (config.model, no adapter) as a batched, cached text generator for augmentation.

Outputs are cached in `<workdir>/augment/cache.jsonl` under a key of (source, method, seed) and
everything else that decides the output (model source, sampler, token budget, the prompt itself),
so rerunning the stage generates nothing it already generated. The model loads only when some
prompt is not in the cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any, Callable, Sequence

import ml_collections
from absl import logging

from trainer.util import jsonl


class CachedLM:
    def __init__(self, model_cfg: ml_collections.ConfigDict, lm_cfg: ml_collections.ConfigDict, seed: int,
                 cache_path: str | None):
        self.model_cfg, self.cfg, self.seed = model_cfg, lm_cfg, int(seed)
        self.cache_path = cache_path if lm_cfg.cache else None
        self.cache: dict[str, str] = {}
        if self.cache_path and os.path.exists(self.cache_path):
            with open(self.cache_path, encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a half-written last line of a killed run
                    self.cache[row["key"]] = row["output"]
        self._bundle = self._lm = None
        self.hits = self.generated = 0
        self.generate_s = 0.0

    # -- model, loaded on first miss --------------------------------------------------------
    def _load(self) -> None:
        if self._bundle is not None:
            return
        from trainer.models import backbones, precision

        prec = precision.resolve(self.cfg.dtype)
        logging.info("augment: loading %s (%s) for paraphrase/back-translation", self.model_cfg.source, prec.dtype)
        self._bundle = backbones.build_backbone(self.model_cfg, prec.dtype)

    @property
    def bundle(self) -> Any:
        self._load()
        return self._bundle

    def prompt_budget(self) -> int:
        """Prompt tokens that leave room for max_new_tokens within the model's context."""
        limit = self.bundle.max_sequence_length or 1 << 30
        return max(32, min(int(self.cfg.max_prompt_tokens), int(limit) - int(self.cfg.max_new_tokens) - 32))

    def n_tokens(self, text: str) -> int:
        return len(self.bundle.tokenizer(text)) + 1

    def _sampler(self) -> Any:
        import keras_hub

        name = str(self.cfg.sampler)
        if name == "greedy":
            return "greedy"
        if name == "top_k":
            return keras_hub.samplers.TopKSampler(k=int(self.cfg.top_k), seed=self.seed)
        if name == "top_p":
            return keras_hub.samplers.TopPSampler(p=0.9, seed=self.seed)
        raise ValueError(f"augment.lm.sampler must be greedy, top_k or top_p, got {name!r}")

    def key(self, key: str) -> str:
        """The cache key: the request's (source|method|seed|inputs digest) and the generation settings."""
        c = self.cfg
        parts = [self.model_cfg.source, key, self.seed, c.sampler, c.top_k, c.max_new_tokens, c.max_prompt_tokens]
        return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode("utf-8")).hexdigest()

    def __call__(self, requests: Sequence[tuple[str, Callable[[], str]]]) -> list[str]:
        """[(source|method|seed|digest key, prompt maker)] -> continuations, from the cache where
        present; a prompt is built (and the model loaded) only for a miss."""
        keys = [self.key(k) for k, _ in requests]
        todo: list[int] = []
        for i, k in enumerate(keys):
            if k not in self.cache and all(keys[j] != k for j in todo):
                todo.append(i)
        self.hits += len(requests) - len(todo)
        if todo:
            from trainer.models import generate

            t0 = time.perf_counter()
            bundle = self.bundle
            if self._lm is None:
                seq_len = self.prompt_budget() + int(self.cfg.max_new_tokens) + 32
                if bundle.max_sequence_length:
                    seq_len = min(seq_len, int(bundle.max_sequence_length))
                self._lm = generate.make_causal_lm(bundle, seq_len, sampler=self._sampler(), xla=bool(self.cfg.xla))
            outs = generate.generate_texts(self._lm, bundle, [requests[i][1]() for i in todo], int(self.cfg.max_new_tokens),
                                           int(self.cfg.batch_size))
            self.generate_s += time.perf_counter() - t0
            self.generated += len(todo)
            rows = []
            for i, out in zip(todo, outs):
                self.cache[keys[i]] = out
                rows.append({"key": keys[i], "request": requests[i][0], "output": out})
            if self.cache_path:
                os.makedirs(os.path.dirname(self.cache_path), exist_ok=True)
                jsonl.append_jsonl(self.cache_path, rows)
        return [self.cache[k] for k in keys]
