"""Text generation around our (LoRA-wrapped) backbone, for samples, evaluation and augmentation.

`make_causal_lm` builds keras-hub's CausalLM on the shared backbone (so adapters apply; the RL
policy uses its `call_with_cache`). Greedy generation runs on our own graph-mode KV-cache loop
(kv_decode.Decoder, the loop the exported SavedModel uses) instead of keras-hub's `generate`:

- one compiled shape per make_causal_lm: the cache is `sequence_length` long for every batch
  and the prompt is prefilled in chunks, so eval's batches of different prompt lengths do not
  each compile a new XLA program (a compile of the 270M decode loop costs ~45-90 s on 2 cores);
- the loop stops when every row has stopped or used its budget, never running on to the bucket;
- logits are one matmul against the tied embedding with transpose_b: keras-hub's reverse
  embedding transposes the 262k x 640 table (670 MB in float32) on every step without XLA;
- XLA is chosen per dtype ("auto"): on for float32, off for bfloat16 on a CPU, where TF's oneDNN
  kernels use AVX512-BF16/AMX and XLA's CPU dots do not (trainer/train/sft.py decides the same).

Other samplers (top-k / top-p, augmentation) still go through keras-hub's generate, unchanged.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Any, Sequence

import keras_hub
import numpy as np
import tensorflow as tf
from absl import logging

from trainer.models import kv_decode
from trainer.models.backbones import ModelBundle

_CAUSAL_LM = {
    "gpt2": (keras_hub.models.GPT2CausalLM, keras_hub.models.GPT2CausalLMPreprocessor),
    "gemma3": (keras_hub.models.Gemma3CausalLM, keras_hub.models.Gemma3CausalLMPreprocessor),
    "gemma": (keras_hub.models.GemmaCausalLM, keras_hub.models.GemmaCausalLMPreprocessor),
}
# Attribute of the keras-hub CausalLM that holds its KV-cache generator (greedy only).
_KV_ATTR = "_carelora_kv_generator"
# Prompts are prefilled this many tokens at a time; a batch's prompt width is a multiple of it.
PREFILL_CHUNK = 32
# Width step for prompts longer than the cache made room for (few-shot prompts): few shapes.
_WIDE_BUCKET = 128


def xla_for(setting: bool | str, compute_dtype: str) -> bool:
    """Whether to compile generation with XLA: `auto` = off for bfloat16 on a CPU, else on."""
    if isinstance(setting, bool):
        return setting
    value = str(setting).lower()
    if value == "auto":
        accelerator = bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))
        return accelerator or "bfloat16" not in str(compute_dtype)
    if value in ("on", "true", "1"):
        return True
    if value in ("off", "false", "0"):
        return False
    raise ValueError(f"generation xla must be auto, on or off (or a bool), got {setting!r}")


def _is_greedy(sampler: Any) -> bool:
    if isinstance(sampler, str):
        return sampler == "greedy"
    return type(sampler) is keras_hub.samplers.GreedySampler


@dataclasses.dataclass
class KVGenerator:
    """Greedy generation with kv_decode.Decoder; one tf.function per new-token cap."""

    lm: Any
    stop_token_ids: tuple[int, ...]
    pad_token_id: int
    sequence_length: int
    xla: bool
    _fns: dict = dataclasses.field(default_factory=dict)

    def function(self, cap: int) -> Any:
        if cap not in self._fns:
            decoder = kv_decode.Decoder(self.lm, self.stop_token_ids, self.pad_token_id, cap, 1,
                                        prefill_chunk=PREFILL_CHUNK)
            params = kv_decode.SamplingParams(tf.constant(cap), tf.constant(0.0), tf.constant(0), tf.constant(1.0),
                                              tf.constant(0, tf.int64))

            def run(token_ids, lengths):
                result = decoder.decode(token_ids, lengths, params)
                # keras-hub keeps the stop token in its output and strips it only when it is a
                # special token (eos is; Gemma's <end_of_turn> is not): the same text needs it.
                rows = tf.range(tf.shape(token_ids)[0])
                at = tf.stack([rows, tf.minimum(result.num_tokens, cap - 1)], axis=1)
                ids = tf.tensor_scatter_nd_update(result.token_ids, at, tf.where(
                    result.stopped, result.stop_token, tf.gather_nd(result.token_ids, at)))
                return ids, result.num_tokens + tf.cast(result.stopped, tf.int32)

            self._fns[cap] = tf.function(run, jit_compile=self.xla, autograph=False)
        return self._fns[cap]


def make_causal_lm(bundle: ModelBundle, sequence_length: int = 512, sampler: Any = "greedy",
                   xla: bool | str = "auto") -> Any:
    """A keras-hub CausalLM sharing `bundle.backbone` (so adapters apply) with our tokenizer.

    `sequence_length` is the KV-cache length of greedy generation (prompt + new tokens; longer
    prompts get a longer cache). `xla`: True/False, or "auto" (see `xla_for`).
    """
    lm_cls, pre_cls = _CAUSAL_LM[bundle.family]
    preprocessor = pre_cls(tokenizer=bundle.tokenizer, sequence_length=sequence_length)
    lm = lm_cls(backbone=bundle.backbone, preprocessor=preprocessor)
    jit = xla_for(xla, lm.compute_dtype)
    lm.compile(sampler=sampler, jit_compile=jit)
    if _is_greedy(sampler):
        gen = KVGenerator(lm, tuple(bundle.stop_token_ids), bundle.pad_token_id, int(sequence_length), jit)
        object.__setattr__(lm, _KV_ATTR, gen)  # a plain attribute, kept out of Keras' tracking
    return lm


def _prompt_ids(causal_lm: Any, bundle: ModelBundle, prompts: Sequence[str]) -> list[list[int]]:
    """Token ids as keras-hub's generate_preprocess makes them: start token + the prompt's tokens."""
    start = [int(bundle.tokenizer.start_token_id)] if causal_lm.preprocessor.add_start_token else []
    return [start + [int(t) for t in np.asarray(bundle.tokenizer(p)).reshape(-1)] for p in prompts]


def generate_texts(
    causal_lm: Any, bundle: ModelBundle, prompts: Sequence[str], max_new_tokens: int = 96, batch_size: int = 8,
    length_bucket: int = 32,
) -> list[str]:
    """Continuations of `prompts` (prompt stripped, in the caller's order), stopping at eos / end_of_turn.

    Prompts are batched in order of token length, so that the rows of a batch are nearly as long
    as each other: decoding starts at a batch's shortest prompt and walks the longer rows through
    the rest of their prompts one step at a time.
    """
    gen = getattr(causal_lm, _KV_ATTR, None)
    if gen is None:
        return keras_hub_generate_texts(causal_lm, bundle, prompts, max_new_tokens, batch_size, length_bucket)
    ids = _prompt_ids(causal_lm, bundle, prompts)
    order = sorted(range(len(prompts)), key=lambda i: (len(ids[i]), i))
    outputs: list[str] = [""] * len(prompts)
    limit = int(bundle.max_sequence_length or 0)
    started, done = time.perf_counter(), 0
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        rows_full = rows + rows[-1:] * (batch_size - len(rows))  # a full batch keeps one compiled shape
        longest = max(len(ids[i]) for i in rows)
        # The cache is `sequence_length` long for every batch (one compiled shape); a prompt too
        # long for that widens it in coarse steps.
        cap = int(max_new_tokens)
        width = _round_up(max(gen.sequence_length - cap, 1), PREFILL_CHUNK)
        if longest > width:
            width = _round_up(longest, _WIDE_BUCKET)
        if limit and width + cap > limit:
            # Near the model's position limit: as tight as the prompt allows, fewer new tokens.
            width = _round_up(longest, PREFILL_CHUNK)
            if width > limit:
                raise ValueError(f"prompt {rows[-1]} has {longest} tokens; the model takes at most {limit}")
            cap = min(cap, limit - width)
        token_ids = np.full((len(rows_full), width), gen.pad_token_id, np.int32)
        lengths = np.zeros((len(rows_full),), np.int32)
        for r, i in enumerate(rows_full):
            token_ids[r, : len(ids[i])] = ids[i]
            lengths[r] = len(ids[i])
        if cap == 0:
            texts = [""] * len(rows_full)
        else:
            new_ids, counts = gen.function(cap)(tf.constant(token_ids), tf.constant(lengths))
            mask = np.arange(cap)[None, :] < counts.numpy()[:, None]  # the stop token included
            # keras-hub's own postprocess: drops padding and special tokens, detokenizes.
            texts = causal_lm.preprocessor.generate_postprocess({"token_ids": new_ids.numpy(), "padding_mask": mask})
            texts = [texts] if isinstance(texts, str) else list(texts)
        for i, text in zip(rows, texts):
            outputs[i] = _as_str(text).strip()
        done += len(rows)
        elapsed = time.perf_counter() - started
        logging.info("generated %d/%d (%.0fs, ETA %.0fs)", done, len(prompts), elapsed,
                     elapsed / done * (len(prompts) - done))
    return outputs


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def _as_str(text: Any) -> str:
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)


def keras_hub_generate_texts(
    causal_lm: Any, bundle: ModelBundle, prompts: Sequence[str], max_new_tokens: int = 96, batch_size: int = 8,
    length_bucket: int = 32,
) -> list[str]:
    """`generate_texts` on keras-hub's CausalLM.generate (any sampler; the reference for greedy).

    `max_length` is the longest prompt of a batch rounded up to `length_bucket` plus
    `max_new_tokens`: at most `length_bucket - 1` steps past the budget, while a handful of
    compiled shapes still serve every batch.
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
