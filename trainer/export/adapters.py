"""LoRA adapter slots in a serving SavedModel: many small adapters on one base model.

The base export (config.adapter_slots = S) holds, for every target layer, variables
A [S+1, fan_in..., R] and B [S+1, R, fan_out...] and a name per slot. Slot 0 is the base model
(all zeros, name ""); slots 1..S are filled at load time by the `load_adapter` signature from a
flat float vector, so an adapter is only its A/B matrices (a `trainer.models.lora.save_adapter`
.npz, a few MB) and never a copy of the base. Each request picks a slot by name (`adapter`
input); the update `x @ A[slot] @ B[slot]` is added per row, like `LoRAWrapper.call`.

`pack_adapter` turns an adapter .npz into that vector: rank padded with zeros up to R (which
leaves A @ B unchanged) and `alpha / rank` folded into B; target layers the adapter does not
train get zeros. TF Serving installs adapters at load time through warmup records that call
`load_adapter` (see serving.add_adapters); a Python client may call the signature itself.
Loading into a slot that requests are using at that moment is not atomic: load first, then
send traffic.
"""
from __future__ import annotations

import contextlib
import json
import string
from typing import Any, Sequence

import numpy as np
import tensorflow as tf

from trainer.models import lora


def _target_layers(backbone: Any, targets: Sequence[str]) -> list:
    import keras

    patterns = lora._target_patterns(targets)
    found = {}
    for layer in backbone._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, lora.LoRAWrapper):
            raise ValueError("adapter slots go on the base model: merge_lora or use an unwrapped backbone")
        if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense)) and any(
            p.fullmatch(layer.name) for p in patterns
        ):
            found[layer.path] = layer
    if not found:
        raise ValueError(f"no Dense/EinsumDense layer matches adapter targets {list(targets)}")
    return sorted(found.items())


class _SlotLayer:
    """Per-row low-rank update for one target layer (its `call` is routed here)."""

    def __init__(self, owner: "AdapterSlots", path: str, layer: Any, slots: int, rank: int, index: int):
        self.path = path
        self.layer = layer
        self.owner = owner
        self.axes = lora.kernel_axes(layer)
        dims = dict(zip(self.axes.kernel, layer.kernel.shape))
        self.a_shape = tuple(int(dims[c]) for c in self.axes.contracted) + (rank,)
        self.b_shape = (rank,) + tuple(int(dims[c]) for c in self.axes.produced)
        self.a = tf.Variable(tf.zeros((slots + 1,) + self.a_shape), trainable=False, name=f"adapter_a_{index}")
        self.b = tf.Variable(tf.zeros((slots + 1,) + self.b_shape), trainable=False, name=f"adapter_b_{index}")
        import keras

        self.original_call = layer.call
        activation = getattr(layer, "activation", None)
        self.linear = activation is None or activation is keras.activations.linear
        self.activation = activation
        object.__setattr__(layer, "call", self.call)

    def _equations(self, rank: int) -> tuple[str, str]:
        x_sub, rest = self.axes.equation.split(",")
        out_sub = rest.split("->")[1]
        used = self.axes.equation + "r"
        if "..." in x_sub:  # Dense: name the leading axes so the batch axis has a letter
            extra = "".join(c for c in string.ascii_lowercase if c not in used)[: rank - (len(x_sub) - 3)]
            x_sub, out_sub = x_sub.replace("...", extra), out_sub.replace("...", extra)
        batch = x_sub[0]
        kept = "".join(c for c in x_sub if c not in self.axes.contracted)
        r = next(c for c in string.ascii_lowercase if c not in used + x_sub + out_sub)
        return (
            f"{x_sub},{batch}{self.axes.contracted}{r}->{kept}{r}",
            f"{kept}{r},{batch}{r}{self.axes.produced}->{out_sub}",
        )

    def call(self, inputs, *args, **kwargs):
        rows = self.owner.active_rows
        if rows is None:
            return self.original_call(inputs, *args, **kwargs)
        eq_a, eq_b = self._equations(len(inputs.shape))
        a = tf.cast(tf.gather(self.a, rows), inputs.dtype)
        b = tf.cast(tf.gather(self.b, rows), inputs.dtype)
        update = tf.einsum(eq_b, tf.einsum(eq_a, inputs, a), b)
        if self.linear:
            return self.original_call(inputs, *args, **kwargs) + update
        # The update belongs inside the activation, as in LoRAWrapper.
        y = tf.einsum(self.axes.equation, inputs, tf.cast(self.layer.kernel, inputs.dtype))
        if self.layer.bias is not None:
            y = y + tf.cast(self.layer.bias, y.dtype)
        return self.activation(y + update)


