"""Gemma 3 from GGUF: the real 270M package model, plus tiny GGUF files written here.

The real model is converted once into a fresh cache per run (cold path), then loaded again
from that cache (warm path); both share the module's fixtures.
"""
import os
import shutil
import time

import numpy as np
import pytest

import trainer  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import gguf
from trainer.models import gguf as gemma_gguf
from trainer.models.gguf import assemble_package_gguf, cache_root, load_gemma3_gguf
from trainer.models.sources import load_source

PARAGRAPH = (
    "The history of the bicycle began in the early nineteenth century, when inventors in Europe "
    "experimented with two-wheeled machines that riders pushed along with their feet. Over the "
    "following decades, pedals, chains and air-filled tires made cycling faster and more "
    "comfortable, and by the end of the century millions of people used bicycles to travel to "
    "work, visit friends and explore the countryside."
)
BOS = 2


def _logits(backbone, ids):
    x = np.asarray([ids], dtype="int32")
    hidden = backbone({"token_ids": x, "padding_mask": np.ones_like(x)})
    return np.asarray(backbone.token_embedding(hidden, reverse=True), dtype="float64")[0]


def _ids(tokenizer, text):
    return [int(i) for i in np.asarray(tokenizer(text))]


# --- the real Gemma 3 270M ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_cache(tmp_path_factory):
    directory = tmp_path_factory.mktemp("carelora-cache")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)  # ~1 GB of float weights


@pytest.fixture(scope="module")
def gguf_path():
    return assemble_package_gguf()  # shared default cache: the lead's code reuses it


@pytest.fixture(scope="module")
def model(gguf_path, fresh_cache):
    """The 270M converted from the GGUF into an empty cache (the cold path)."""
    start = time.perf_counter()
    backbone, tokenizer = load_gemma3_gguf(gguf_path, cache_dir=fresh_cache)
    print(f"\ncold GGUF load: {time.perf_counter() - start:.1f} s")
    return backbone, tokenizer


def test_config_is_read_from_gguf_metadata(model):
    config = model[0].get_config()
    expected = dict(
        vocabulary_size=262144, image_size=None, num_layers=18, num_query_heads=4,
        num_key_value_heads=1, hidden_dim=640, intermediate_dim=2048, head_dim=256,
        query_head_dim_normalize=True, use_query_key_norm=True, use_post_ffw_norm=True,
        use_post_attention_norm=True, use_sliding_window_attention=True,
        sliding_window_size=512, layer_norm_epsilon=1e-6,
    )
    assert {k: config[k] for k in expected} == expected
    assert model[0].count_params() == 268_098_176


def test_greedy_continuation_is_coherent(model):
    backbone, tokenizer = model
    ids = [BOS] + _ids(tokenizer, "The capital of France is")
    prompt_len = len(ids)
    for _ in range(7):
        ids.append(int(np.argmax(_logits(backbone, ids)[-1])))
    continuation = tokenizer.detokenize(np.asarray(ids[prompt_len:]))
    assert continuation.startswith(" the capital of the country of France"), continuation


def test_perplexity_on_plain_english_is_low(model):
    backbone, tokenizer = model
    ids = [BOS] + _ids(tokenizer, PARAGRAPH)
    logits = _logits(backbone, ids)[:-1]
    logits -= logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    perplexity = float(np.exp(-log_probs[np.arange(len(ids) - 1), ids[1:]].mean()))
    print(f"\nperplexity {perplexity:.2f} over {len(ids) - 1} tokens")
    assert perplexity < 12.0  # a wrong norm offset or layout gives hundreds or more


@pytest.mark.parametrize("text", [
    "Café naïve — 東京タワー, ¿Qué tal, señora Núñez? Ünïcödé ß ø",
    "Emoji: 🙂👍🏽 🇪🇸 👩‍⚕️ 💊",
    "a    b\t\tc\n\n\n d  ",
    "   leading and trailing spaces   ",
    "def f():\n        return 1\n",
    "<start_of_turn>user\nHi Dr. López<end_of_turn>\n<start_of_turn>model\n",
])
def test_tokenizer_round_trips_text(model, text):
    tokenizer = model[1]
    assert tokenizer.detokenize(np.asarray(_ids(tokenizer, text))) == text


