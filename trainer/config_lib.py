"""The full config tree, composed from each stage's own defaults; configs/*.py start here.

Only light modules are imported (no TensorFlow, Presidio or keras-hub), so loading or printing a
config takes a fraction of a second: `python -m trainer.main --config=configs/X.py --print_config`.
"""
from __future__ import annotations

import ml_collections

from trainer.augment import config as augment_config
from trainer.data import pipeline
from trainer.deid import gate
from trainer.eval import config as eval_config
from trainer.export import config as export_config
from trainer.models import config as models_config
from trainer.prepare import stage as prepare_stage
from trainer.rate import config as rate_config
from trainer.rl import config as rl_config
from trainer.train import config as train_config


def base_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.stages = ("train", "sample")  # what --mode=all runs, in order
    c.prepare = prepare_stage.default_config()  # used by --mode=prepare (raw logs -> workdir/data/)
    c.augment = augment_config.default_config()  # used by --mode=augment (data/train.jsonl -> data/augmented.jsonl)
    c.model = models_config.model_config()
    c.lora = models_config.lora_config()
    c.data = pipeline.default_config()
    # Shipped data when no train_file and no prepared split (trainer/data/files.py): "corpus", the
    # hand-written corpus (train/val for training, val for samples, test for eval), or "sample",
    # the generated one. data.train_file "" therefore means the corpus, not the sample.
    c.data.fallback = "corpus"
    c.train = train_config.train_config()
    c.train.phi_gate = gate.default_config()
    c.sample = train_config.sample_config()
    c.eval = eval_config.default_config()
    c.rate = rate_config.default_config()  # used by --mode=rate (the clinicians' rating page)
    c.export = export_config.default_config()
    c.rl = rl_config.default_config()  # used by --mode=rl (reward fine-tuning from the SFT adapter)
    c.sweep = train_config.sweep_config()  # used by --mode=sweep
    return c


def tiny_config(source: str, lora_targets: tuple[str, ...]) -> ml_collections.ConfigDict:
    """The shared recipe of the tiny random-init configs: trains in seconds on a CPU."""
    c = base_config()
    c.model.source = source
    c.lora.update(rank=8, alpha=16.0, targets=lora_targets)
    c.data.seq_len = 256
    # The generated sample, not the corpus: short examples that fit seq_len 256, and the numbers
    # the tiny models' tests were written against.
    c.data.fallback = "sample"
    c.train.update(steps=40, batch_size=8, learning_rate=3e-3, warmup_steps=4, log_every=5, eval_every=20, checkpoint_every=10)
    # float32 on every machine, so tests assert the same numbers on AVX2 and AVX-512 CPUs alike
    # (bf16 has its own tests).
    c.train.mixed_precision = "fp32"
    c.sample.dtype = "float32"
    c.export.dtype = "float32"
    c.sample.update(count=2, max_new_tokens=32)
    return c
