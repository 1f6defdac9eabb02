"""The TPUStrategy path, checked as far as a machine without a TPU allows.

A TPU runs only what XLA compiles, with static shapes, and has no float64. So: the TPU config
resolves to bf16 frozen weights and XLA on; the input pipeline yields fully static batches (per
replica of an 8-core TPU slice); the real train steps of sft (accumulate the gradients, apply the
update, evaluate) compile with jit_compile=True on the tiny Gemma in bf16, and their HLO holds
no dynamic dimension, no float64, no string and no host callback.
"""
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from trainer import config_lib
from trainer.data import pipeline
from trainer.models import precision
from trainer.train import distribute, sft

TPU_CORES = 8  # a v5e-8 / v4-8 TPU VM: 8 replicas


@pytest.fixture(scope="module")
def tpu_config():
    cfg = config_lib.tiny_config("tiny_gemma", ("query", "value", "ffn_up"))
    cfg.train.phi_gate.allow_synthetic = True
    cfg.train.update(tpu="local", mixed_precision="auto", xla="auto", batch_size=8)
    cfg.data.seq_len = 256  # fixed: every row, every batch the same shape
    cfg.lora.dropout = 0.05
    return cfg


def test_tpu_picks_bf16_and_xla(tpu_config, monkeypatch):
    prec = precision.resolve(tpu_config.train.mixed_precision, devices=lambda: {"tpu": True, "gpu_capabilities": []})
    assert prec.bf16 and "TPU" in prec.reason
    monkeypatch.setattr(sft, "has_accelerator", lambda: True)
    assert sft.xla_enabled(tpu_config.train.xla, bf16=True) is True  # XLA stays on for bf16 on a TPU


def test_tpu_resolver_for_a_tpu_vm_needs_no_network():
    """train.tpu="local" names this VM's own chips: no metadata server, no cluster to connect to."""
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu="local")
    assert resolver.cluster_spec().as_dict() == {}
    with pytest.raises(ValueError, match="train.devices must be"):
        distribute.make_strategy("", "tpu-please")


def _static(spec) -> bool:
    return all(s.shape.is_fully_defined() for s in tf.nest.flatten(spec))


@pytest.fixture(scope="module")
def compiled(tpu_config):
    cfg = tpu_config
    bundle = sft.build_model(cfg, dtype="bfloat16")
    examples, val = sft.load_examples(cfg, "/nonexistent-workdir")
    rows, _ = pipeline.build_rows(examples[:24], bundle.tokenizer, cfg.data, bundle.pad_token_id)
    val_rows, _ = pipeline.build_rows(val[:6], bundle.tokenizer, cfg.data, bundle.pad_token_id, "val")
    val_rows = pipeline.pad_rows(val_rows, cfg.train.batch_size)
    k = max(rows["loss_positions"].shape[1], val_rows["loss_positions"].shape[1])
    rows, val_rows = sft._widen_k(rows, k), sft._widen_k(val_rows, k)
    context = tf.distribute.InputContext(num_input_pipelines=1, input_pipeline_id=0, num_replicas_in_sync=TPU_CORES)
    train_ds = pipeline.make_dataset(rows, cfg.train.batch_size, 0, num_batches=2, input_context=context)
    val_ds = pipeline.make_dataset(val_rows, cfg.train.batch_size, 0, shuffle=False, input_context=context)
    trainable = bundle.backbone.trainable_variables
    optimizer = keras.optimizers.AdamW(learning_rate=sft.WarmupDecay(1e-3, 1, 4), weight_decay=0.01)
    optimizer.build(trainable)
    accumulate, apply, eval_step = sft.step_functions(bundle, trainable, optimizer, 1.0, replicas=1, jit=True)
    return dict(bundle=bundle, train_ds=train_ds, val_ds=val_ds, trainable=trainable,
                accumulate=accumulate, apply=apply, eval_step=eval_step)


def test_input_pipeline_has_static_per_replica_shapes(compiled, tpu_config):
    per_replica = tpu_config.train.batch_size // TPU_CORES
    for ds in (compiled["train_ds"], compiled["val_ds"]):
        assert _static(ds.element_spec), ds.element_spec
        assert ds.element_spec["token_ids"].shape == (per_replica, tpu_config.data.seq_len)
    assert sum(1 for _ in compiled["val_ds"]) == 8  # every padded validation row, none dropped


_NOT_ON_TPU = {
    "dynamic dimension": re.compile(r"\[[^\]]*<=\d"),  # bounded-dynamic shapes: f32[<=8,128]
    "float64": re.compile(r"\bf64\["),
    "host callback / custom call": re.compile(r"custom-call|outfeed|infeed|send\(|recv\("),
}


def _check_hlo(hlo: str, name: str) -> None:
    assert "ENTRY" in hlo, name
    for what, pattern in _NOT_ON_TPU.items():
        found = pattern.search(hlo)
        assert not found, f"{name}: {what} in HLO: ...{hlo[max(found.start() - 200, 0):found.end() + 100]}"


def test_train_and_eval_steps_compile_with_xla_to_static_tpu_safe_hlo(compiled):
    batch = next(iter(compiled["train_ds"]))
    acc = [tf.zeros_like(v) for v in compiled["trainable"]]
    ir = compiled["accumulate"].experimental_get_compiler_ir(batch, acc)
    hlo = ir(stage="hlo")
    _check_hlo(hlo, "accumulate")
    assert "bf16[" in hlo  # the frozen weights run in bf16
    # It also runs (XLA on CPU here) and gives finite gradients of the adapters.
    new_acc, loss_sum, n = compiled["accumulate"](batch, acc)
    assert float(n) > 0 and np.isfinite(float(loss_sum))
    assert all(np.all(np.isfinite(g.numpy())) for g in new_acc) and any(np.any(g.numpy() != 0) for g in new_acc)

    n_total = tf.constant(float(n))
    _check_hlo(compiled["apply"].experimental_get_compiler_ir(new_acc, n_total)(stage="hlo"), "apply")
    before = [v.numpy().copy() for v in compiled["trainable"]]
    norm = compiled["apply"](new_acc, n_total)
    assert np.isfinite(float(norm))
    assert any(np.any(b != v.numpy()) for b, v in zip(before, compiled["trainable"]))

    val_batch = next(iter(compiled["val_ds"]))
    _check_hlo(compiled["eval_step"].experimental_get_compiler_ir(val_batch)(stage="hlo"), "eval_step")