def test_whitespace_runs_use_their_own_pieces(model):
    """Repair 1: the 30 whitespace-run pieces match again (one token for a run of spaces)."""
    tokenizer = model[1]
    for width in (2, 4, 8, 31):
        ids = _ids(tokenizer, "x" + " " * width + "y")
        assert len(ids) == 3, ids
        assert tokenizer.id_to_token(ids[1]) == "\u2581" * width
        assert 138 <= ids[1] <= 167


def test_chat_markers_are_single_tokens(model):
    """Repair 2: chat markers typed in a prompt encode to their ids, not to characters."""
    tokenizer = model[1]
    assert _ids(tokenizer, "<start_of_turn>") == [105]
    assert _ids(tokenizer, "<end_of_turn>") == [106]
    assert _ids(tokenizer, "<start_of_turn>model\n")[0] == 105
    assert _ids(tokenizer, "<mask>") == [4]
    assert tokenizer.token_to_id("<bos>") == 2 and tokenizer.token_to_id("<eos>") == 1
    assert tokenizer.end_token_id == 1 and tokenizer.pad_token_id == 0


def test_warm_load_reads_only_the_cache(model, gguf_path, fresh_cache, monkeypatch):
    def no_conversion(path):
        raise AssertionError(f"warm load converted {path} again")

    monkeypatch.setattr(gemma_gguf, "_convert", no_conversion)
    start = time.perf_counter()
    warm_backbone, warm_tokenizer = load_source(f"gguf:{gguf_path}", cache_dir=fresh_cache)
    print(f"\nwarm GGUF load: {time.perf_counter() - start:.1f} s")
    cold_backbone, cold_tokenizer = model
    differing = {k for k, v in warm_backbone.get_config().items()
                 if cold_backbone.get_config()[k] != v}
    assert differing == {"name"}  # keras numbers the second instance
    for warm, cold_weight in zip(warm_backbone.weights, cold_backbone.weights):
        assert warm.path == cold_weight.path
        np.testing.assert_array_equal(np.asarray(warm), np.asarray(cold_weight))
    assert warm_tokenizer.proto == cold_tokenizer.proto


def test_package_source_assembles_into_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CARELORA_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    path = assemble_package_gguf()
    try:
        assert path.startswith(str(tmp_path)) and path.endswith(".gguf")
        with open(path, "rb") as handle:
            assert handle.read(4) == b"GGUF"
    finally:
        os.remove(path)  # 253 MB; pytest keeps the last runs' tmp dirs


# --- tiny GGUF files written here ----------------------------------------------------------

TINY = dict(layers=2, hidden=32, heads=2, kv_heads=1, head_dim=16, ffn=48, window=8)
_PIECES = (
    [("<pad>", 3), ("<eos>", 3), ("<bos>", 3), ("<unk>", 3), ("<mask>", 3),
     ("<start_of_turn>", 3), ("<end_of_turn>", 3), ("  ", 4)]  # as llama.cpp writes them
    + [(f"<0x{b:02X}>", 6) for b in range(256)]
    + [("\u2581", 1), ("h", 1), ("i", 1), ("hi", 1), ("\u2581h", 1), ("\u2581hi", 1)]
)


