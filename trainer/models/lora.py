"""LoRA adapters as Keras layers wrapped around a backbone's Dense/EinsumDense layers.

`y = base(x) + (alpha / rank) * B(A(dropout(x)))`, with A and B shaped like PEFT's: one A per
layer (contracting every input axis of the kernel) and one B (producing every output axis). For
an attention projection that is 2 matrices per layer, not one A per head as Keras'
`enable_lora` makes, so parameter counts match the literature: rank * (fan_in + fan_out).

Only A and B train; every base variable, biases included, is frozen. `merge_lora` folds the
adapters into the base kernels and removes the wrappers, so an exported model has no adapter
cost. Adapters save to a small .npz that round-trips exactly.
"""
from __future__ import annotations

import dataclasses
import os
import json
import re
import string
import zipfile
from typing import Any, Iterable, Sequence

import keras
import numpy as np

from trainer.util import files
from trainer.util.errors import UserError

# Friendly target names -> layer names in keras-hub backbones (Gemma/Gemma 3 and GPT-2).
TARGET_ALIASES: dict[str, tuple[str, ...]] = {
    "query": ("query",),
    "key": ("key",),
    "value": ("value",),
    "attention_output": ("attention_output",),
    "ffn_gate": ("ffw_gating",),
    "ffn_up": ("ffw_gating_2", "feedforward_intermediate_dense"),
    "ffn_down": ("ffw_linear", "feedforward_output_dense"),
}


@dataclasses.dataclass(frozen=True)
class KernelAxes:
    """Einsum letters of one kernel: which axes it contracts with x, which it produces."""

    equation: str  # the base layer's einsum equation
    kernel: str  # kernel letters, in kernel axis order
    contracted: str  # kernel letters summed over with the input
    produced: str  # kernel letters that appear in the output


def kernel_axes(layer: keras.layers.Layer) -> KernelAxes:
    if isinstance(layer, keras.layers.EinsumDense):
        equation = layer.equation
    elif isinstance(layer, keras.layers.Dense):
        equation = "...a,ab->...b"
    else:
        raise TypeError(f"LoRA wraps Dense or EinsumDense layers, not {type(layer).__name__}")
    inputs, output = equation.split("->")
    x_sub, kernel_sub = inputs.split(",")
    contracted = "".join(c for c in kernel_sub if c in x_sub and c not in output)
    produced = "".join(c for c in kernel_sub if c in output)
    if len(contracted) + len(produced) != len(kernel_sub):
        raise ValueError(f"cannot split kernel axes of equation {equation!r} into inputs and outputs")
    return KernelAxes(equation, kernel_sub, contracted, produced)


def _free_letter(used: str) -> str:
    return next(c for c in string.ascii_lowercase if c not in used)


def _adapter_policy(base_policy: Any) -> Any:
    """The base layer's compute dtype, but float32 adapter variables.

    A backbone stored in bfloat16 (half the memory, and oneDNN's bf16 matmuls run about twice as
    fast as float32 on CPUs with AVX512-BF16 or AMX) still gets float32 A and B: Adam updates of
    size lr * 1e-3 vanish below bfloat16's 8-bit mantissa.
    """
    compute = keras.backend.standardize_dtype(base_policy.compute_dtype)
    if compute == "bfloat16":
        return keras.DTypePolicy("mixed_bfloat16")
    if compute == "float16":
        return keras.DTypePolicy("mixed_float16")
    return base_policy


