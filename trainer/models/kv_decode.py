"""Graph-mode text generation with a KV cache: one tf.while_loop that XLA can compile whole.

keras-hub's `CausalLM.generate` works on a Python-side loop around `generate_step`; this module
keeps the same arithmetic (`call_with_cache` of the task model) but owns the loop so that it can
run inside one XLA-compiled `tf.while_loop`, take sampling settings as runtime tensors, and give
every row its own budget of new tokens. Evaluation and samples (trainer/models/generate.py) and
the exported SavedModel (trainer/export/) both decode with it.

Rows of uneven length are right-padded. Like keras-hub, the loop starts at the shortest prompt and
walks all rows forward one position per step; while a row is still inside its prompt the
sampled token is replaced by its prompt token, so the cache of every row only ever holds its
own tokens and a row's output does not depend on what it is batched with (tests pin this).

The prompt can be prefilled in one pass over its padded width (the export: the width is the
request's) or in fixed-size chunks up to the shortest prompt (`prefill_chunk`): then the cache
can be much longer than the prompts (one compiled shape for every batch of an eval) while the
prefill costs only the prompt's own tokens.

Sampling is deterministic per request: the noise for row r at its k-th new token is a hash of
(seed, k, token id), not of the row's place in the batch, so the same request with the same seed
gives the same text alone or batched.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import tensorflow as tf

_MASK32 = 0xFFFFFFFF


def causal_lm_for(backbone: Any) -> Any:
    """The keras-hub CausalLM task class of `backbone`, wrapped around it (no preprocessor)."""
    import keras_hub

    for name in dir(keras_hub.models):
        cls = getattr(keras_hub.models, name)
        if (
            isinstance(cls, type)
            and issubclass(cls, keras_hub.models.CausalLM)
            and getattr(cls, "backbone_cls", None) is type(backbone)
        ):
            return cls(backbone=backbone, preprocessor=None)
    raise ValueError(f"no keras-hub CausalLM wraps {type(backbone).__name__}")


def _empty_cache(lm: Any, batch_size, length: int | tf.Tensor):
    """A zero KV cache in the layout the task's `call_with_cache` expects."""
    backbone = lm.backbone
    dtype = lm.compute_dtype
    name = type(lm).__name__
    if name == "Gemma3CausalLM":
        shape = [batch_size, length, backbone.num_key_value_heads, backbone.head_dim]
        return tuple((tf.zeros(shape, dtype), tf.zeros(shape, dtype)) for _ in range(backbone.num_layers))
    if name == "GPT2CausalLM":
        heads = backbone.num_heads
        shape = [batch_size, backbone.num_layers, 2, length, heads, backbone.hidden_dim // heads]
        return tf.zeros(shape, dtype)
    if name == "GemmaCausalLM":
        shape = [batch_size, backbone.num_layers, 2, length, backbone.num_key_value_heads, backbone.head_dim]
        return tf.zeros(shape, dtype)
    raise ValueError(f"kv_decode does not know the KV-cache layout of {name}")


def _mul32(x: tf.Tensor, c: int) -> tf.Tensor:
    """(x * c) mod 2**32 for int64 x in [0, 2**32), without int64 overflow."""
    lo = tf.bitwise.bitwise_and(x, 0xFFFF)
    hi = tf.bitwise.right_shift(x, 16)
    prod = lo * c + tf.bitwise.left_shift(hi * (c & 0xFFFF), 16)
    return tf.bitwise.bitwise_and(prod, _MASK32)


def _mix32(x: tf.Tensor) -> tf.Tensor:
    """murmur3's 32-bit finaliser: a bijective avalanche hash on int64 values < 2**32."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = _mul32(x, 0x85EBCA6B)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 13))
    x = _mul32(x, 0xC2B2AE35)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def gumbel_noise(seed: tf.Tensor, step: tf.Tensor, token_ids: tf.Tensor) -> tf.Tensor:
    """Gumbel(0, 1) noise [B, K] keyed by (seed[B], step[B], token_ids[B, K]) only."""
    seed = tf.bitwise.bitwise_and(tf.cast(seed, tf.int64), _MASK32)
    step = tf.bitwise.bitwise_and(tf.cast(step, tf.int64), _MASK32)
    key = _mix32(tf.bitwise.bitwise_xor(_mix32(tf.bitwise.bitwise_xor(seed, 0x9E3779B9)), step))
    tok = _mix32(tf.bitwise.bitwise_xor(tf.cast(token_ids, tf.int64), 0x7F4A7C15))
    h = _mix32(tf.bitwise.bitwise_and(key[:, None] + tok, _MASK32))
    u = (tf.cast(tf.bitwise.right_shift(h, 8), tf.float32) + 0.5) * (1.0 / (1 << 24))
    return -tf.math.log(-tf.math.log(u))


@dataclasses.dataclass(frozen=True)
class SamplingParams:
    """Per-request settings, as scalar tensors (greedy when temperature is 0)."""

    max_new_tokens: tf.Tensor  # int32
    temperature: tf.Tensor  # float32
    top_k: tf.Tensor  # int32, 0 = no limit
    top_p: tf.Tensor  # float32, 1 = no limit
    seed: tf.Tensor  # int64 [B] (or a scalar for every row)


def sample_next(logits: tf.Tensor, step: tf.Tensor, p: SamplingParams, pool_size: int) -> tf.Tensor:
    """Next token ids [B] from float32 logits [B, V]; `step` [B] is each row's new-token index."""

    def greedy():
        return tf.argmax(logits, axis=-1, output_type=tf.int32)

    def full_vocab():
        # Plain temperature sampling: Gumbel-max over every token, no sort needed.
        ids = tf.range(tf.shape(logits)[1])[None, :]
        noise = gumbel_noise(p.seed, step, ids)
        return tf.argmax(logits / p.temperature + noise, axis=-1, output_type=tf.int32)

    def pooled():
        # top-k / top-p work on the `pool_size` most likely tokens (sorted, static size for XLA).
        vals, ids = tf.math.top_k(logits, k=pool_size)
        scaled = vals / p.temperature
        rank = tf.range(pool_size)[None, :]
        keep = tf.logical_or(p.top_k <= 0, rank < p.top_k)
        probs = tf.nn.softmax(tf.where(keep, scaled, -float("inf")), axis=-1)
        mass_before = tf.math.cumsum(probs, axis=-1, exclusive=True)
        keep = tf.logical_and(keep, mass_before < p.top_p)
        noisy = tf.where(keep, scaled + gumbel_noise(p.seed, step, ids), -float("inf"))
        choice = tf.argmax(noisy, axis=-1, output_type=tf.int32)
        return tf.gather(ids, choice, batch_dims=1)

    def sampled():
        filtered = tf.logical_or(p.top_k > 0, p.top_p < 1.0)
        return tf.cond(filtered, pooled, full_vocab)

    return tf.cond(p.temperature > 0.0, sampled, greedy)


@dataclasses.dataclass
class DecodeResult:
    token_ids: tf.Tensor  # [B, max_new_cap] int32, generated ids, pad after each row's end
    num_tokens: tf.Tensor  # [B] int32, new tokens per row (the stop token not counted)
    stopped: tf.Tensor  # [B] bool, True when a stop token ended the row
    stop_token: tf.Tensor | None = None  # [B] int32, the stop token that ended the row, else pad


class Decoder:
    """Prefill + cached decode loop over a keras-hub CausalLM (call inside a tf.function)."""

    def __init__(
        self,
        causal_lm: Any,
        stop_token_ids: Sequence[int],
        pad_token_id: int,
        max_new_tokens_cap: int,
        sample_pool: int,
        forward_context: Callable[..., Any] | None = None,
        prefill_chunk: int = 0,
    ):
        self.lm = causal_lm
        self.stop_token_ids = tuple(int(i) for i in stop_token_ids)
        self.pad_token_id = int(pad_token_id)
        self.max_new_tokens_cap = int(max_new_tokens_cap)
        vocab = int(causal_lm.backbone.vocabulary_size)
        self.sample_pool = max(1, min(int(sample_pool) if sample_pool else vocab, vocab))
        # Wraps each forward pass; the adapter slots use it to tell LoRA layers which rows use
        # which adapter.
        self.forward_context = forward_context
        # 0: prefill the whole padded prompt width in one pass; else chunks of this many tokens.
        self.prefill_chunk = int(prefill_chunk)

    def _forward(self, token_ids, cache, index, adapter_rows):
        """(final hidden states, cache); the task's own logits are left unused (and pruned)."""
        if self.forward_context is None:
            _, hidden, cache = self.lm.call_with_cache(token_ids, cache, index)
        else:
            with self.forward_context(adapter_rows):
                _, hidden, cache = self.lm.call_with_cache(token_ids, cache, index)
        return hidden, cache

    def _logits(self, hidden: tf.Tensor) -> tf.Tensor:
        """float32 logits [B, V] of hidden states [B, H]: the tied output layer, as
        ReversibleEmbedding(reverse=True) computes it, but as one matmul with transpose_b so
        that no transposed copy of the (262k-row for Gemma 3) embedding is made per step."""
        emb = self.lm.backbone.token_embedding
        int8_logits = getattr(emb, "int8_logits", None)  # weight_formats.Int8Embedding
        if int8_logits is not None:
            return tf.cast(int8_logits(hidden), tf.float32)
        dtype = getattr(emb, "reverse_dtype", None) or hidden.dtype
        if getattr(emb, "tie_weights", True):
            logits = tf.matmul(tf.cast(hidden, dtype), tf.cast(emb.embeddings, dtype), transpose_b=True)
        else:
            logits = tf.matmul(tf.cast(hidden, dtype), tf.cast(emb.reverse_embeddings, dtype))
        cap = getattr(emb, "logit_soft_cap", None)
        if cap is not None:
            logits = tf.tanh(logits / cap) * cap
        return tf.cast(logits, tf.float32)

    def _prefill_chunks(self, tokens: tf.Tensor, cache: Any, upto: tf.Tensor, adapter_rows) -> Any:
        """The cache of positions [0, upto) (at least), fed `prefill_chunk` tokens at a time.

        The last chunk may run past `upto` into a row's prompt or padding: those positions are
        rewritten by the decode loop before any query reads them, as with one-pass prefill. The
        caller pads `tokens` to a multiple of the chunk, so a chunk never leaves the buffer.
        """
        c = self.prefill_chunk
        batch = tf.shape(tokens)[0]
        n_chunks = (upto + c - 1) // c

        def body(i, cache):
            chunk = tf.slice(tokens, tf.stack([0, i * c]), tf.stack([batch, c]))
            _, cache = self._forward(chunk, cache, i * c, adapter_rows)
            return i + 1, cache

        _, cache = tf.while_loop(lambda i, cache: i < n_chunks, body, (tf.constant(0), cache))
        return cache

    def decode(
        self,
        token_ids: tf.Tensor,
        lengths: tf.Tensor,
        params: SamplingParams,
        adapter_rows: tf.Tensor | None = None,
    ) -> DecodeResult:
        """`token_ids` [B, P] right-padded prompts with `lengths` [B] >= 1 real tokens each.

        With `prefill_chunk`, P must be a multiple of it (so no chunk reads past the buffer).
        """
        width = token_ids.shape[1]
        if self.prefill_chunk > 0 and width is not None and width % self.prefill_chunk:
            raise ValueError(f"prompt width {width} is not a multiple of prefill_chunk={self.prefill_chunk}")
        token_ids = tf.cast(token_ids, tf.int32)
        lengths = tf.cast(lengths, tf.int32)
        batch = tf.shape(token_ids)[0]
        prompt_width = tf.shape(token_ids)[1]
        cap = self.max_new_tokens_cap
        total = prompt_width + cap
        tokens = tf.concat([token_ids, tf.fill([batch, cap], self.pad_token_id)], axis=1)

        cache = _empty_cache(self.lm, batch, total)
        start = tf.reduce_min(lengths)
        if self.prefill_chunk > 0:
            cache = self._prefill_chunks(tokens, cache, start - 1, adapter_rows)
        else:
            # The cache of every prompt position in one pass; positions past a row's end hold
            # padding and are overwritten before any query can see them.
            _, cache = self._forward(token_ids, cache, 0, adapter_rows)

        max_new = tf.minimum(tf.cast(params.max_new_tokens, tf.int32), cap)
        limit = tf.minimum(tf.reduce_max(lengths) + max_new, total)
        stop_ids = tf.constant(self.stop_token_ids or (-1,), tf.int32)

        def cond(index, tokens, cache, done, stopped, count):
            return tf.logical_and(index < limit, tf.logical_not(tf.reduce_all(done)))

        def body(index, tokens, cache, done, stopped, count):
            prev = tf.gather(tokens, tf.reshape(index - 1, [1]), axis=1)
            hidden, cache = self._forward(prev, cache, index - 1, adapter_rows)
            logits = self._logits(hidden[:, 0, :])
            step = index - lengths
            sampled = tf.ensure_shape(sample_next(logits, step, params, self.sample_pool), lengths.shape)
            in_prompt = index < lengths
            current = tf.gather(tokens, index, axis=1)
            new = tf.where(done, self.pad_token_id, sampled)
            nxt = tf.where(in_prompt, current, new)
            tokens = tf.tensor_scatter_nd_update(
                tokens, tf.stack([tf.range(batch), tf.fill([batch], index)], axis=1), nxt
            )
            generating = tf.logical_and(tf.logical_not(in_prompt), tf.logical_not(done))
            is_stop = tf.logical_and(generating, tf.reduce_any(nxt[:, None] == stop_ids[None, :], axis=1))
            count = count + tf.cast(tf.logical_and(generating, tf.logical_not(is_stop)), tf.int32)
            stopped = tf.logical_or(stopped, is_stop)
            done = tf.logical_or(done, tf.logical_or(is_stop, count >= max_new))
            return index + 1, tokens, cache, done, stopped, count

        zeros_b = tf.zeros([batch], tf.bool)
        init = (start, tokens, cache, zeros_b | (max_new <= 0), zeros_b, tf.zeros([batch], tf.int32))
        _, tokens, _, _, stopped, count = tf.while_loop(cond, body, init, maximum_iterations=total)

        window = lengths[:, None] + tf.range(cap)[None, :]
        generated = tf.gather(tokens, tf.minimum(window, total - 1), batch_dims=1)
        valid = tf.range(cap)[None, :] < count[:, None]
        generated = tf.where(valid, generated, self.pad_token_id)
        end = tf.gather(tokens, tf.minimum(lengths + count, total - 1), batch_dims=1)
        stop_token = tf.where(stopped, end, self.pad_token_id)
        return DecodeResult(generated, count, stopped, stop_token)
