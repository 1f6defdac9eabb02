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
- Hugging Face PEFT (optional, `--peft auto` when torch, transformers and peft are installed
  (the `parity` extra) and the model is a GGUF): transformers' own GGUF loader, PEFT LoRA r8 /
  alpha 16 on q_proj+v_proj (one A per layer, as ours), the same examples and prompt text (BOS +
  prompt + response + EOS, loss on response tokens only), `--peft_batch_size` examples per step
  padded to the longest in the batch, torch AdamW, a plain training loop; float32 and bfloat16
  (frozen weights in bf16, adapters upcast to float32 by PEFT's default). With it, our side runs
  in both precisions too, so each precision has a ratio.
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


def run_peft(args) -> dict:
    """transformers + PEFT LoRA on the same GGUF, same examples and prompt text (no TensorFlow
    in this process, so its peak RSS is torch's own)."""
    import numpy as np
    import peft
    import torch
    import transformers

    from trainer.data.prompts import format_prompt
    from trainer.models.gguf import assemble_package_gguf

    if not args.model.startswith("gguf:"):
        raise SystemExit("the PEFT side loads a GGUF through transformers (--model gguf:...)")
    path = assemble_package_gguf() if args.model == "gguf:package" else args.model[5:]
    directory, name = os.path.split(path)
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    bf16 = args.side == "peft_bf16"
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = transformers.AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=dtype)
    tok = transformers.AutoTokenizer.from_pretrained(directory, gguf_file=name)
    config = peft.LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["q_proj", "v_proj"], bias="none",
                             task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, config)  # adapters float32 (autocast_adapter_dtype) on bf16 weights
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trainable, lr=1e-4)
    bos, eos = tok.convert_tokens_to_ids("<bos>"), tok.convert_tokens_to_ids("<eos>")
    examples = _examples(args.examples)
    seqs = []
    for e in examples:
        prompt = [bos] + tok(format_prompt(e.task, e.facts), add_special_tokens=False)["input_ids"]
        response = tok(e.response, add_special_tokens=False)["input_ids"] + [eos]
        ids = (prompt + response)[: args.seq_len]
        labels = ([-100] * len(prompt) + response)[: args.seq_len]
        seqs.append((ids, labels))
    bs = args.peft_batch_size
    n_batches = args.steps + args.warmup

    def batch(i):
        chunk = [seqs[(i * bs + j) % len(seqs)] for j in range(bs)]
        width = max(len(ids) for ids, _ in chunk)  # padded to the longest in the batch
        ids = torch.zeros((bs, width), dtype=torch.long)
        labels = torch.full((bs, width), -100, dtype=torch.long)
        mask = torch.zeros((bs, width), dtype=torch.long)
        for r, (a, b) in enumerate(chunk):
            ids[r, : len(a)], labels[r, : len(b)], mask[r, : len(a)] = torch.tensor(a), torch.tensor(b), 1
        return ids, mask, labels

    real = padded = 0
    resp = 0.0
    t0 = None
    for i in range(n_batches):
        if i == args.warmup:
            t0 = time.perf_counter()
        ids, mask, labels = batch(i)
        out = model(input_ids=ids, attention_mask=mask, labels=labels)
        out.loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if i >= args.warmup:
            resp += float((labels[:, 1:] != -100).sum())  # targets after the causal shift
            real += int(mask.sum())
            padded += mask.numel()
    dt = time.perf_counter() - t0
    return {
        "side": args.side,
        "precision": f"{'bf16 + fp32 adapters' if bf16 else 'fp32'}, torch eager",
        "rows_per_step": bs,
        "seq_len": "longest in batch",
        "examples_per_row": 1.0,
        "padding_fraction": 1.0 - real / max(padded, 1),
        "step_s": dt / args.steps,
        "response_tokens_per_s": resp / dt,
        "peak_rss_gib": _peak_rss_gib(),
        "trainable_params": int(sum(int(np.prod(p.shape)) for p in trainable)),
        "versions": f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}",
    }


def _peft_available() -> str:
    """'' when the PEFT side can run, else why not."""
    import importlib.util

    missing = [m for m in ("torch", "transformers", "peft") if importlib.util.find_spec(m) is None]
    if missing:
        return f"PEFT side skipped: {', '.join(missing)} not installed (pip install -e '.[parity]')"
    return ""


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