class LoRAWrapper(keras.layers.Layer):
    """Adds a trainable low-rank update to a frozen Dense/EinsumDense layer."""

    def __init__(self, base: keras.layers.Layer, rank: int, alpha: float, dropout: float = 0.0, **kwargs):
        super().__init__(name=kwargs.pop("name", f"{base.name}_lora"), dtype=_adapter_policy(base.dtype_policy), **kwargs)
        if rank < 1:
            raise ValueError(f"LoRA rank must be >= 1, got {rank}")
        self.base = base
        self.rank = int(rank)
        self.alpha = float(alpha)
        self.dropout_rate = float(dropout)
        self.scale = self.alpha / self.rank
        self.axes = kernel_axes(base)
        kernel_shape = dict(zip(self.axes.kernel, base.kernel.shape))
        self.fan_in = int(np.prod([kernel_shape[c] for c in self.axes.contracted]))
        self.fan_out = int(np.prod([kernel_shape[c] for c in self.axes.produced]))
        self.dropout = keras.layers.Dropout(self.dropout_rate, dtype=base.dtype_policy)
        r = _free_letter(self.axes.equation)
        x_sub, out_sub = self.axes.equation.split("->")[0].split(",")[0], self.axes.equation.split("->")[1]
        # x @ A contracts the same input axes as the base kernel; h @ B produces its output axes.
        kept = "".join(c for c in x_sub if c not in self.axes.contracted)
        self._eq_a = f"{x_sub},{self.axes.contracted}{r}->{kept}{r}"
        self._eq_b = f"{kept}{r},{r}{self.axes.produced}->{out_sub}"
        self._eq_merge = f"{self.axes.contracted}{r},{r}{self.axes.produced}->{self.axes.kernel}"
        a_shape = tuple(kernel_shape[c] for c in self.axes.contracted) + (self.rank,)
        b_shape = (self.rank,) + tuple(kernel_shape[c] for c in self.axes.produced)
        # Kaiming-uniform A and zero B, as in the LoRA paper and PEFT: the wrapped model starts
        # exactly equal to the base model.
        self.lora_a = self.add_weight(
            name="lora_a",
            shape=a_shape,
            initializer=keras.initializers.HeUniform(seed=None),
            trainable=True,
        )
        self.lora_b = self.add_weight(name="lora_b", shape=b_shape, initializer="zeros", trainable=True)
        self.built = True

    @property
    def num_params(self) -> int:
        return self.rank * (self.fan_in + self.fan_out)

    def _pre_activation(self, inputs):
        # Same arithmetic as Dense/EinsumDense.call up to the activation.
        y = keras.ops.einsum(self.axes.equation, inputs, keras.ops.cast(self.base.kernel, inputs.dtype))
        if self.base.bias is not None:
            y = y + keras.ops.cast(self.base.bias, y.dtype)
        return y

    def call(self, inputs, training=None):
        activation = getattr(self.base, "activation", None)
        linear = activation is None or activation is keras.activations.linear
        # The update belongs inside the activation (e.g. GPT-2's gelu feed-forward).
        y = self.base(inputs) if linear else self._pre_activation(inputs)
        x = self.dropout(inputs, training=training)
        h = keras.ops.einsum(self._eq_a, x, keras.ops.cast(self.lora_a, x.dtype))
        update = keras.ops.einsum(self._eq_b, h, keras.ops.cast(self.lora_b, h.dtype))
        y = y + keras.ops.cast(self.scale, y.dtype) * keras.ops.cast(update, y.dtype)
        return y if linear else activation(y)

    def delta_kernel(self) -> np.ndarray:
        a = keras.ops.convert_to_numpy(self.lora_a).astype(np.float64)
        b = keras.ops.convert_to_numpy(self.lora_b).astype(np.float64)
        return self.scale * np.einsum(self._eq_merge, a, b)

    def compute_output_shape(self, input_shape):
        return self.base.compute_output_shape(input_shape)


def _layer_matches(layer: keras.layers.Layer, patterns: Sequence[re.Pattern]) -> bool:
    return any(p.fullmatch(layer.name) for p in patterns)


def _target_patterns(targets: Iterable[str]) -> list[re.Pattern]:
    patterns = []
    for t in targets:
        names = TARGET_ALIASES.get(t, (t,))  # an unknown name is used as a regex on layer names
        patterns += [re.compile(n) for n in names]
    return patterns


def _replace_child(parent: keras.layers.Layer, old: keras.layers.Layer, new: keras.layers.Layer) -> bool:
    """Points every attribute of `parent` that holds `old` at `new`.

    Bypasses Keras' state tracker on purpose: the parent is already built (adding state is
    refused), and the swap replaces a tracked layer in place rather than adding one.
    """
    attrs = [attr for attr, value in vars(parent).items() if value is old]
    for attr in attrs:
        object.__setattr__(parent, attr, new)
    for i, layer in enumerate(parent._layers):
        if layer is old:
            list.__setitem__(parent._layers, i, new)
    return bool(attrs)


def apply_lora(
    model: keras.layers.Layer,
    rank: int = 8,
    alpha: float = 16.0,
    dropout: float = 0.0,
    targets: Sequence[str] = ("query", "value"),
) -> list[LoRAWrapper]:
    """Wraps every target layer of `model` in a LoRAWrapper and freezes all base variables.

    `targets` are aliases (query, key, value, attention_output, ffn_gate, ffn_up, ffn_down) or
    regular expressions on layer names. Returns the wrappers in model order.
    """
    patterns = _target_patterns(targets)
    wrappers: list[LoRAWrapper] = []
    for parent in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(parent, LoRAWrapper):
            continue
        for child in list(parent._layers):
            if isinstance(child, LoRAWrapper) or not _layer_matches(child, patterns):
                continue
            if not isinstance(child, (keras.layers.Dense, keras.layers.EinsumDense)):
                continue
            wrapper = LoRAWrapper(child, rank=rank, alpha=alpha, dropout=dropout)
            if _replace_child(parent, child, wrapper):
                wrappers.append(wrapper)
    if not wrappers:
        raise ValueError(f"no Dense/EinsumDense layer of {model.name} matches LoRA targets {list(targets)}")
    freeze_all_but_lora(model)
    return wrappers


def lora_wrappers(model: keras.layers.Layer) -> list[LoRAWrapper]:
    return [l for l in model._flatten_layers(include_self=False) if isinstance(l, LoRAWrapper)]


def freeze_all_but_lora(model: keras.layers.Layer) -> None:
    """Marks every variable non-trainable except LoRA A/B (biases of wrapped layers included)."""
    model.trainable = True
    lora_ids = {id(v) for w in lora_wrappers(model) for v in (w.lora_a, w.lora_b)}
    for v in model.weights:
        v.trainable = id(v) in lora_ids


