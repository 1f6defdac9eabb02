"""How an export stores and runs its weights: float32, bfloat16 or int8 (weight-only).

`export.dtype` picks one (default "auto": bfloat16 where the hardware runs bf16 natively, float32
elsewhere, the rule of trainer/models/precision.py, logged with its reason; int8 is never picked
automatically). The weights are converted after LoRA is merged, so every format holds the same
fine-tuned model:

- float32: as trained.
- bfloat16: a copy of the backbone built in the `bfloat16` policy (weights, activations and KV
  cache in bf16; keras-hub's norms and softmax still accumulate in float32). Half the bytes.
- int8: every Dense/EinsumDense kernel and the token embedding (for Gemma 3 270M the 262k x 640
  tied embedding is 168M of its 268M parameters, and it doubles as the output layer) stored as
  int8 with one float32 scale per output channel (symmetric, scale = max|w| / 127 over the
  contracted axes; per vocabulary row for the embedding). Activations stay float32: a layer
  computes `(x @ int8_to_float(q)) * scale`, so the graph reads a quarter of float32's bytes.
  Under XLA at batch 1 the int8->float conversion fuses into the matrix-vector product (nothing
  float32-sized is materialised per step). Norm gains, biases and position tables stay float.

Keras' own `quantize("int8")` was not used: it also quantizes the activations (int8 x int8
matmuls with a per-token input scale), which TensorFlow runs on CPU as int32 matmuls; here the
activations keep float precision and only the weight bytes shrink.

`convert(backbone, fmt)` returns the backbone to export (float32: the backbone itself when it is
already float32; otherwise a converted copy, or with `inplace=True` int8 layers swapped into the
given backbone, like `lora.merge_lora`). It runs with keras-hub's own `call_with_cache`.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import keras
import numpy as np

from trainer.models import lora, precision

FLOAT32, BFLOAT16, INT8 = "float32", "bfloat16", "int8"
FORMATS = (FLOAT32, BFLOAT16, INT8)
_ALIASES = {"fp32": FLOAT32, "float32": FLOAT32, "bf16": BFLOAT16, "bfloat16": BFLOAT16, "int8": INT8}


@dataclasses.dataclass(frozen=True)
class Choice:
    dtype: str  # float32 | bfloat16 | int8
    reason: str


def resolve(setting: Any, devices: Callable[[], dict] | None = None, cpuinfo: str | None = None) -> Choice:
    """`auto` -> precision.resolve("auto") (bf16 where native, else float32); names as given."""
    value = str(setting).strip().lower()
    if value == "auto":
        p = precision.resolve("auto", cpuinfo=cpuinfo) if devices is None else precision.resolve("auto", devices, cpuinfo)
        return Choice(p.dtype, f"auto: {p.reason}")
    if value in _ALIASES:
        return Choice(_ALIASES[value], f"set to {setting!r} in the config")
    raise ValueError(f"export.dtype must be auto, float32, bfloat16 or int8, got {setting!r}")


# ----------------------------------------------------------------------------- int8 math

def quantize_per_channel(w: np.ndarray, contracted_axes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 of `w` with one scale per output channel: (q int8, scale float32 keepdims).

    `w ~= q * scale`, |w - q * scale| <= scale / 2 elementwise; an all-zero channel gets scale 1.
    """
    w = np.asarray(w, np.float32)
    amax = np.max(np.abs(w), axis=tuple(contracted_axes), keepdims=True)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale


class Int8Dense(keras.layers.Layer):
    """A Dense/EinsumDense with an int8 kernel and float32 per-output-channel scales."""

    def __init__(self, base: keras.layers.Layer, **kwargs):
        super().__init__(name=kwargs.pop("name", base.name), dtype=base.dtype_policy, **kwargs)
        self.axes = lora.kernel_axes(base)
        kernel = keras.ops.convert_to_numpy(base.kernel).astype(np.float32)
        contracted = [self.axes.kernel.index(c) for c in self.axes.contracted]
        q, scale = quantize_per_channel(kernel, contracted)
        out_sub = self.axes.equation.split("->")[1].replace("...", "")
        dims = dict(zip(self.axes.kernel, kernel.shape))
        # Scale laid out like the output's named axes (1 where the axis comes from x).
        produced_order = [c for c in out_sub if c in self.axes.produced]
        scale = np.squeeze(scale, axis=tuple(contracted))  # kernel order of the produced axes
        scale = np.transpose(scale, [self.axes.produced.index(c) for c in produced_order])
        scale = scale.reshape([dims[c] if c in self.axes.produced else 1 for c in out_sub])
        self.kernel_int8 = self.add_weight(name="kernel_int8", shape=q.shape, dtype="int8", initializer="zeros", trainable=False)
        self.kernel_int8.assign(q)
        self.kernel_scale = self.add_weight(name="kernel_scale", shape=scale.shape, dtype="float32", initializer="ones", trainable=False)
        self.kernel_scale.assign(scale)
        self.bias = None
        if getattr(base, "bias", None) is not None:
            bias = keras.ops.convert_to_numpy(base.bias)
            self.bias = self.add_weight(name="bias", shape=bias.shape, dtype=str(bias.dtype), initializer="zeros", trainable=False)
            self.bias.assign(bias)
        self.activation = getattr(base, "activation", None)
        self.built = True

    def call(self, inputs):
        kernel = keras.ops.cast(self.kernel_int8, inputs.dtype)
        y = keras.ops.einsum(self.axes.equation, inputs, kernel)
        y = y * keras.ops.cast(self.kernel_scale, y.dtype)
        if self.bias is not None:
            y = y + keras.ops.cast(self.bias, y.dtype)
        if self.activation is not None:
            y = self.activation(y)
        return y