def _write_tiny_gguf(path, arch="gemma3", seed=0):
    """A float32 Gemma 3 GGUF with the tensor names and metadata llama.cpp writes."""
    rng = np.random.default_rng(seed)
    t = TINY
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_block_count(t["layers"])
    writer.add_context_length(128)
    writer.add_embedding_length(t["hidden"])
    writer.add_feed_forward_length(t["ffn"])
    writer.add_head_count(t["heads"])
    writer.add_head_count_kv(t["kv_heads"])
    writer.add_key_length(t["head_dim"])
    writer.add_value_length(t["head_dim"])
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_sliding_window(t["window"])
    writer.add_tokenizer_model("llama")
    writer.add_token_list([p for p, _ in _PIECES])
    writer.add_token_types([k for _, k in _PIECES])
    writer.add_token_scores([-1000.0 if k != 1 else -float(i) for i, (_, k) in enumerate(_PIECES)])
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(3)
    writer.add_pad_token_id(0)
    writer.add_add_space_prefix(False)

    def rand(*shape):
        return rng.normal(0.0, 0.3, shape).astype(np.float32)

    tensors = {"token_embd.weight": rand(len(_PIECES), t["hidden"]),
               "output_norm.weight": 1.0 + rand(t["hidden"])}
    q, kv = t["heads"] * t["head_dim"], t["kv_heads"] * t["head_dim"]
    for i in range(t["layers"]):
        layer = {  # numpy shapes (out, in): y = W @ x, as a GGUF linear weight means
            "attn_q.weight": rand(q, t["hidden"]), "attn_k.weight": rand(kv, t["hidden"]),
            "attn_v.weight": rand(kv, t["hidden"]), "attn_output.weight": rand(t["hidden"], q),
            "ffn_gate.weight": rand(t["ffn"], t["hidden"]),
            "ffn_up.weight": rand(t["ffn"], t["hidden"]),
            "ffn_down.weight": rand(t["hidden"], t["ffn"]),
        }
        for norm, size in (("attn_norm", t["hidden"]), ("post_attention_norm", t["hidden"]),
                           ("ffn_norm", t["hidden"]), ("post_ffw_norm", t["hidden"]),
                           ("attn_q_norm", t["head_dim"]), ("attn_k_norm", t["head_dim"])):
            layer[f"{norm}.weight"] = 1.0 + rand(size)  # llama.cpp stores Gemma norms as 1 + w
        tensors.update({f"blk.{i}.{k}": v for k, v in layer.items()})
    for name, value in tensors.items():
        writer.add_tensor(name, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return tensors


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny-gguf")
    tensors = _write_tiny_gguf(directory / "tiny.gguf")
    backbone, tokenizer = load_gemma3_gguf(directory / "tiny.gguf", cache_dir=directory / "cache")
    return tensors, backbone, tokenizer


def test_tiny_gguf_config_follows_its_metadata(tiny):
    _, backbone, _ = tiny
    config = backbone.get_config()
    assert (config["num_layers"], config["hidden_dim"], config["intermediate_dim"]) == (2, 32, 48)
    assert (config["num_query_heads"], config["num_key_value_heads"], config["head_dim"]) == (2, 1, 16)
    assert config["sliding_window_size"] == 8 and config["use_sliding_window_attention"]
    assert config["vocabulary_size"] == len(_PIECES)


def test_tiny_gguf_layers_compute_what_the_gguf_weights_mean(tiny):
    """Each keras layer reproduces y = W @ x with the GGUF matrix W; norms lose their +1."""
    tensors, backbone, _ = tiny
    t = TINY
    rng = np.random.default_rng(1)
    for i, block in enumerate(backbone.transformer_layers):
        w = {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"blk.{i}.")}
        x = rng.normal(size=(1, 1, t["hidden"])).astype(np.float32)
        att = block.attention
        np.testing.assert_allclose(
            np.asarray(att.query_dense(x))[0, 0], (w["attn_q.weight"] @ x[0, 0]).reshape(t["heads"], -1),
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(att.key_dense(x))[0, 0], (w["attn_k.weight"] @ x[0, 0]).reshape(t["kv_heads"], -1),
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(att.value_dense(x))[0, 0], (w["attn_v.weight"] @ x[0, 0]).reshape(t["kv_heads"], -1),
            rtol=1e-5, atol=1e-5)
        heads_out = rng.normal(size=(1, 1, t["heads"], t["head_dim"])).astype(np.float32)
        np.testing.assert_allclose(
            np.asarray(att.output_dense(heads_out))[0, 0], w["attn_output.weight"] @ heads_out.reshape(-1),
            rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(block.gating_ffw(x))[0, 0], w["ffn_gate.weight"] @ x[0, 0], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            np.asarray(block.gating_ffw_2(x))[0, 0], w["ffn_up.weight"] @ x[0, 0], rtol=1e-5, atol=1e-5)
        h = rng.normal(size=(1, 1, t["ffn"])).astype(np.float32)
        np.testing.assert_allclose(
            np.asarray(block.ffw_linear(h))[0, 0], w["ffn_down.weight"] @ h[0, 0], rtol=1e-5, atol=1e-5)
        for layer, name in ((block.pre_attention_norm, "attn_norm"), (block.pre_ffw_norm, "ffn_norm"),
                            (block.post_attention_norm, "post_attention_norm"),
                            (block.post_ffw_norm, "post_ffw_norm"), (att.query_norm, "attn_q_norm"),
                            (att.key_norm, "attn_k_norm")):
            np.testing.assert_allclose(np.asarray(layer.scale), w[f"{name}.weight"] - 1.0, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(backbone.token_embedding.embeddings),
                                  tensors["token_embd.weight"])


