"""Tiny random-init models and export settings shared by the export tests.

A random-init transformer with small weights mostly repeats its last input token (the tied
embedding dominates the residual stream), which would make "same output" tests weak; scaling
the block weights up gives varied, prompt-dependent continuations.
"""
import trainer  # noqa: F401  (Keras switch before TensorFlow)

from trainer.export import config as export_config
from trainer.models import backbones
from trainer.models import config as models_config


def tiny_bundle(family: str = "gpt2", scale: float = 10.0, seed: int = 0):
    cfg = models_config.model_config()
    cfg.source = {"gpt2": "tiny_gpt2", "gemma3": "tiny_gemma"}[family]
    cfg.seed = seed
    cfg.tiny.num_layers = 2
    cfg.tiny.num_heads = 2
    cfg.tiny.hidden_dim = 32
    cfg.tiny.intermediate_dim = 64
    cfg.tiny.head_dim = 16
    cfg.tiny.max_sequence_length = 256
    bundle = backbones.build_backbone(cfg)
    if family == "gemma3":
        # Short window so that prompts in the tests cross it (sliding-window cache path).
        for block in bundle.backbone.transformer_layers:
            block.attention.sliding_window_size = 8
    for v in bundle.backbone.weights:
        if len(v.shape) >= 2 and "embedding" not in v.path:
            v.assign(v.numpy() * scale)
        elif family == "gemma3" and "post_" in v.path:
            # Gemma normalises each block's output; a larger norm gain plays the same role.
            v.assign(v.numpy() + scale)
    return bundle


def tiny_export_config(**overrides):
    cfg = export_config.default_config()
    cfg.max_new_tokens = 6
    cfg.max_new_tokens_cap = 16
    cfg.max_prompt_tokens = 32
    cfg.length_bucket = 32
    cfg.warmup_batch_sizes = (1, 2)
    cfg.warmup_max_new_tokens = 2
    for key, value in overrides.items():
        setattr(cfg, key, value)
    return cfg