class Int8Embedding(keras.layers.Layer):
    """keras-hub's ReversibleEmbedding with int8 rows and one float32 scale per row.

    Forward: the looked-up int8 rows times their scales. Reverse (the tied output layer):
    `(h @ int8_to_float(q)^T) * scale`, the logits of every vocabulary entry.
    """

    def __init__(self, base: keras.layers.Layer, **kwargs):
        super().__init__(name=kwargs.pop("name", base.name), dtype=base.dtype_policy, **kwargs)
        self.input_dim, self.output_dim = int(base.input_dim), int(base.output_dim)
        self.tie_weights = bool(getattr(base, "tie_weights", True))
        self.logit_soft_cap = getattr(base, "logit_soft_cap", None)
        self.reverse_dtype = None
        q, scale = quantize_per_channel(keras.ops.convert_to_numpy(base.embeddings), [1])
        self.embeddings_int8 = self.add_weight(name="embeddings_int8", shape=q.shape, dtype="int8", initializer="zeros", trainable=False)
        self.embeddings_int8.assign(q)
        self.embeddings_scale = self.add_weight(name="embeddings_scale", shape=(q.shape[0],), dtype="float32", initializer="ones", trainable=False)
        self.embeddings_scale.assign(scale[:, 0])
        if not self.tie_weights:
            rq, rscale = quantize_per_channel(keras.ops.convert_to_numpy(base.reverse_embeddings), [0])
            self.reverse_int8 = self.add_weight(name="reverse_int8", shape=rq.shape, dtype="int8", initializer="zeros", trainable=False)
            self.reverse_int8.assign(rq)
            self.reverse_scale = self.add_weight(name="reverse_scale", shape=(rq.shape[1],), dtype="float32", initializer="ones", trainable=False)
            self.reverse_scale.assign(rscale[0])
        self.built = True

    def int8_logits(self, hidden):
        """float32 logits [..., V] of hidden states [..., H] (what Decoder._logits calls)."""
        import tensorflow as tf

        h = tf.cast(hidden, tf.float32)
        if self.tie_weights:
            kernel = tf.cast(self.embeddings_int8.value, tf.float32)
            flat = tf.reshape(h, [-1, self.output_dim])
            logits = tf.matmul(flat, kernel, transpose_b=True) * self.embeddings_scale.value
        else:
            flat = tf.reshape(h, [-1, self.output_dim])
            logits = tf.matmul(flat, tf.cast(self.reverse_int8.value, tf.float32)) * self.reverse_scale.value
        logits = tf.reshape(logits, tf.concat([tf.shape(h)[:-1], [self.input_dim]], axis=0))
        if self.logit_soft_cap is not None:
            logits = tf.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def call(self, inputs, reverse=False):
        if reverse:
            return keras.ops.cast(self.int8_logits(inputs), self.compute_dtype)
        ids = keras.ops.cast(inputs, "int32")
        rows = keras.ops.cast(keras.ops.take(self.embeddings_int8, ids, axis=0), self.compute_dtype)
        return rows * keras.ops.cast(keras.ops.take(self.embeddings_scale, ids, axis=0), self.compute_dtype)[..., None]


