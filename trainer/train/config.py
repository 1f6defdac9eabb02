"""Defaults of the train, sample and sweep stages (no TensorFlow import: configs load fast)."""
from __future__ import annotations

import ml_collections


def train_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.steps = 100
    c.batch_size = 8  # rows per optimizer micro-step (global, across replicas)
    c.grad_accum = 1  # micro-steps per optimizer step
    c.learning_rate = 2e-4
    c.warmup_steps = 10
    c.decay = "cosine"  # cosine | linear | constant (after warmup)
    c.min_lr_ratio = 0.1
    c.weight_decay = 0.01
    c.clip_norm = 1.0
    # Frozen weights: "bf16" holds and runs the backbone in bfloat16 while adapters and optimizer
    # stay float32 (only they train, so nothing needs float32 master weights); "auto" picks bf16
    # where the hardware has native bf16 matmuls, float32 elsewhere (trainer/models/precision.py).
    c.mixed_precision = "auto"  # auto | bf16 | fp32
    c.xla = "auto"  # auto | on | off; auto = on, except bf16 on CPU (see xla_enabled)
    c.log_every = 10
    c.eval_every = 50  # 0 = only at the end
    c.checkpoint_every = 50
    c.keep_checkpoints = 3
    c.early_stop_patience = 0  # evaluations without improvement before stopping; 0 = off
    c.early_stop_min_delta = 0.0
    c.seed = 0
    c.tpu = ""  # TPU address, "local" for a TPU VM; "" = GPUs/CPU
    c.devices = "auto"  # auto (Mirrored on >1 GPU) | one | mirrored (all local devices) | multiworker
    c.cluster = "auto"  # multiworker: auto | tf_config (also GKE/Kubeflow TFJob) | slurm (train/distribute.py)
    c.cluster_port = 8888  # multiworker on Slurm: first port of each node's workers
    c.threads = 0  # intra/inter-op threads of this process; 0 = TensorFlow's default (all cores)
    c.stop_after_steps = 0  # testing aid: exit (as if killed) after this many steps of this run
    return c


def sample_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.file = ""  # "" = the shipped held-out sample
    c.count = 4
    c.max_new_tokens = 96
    # Weights for generating the samples: "auto" is bf16 where the hardware runs it natively (the
    # adapter stays float32 and unmerged, so it is not rounded away), float32 elsewhere.
    c.dtype = "auto"  # auto | bfloat16 | float32
    return c


def sweep_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.axes = ""  # "lora.rank=4,8,16;train.learning_rate=2e-4,5e-4"
    c.metric = "best_val_loss"  # a number in each trial's train_summary.json; lower is better
    c.promote_best = True  # copy the best trial's adapter to <workdir>/adapter/
    # Trials at once on this machine, each its own process: 1 = one after another in this process;
    # N > 1 = N processes, one GPU each when there are GPUs (at most one per GPU), else a CPU
    # thread budget each; 0 = one per GPU, or 1 without GPUs.
    c.parallel = 1
    c.threads_per_trial = 0  # CPU threads of each trial process; 0 = cores // parallel
    # Median stopping rule: at each evaluation, a trial whose best validation loss so far is more
    # than early_stop_margin (relative) above the median of the other trials' best at that step
    # stops there (needs early_stop_min_trials others that reached the step). "off" disables it.
    c.early_stop = "median"  # median | off
    c.early_stop_margin = 0.1
    c.early_stop_min_trials = 2
    c.poll_seconds = 10.0  # how often a sweep waits on trials that other machines are running
    return c
