"""Reward fine-tuning (--mode=rl) of the Gemma 3 270M SFT adapter: RLOO with a KL penalty to SFT.

    python -m trainer.main --config=configs/gemma3_270m_lora.py --workdir=runs/gemma3_270m   # SFT first
    python -m trainer.main --config=configs/gemma3_270m_rl.py --workdir=runs/gemma3_270m --mode=rl

The SFT recipe of configs/gemma3_270m_lora.py plus the rl section. Variants (same file):
    configs/gemma3_270m_rl.py:smoke   2 iterations, k=2, 16 new tokens: proves the path end to end on a CPU
    configs/gemma3_270m_rl.py:gpu     a real budget for an accelerator (k=8, 4 prompts, 200 iterations)
Then --config.rl.use=True makes --mode=sample/eval/export take DIR/rl/adapter/.
"""
import importlib.util
import os


def _sft_config(variant: str = ""):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gemma3_270m_lora.py")
    spec = importlib.util.spec_from_file_location("gemma3_270m_lora", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.get_config(variant)


def get_config(variant: str = ""):
    if variant not in ("", "smoke", "gpu"):
        raise ValueError(f"unknown variant {variant!r} of gemma3_270m_rl (known: smoke, gpu)")
    c = _sft_config("smoke" if variant == "smoke" else "")
    c.stages = ("rl",)
    c.rl.update(k=4, prompts_per_iteration=2, iterations=20, lr=5e-5, kl_coef=0.05, max_new_tokens=64,
                temperature=1.0, dtype="auto", checkpoint_every=2, log_every=1)
    c.rl.eval.max_examples = 16
    c.rl.eval.batch_size = 8
    if variant == "smoke":
        c.rl.update(k=2, prompts_per_iteration=1, iterations=2, max_new_tokens=16, checkpoint_every=1)
        c.rl.eval.update(max_examples=4, batch_size=4)
    elif variant == "gpu":
        c.rl.update(k=8, prompts_per_iteration=4, iterations=200, max_new_tokens=96, dtype="float32", checkpoint_every=10)
        c.rl.eval.update(max_examples=64, batch_size=16)
    return c
