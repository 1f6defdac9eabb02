"""LoRA SFT throughput and peak memory: carelora's recipe vs keras-hub's stock recipe.

    python tools/bench/sft_throughput.py [--model gguf:package] [--steps 8] [--warmup 2]

Every side trains LoRA rank 8 on query+value of the same backbone, on the same shipped examples,
for the same number of optimizer steps of the same number of rows, each in its own fresh process
(so peak RSS is its own), one after the other.
- stock: `backbone.enable_lora` + `Gemma3CausalLMPreprocessor` (one example per row, padded to the
  longest; loss masked to the response; full-vocabulary logits at every position) + `model.fit`,
  with keras-hub's defaults: float32 weights, `jit_compile="auto"` (which Keras resolves to off
  on a CPU-only machine).
- stock, bf16: the same recipe on bfloat16 weights with XLA off, the fastest setting found for it
  on CPU, so the ratio does not rest on precision alone.
- carelora: packed rows with segment masks, logits and loss at response positions only, frozen
  weights in the precision `train.mixed_precision=auto` picks on this machine (bfloat16 with
  float32 adapters where bf16 is native, float32 elsewhere), the step of trainer/train/sft.py with
  its XLA rule (`--precision=fp32` or `bf16` forces one).
The measure that matters is response tokens per second: the tokens the model is trained to write.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _examples(n: int):
    from trainer.data.records import read_clean_examples
    from trainer.data.files import SAMPLE_TRAIN

    return read_clean_examples(SAMPLE_TRAIN)[:n]


def run_ours(args) -> dict:
    import numpy as np
    import tensorflow as tf

    from trainer import config_lib
    from trainer.data import pipeline
    from trainer.models import causal_lm, precision
    from trainer.train import sft

    cfg = config_lib.base_config()
    cfg.model.source = args.model
    cfg.lora.update(rank=8, alpha=16.0, dropout=0.0, targets=("query", "value"))
    cfg.data.seq_len = args.seq_len
    bf16 = precision.resolve(args.precision).bf16
    bundle = sft.build_model(cfg, dtype="bfloat16" if bf16 else None)
    xla = sft.xla_enabled("auto", bf16)
    examples = _examples(args.examples)
    rows, stats = pipeline.build_rows(examples, bundle.tokenizer, cfg.data, bundle.pad_token_id)
    trainable = bundle.backbone.trainable_variables
    import keras

    opt = keras.optimizers.AdamW(learning_rate=1e-4)
    opt.build(trainable)

    def full_vocab_loss(batch):
        # The same packed rows, but logits over every position, as a stock CausalLM computes
        # them; the loss still counts response tokens only.
        hidden = causal_lm.hidden_states(bundle, batch["token_ids"], batch["segment_ids"], batch["positions"], True)
        logits = tf.cast(bundle.backbone.token_embedding(hidden, reverse=True), tf.float32)
        picked = tf.gather(logits, batch["loss_positions"], batch_dims=1)
        ce = keras.losses.sparse_categorical_crossentropy(batch["loss_targets"], picked, from_logits=True)
        return tf.reduce_sum(ce * batch["loss_weights"]), tf.reduce_sum(batch["loss_weights"])

    loss_fn = full_vocab_loss if args.side == "ours_full" else (lambda b: causal_lm.response_loss(bundle, b, training=True))

    @tf.function(jit_compile=xla)
    def step(batch):
        with tf.GradientTape() as tape:
            loss_sum, n = loss_fn(batch)
            loss = loss_sum / n
        grads = tape.gradient(loss, trainable)
        opt.apply(grads, trainable)
        return n

    ds = iter(pipeline.make_dataset(rows, args.batch_size, 0, num_batches=args.steps + args.warmup))
    for _ in range(args.warmup):
        step(next(ds))
    t0, resp = time.perf_counter(), 0.0
    for _ in range(args.steps):
        resp += float(step(next(ds)))
    dt = time.perf_counter() - t0
    return {
        "side": args.side,
        "precision": f"{'bf16' if bf16 else 'fp32'}, XLA {'on' if xla else 'off'}",
        "rows_per_step": args.batch_size,
        "seq_len": args.seq_len,
        "examples_per_row": stats.examples / stats.rows,
        "padding_fraction": stats.padding_fraction,
        "step_s": dt / args.steps,
        "response_tokens_per_s": resp / dt,
        "peak_rss_gib": _peak_rss_gib(),
        "trainable_params": int(sum(np.prod(v.shape) for v in trainable)),
    }


def run_stock(args) -> dict:
    import keras
    import keras_hub
    import numpy as np
    import tensorflow as tf

    from trainer.data.prompts import format_prompt
    from trainer.models import backbones
    from trainer.models import config as models_config

    cfg = models_config.model_config()
    cfg.source = args.model
    bf16 = args.side == "stock_bf16"
    # keras-hub loads floating presets in the default policy (float32); the bf16 variant is the
    # stock recipe given the same bfloat16 weights and TF's bf16 kernels (XLA off: on CPU XLA runs
    # bf16 dots at float32 speed), so the comparison does not rest on precision alone.
    cfg.dtype = "bfloat16" if bf16 else "float32"
    jit = False if bf16 else "auto"
    bundle = backbones.build_backbone(cfg)
    bundle.backbone.enable_lora(rank=8)
    pre_cls = {"gemma3": keras_hub.models.Gemma3CausalLMPreprocessor, "gpt2": keras_hub.models.GPT2CausalLMPreprocessor}[bundle.family]
    lm_cls = {"gemma3": keras_hub.models.Gemma3CausalLM, "gpt2": keras_hub.models.GPT2CausalLM}[bundle.family]
    examples = _examples(args.examples)
    texts = [format_prompt(e.task, e.facts) + e.response for e in examples]
    # Stock rows hold one example each, padded to the shortest multiple of 64 that fits them all.
    longest = max(len(bundle.tokenizer(t)) + 2 for t in texts)
    stock_len = min(args.seq_len, -(-longest // 64) * 64)
    pre = pre_cls(tokenizer=bundle.tokenizer, sequence_length=stock_len)
    lm = lm_cls(backbone=bundle.backbone, preprocessor=pre)
    lm.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=[],
        jit_compile=jit,
    )
    resp_tokens = [len(bundle.tokenizer(e.response)) + 1 for e in examples]
    too_long = sum(len(bundle.tokenizer(t)) + 2 > stock_len for t in texts)
    n_rows = args.batch_size * (args.steps + args.warmup)
    idx = np.arange(n_rows) % len(texts)
    if bundle.family == "gemma3":
        # keras-hub's Gemma 3 recipe: prompts/responses, loss masked to the response.
        prompts = [format_prompt(examples[i].task, examples[i].facts) for i in idx]
        ds = tf.data.Dataset.from_tensor_slices({"prompts": prompts, "responses": [examples[i].response for i in idx]})
    else:
        ds = tf.data.Dataset.from_tensor_slices([texts[i] for i in idx])
    ds = ds.batch(args.batch_size)
    # Task.fit maps the attached preprocessor over the dataset itself.

    class Timer(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == args.warmup:
                self.t0 = time.perf_counter()

        def on_train_end(self, logs=None):
            self.dt = time.perf_counter() - self.t0

    timer = Timer()
    lm.fit(ds, epochs=1, verbose=0, callbacks=[timer])
    timed = idx[args.warmup * args.batch_size :]
    resp = float(sum(resp_tokens[i] for i in timed))
    real = sum(min(len(bundle.tokenizer(texts[i])) + 2, stock_len) for i in timed)
    return {
        "side": args.side,
        "precision": f"{'bf16' if bf16 else 'fp32'}, XLA {'on' if lm.jit_compile else 'off'}",
        "rows_per_step": args.batch_size,
        "seq_len": stock_len,
        "examples_per_row": 1.0,
        "padding_fraction": 1.0 - real / (len(timed) * stock_len),
        "step_s": timer.dt / args.steps,
        "response_tokens_per_s": resp / timer.dt,
        "peak_rss_gib": _peak_rss_gib(),
        "trainable_params": int(sum(np.prod(v.shape) for v in lm.trainable_variables)),
        "examples_truncated": int(too_long),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="gguf:package")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch_size", type=int, default=2)
    p.add_argument("--seq_len", type=int, default=512)
    p.add_argument("--examples", type=int, default=120)
    p.add_argument("--precision", choices=["auto", "bf16", "fp32"], default="auto",
                   help="carelora's train.mixed_precision (auto: bf16 where the hardware runs it natively)")
    p.add_argument("--side", choices=["ours", "ours_full", "stock", "stock_bf16"], help=argparse.SUPPRESS)
    p.add_argument("--with_full_logits", type=int, default=1, help="also time our step with logits at every position")
    args = p.parse_args()
    if args.side:
        result = run_stock(args) if args.side.startswith("stock") else run_ours(args)
        print("RESULT " + json.dumps(result))
        return
    results = []
    sides = ("stock", "stock_bf16", "ours") + (("ours_full",) if args.with_full_logits else ())
    for side in sides:
        cmd = [sys.executable, os.path.abspath(__file__), f"--side={side}"] + [a for a in sys.argv[1:] if not a.startswith("--side")]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
        if out.returncode or not lines:
            sys.exit(f"{side} side failed:\n{out.stderr[-4000:]}")
        results.append(json.loads(lines[-1][7:]))
    stock, stock_bf16, ours = results[:3]
    from trainer.util import hardware

    print(f"\nLoRA r8 q,v SFT on {args.model}; {args.steps} timed steps of {args.batch_size} rows after {args.warmup} warm-up; "
          f"{hardware.describe()}, {os.cpu_count()} CPUs")
    cols = [("stock keras-hub", stock), ("stock, bf16", stock_bf16), ("carelora", ours)]
    print(f"{'':20s}" + "".join(f"{name:>17s}" for name, _ in cols) + f"{'vs stock':>10s}{'vs bf16':>9s}")
    for key, label, fmt in [
        ("response_tokens_per_s", "response tokens/s", "{:.1f}"),
        ("step_s", "s / step", "{:.2f}"),
        ("peak_rss_gib", "peak RSS (GiB)", "{:.2f}"),
        ("precision", "weights, XLA", "{}"),
        ("seq_len", "row length", "{}"),
        ("examples_per_row", "examples / row", "{:.2f}"),
        ("padding_fraction", "padding share", "{:.1%}"),
        ("trainable_params", "trainable params", "{:,}"),
    ]:
        cells = "".join(f"{fmt.format(r[key]):>17s}" for _, r in cols)
        ratios = "".join(
            f"{ours[key] / r[key]:>9.2f}x" if isinstance(r[key], float) and r[key] else " " * 10 for r in (stock, stock_bf16)
        )
        print(f"{label:20s}{cells}{ratios}")
    if len(results) > 3:
        full = results[3]
        print(f"\ncarelora step with logits at every position instead of response positions only:")
        print(f"{'':20s}{'all positions':>17s}{'response only':>17s}{'ratio':>10s}")
        for key, label in (("step_s", "s / step"), ("response_tokens_per_s", "response tokens/s"), ("peak_rss_gib", "peak RSS (GiB)")):
            print(f"{label:20s}{full[key]:>17.2f}{ours[key]:>17.2f}{ours[key] / full[key]:>9.2f}x")
    if stock.get("examples_truncated"):
        print(f"(stock truncated {stock['examples_truncated']} examples to {stock['seq_len']} tokens)")

if __name__ == "__main__":
    main()
