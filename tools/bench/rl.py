"""Reward fine-tuning speed: iterations/s and sampled tokens/s of the --mode=rl loop.

    python tools/bench/rl.py                                   # tiny random-init GPT-2 (seconds)
    python tools/bench/rl.py --model=gemma3_270m --k=2 --prompts=1 --new_tokens=32 --iterations=2

One iteration = sample prompts x k responses with the KV-cache sampler (policy.action), score them
with the automatic reward terms, one RLOO agent step (reference log-probs with the SFT adapter
swapped in, then the gradient step on LoRA only). The first iteration compiles and is reported
apart. The adapter is the config's LoRA with a random B (no SFT run needed). Prints a table.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import trainer  # noqa: E402,F401  (Keras switch before TensorFlow)

import numpy as np  # noqa: E402


def _config(model: str):
    from trainer import config_lib

    if model == "tiny":
        return config_lib.tiny_config("tiny_gpt2", ("query", "value", "attention_output", "ffn_up", "ffn_down"))
    if model == "gemma3_270m":
        c = config_lib.base_config()
        c.model.source = "gguf:package"
        c.lora.update(rank=8, alpha=16.0, targets=("query", "value", "attention_output", "ffn_gate", "ffn_up", "ffn_down"))
        return c
    raise SystemExit(f"unknown --model {model!r} (tiny | gemma3_270m)")


def bench(model: str, k: int, prompts: int, new_tokens: int, iterations: int, dtype: str, xla: str) -> dict:
    import keras
    from tf_agents.replay_buffers import tf_uniform_replay_buffer

    from trainer.data.prompts import format_prompt
    from trainer.data.records import read_clean_examples
    from trainer.data import files
    from trainer.models import backbones, causal_lm, lora, precision
    from trainer.rl import config as rl_config
    from trainer.rl import rewards, specs
    from trainer.rl.agent import RLOOAgent
    from trainer.rl.policy import LMPolicy
    from trainer.rl.stage import prompt_length_for
    from trainer.train.sft import xla_enabled
    from trainer.util import hardware

    cfg = _config(model)
    prec = precision.resolve(dtype)
    jit = xla_enabled(xla, prec.bf16)
    t0 = time.perf_counter()
    bundle = backbones.build_backbone(cfg.model, prec.dtype)
    causal_lm.enable_packed_attention(bundle)
    lora.apply_lora(bundle.backbone, cfg.lora.rank, cfg.lora.alpha, 0.0, tuple(cfg.lora.targets))
    rng = np.random.default_rng(0)
    for w in lora.lora_wrappers(bundle.backbone):
        w.lora_b.assign(rng.normal(0, 0.01, w.lora_b.shape).astype("float32"))
    load_s = time.perf_counter() - t0
    pool = [{"task": e.task, "facts": dict(e.facts)} for e in read_clean_examples(files.SAMPLE_TRAIN)]
    texts = [format_prompt(e["task"], e["facts"]) for e in pool]
    p_len = prompt_length_for(bundle, texts, new_tokens)
    policy = LMPolicy(bundle, p_len, new_tokens, 1.0, jit_compile=jit)
    agent = RLOOAgent(policy, keras.optimizers.Adam(1e-4), k, 0.05, 1.0, jit_compile=jit)
    rl = rl_config.default_config()
    rl.max_new_tokens = new_tokens
    reward_fn = rewards.Reward(rl, None)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(agent.collect_data_spec, batch_size=prompts * k, max_length=1)
    times = []
    for it in range(iterations + 1):
        chosen = [pool[i] for i in np.random.default_rng([0, it]).choice(len(pool), prompts, replace=False)]
        rows = [e for e in chosen for _ in range(k)]
        ids, lens = policy.encode_prompts([format_prompt(e["task"], e["facts"]) for e in rows])
        a = time.perf_counter()
        ts = specs.first_steps(ids, lens)
        policy.set_seed(0, it)
        step = policy.action(ts)
        mask = step.info["mask"].numpy()
        b = time.perf_counter()
        total, _ = reward_fn(policy.decode(step.action.numpy(), mask), [e["task"] for e in rows],
                             [e["facts"] for e in rows], mask.sum(1))
        c = time.perf_counter()
        buffer.add_batch(specs.one_step_trajectory(ts, step, total.astype(np.float32)))
        agent.train(buffer.gather_all())
        buffer.clear()
        d = time.perf_counter()
        times.append((b - a, c - b, d - c, float(mask.sum())))
    warm = times[1:] or times
    sample = sum(t[0] for t in warm)
    total_s = sum(t[0] + t[1] + t[2] for t in warm)
    return {"model": model, "dtype": prec.dtype, "xla": jit, "batch": f"{prompts}x{k}", "prompt_len": p_len,
            "new_tokens": new_tokens, "load_s": load_s, "first_iteration_s": sum(times[0][:3]),
            "iterations_per_s": len(warm) / total_s, "sampled_tokens_per_s": sum(t[3] for t in warm) / sample,
            "sample_s": sample / len(warm), "reward_s": sum(t[1] for t in warm) / len(warm),
            "train_s": sum(t[2] for t in warm) / len(warm), "rss_gb": hardware.memory_gb("VmHWM")}


def main() -> None:
    parser = argparse.ArgumentParser(description="--mode=rl iteration speed")
    parser.add_argument("--model", default="tiny", help="tiny | gemma3_270m")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--prompts", type=int, default=2)
    parser.add_argument("--new_tokens", type=int, default=32)
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations after the compiling one")
    parser.add_argument("--dtype", default="float32", help="auto | bfloat16 | float32")
    parser.add_argument("--xla", default="auto", help="auto | on | off")
    args = parser.parse_args()
    r = bench(args.model, args.k, args.prompts, args.new_tokens, args.iterations, args.dtype, args.xla)
    cols = ["model", "dtype", "xla", "batch", "prompt_len", "new_tokens", "load_s", "first_iteration_s",
            "iterations_per_s", "sampled_tokens_per_s", "sample_s", "reward_s", "train_s", "rss_gb"]
    fmt = lambda v: f"{v:.3g}" if isinstance(v, float) else str(v)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    print("| " + " | ".join(fmt(r[c]) for c in cols) + " |")


if __name__ == "__main__":
    main()
