"""Eval-style generation speed: keras-hub's CausalLM.generate (old path) against our KV-cache loop.

    python tools/bench/eval_generate.py                       # Gemma 3 270M (GGUF package), float32
    python tools/bench/eval_generate.py --dtype bfloat16 --old_prompts 8
    python tools/bench/eval_generate.py --source tiny_gemma   # seconds, for a smoke check

Prompts: the first `--prompts` held-out examples of trainer/assets/corpus/test.jsonl through
format_prompt, the eval's max_new_tokens and batch size (trainer/eval/config.py). Both paths run
in this process back to back on the same bundle; each path's time includes its compiles, as
`--mode=eval` pays them. The old path runs on the first `--old_prompts` prompts only (it is slow)
and its time is extrapolated linearly to `--prompts`, labelled as such. Token agreement: share of
the old path's new-token positions (on the prompts both ran) where the new path has the same
token, position by position up to the shorter of the two continuations.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402

from trainer.data.prompts import format_prompt  # noqa: E402
from trainer.eval import config as eval_config  # noqa: E402
from trainer.models import backbones, generate  # noqa: E402
from trainer.models import config as models_config  # noqa: E402

CORPUS = os.path.join(os.path.dirname(__file__), "..", "..", "trainer", "assets", "corpus", "test.jsonl")


def _ids(bundle, texts: list[str]) -> list[list[int]]:
    return [[int(t) for t in np.asarray(bundle.tokenizer(t)).reshape(-1)] for t in texts]


def agreement(old: list[str], new: list[str], bundle) -> tuple[float, int]:
    """Share of positions (up to the shorter continuation) with the same token, and positions compared."""
    same = total = 0
    for a, b in zip(_ids(bundle, old), _ids(bundle, new)):
        n = min(len(a), len(b))
        same += sum(x == y for x, y in zip(a[:n], b[:n]))
        total += n
    return (same / total if total else float("nan")), total


def main() -> None:
    gen_cfg = eval_config.generation_config()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="gguf:package")
    ap.add_argument("--dtype", default="float32", help="float32 | bfloat16 (eval's default is float32)")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--old_prompts", type=int, default=16, help="prompts for keras-hub generate (0 = skip)")
    ap.add_argument("--max_new_tokens", type=int, default=int(gen_cfg.max_new_tokens))
    ap.add_argument("--batch_size", type=int, default=int(gen_cfg.batch_size))
    ap.add_argument("--seq_len", type=int, default=512, help="data.seq_len; the cache is seq_len + max_new_tokens")
    ap.add_argument("--xla", default="auto", help="auto | on | off, for the new path (the old path: on, as eval had it)")
    args = ap.parse_args()

    cfg = models_config.model_config()
    cfg.source = args.source
    t0 = time.perf_counter()
    bundle = backbones.build_backbone(cfg, args.dtype)
    print(f"loaded {args.source} ({args.dtype}) in {time.perf_counter() - t0:.0f}s", flush=True)
    with open(CORPUS, encoding="utf-8") as f:
        examples = [json.loads(line) for line in f if line.strip()][: args.prompts]
    prompts = [format_prompt(e["task"], e["facts"]) for e in examples]
    seq_len = args.seq_len + args.max_new_tokens
    n_old = min(args.old_prompts, len(prompts))
    rows = []

    def timed(label: str, fn, texts: list[str]):
        t = time.perf_counter()
        out = fn(texts)
        seconds = time.perf_counter() - t
        new_tokens = sum(len(x) for x in _ids(bundle, out))
        print(f"{label}: {len(texts)} prompts, {new_tokens} new tokens, {seconds:.1f}s", flush=True)
        return out, seconds, new_tokens

    new_lm = generate.make_causal_lm(bundle, seq_len, xla=args.xla)
    jit = getattr(new_lm, generate._KV_ATTR).xla
    new_out, new_s, new_tok = timed("kv-cache", lambda p: generate.generate_texts(
        new_lm, bundle, p, args.max_new_tokens, args.batch_size), prompts)
    if n_old:
        old_lm = generate.make_causal_lm(bundle, seq_len, xla=True)
        old_out, old_s, old_tok = timed("keras-hub", lambda p: generate.keras_hub_generate_texts(
            old_lm, bundle, p, args.max_new_tokens, args.batch_size), prompts[:n_old])
        scale = len(prompts) / n_old
        agree, compared = agreement(old_out, new_out[:n_old], bundle)
        exact = sum(a == b for a, b in zip(old_out, new_out[:n_old]))
        rows.append(("keras-hub generate (XLA)", n_old, old_tok, old_s, old_s * scale, 1.0))
    rows.insert(0, (f"kv-cache loop (XLA {'on' if jit else 'off'})", len(prompts), new_tok, new_s, new_s,
                    (old_s * scale / new_s) if n_old else float("nan")))

    print(f"\n{args.source}, {args.dtype}, batch {args.batch_size}, max_new_tokens {args.max_new_tokens}, "
          f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the end: timings are noisy on shared cores)")
    print(f"| path | dtype | prompts | new tokens | seconds | tokens/s | seconds for {len(prompts)} prompts | speed-up vs keras-hub |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, n, tok, s, s_all, ratio in rows:
        est = "" if n == len(prompts) else " (extrapolated)"
        print(f"| {name} | {args.dtype} | {n} | {tok} | {s:.1f} | {tok / s:.2f} | {s_all:.0f}{est} | {ratio:.2f}x |")
    if n_old:
        print(f"\ntoken agreement with keras-hub on the first {n_old} prompts: {agree:.1%} of {compared} positions; "
              f"identical texts {exact}/{n_old}")


if __name__ == "__main__":
    main()