def quantize_int8(backbone: Any, keep_float: Sequence[str] = ()) -> dict[str, int]:
    """Replaces, in place, every Dense/EinsumDense layer and the token embedding of `backbone`
    by its int8 form; layers whose names match `keep_float` (LoRA target aliases or regular
    expressions, e.g. the adapter-slot targets) stay float. Returns counts for the log."""
    patterns = lora._target_patterns(keep_float) if keep_float else []
    replaced = 0
    for parent in list(backbone._flatten_layers(include_self=True, recursive=True)):
        if isinstance(parent, (Int8Dense, Int8Embedding)):
            continue
        for child in list(parent._layers):
            if isinstance(child, lora.LoRAWrapper):
                raise ValueError("merge LoRA (lora.merge_lora) before converting the weights to int8")
            if type(child) not in (keras.layers.Dense, keras.layers.EinsumDense):
                continue
            if patterns and any(p.fullmatch(child.name) for p in patterns):
                continue
            if lora._replace_child(parent, child, Int8Dense(child)):
                replaced += 1
    embedded = 0
    emb = getattr(backbone, "token_embedding", None)
    if emb is not None and not isinstance(emb, Int8Embedding):
        if lora._replace_child(backbone, emb, Int8Embedding(emb)):
            embedded = 1
    if not replaced and not embedded:
        raise ValueError(f"{backbone.name}: no Dense/EinsumDense layer or token embedding to quantize")
    return {"int8_layers": replaced, "int8_embeddings": embedded}


# ----------------------------------------------------------------------------- conversion

def _clone(backbone: Any, dtype: str) -> Any:
    """The same backbone built in `dtype` (a new object) with the weights cast into it."""
    config = dict(backbone.get_config(), dtype=dtype)
    clone = type(backbone).from_config(config)
    src, dst = backbone.weights, clone.weights
    if [tuple(v.shape) for v in src] != [tuple(v.shape) for v in dst]:
        raise ValueError(f"cannot rebuild {type(backbone).__name__} in {dtype}: its weights do not line up")
    for s, d in zip(src, dst):
        value = keras.ops.convert_to_numpy(s)
        d.assign(value.astype(keras.backend.standardize_dtype(d.dtype)) if d.dtype != s.dtype else value)
    # Settings changed on layers after construction (not in the config) follow the weights.
    for a, b in zip(backbone._flatten_layers(include_self=False), clone._flatten_layers(include_self=False)):
        for attr in ("sliding_window_size", "use_sliding_window_attention"):
            if hasattr(a, attr) and hasattr(b, attr):
                setattr(b, attr, getattr(a, attr))
    return clone


def compute_dtype(backbone: Any) -> str:
    return keras.backend.standardize_dtype(backbone.dtype_policy.compute_dtype)


def convert(backbone: Any, fmt: str, keep_float: Sequence[str] = (), inplace: bool = False) -> Any:
    """The backbone to export in `fmt` (float32 | bfloat16 | int8); see the module docstring.

    The given backbone is left as it is unless `inplace` (int8 only: its layers are replaced,
    which saves a float32 copy of the model; the export stage does this)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown weight format {fmt!r}; expected one of {FORMATS}")
    if any(isinstance(l, lora.LoRAWrapper) for l in backbone._flatten_layers(include_self=False)):
        raise ValueError("merge LoRA (lora.merge_lora) before converting the weights")
    if _has_int8(backbone):
        if fmt == INT8:
            return backbone
        raise ValueError(f"{backbone.name} already has int8 weights: convert from the float model")
    current = compute_dtype(backbone)
    if fmt == BFLOAT16:
        return backbone if current == BFLOAT16 else _clone(backbone, BFLOAT16)
    if current != FLOAT32 or (fmt == INT8 and not inplace):
        backbone = _clone(backbone, FLOAT32)
    if fmt == INT8:
        quantize_int8(backbone, keep_float)
    return backbone


def _has_int8(backbone: Any) -> bool:
    return any(isinstance(l, (Int8Dense, Int8Embedding)) for l in backbone._flatten_layers(include_self=False))


def format_of(backbone: Any) -> str:
    return INT8 if _has_int8(backbone) else compute_dtype(backbone)


def weight_bytes(backbone: Any) -> int:
    """Bytes of every weight of the backbone as stored (what a batch-1 decode step reads, give
    or take the rows of position tables it skips)."""
    sizes = {"bfloat16": 2, "float16": 2, "float32": 4, "float64": 8, "int8": 1, "int32": 4, "int64": 8}
    return sum(int(np.prod(v.shape)) * sizes[keras.backend.standardize_dtype(v.dtype)] for v in backbone.weights)


def describe(backbone: Any) -> dict[str, Any]:
    return {"format": format_of(backbone), "weight_bytes": weight_bytes(backbone),
            "params": int(sum(int(np.prod(v.shape)) for v in backbone.weights))}