def count_lora_params(model: keras.layers.Layer) -> int:
    return sum(w.num_params for w in lora_wrappers(model))


def merge_lora(model: keras.layers.Layer) -> int:
    """Adds each adapter's update into its base kernel and unwraps it; returns layers merged."""
    merged = 0
    for parent in model._flatten_layers(include_self=True, recursive=True):
        for child in list(parent._layers):
            if not isinstance(child, LoRAWrapper):
                continue
            kernel = child.base.kernel
            updated = keras.ops.convert_to_numpy(kernel).astype(np.float64) + child.delta_kernel()
            kernel.assign(updated.astype(keras.backend.standardize_dtype(kernel.dtype)))
            _replace_child(parent, child, child.base)
            merged += 1
    return merged


def _wrapper_key(model: keras.layers.Layer, wrapper: LoRAWrapper) -> str:
    return wrapper.base.path


def save_adapter(model: keras.layers.Layer, path: str, metadata: dict[str, Any] | None = None) -> int:
    """Saves only A/B matrices (+ rank/alpha/targets metadata) to `path` (.npz); returns bytes."""
    wrappers = lora_wrappers(model)
    if not wrappers:
        raise ValueError("model has no LoRA adapters to save")
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for w in wrappers:
        key = _wrapper_key(model, w)
        arrays[f"{key}::a"] = keras.ops.convert_to_numpy(w.lora_a)
        arrays[f"{key}::b"] = keras.ops.convert_to_numpy(w.lora_b)
        layers.append({"path": key, "rank": w.rank, "alpha": w.alpha, "dropout": w.dropout_rate})
    meta = {"format": "carelora-lora-v1", "layers": layers, **(metadata or {})}
    arrays["__metadata__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    with files.atomic_open(path, "wb", fsync=True) as f:
        np.savez(f, **arrays)
    return os.path.getsize(path)


class AdapterError(UserError, ValueError):
    """An adapter file that is missing, damaged or not a carelora adapter."""


def _read_adapter(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(bytes(arrays.pop("__metadata__")).decode("utf-8"))
    except FileNotFoundError as e:
        raise AdapterError(f"{path}: no adapter file here; run --mode=train (or sweep) first") from e
    except (zipfile.BadZipFile, EOFError, OSError, KeyError, ValueError, UnicodeDecodeError) as e:
        raise AdapterError(f"{path}: not a readable carelora adapter ({type(e).__name__}: {e}); "
                           "retrain, or restore the file from the run's last checkpoint") from e
    if meta.get("format") != "carelora-lora-v1":
        raise AdapterError(f"{path}: adapter format {meta.get('format')!r}, expected 'carelora-lora-v1'")
    return meta, arrays


def read_adapter_metadata(path: str) -> dict[str, Any]:
    return _read_adapter(path)[0]


def attach_adapter(model: keras.layers.Layer, path: str, default: Any) -> dict[str, Any]:
    """Wraps `model` the way the adapter at `path` was trained, loads it, returns those settings.

    Rank, alpha and targets come from the adapter's own metadata, so an adapter from a sweep trial
    (say rank 16) loads under a config that says rank 8; `default` (a config's `lora` section)
    covers files saved without them. Dropout is 0: this is for inference.
    """
    saved = read_adapter_metadata(path).get("lora") or {}
    settings = {k: saved.get(k, default[k]) for k in ("rank", "alpha", "targets")}
    settings["targets"] = tuple(settings["targets"])
    apply_lora(model, int(settings["rank"]), float(settings["alpha"]), 0.0, settings["targets"])
    load_adapter(model, path)
    return settings


def load_adapter(model: keras.layers.Layer, path: str) -> int:
    """Loads A/B into a model that already has matching wrappers (see `apply_lora`)."""
    by_key = {_wrapper_key(model, w): w for w in lora_wrappers(model)}
    meta, data = _read_adapter(path)
    saved = {layer["path"] for layer in meta["layers"]}
    missing, unexpected = sorted(set(by_key) - saved), sorted(saved - set(by_key))
    if missing or unexpected:
        raise AdapterError(f"{path}: adapter does not fit this model (missing {missing[:3]}, unexpected {unexpected[:3]})")
    for key, w in by_key.items():
        for name, var in (("a", w.lora_a), ("b", w.lora_b)):
            value = data.get(f"{key}::{name}")
            if value is None:
                raise AdapterError(f"{path}: {key}::{name} is missing from the file")
            if tuple(value.shape) != tuple(var.shape):
                raise AdapterError(f"{path}: {key}::{name} has shape {value.shape}, model expects {tuple(var.shape)}")
            var.assign(value)
    return len(by_key)


def dropout_rng_variables(model: keras.layers.Layer) -> list:
    """The seed-generator states of the adapters' dropout layers: saving them makes a resumed run
    draw the same masks as an uninterrupted one."""
    return [w.dropout.seed_generator.state for w in lora_wrappers(model) if hasattr(w.dropout, "seed_generator")]
