"""The export's view of the KV-cache decoder, which lives in trainer/models/kv_decode.py.

Evaluation and samples decode with the same loop, so it sits below both (trainer.models may not
import trainer.export); the SavedModel code keeps importing these names from here.
"""
from __future__ import annotations

from trainer.models.kv_decode import (  # noqa: F401 (re-exported)
    DecodeResult,
    Decoder,
    SamplingParams,
    causal_lm_for,
    gumbel_noise,
    sample_next,
)
