"""Reward fine-tuning (--mode=rl) on the tiny random-init GPT-2: the whole RL path in about a minute on a CPU.

    python -m trainer.main --config=configs/tiny_gpt2_lora.py --workdir=runs/tiny_gpt2              # SFT
    python -m trainer.main --config=configs/tiny_gpt2_rl.py --workdir=runs/tiny_gpt2 --mode=rl

Its messages are not meant to be good (random weights); this is for smoke tests and benchmarks.
`configs/tiny_gpt2_rl.py:tiny_rm` also swaps the reward model's encoder for a random-init BERT
(fast tests); the default is the real all-MiniLM-L6-v2.
"""
from trainer import config_lib


def get_config(variant: str = ""):
    if variant not in ("", "tiny_rm"):
        raise ValueError(f"unknown variant {variant!r} of tiny_gpt2_rl (known: tiny_rm)")
    c = config_lib.tiny_config("tiny_gpt2", ("query", "value", "attention_output", "ffn_up", "ffn_down"))
    c.stages = ("rl",)
    c.rl.update(k=4, prompts_per_iteration=2, iterations=6, lr=1e-3, kl_coef=0.05, max_new_tokens=16,
                temperature=1.0, dtype="float32", checkpoint_every=2, log_every=1, kl_budget=8.0)
    c.rl.eval.update(max_examples=8, batch_size=8, n_bootstrap=200)
    if variant == "tiny_rm":
        c.rl.reward_model.encoder = "tiny"
    return c
