"""Defaults of the export stage (no TensorFlow import)."""
from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.model_name = "carelora"
    c.version = 1
    # Request defaults (a request may override each one).
    c.max_new_tokens = 128
    c.temperature = 0.0
    c.top_k = 0
    c.top_p = 1.0
    c.seed = -1
    # Static limits of the graph.
    c.max_new_tokens_cap = 256  # largest max_new_tokens a request may ask for
    c.max_prompt_tokens = 768  # longer prompts lose tokens from the left
    c.sample_pool = 1024  # top-k/top-p sample among this many most likely tokens
    c.add_start_token = True  # as keras-hub's CausalLMPreprocessor does at training time
    c.stop_token_ids = ()  # () = the tokenizer's end token and <end_of_turn> when it has one
    c.jit_compile = True
    # The export stage turns XLA off for bfloat16 weights on a machine without GPU/TPU (XLA's CPU
    # bf16 dots are slow, TF's oneDNN kernels are not) unless this is True.
    c.xla_bf16_on_cpu = False
    # How the merged weights are stored and run (weight_formats.py): auto | float32 | bfloat16 |
    # int8. auto = bfloat16 where the hardware runs it natively (AVX512-BF16/AMX CPU, GPU >= 8.0,
    # TPU), float32 elsewhere (trainer/models/precision.py; the log says which and why). int8 =
    # weight-only int8 with per-output-channel float32 scales, embedding/output layer included.
    c.dtype = "auto"
    c.length_bucket = 64
    c.pad_batch_to_power_of_two = True
    # Adapter slots (0 = plain merged export); see adapters.py.
    c.adapter_slots = 0
    c.adapter_rank = 16
    c.adapter_targets = ("query", "value")
    # TF Serving files (serving.py).
    c.serving_base_path = ""  # base_path written in models.config; "" = absolute export path
    c.warmup = True
    c.warmup_batch_sizes = (1, 8)
    c.warmup_max_new_tokens = 4
    c.ids_model_name = ""  # e.g. "carelora_ids": also export a token-id-only model (core TF ops)
    return c
