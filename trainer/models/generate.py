"""Text generation with keras-hub's CausalLM around our (LoRA-wrapped) backbone.

Used to show samples after training and by evaluation; the exported SavedModel has its own
graph-only generator (trainer/export/).
"""
from __future__ import annotations

import time
from typing import Any, Sequence

import keras_hub
from absl import logging

from trainer.models.backbones import ModelBundle

_CAUSAL_LM = {
    "gpt2": (keras_hub.models.GPT2CausalLM, keras_hub.models.GPT2CausalLMPreprocessor),
    "gemma3": (keras_hub.models.Gemma3CausalLM, keras_hub.models.Gemma3CausalLMPreprocessor),
    "gemma": (keras_hub.models.GemmaCausalLM, keras_hub.models.GemmaCausalLMPreprocessor),
}


def make_causal_lm(bundle: ModelBundle, sequence_length: int = 512, sampler: Any = "greedy", xla: bool = True) -> Any:
    """A keras-hub CausalLM sharing `bundle.backbone` (so adapters apply) with our tokenizer.

    XLA is asked for explicitly: keras-hub's "auto" leaves it off on CPU, where it made warm
    generation about 4x faster (DESIGN.md §3).
    """
    lm_cls, pre_cls = _CAUSAL_LM[bundle.family]
    preprocessor = pre_cls(tokenizer=bundle.tokenizer, sequence_length=sequence_length)
    lm = lm_cls(backbone=bundle.backbone, preprocessor=preprocessor)
    lm.compile(sampler=sampler, jit_compile=xla)
    return lm


def generate_texts(
    causal_lm: Any, bundle: ModelBundle, prompts: Sequence[str], max_new_tokens: int = 96, batch_size: int = 8,
    length_bucket: int = 32,
) -> list[str]:
    """Continuations of `prompts` (prompt stripped, in the caller's order), stopping at eos / end_of_turn.

    keras-hub's generate starts decoding at the shortest prompt of a batch and feeds the longer
    prompts' remaining tokens one step at a time, and it runs until every row stops or the batch
    reaches `max_length`. So prompts are batched in order of token length (rows of a batch are
    nearly as long as each other), and `max_length` is the longest prompt rounded up to
    `length_bucket` plus `max_new_tokens`: at most `length_bucket - 1` steps past the budget, while
    a handful of compiled shapes still serve every batch.
    """
    lengths = [len(bundle.tokenizer(p)) + 1 for p in prompts]  # + bos
    order = sorted(range(len(prompts)), key=lambda i: (lengths[i], i))
    outputs: list[str | None] = [None] * len(prompts)
    limit = int(bundle.max_sequence_length or 0)
    started, done = time.perf_counter(), 0
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        chunk = [prompts[i] for i in rows]
        chunk += chunk[-1:] * (batch_size - len(rows))  # a full batch keeps one compiled shape
        longest = max(lengths[i] for i in rows)
        max_length = -(-longest // length_bucket) * length_bucket + max_new_tokens
        if limit:
            max_length = min(max_length, limit)
        result = causal_lm.generate(
            chunk, max_length=max_length, stop_token_ids=bundle.stop_token_ids, strip_prompt=True
        )
        result = [result] if isinstance(result, str) else list(result)
        for i, text in zip(rows, result):
            outputs[i] = text.strip()
        done += len(rows)
        elapsed = time.perf_counter() - started
        logging.info("generated %d/%d (%.0fs, ETA %.0fs)", done, len(prompts), elapsed,
                     elapsed / done * (len(prompts) - done))
    return [o if o is not None else "" for o in outputs]
