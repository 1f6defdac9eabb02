"""LoRA wrappers: identity at init, exact merge, parameter count, dropout, adapter round trip."""
import keras
import numpy as np
import pytest

from tests import tolerances
from trainer.models import backbones, causal_lm, lora
from trainer.models import config as models_config

ALL_TARGETS = ("query", "key", "value", "attention_output", "ffn_gate", "ffn_up", "ffn_down")


def _bundle(source):
    cfg = models_config.model_config()
    cfg.source = source
    return backbones.build_backbone(cfg)


def _ids(n=16, seed=0):
    return np.random.RandomState(seed).randint(5, 400, size=(2, n)).astype("int32")


def _logits(bundle, ids):
    return np.asarray(causal_lm.full_logits(bundle, ids, np.ones_like(ids)))


def _randomize_b(wrappers, seed=1):
    rng = np.random.RandomState(seed)
    for w in wrappers:
        w.lora_b.assign(rng.normal(0, 0.05, size=w.lora_b.shape).astype("float32"))


@pytest.mark.parametrize("source", ["tiny_gpt2", "tiny_gemma"])
def test_zero_b_gives_base_model_outputs(source):
    bundle = _bundle(source)
    ids = _ids()
    before = _logits(bundle, ids)
    lora.apply_lora(bundle.backbone, rank=4, alpha=8, targets=ALL_TARGETS)
    # Wrapping changes the kernels' summation order on some CPUs (4.8e-6 seen on AVX2).
    np.testing.assert_allclose(_logits(bundle, ids), before, **tolerances.SAME_MATH)


@pytest.mark.parametrize("source", ["tiny_gpt2", "tiny_gemma"])
def test_merged_equals_unmerged_and_removes_wrappers(source):
    bundle = _bundle(source)
    ids = _ids()
    wrappers = lora.apply_lora(bundle.backbone, rank=4, alpha=8, targets=ALL_TARGETS)
    _randomize_b(wrappers)
    unmerged = _logits(bundle, ids)
    base_kernels = [np.asarray(w.base.kernel).copy() for w in wrappers]
    assert lora.merge_lora(bundle.backbone) == len(wrappers)
    assert lora.lora_wrappers(bundle.backbone) == []
    merged = _logits(bundle, ids)
    np.testing.assert_allclose(merged, unmerged, **tolerances.SAME_MATH)
    # The adapters really changed the model: merged kernels differ from the originals.
    assert any(not np.allclose(np.asarray(w.base.kernel), k) for w, k in zip(wrappers, base_kernels))


def test_trainable_parameter_count_matches_formula():
    bundle = _bundle("tiny_gemma")
    b = bundle.backbone
    rank = 4
    lora.apply_lora(b, rank=rank, alpha=8, targets=("query", "value", "ffn_down"))
    t = models_config.model_config().tiny
    hidden, heads, head_dim, inter = t.hidden_dim, t.num_heads, t.head_dim, t.intermediate_dim
    kv_heads = 1
    per_layer = rank * (hidden + heads * head_dim) + rank * (hidden + kv_heads * head_dim) + rank * (inter + hidden)
    expected = t.num_layers * per_layer
    assert lora.count_lora_params(b) == expected
    assert sum(int(np.prod(v.shape)) for v in b.trainable_variables) == expected
    names = {v.name for v in b.trainable_variables}
    assert names == {"lora_a", "lora_b"}  # base kernels and biases are frozen


def test_gpt2_biases_of_wrapped_layers_are_frozen():
    bundle = _bundle("tiny_gpt2")
    wrappers = lora.apply_lora(bundle.backbone, rank=2, alpha=4, targets=("query", "value"))
    assert all(not w.base.bias.trainable for w in wrappers)
    assert all(not w.base.kernel.trainable for w in wrappers)
    assert len(bundle.backbone.trainable_variables) == 2 * len(wrappers)


def test_targets_select_layers_by_alias_and_regex():
    bundle = _bundle("tiny_gemma")
    wrappers = lora.apply_lora(bundle.backbone, rank=2, alpha=4, targets=("ffn_gate", r"attention_output"))
    assert sorted({w.base.name for w in wrappers}) == ["attention_output", "ffw_gating"]
    with pytest.raises(ValueError, match="matches LoRA targets"):
        lora.apply_lora(_bundle("tiny_gpt2").backbone, targets=("no_such_layer",))


def test_dropout_acts_only_in_training():
    layer = keras.layers.Dense(8)
    layer.build((None, 6))
    w = lora.LoRAWrapper(layer, rank=2, alpha=4, dropout=0.5)
    w.lora_b.assign(np.ones(w.lora_b.shape, "float32"))
    x = np.random.RandomState(0).normal(size=(4, 6)).astype("float32")
    inference = [np.asarray(w(x, training=False)) for _ in range(3)]
    np.testing.assert_array_equal(inference[0], inference[1])  # the same computation twice
    expected = np.asarray(layer(x)) + 2.0 * (x @ np.asarray(w.lora_a) @ np.asarray(w.lora_b))
    np.testing.assert_allclose(inference[0], expected, **tolerances.SAME_MATH)
    trained = [np.asarray(w(x, training=True)) for _ in range(3)]
    assert not np.allclose(trained[0], inference[0])
    assert not np.allclose(trained[0], trained[1])