class AdapterSlots(tf.Module):
    """A/B variables for `slots` adapters on the target layers of `backbone`."""

    def __init__(self, backbone: Any, slots: int, rank: int, targets: Sequence[str]):
        super().__init__(name="adapter_slots")
        if slots < 1 or rank < 1:
            raise ValueError(f"adapter slots and rank must be >= 1, got {slots}, {rank}")
        self.num_slots = int(slots)
        self.rank = int(rank)
        object.__setattr__(self, "active_rows", None)
        layers = [_SlotLayer(self, path, layer, slots, rank, i) for i, (path, layer) in enumerate(_target_layers(backbone, targets))]
        object.__setattr__(self, "_layers", layers)
        self.a_variables = [l.a for l in layers]
        self.b_variables = [l.b for l in layers]
        self.names = tf.Variable([""] * (slots + 1), trainable=False, name="adapter_names")
        self.num_weights = int(sum(np.prod(l.a_shape) + np.prod(l.b_shape) for l in layers))

    def remove(self) -> None:
        """Restores the target layers' own `call` (the slots stop applying in this process)."""
        for layer in self._layers:
            if layer.layer.__dict__.get("call") == layer.call:
                del layer.layer.__dict__["call"]

    def describe(self) -> dict:
        return {
            "slots": self.num_slots,
            "rank": self.rank,
            "num_weights": self.num_weights,
            "layers": [{"path": l.path, "a_shape": list(l.a_shape), "b_shape": list(l.b_shape)} for l in self._layers],
        }

    @contextlib.contextmanager
    def rows(self, adapter_rows):
        """Within this context the target layers add the adapter of each row's slot."""
        object.__setattr__(self, "active_rows", adapter_rows)
        try:
            yield
        finally:
            object.__setattr__(self, "active_rows", None)

    def slot_of(self, adapter: tf.Tensor, batch: tf.Tensor) -> tf.Tensor:
        """Slot index [batch] of the adapter named `adapter` ("" = the base model)."""
        match = tf.equal(self.names, adapter)
        known = tf.logical_or(tf.equal(adapter, ""), tf.reduce_any(match[1:]))
        check = tf.debugging.Assert(known, ["unknown adapter:", adapter, "loaded adapters:", self.names], summarize=64)
        with tf.control_dependencies([check]):
            slot = tf.where(tf.equal(adapter, ""), 0, tf.argmax(tf.cast(match, tf.int32), output_type=tf.int32))
        return tf.fill([batch], slot)

    def load(self, slot: tf.Tensor, name: tf.Tensor, weights: tf.Tensor) -> dict:
        checks = [
            tf.debugging.Assert(
                tf.logical_and(slot >= 1, slot <= self.num_slots), ["adapter slot must be in [1, %d]" % self.num_slots, slot]
            ),
            tf.debugging.Assert(tf.not_equal(name, ""), ["adapter name must not be empty"]),
            tf.debugging.Assert(
                tf.equal(tf.size(weights), self.num_weights),
                ["adapter weights must have %d values (see carelora_export.json), got" % self.num_weights, tf.size(weights)],
            ),
        ]
        updates = []
        with tf.control_dependencies(checks):
            offset = 0
            for layer in self._layers:
                for var, shape in ((layer.a, layer.a_shape), (layer.b, layer.b_shape)):
                    size = int(np.prod(shape))
                    value = tf.reshape(weights[offset : offset + size], shape)
                    updates.append(var.scatter_nd_update([[slot]], value[None]))
                    offset += size
            slots = tf.range(self.num_slots + 1)
            updates.append(self.names.assign(tf.where(tf.equal(slots, slot), name, self.names)))
        with tf.control_dependencies(updates):
            return {"slot": tf.identity(slot), "names": tf.identity(self.names.read_value())}

    def signatures(self) -> dict:
        def load_adapter(slot, name, weights):
            return self.load(slot, name, weights)

        def adapter_names():
            return {"names": tf.identity(self.names.read_value())}

        return {
            "load_adapter": tf.function(
                load_adapter,
                input_signature=[
                    tf.TensorSpec([], tf.int32, "slot"),
                    tf.TensorSpec([], tf.string, "name"),
                    tf.TensorSpec([None], tf.float32, "weights"),
                ],
                autograph=False,
            ),
            "adapter_names": tf.function(adapter_names, input_signature=[], autograph=False),
        }


def pack_adapter(npz_path: str, layout: dict) -> np.ndarray:
    """An adapter .npz (lora.save_adapter) -> the flat vector `load_adapter` takes for `layout`."""
    with np.load(npz_path) as data:
        meta = json.loads(bytes(data["__metadata__"]).decode("utf-8"))
        arrays = {k: data[k] for k in data.files if k != "__metadata__"}
    trained = {layer["path"]: layer for layer in meta["layers"]}
    slot_paths = {layer["path"] for layer in layout["layers"]}
    extra = sorted(set(trained) - slot_paths)
    if extra:
        raise ValueError(
            f"{npz_path}: adapter trains layers the export has no slots for: {extra[:4]}; export the base "
            "with adapter_targets covering them"
        )
    rank_max = int(layout["rank"])
    parts = []
    for layer in layout["layers"]:
        a_shape, b_shape = tuple(layer["a_shape"]), tuple(layer["b_shape"])
        info = trained.get(layer["path"])
        if info is None:
            parts += [np.zeros(int(np.prod(a_shape)), np.float32), np.zeros(int(np.prod(b_shape)), np.float32)]
            continue
        a, b = arrays[f"{layer['path']}::a"], arrays[f"{layer['path']}::b"]
        rank = a.shape[-1]
        if rank > rank_max:
            raise ValueError(f"{npz_path}: {layer['path']} has rank {rank} > the export's adapter_rank {rank_max}")
        if a.shape[:-1] != a_shape[:-1] or b.shape[1:] != b_shape[1:]:
            raise ValueError(
                f"{npz_path}: {layer['path']} A/B shapes {a.shape}/{b.shape} do not fit the base "
                f"({a_shape}/{b_shape} at rank {rank_max}); was it trained on another model?"
            )
        scale = float(info["alpha"]) / float(info["rank"])
        a = np.concatenate([a, np.zeros(a.shape[:-1] + (rank_max - rank,), a.dtype)], axis=-1)
        b = np.concatenate([b * scale, np.zeros((rank_max - rank,) + b.shape[1:], b.dtype)], axis=0)
        parts += [a.astype(np.float32).ravel(), b.astype(np.float32).ravel()]
    return np.concatenate(parts)
