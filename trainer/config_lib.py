"""The full config tree, composed from each stage's own defaults; configs/*.py start here."""
from __future__ import annotations

import ml_collections


def base_config() -> ml_collections.ConfigDict:
    from trainer.data import phi_gate, pipeline, prepare
    from trainer.eval import evaluate, stage as eval_stage
    from trainer.export import saved_model
    from trainer.models import backbones
    from trainer.train import samples, sft, sweep

    c = ml_collections.ConfigDict()
    c.stages = ("train", "sample")  # what --mode=all runs, in order
    c.prepare = prepare.default_config()  # used by --mode=prepare (raw logs -> workdir/data/)
    c.model = backbones.default_config()
    c.lora = sft.lora_default_config()
    c.data = pipeline.default_config()
    c.train = sft.default_config()
    c.train.phi_gate = phi_gate.default_config()
    c.sample = samples.default_config()
    c.eval = evaluate.default_config()
    c.eval.generation = eval_stage.default_generation_config()
    c.export = saved_model.default_config()
    c.sweep = sweep.default_config()  # used by --mode=sweep
    return c


def tiny_config(source: str, lora_targets: tuple[str, ...]) -> ml_collections.ConfigDict:
    """The shared recipe of the tiny random-init configs: trains in seconds on a CPU."""
    c = base_config()
    c.model.source = source
    c.lora.update(rank=8, alpha=16.0, targets=lora_targets)
    c.data.seq_len = 256
    c.train.update(steps=40, batch_size=8, learning_rate=3e-3, warmup_steps=4, log_every=5, eval_every=20, checkpoint_every=10)
    # Smoke/test configs: whatever file they are pointed at is synthetic test data.
    c.train.phi_gate.allow_synthetic = True
    c.sample.update(count=2, max_new_tokens=32)
    return c