def test_lora_goes_inside_the_activation():
    layer = keras.layers.Dense(5, activation="gelu")
    layer.build((None, 3))
    w = lora.LoRAWrapper(layer, rank=2, alpha=2)
    w.lora_b.assign(np.full(w.lora_b.shape, 0.3, "float32"))
    x = np.random.RandomState(0).normal(size=(2, 3)).astype("float32")
    pre = x @ np.asarray(layer.kernel) + np.asarray(layer.bias) + x @ np.asarray(w.lora_a) @ np.asarray(w.lora_b)
    np.testing.assert_allclose(np.asarray(w(x)), np.asarray(keras.activations.gelu(pre)), **tolerances.SAME_MATH)


def test_adapter_file_is_small_and_round_trips_exactly(tmp_path):
    src = _bundle("tiny_gemma")
    wrappers = lora.apply_lora(src.backbone, rank=4, alpha=8, targets=ALL_TARGETS)
    _randomize_b(wrappers)
    path = str(tmp_path / "adapter.npz")
    size = lora.save_adapter(src.backbone, path, metadata={"note": "x"})
    full_bytes = sum(int(np.prod(v.shape)) * 4 for v in src.backbone.weights)
    assert size < full_bytes / 10
    dst = _bundle("tiny_gemma")
    lora.apply_lora(dst.backbone, rank=4, alpha=8, targets=ALL_TARGETS)
    assert lora.load_adapter(dst.backbone, path) == len(wrappers)
    for a, b in zip(lora.lora_wrappers(src.backbone), lora.lora_wrappers(dst.backbone)):
        np.testing.assert_array_equal(np.asarray(a.lora_a), np.asarray(b.lora_a))
        np.testing.assert_array_equal(np.asarray(a.lora_b), np.asarray(b.lora_b))
    ids = _ids()
    np.testing.assert_array_equal(_logits(src, ids), _logits(dst, ids))
    assert lora.read_adapter_metadata(path)["note"] == "x"
    other = _bundle("tiny_gemma")
    lora.apply_lora(other.backbone, rank=4, alpha=8, targets=("query",))
    with pytest.raises(ValueError, match="does not fit"):
        lora.load_adapter(other.backbone, path)


@pytest.mark.parametrize("source", ["tiny_gpt2", "tiny_gemma"])
def test_bfloat16_backbone_keeps_float32_adapters_and_close_outputs(source):
    cfg = models_config.model_config()
    cfg.source = source
    ref = backbones.build_backbone(cfg)
    cfg.dtype = "bfloat16"
    half = backbones.build_backbone(cfg)
    for h, r in zip(half.backbone.weights, ref.backbone.weights):
        h.assign(keras.ops.cast(r, h.dtype))  # random init draws differ by dtype: same weights
    ids = _ids()
    wrappers = lora.apply_lora(half.backbone, rank=4, alpha=8, targets=ALL_TARGETS)
    lora.apply_lora(ref.backbone, rank=4, alpha=8, targets=ALL_TARGETS)
    frozen = [v for v in half.backbone.weights if "lora_" not in v.path]
    assert all(keras.backend.standardize_dtype(v.dtype) == "bfloat16" for v in frozen)
    # Adam steps of lr * 1e-3 would round away in bfloat16: the trained weights stay float32.
    assert half.backbone.trainable_weights
    assert all(keras.backend.standardize_dtype(v.dtype) == "float32" for v in half.backbone.trainable_weights)
    assert all(w.compute_dtype == "bfloat16" for w in wrappers)
    exact, approx = _logits(ref, ids), _logits(half, ids)
    # bfloat16 keeps 8 mantissa bits: logits agree to a few percent of their spread, and the
    # greedy next token agrees almost everywhere.
    assert np.abs(approx - exact).mean() < 0.05 * exact.std()
    assert (approx.argmax(-1) == exact.argmax(-1)).mean() > 0.9


@pytest.mark.parametrize("content", [b"", b"garbage, not a zip", None])
def test_damaged_or_missing_adapter_is_refused_with_its_path(tmp_path, content):
    path = tmp_path / "adapter.npz"
    if content is not None:
        path.write_bytes(content)
    bundle = _bundle("tiny_gpt2")
    defaults = {"rank": 4, "alpha": 8.0, "targets": ("query", "value")}
    with pytest.raises(lora.AdapterError, match=str(path)):
        lora.attach_adapter(bundle.backbone, str(path), defaults)