def print_stock_tables(args, by_label: dict) -> None:
    from trainer.util import hardware

    stock, stock_bf16, ours = by_label["stock"], by_label["stock_bf16"], by_label["ours"]
    results = [stock, stock_bf16, ours] + ([by_label["ours_full"]] if "ours_full" in by_label else [])
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
    p.add_argument("--peft", choices=["auto", "off"], default="auto",
                   help="Hugging Face PEFT sides (float32 and bf16) when torch + transformers + peft are installed")
    p.add_argument("--peft_batch_size", type=int, default=4,
                   help="examples per PEFT step (our 2 packed rows hold ~4.4 examples)")
    p.add_argument("--side", choices=["ours", "ours_full", "stock", "stock_bf16", "peft_fp32", "peft_bf16"],
                   help=argparse.SUPPRESS)
    p.add_argument("--with_full_logits", type=int, default=1, help="also time our step with logits at every position")
    p.add_argument("--json", default="", help="also write every side's numbers here")
    p.add_argument("--skip_stock", action="store_true", help="only ours (and PEFT): no keras-hub stock sides")
    args = p.parse_args()
    if args.side:
        if args.side.startswith("peft"):
            result = run_peft(args)
        else:
            result = run_stock(args) if args.side.startswith("stock") else run_ours(args)
        print("RESULT " + json.dumps(result))
        return
    peft_note = "PEFT side off (--peft off)" if args.peft == "off" else _peft_available()
    if not peft_note and not args.model.startswith("gguf:"):
        peft_note = "PEFT side skipped: it loads a GGUF through transformers (--model gguf:...)"
    with_peft = not peft_note
    print(peft_note or "PEFT side on", flush=True)
    passed = [a for a in sys.argv[1:] if not a.startswith(("--side", "--precision"))]
    plan = [] if args.skip_stock else [("stock", "stock", []), ("stock_bf16", "stock_bf16", [])]
    plan.append(("ours", "ours", [f"--precision={args.precision}"]))
    if args.with_full_logits:
        plan.append(("ours_full", "ours_full", [f"--precision={args.precision}"]))
    if with_peft:
        plan += [("ours_fp32", "ours", ["--precision=fp32"]), ("ours_bf16", "ours", ["--precision=bf16"]),
                 ("peft_fp32", "peft_fp32", []), ("peft_bf16", "peft_bf16", [])]
    by_label = {}
    for label, side, extra in plan:
        if label in ("ours_fp32", "ours_bf16") and by_label["ours"]["precision"].startswith(label[5:]):
            by_label[label] = by_label["ours"]  # the auto run already was this precision
            continue
        cmd = [sys.executable, os.path.abspath(__file__), f"--side={side}"] + passed + extra
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        lines = [l for l in out.stdout.splitlines() if l.startswith("RESULT ")]
        if out.returncode or not lines:
            sys.exit(f"{label} side failed:\n{out.stderr[-4000:]}")
        by_label[label] = json.loads(lines[-1][7:])
        print(f"  {label}: done in {time.perf_counter() - t0:.0f}s", flush=True)
    from trainer.util import hardware

    if not args.skip_stock:
        print_stock_tables(args, by_label)
    else:
        print(f"\nLoRA r8 q,v SFT on {args.model}; {args.steps} timed steps after {args.warmup} warm-up; "
              f"{hardware.describe()}, {os.cpu_count()} CPUs (stock sides skipped)")

    if with_peft:
        print(f"\ncarelora against Hugging Face PEFT ({by_label['peft_fp32']['versions']}); PEFT: {args.peft_batch_size} "
              f"examples per step padded to the longest; ours: {args.batch_size} packed rows of {args.seq_len}")
        print(f"{'':22s}{'carelora':>14s}{'PEFT':>14s}{'ratio':>9s}{'carelora RSS':>14s}{'PEFT RSS':>10s}{'ratio':>8s}"
              f"{'padding ours/PEFT':>19s}")
        for label, o, h in (("float32", by_label["ours_fp32"], by_label["peft_fp32"]),
                            ("bf16", by_label["ours_bf16"], by_label["peft_bf16"])):
            print(f"{label + ' response tok/s':22s}{o['response_tokens_per_s']:14.1f}{h['response_tokens_per_s']:14.1f}"
                  f"{o['response_tokens_per_s'] / h['response_tokens_per_s']:8.2f}x{o['peak_rss_gib']:12.2f}Gi"
                  f"{h['peak_rss_gib']:8.2f}Gi{o['peak_rss_gib'] / h['peak_rss_gib']:7.2f}x"
                  f"{o['padding_fraction']:>11.1%} / {h['padding_fraction']:.1%}")
        print(f"weights/XLA: ours {by_label['ours_fp32']['precision']} | {by_label['ours_bf16']['precision']}; "
              f"PEFT {by_label['peft_fp32']['precision']} | {by_label['peft_bf16']['precision']}; trainable params "
              f"ours {by_label['ours_fp32']['trainable_params']:,}, PEFT {by_label['peft_fp32']['trainable_params']:,}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "cpu": hardware.describe(), "sides": by_label, "peft": peft_note}, f, indent=1)

if __name__ == "__main__":
    main()
