"""Defaults of the model and its LoRA adapters (no TensorFlow import: configs load fast)."""
from __future__ import annotations

import ml_collections


def lora_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.rank = 8
    c.alpha = 16.0
    c.dropout = 0.05
    c.targets = ("query", "value")
    return c


def model_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.source = "tiny_gpt2"
    c.dtype = "float32"
    c.cache_dir = ""  # where converted weights/tokenizers are cached; "" = ~/.cache/carelora
    c.seed = 0  # random init of tiny models
    c.tiny = ml_collections.ConfigDict(
        dict(num_layers=2, num_heads=2, hidden_dim=64, intermediate_dim=128, head_dim=32, max_sequence_length=512)
    )
    return c