def test_tiny_gguf_tokenizer_repairs(tiny):
    _, _, tokenizer = tiny
    ids = {piece: i for i, (piece, _) in enumerate(_PIECES)}
    assert tokenizer.id_to_token(7) == "\u2581\u2581"  # was "  " in the GGUF
    assert _ids(tokenizer, "hi  hi") == [ids["hi"], 7, ids["hi"]]
    assert _ids(tokenizer, "<start_of_turn>hi<end_of_turn>") == [5, ids["hi"], 6]
    assert _ids(tokenizer, "<bos>") != [2]  # bos/eos/pad stay control: never matched in text
    text = "hi é 🙂  hi"  # é and the emoji exist only as bytes here: byte fallback
    assert tokenizer.detokenize(np.asarray(_ids(tokenizer, text))) == text


def test_tiny_gguf_loads_in_bfloat16(tiny, tmp_path):
    _write_tiny_gguf(tmp_path / "tiny.gguf")
    backbone, _ = load_gemma3_gguf(tmp_path / "tiny.gguf", dtype="bfloat16", cache_dir=tmp_path)
    assert backbone.token_embedding.embeddings.dtype == "bfloat16"
    logits = _logits(backbone, [2, 267, 7, 269])
    assert np.isfinite(logits).all()


def test_gguf_of_another_architecture_is_refused(tmp_path):
    _write_tiny_gguf(tmp_path / "llama.gguf", arch="llama")
    with pytest.raises(ValueError, match=r"llama\.gguf.*general\.architecture"):
        load_gemma3_gguf(tmp_path / "llama.gguf", cache_dir=tmp_path)


def test_not_a_gguf_file_is_named(tmp_path):
    (tmp_path / "notes.gguf").write_text("not a model")
    with pytest.raises(ValueError, match=r"notes\.gguf: not a readable GGUF"):
        load_gemma3_gguf(tmp_path / "notes.gguf", cache_dir=tmp_path)


def test_changed_gguf_file_replaces_its_stale_cache_entry(tmp_path):
    path = tmp_path / "tiny.gguf"
    _write_tiny_gguf(path, seed=0)
    load_gemma3_gguf(path, cache_dir=tmp_path / "cache")
    [first] = list((tmp_path / "cache" / "gguf").iterdir())
    tensors = _write_tiny_gguf(path, seed=5)  # same path, new content and mtime
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    backbone, _ = load_gemma3_gguf(path, cache_dir=tmp_path / "cache")
    [second] = list((tmp_path / "cache" / "gguf").iterdir())
    assert second != first
    np.testing.assert_array_equal(np.asarray(backbone.token_embedding.embeddings),
                                  tensors["token_embd.weight"])


def test_missing_gguf_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.gguf"):
        load_gemma3_gguf(tmp_path / "nothing.gguf", cache_dir=tmp_path)
