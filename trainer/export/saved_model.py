"""A merged (or adapter-slot) keras-hub LM as a SavedModel for TF Serving: text in, text out.

`export_serving(backbone, tokenizer, export_root, model_name, version, config)` writes
`export_root/<model_name>/<version>/` with these signatures:

  serving_default  text [B] string (a prompt, or a JSON {"task", "facts"} request)
                   -> text, num_tokens, stopped, prompt_tokens, truncated, seed ([B] each)
  generate_ids     token_ids [B, P] int32 + padding_mask [B, P] int32 -> token_ids [B, W],
                   num_tokens, stopped, prompt_tokens, truncated, seed; core TF ops only.
                   Ids under padding_mask 1 must lie in [0, vocabulary size): others are refused
                   (InvalidArgument naming the row), ids under padding_mask 0 are ignored
  load_adapter     (only with adapter slots) slot, name, weights -> installs a LoRA adapter

Optional inputs of the generating signatures, with defaults from `config` (recorded in the
SignatureDef, so TF Serving accepts requests that leave them out): max_new_tokens,
temperature (0 = greedy), top_k (0 = off), top_p (1 = off), seed (-1 = draw one; it is
returned so a sampled answer can be reproduced) and, with slots, adapter ("" = base model).

Prompts are tokenized in the graph (BOS added when `add_start_token`) and truncated from the
left to `max_prompt_tokens` (the end of a prompt, where the response starts, is what the model
needs most; `truncated` reports it). Generation stops at the tokenizer's end token and
`<end_of_turn>` (or `stop_token_ids`); the stop token is not part of the output.

The decode loop is XLA-compiled (`jit_compile`). XLA compiles once per input shape, so prompts
are padded to a multiple of `length_bucket` tokens and batches to a power of two; warmup
requests (see serving.py) compile the common shapes before traffic arrives.

The weights are exported as the given backbone holds them; `weight_formats.convert` turns a
merged float32 backbone into bfloat16 or weight-only int8 first (the export stage does this
for `export.dtype`), and `carelora_export.json` records the format.
"""
from __future__ import annotations

import json
import logging
import os
from typing import Any

import ml_collections
import tensorflow as tf

from trainer.export import adapters, generation, prompt_graph, serving, weight_formats
from trainer.export.config import default_config

SAVED_MODEL_FILE = "saved_model.pb"
EXPORT_INFO_FILE = "carelora_export.json"  # in assets.extra: how the export was made


def _tokenizer_ids(tokenizer: Any, cfg: ml_collections.ConfigDict) -> tuple[tuple[int, ...], int, int | None]:
    """(stop ids, pad id, start id or None) of a keras-hub tokenizer."""
    stop = tuple(int(i) for i in cfg.stop_token_ids)
    if not stop:
        ids = [tokenizer.end_token_id]
        try:
            ids.append(tokenizer.token_to_id("<end_of_turn>"))
        except (KeyError, ValueError):  # vocabularies without chat tokens (GPT-2)
            pass
        stop = tuple(sorted({int(i) for i in ids if i is not None}))
    pad = int(getattr(tokenizer, "pad_token_id", None) or 0)
    start = getattr(tokenizer, "start_token_id", None) if cfg.add_start_token else None
    return stop, pad, (None if start is None else int(start))


def _prompt_limit(backbone: Any, cfg: ml_collections.ConfigDict) -> int:
    """max_prompt_tokens, lowered so that bucketed prompt + new tokens fit the position table."""
    limit = int(cfg.max_prompt_tokens)
    bucket = int(cfg.length_bucket)
    positions = getattr(backbone, "max_sequence_length", None)
    if positions:
        # Prompts are padded up to a bucket multiple, then max_new_tokens_cap slots follow.
        room = (int(positions) - int(cfg.max_new_tokens_cap)) // bucket * bucket
        if room < 1:
            raise ValueError(
                f"max_new_tokens_cap={cfg.max_new_tokens_cap} leaves no room for a prompt in "
                f"{positions} positions (length_bucket={bucket})"
            )
        if -(-limit // bucket) * bucket > room:
            logging.warning("max_prompt_tokens lowered from %d to %d to fit %d positions", limit, room, positions)
            limit = room
    if limit < 2:
        raise ValueError(f"max_prompt_tokens must be >= 2 (start token + text), got {limit}")
    return limit


def _untracked(module: tf.Module, name: str, value: Any) -> None:
    object.__setattr__(module, name, value)


def _tf_resources(tokenizer: Any) -> list:
    """The TensorFlow lookup tables / op resources a keras-hub tokenizer holds."""
    import keras

    return [
        v
        for v in vars(tokenizer).values()
        if isinstance(v, tf.__internal__.tracking.Trackable) and not isinstance(v, keras.layers.Layer)
    ]


class GenerationModule(tf.Module):
    """Everything a signature needs, tracked so that tf.saved_model.save finds it."""

    def __init__(self, backbone: Any, tokenizer: Any, config: ml_collections.ConfigDict):
        super().__init__(name="carelora_generation")
        cfg = config
        self.config_json = json.dumps(cfg.to_dict(), sort_keys=True, default=list)
        # Keras objects stay out of the SavedModel's object graph (saving them is slow and not
        # needed): what the graph uses is tracked explicitly below.
        _untracked(self, "_cfg", cfg)
        _untracked(self, "_keras_lm", generation.causal_lm_for(backbone))
        _untracked(self, "tokenizer", tokenizer)
        # tf.Module does not see Keras 3 variables; keep their tf.Variables on the module.
        self.model_variables = [v.value for v in backbone.weights]
        if hasattr(tokenizer, "_maybe_initialized_tf"):
            tokenizer._maybe_initialized_tf()  # create lookup tables outside any trace
        self.tokenizer_resources = _tf_resources(tokenizer)
        self.stop_token_ids, self.pad_token_id, self.start_token_id = _tokenizer_ids(tokenizer, cfg)
        # Rows of the embedding: generate_ids refuses ids outside [0, this), which XLA's gather
        # would otherwise clamp into a silently wrong answer.
        self.vocabulary_size = int(backbone.vocabulary_size)
        self.max_prompt_tokens = _prompt_limit(backbone, cfg)
        self.adapters = None
        forward_context = None
        if int(cfg.adapter_slots) > 0:
            self.adapters = adapters.AdapterSlots(
                backbone, int(cfg.adapter_slots), int(cfg.adapter_rank), tuple(cfg.adapter_targets)
            )
            forward_context = self.adapters.rows
        decoder = generation.Decoder(
            self._keras_lm,
            self.stop_token_ids,
            self.pad_token_id,
            int(cfg.max_new_tokens_cap),
            int(cfg.sample_pool),
            forward_context=forward_context,
        )
        _untracked(self, "_decoder", decoder)
        core_signature = [
            tf.TensorSpec([None, None], tf.int32),  # token_ids
            tf.TensorSpec([None], tf.int32),  # lengths
            tf.TensorSpec([], tf.int32),  # max_new_tokens
            tf.TensorSpec([], tf.float32),  # temperature
            tf.TensorSpec([], tf.int32),  # top_k
            tf.TensorSpec([], tf.float32),  # top_p
            tf.TensorSpec([None], tf.int64),  # seed of each row
            tf.TensorSpec([None], tf.int32),  # adapter slot of each row
        ]
        # One trace shared by both signatures; no Python control flow for autograph to convert.
        self._decode_core = tf.function(
            self._decode_core_impl,
            input_signature=core_signature,
            jit_compile=bool(cfg.jit_compile),
            autograph=False,
        )

    # -- the compiled part --------------------------------------------------------------
    def _decode_core_impl(self, token_ids, lengths, max_new_tokens, temperature, top_k, top_p, seed, adapter_rows):
        params = generation.SamplingParams(max_new_tokens, temperature, top_k, top_p, seed)
        rows = adapter_rows if self.adapters is not None else None
        result = self._decoder.decode(token_ids, lengths, params, rows)
        return result.token_ids, result.num_tokens, result.stopped

    # -- request handling (plain graph ops, not compiled) -------------------------------
    def _validate(self, batch, max_new_tokens, temperature, top_k, top_p):
        cap = int(self._cfg.max_new_tokens_cap)
        checks = [
            (batch > 0, "empty batch: send at least one prompt"),
            ((max_new_tokens >= 1) & (max_new_tokens <= cap), f"max_new_tokens must be in [1, {cap}]"),
            (tf.math.is_finite(temperature) & (temperature >= 0.0), "temperature must be >= 0 (0 = greedy)"),
            (top_k >= 0, "top_k must be >= 0 (0 = no limit)"),
            ((top_p > 0.0) & (top_p <= 1.0), "top_p must be in (0, 1] (1 = no limit)"),
        ]
        deps = []
        for ok, message in checks:
            deps.append(tf.debugging.Assert(ok, [message]))
        return deps

    def _generate(self, token_ids, lengths, max_new_tokens, temperature, top_k, top_p, seed, adapter):
        """Right-padded ids [B, P] + lengths [B] -> generated ids, after bucketing."""
        batch = tf.shape(token_ids)[0]
        width = tf.shape(token_ids)[1]
        bucket = int(self._cfg.length_bucket)
        padded_width = (width + bucket - 1) // bucket * bucket
        token_ids = tf.pad(token_ids, [[0, 0], [0, padded_width - width]], constant_values=self.pad_token_id)
        padded_batch = batch
        if self._cfg.pad_batch_to_power_of_two:
            powers = tf.bitwise.left_shift(1, tf.range(17))
            padded_batch = tf.maximum(tf.reduce_min(tf.where(powers >= batch, powers, 1 << 30)), batch)
        # Extra rows repeat row 0, so they finish when it does and cost no extra steps.
        fill = tf.zeros([padded_batch - batch], tf.int32)
        token_ids = tf.concat([token_ids, tf.gather(token_ids, fill)], axis=0)
        lengths = tf.concat([lengths, tf.gather(lengths, fill)], axis=0)
        # A given seed applies to every row (a row's text does not depend on its batch); without
        # one each row draws its own, so repeated prompts in one batch give different samples.
        seed = tf.cast(seed, tf.int64)
        seeds = tf.where(seed < 0, tf.random.uniform([batch], 0, 2**31 - 1, dtype=tf.int64), seed)
        padded_seeds = tf.concat([seeds, tf.gather(seeds, fill)], axis=0)
        if self.adapters is not None:
            rows = self.adapters.slot_of(adapter, batch)
            rows = tf.concat([rows, tf.gather(rows, fill)], axis=0)
        else:
            rows = tf.zeros([padded_batch], tf.int32)
        ids, count, stopped = self._decode_core(
            token_ids,
            lengths,
            tf.cast(max_new_tokens, tf.int32),
            tf.cast(temperature, tf.float32),
            tf.cast(top_k, tf.int32),
            tf.cast(top_p, tf.float32),
            padded_seeds,
            rows,
        )
        ids, count, stopped = ids[:batch], count[:batch], stopped[:batch]
        ids = ids[:, : tf.reduce_max(count)]
        return ids, count, stopped, seeds

    def _truncate_left(self, ragged_ids):
        """Keeps the last `max_prompt_tokens` ids of each row (after the start token, if any)."""
        keep = self.max_prompt_tokens - (1 if self.start_token_id is not None else 0)
        lengths = ragged_ids.row_lengths()
        starts = tf.maximum(lengths - keep, 0)
        rowids = ragged_ids.value_rowids()
        within = tf.range(tf.shape(ragged_ids.flat_values, out_type=tf.int64)[0]) - tf.gather(
            ragged_ids.row_starts(), rowids
        )
        mask = within >= tf.gather(starts, rowids)
        kept = tf.RaggedTensor.from_value_rowids(
            tf.boolean_mask(ragged_ids.flat_values, mask), tf.boolean_mask(rowids, mask), nrows=ragged_ids.nrows()
        )
        if self.start_token_id is not None:
            start = tf.fill([kept.nrows(), 1], tf.cast(self.start_token_id, kept.dtype))
            kept = tf.concat([tf.RaggedTensor.from_tensor(start), kept], axis=1)
        return kept, starts > 0

    def generate_text(self, text, max_new_tokens, temperature, top_k, top_p, seed, adapter=""):
        batch = tf.shape(text)[0]
        with tf.control_dependencies(self._validate(batch, max_new_tokens, temperature, top_k, top_p)):
            prompts = prompt_graph.format_prompts(text)
        ids = tf.cast(self.tokenizer.tokenize(prompts), tf.int32)
        ids, truncated = self._truncate_left(ids)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        nonempty = tf.debugging.Assert(
            tf.reduce_all(lengths > 0),
            ["empty prompt: a prompt must have at least one token (add_start_token is off)"],
        )
        with tf.control_dependencies([nonempty]):
            dense = ids.to_tensor(default_value=self.pad_token_id)
        out, count, stopped, seeds = self._generate(
            dense, lengths, max_new_tokens, temperature, top_k, top_p, seed, adapter
        )
        ragged = tf.RaggedTensor.from_tensor(out, lengths=count)
        texts = self.tokenizer.detokenize(ragged)
        # A token budget can end inside a multi-byte character; keep the output valid UTF-8.
        texts = tf.strings.unicode_transcode(texts, "UTF-8", "UTF-8", errors="replace")
        return {
            "text": texts,
            "num_tokens": count,
            "stopped": stopped,
            "prompt_tokens": lengths,
            "truncated": truncated,
            "seed": seeds,
        }

    def generate_token_ids(self, token_ids, padding_mask, max_new_tokens, temperature, top_k, top_p, seed, adapter=""):
        batch = tf.shape(token_ids)[0]
        deps = self._validate(batch, max_new_tokens, temperature, top_k, top_p)
        same_shape = tf.debugging.Assert(
            tf.reduce_all(tf.shape(token_ids) == tf.shape(padding_mask)),
            ["token_ids and padding_mask must have the same shape"],
        )
        deps.append(same_shape)
        with tf.control_dependencies([same_shape]):  # the elementwise test below needs equal shapes
            real = tf.not_equal(padding_mask, 0)
            in_vocab = tf.logical_and(token_ids >= 0, token_ids < self.vocabulary_size)
            row_ok = tf.reduce_all(tf.logical_or(in_vocab, tf.logical_not(real)), axis=1)
        deps.append(prompt_graph.check_rows(
            row_ok, f"token_ids out of vocabulary: ids where padding_mask is 1 must be in [0, {self.vocabulary_size})"))
        with tf.control_dependencies(deps):
            mask = tf.cast(padding_mask, tf.bool)
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        nonempty = tf.debugging.Assert(tf.reduce_all(lengths > 0), ["every row needs at least one token (padding_mask 1)"])
        with tf.control_dependencies([nonempty]):
            lengths = tf.identity(lengths)
        # Any padding layout (left, right, holes) -> real tokens first, in order.
        order = tf.argsort(tf.cast(tf.logical_not(mask), tf.int32), axis=1, stable=True)
        compact = tf.gather(tf.cast(token_ids, tf.int32), order, batch_dims=1)
        keep = tf.minimum(lengths, self.max_prompt_tokens)
        width = tf.minimum(tf.shape(compact)[1], self.max_prompt_tokens)
        positions = (lengths - keep)[:, None] + tf.range(width)[None, :]
        kept = tf.gather(compact, tf.minimum(positions, tf.shape(compact)[1] - 1), batch_dims=1)
        kept = tf.where(tf.range(width)[None, :] < keep[:, None], kept, self.pad_token_id)
        out, count, stopped, seeds = self._generate(
            kept, keep, max_new_tokens, temperature, top_k, top_p, seed, adapter
        )
        return {
            "token_ids": out,
            "num_tokens": count,
            "stopped": stopped,
            "prompt_tokens": keep,
            "truncated": lengths > keep,
            "seed": seeds,
        }


def build_signatures(module: GenerationModule) -> dict[str, Any]:
    """tf.functions with request defaults as tensors (they land in SignatureDef.defaults)."""
    cfg = module._cfg
    d_new = tf.constant(int(cfg.max_new_tokens), tf.int32)
    d_temp = tf.constant(float(cfg.temperature), tf.float32)
    d_k = tf.constant(int(cfg.top_k), tf.int32)
    d_p = tf.constant(float(cfg.top_p), tf.float32)
    d_seed = tf.constant(int(cfg.seed), tf.int64)
    d_adapter = tf.constant("", tf.string)
    scalars = [
        tf.TensorSpec([], tf.int32, "max_new_tokens"),
        tf.TensorSpec([], tf.float32, "temperature"),
        tf.TensorSpec([], tf.int32, "top_k"),
        tf.TensorSpec([], tf.float32, "top_p"),
        tf.TensorSpec([], tf.int64, "seed"),
    ]
    text_spec = [tf.TensorSpec([None], tf.string, "text")]
    ids_spec = [tf.TensorSpec([None, None], tf.int32, "token_ids"), tf.TensorSpec([None, None], tf.int32, "padding_mask")]
    if module.adapters is None:

        def serve_text(text, max_new_tokens=d_new, temperature=d_temp, top_k=d_k, top_p=d_p, seed=d_seed):
            return module.generate_text(text, max_new_tokens, temperature, top_k, top_p, seed)

        def serve_ids(token_ids, padding_mask, max_new_tokens=d_new, temperature=d_temp, top_k=d_k, top_p=d_p, seed=d_seed):
            return module.generate_token_ids(token_ids, padding_mask, max_new_tokens, temperature, top_k, top_p, seed)

        extra: list = []
    else:

        def serve_text(text, max_new_tokens=d_new, temperature=d_temp, top_k=d_k, top_p=d_p, seed=d_seed, adapter=d_adapter):
            return module.generate_text(text, max_new_tokens, temperature, top_k, top_p, seed, adapter)

        def serve_ids(
            token_ids, padding_mask, max_new_tokens=d_new, temperature=d_temp, top_k=d_k, top_p=d_p, seed=d_seed, adapter=d_adapter
        ):
            return module.generate_token_ids(token_ids, padding_mask, max_new_tokens, temperature, top_k, top_p, seed, adapter)

        extra = [tf.TensorSpec([], tf.string, "adapter")]
    # autograph=False: the request code has no Python control flow on tensors (keras-hub's
    # tokenizers convert their own), and skipping the conversion halves tracing time.
    signatures = {
        "serving_default": tf.function(serve_text, input_signature=text_spec + scalars + extra, autograph=False),
        "generate_ids": tf.function(serve_ids, input_signature=ids_spec + scalars + extra, autograph=False),
    }
    if module.adapters is not None:
        signatures.update(module.adapters.signatures())
    return signatures


def make_serving_module(
    backbone: Any, tokenizer: Any, config: ml_collections.ConfigDict | None = None
) -> tuple[GenerationModule, dict[str, Any]]:
    """The module and its signature functions, callable in process (what gets saved)."""
    prompt_graph.check_matches_python()  # the served prompt must be the training prompt
    module = GenerationModule(backbone, tokenizer, default_config() if config is None else config)
    signatures = build_signatures(module)
    for name, fn in signatures.items():
        setattr(module, name, fn)  # also restorable as functions, not only as signatures
    return module, signatures


def _ids_only_root(module: GenerationModule, signatures: dict[str, Any]) -> tuple[tf.Module, dict[str, Any]]:
    """A root object without the tokenizer: its SavedModel loads with core TensorFlow alone."""
    root = tf.Module()
    root.model_variables = module.model_variables
    if module.adapters is not None:
        root.adapters = module.adapters
    kept = {k: v for k, v in signatures.items() if k != "serving_default"}
    for name, fn in kept.items():
        setattr(root, name, fn)
    return root, kept


def _write_version(root: tf.Module, signatures: dict, out: str, info: dict, warmup_logs: list | None) -> str:
    if tf.io.gfile.exists(os.path.join(out, SAVED_MODEL_FILE)):
        raise FileExistsError(f"{out} already holds a SavedModel; TF Serving versions are immutable")
    tmp = out + ".tmp"
    if tf.io.gfile.exists(tmp):
        tf.io.gfile.rmtree(tmp)
    tf.saved_model.save(root, tmp, signatures=signatures)
    extra_dir = os.path.join(tmp, "assets.extra")
    tf.io.gfile.makedirs(extra_dir)
    with tf.io.gfile.GFile(os.path.join(extra_dir, EXPORT_INFO_FILE), "w") as f:
        f.write(json.dumps(info, indent=2, sort_keys=True))
    if warmup_logs:
        serving.write_warmup(tmp, warmup_logs)
    tf.io.gfile.rename(tmp, out)
    return out


def export_module(
    module: GenerationModule, signatures: dict[str, Any], export_root: str, model_name: str, version: int
) -> str:
    """Saves a module from `make_serving_module` as `export_root/<model_name>/<version>/`.

    Reusing the module that was called in process saves tracing it again, and guarantees the
    served graph is the one that was checked.
    """
    cfg = module._cfg
    if int(version) < 1:
        raise ValueError(f"TF Serving versions are positive integers, got {version}")
    info = {
        "model_name": model_name,
        "version": int(version),
        "backbone": type(module._keras_lm.backbone).__name__,
        "weights": weight_formats.describe(module._keras_lm.backbone),  # format, bytes, params
        "stop_token_ids": list(module.stop_token_ids),
        "pad_token_id": module.pad_token_id,
        "start_token_id": module.start_token_id,
        "max_prompt_tokens": module.max_prompt_tokens,
        "adapter_targets": module.adapters.describe() if module.adapters is not None else None,
        "signatures": sorted(signatures),
        "config": json.loads(module.config_json),
    }
    has_adapters = module.adapters is not None
    logs = serving.default_warmup_requests(cfg, has_adapters) if cfg.warmup else None
    out = _write_version(module, signatures, os.path.join(export_root, model_name, str(int(version))), info, logs)
    serving.write_models_config(export_root, model_name, cfg.serving_base_path or None)
    if cfg.ids_model_name:
        root, kept = _ids_only_root(module, signatures)
        logs = serving.default_warmup_requests(cfg, has_adapters, text=False) if cfg.warmup else None
        ids_info = dict(info, model_name=cfg.ids_model_name, signatures=sorted(kept))
        ids_dir = os.path.join(export_root, cfg.ids_model_name, str(int(version)))
        _write_version(root, kept, ids_dir, ids_info, logs)
        serving.write_models_config(export_root, cfg.ids_model_name, cfg.serving_base_path or None)
    return out


def export_serving(
    backbone: Any,
    tokenizer: Any,
    export_root: str,
    model_name: str,
    version: int,
    config: ml_collections.ConfigDict | None = None,
) -> str:
    """Writes `export_root/<model_name>/<version>/` (SavedModel + TF Serving extras); returns it.

    `backbone` is a plain keras-hub backbone (LoRA already merged, see lora.merge_lora), or the
    base model when `config.adapter_slots` > 0. With `config.ids_model_name` set, a second
    model `export_root/<ids_model_name>/<version>/` holds only the token-id signatures: a
    stock TF Serving without TensorFlow Text can load it (the text model needs TF Text ops).
    """
    cfg = default_config() if config is None else config
    if int(version) < 1:
        raise ValueError(f"TF Serving versions are positive integers, got {version}")
    module, signatures = make_serving_module(backbone, tokenizer, cfg)
    try:
        return export_module(module, signatures, export_root, model_name, version)
    finally:
        if module.adapters is not None:
            module.adapters.remove()  # give the caller's backbone its original layer calls back
