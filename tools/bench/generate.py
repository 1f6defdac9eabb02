"""Generation speed: the exported SavedModel vs keras-hub's CausalLM.generate, same weights, one run.

    python tools/bench/generate.py --config tiny          # random-init small GPT-2 (seconds)
    python tools/bench/generate.py --config gemma3_270m   # Gemma 3 270M from the GGUF package

Both sides get the same token-id prompts (clinic requests through format_prompt, uneven
lengths) and produce exactly `--new_tokens` tokens per row greedily (stop tokens off), so they
do the same work; the exported model is loaded back from disk with tf.saved_model.load and
called through its `generate_ids` signature (and `serving_default` for the text round trip).
keras-hub is timed with its default compile (`jit_compile="auto"`, which means no XLA on CPU)
and with `jit_compile=True`. Each cell: one untimed call (compilation), then `--repeats` timed
calls; tokens/s = batch * new_tokens / median latency. The table ends with whether greedy ids
were identical on both sides.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import trainer  # noqa: E402,F401  (Keras switch before TensorFlow)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from trainer.data.prompts import format_prompt  # noqa: E402
from trainer.export import config as export_config  # noqa: E402
from trainer.export import generation, saved_model  # noqa: E402
from trainer.models import backbones  # noqa: E402
from trainer.models import config as models_config  # noqa: E402
from trainer.util import hardware  # noqa: E402

REQUESTS = [
    ("appointment_reminder", {"preferred_name": "Ana", "appointment_date": "2026-03-04", "appointment_time": "09:30",
                              "provider_name": "Dr. Lee", "location_name": "Main St Clinic", "language": "en"}),
    ("prescription_refill", {"preferred_name": "Luis", "medication": "metformina 500 mg", "refill_count": 2,
                             "language": "es", "channel": "sms"}),
    ("lab_results_ready", {"preferred_name": "Sam", "portal_link": "https://portal.example.org", "language": "en"}),
    ("no_show_followup", {"preferred_name": "María José", "appointment_date": "2026-02-11", "callback_phone": "555-0100",
                          "language": "es"}),
    ("follow_up_survey", {"preferred_name": "Kim", "survey_link": "https://s.example.org/x", "channel": "email"}),
    ("billing_question_reply", {"preferred_name": "Dee", "balance_amount": 125.5, "due_date": "2026-04-01"}),
    ("preventive_care_reminder", {"preferred_name": "Lee", "screening_type": "mammogram", "language": "en"}),
    ("post_discharge_checkin", {"preferred_name": "Rosa", "provider_name": "Dr. Ruiz", "callback_phone": "555-0199",
                                "language": "es", "channel": "sms"}),
]


def load_model(name: str):
    cfg = models_config.model_config()
    if name == "tiny":
        cfg.source = "tiny_gpt2"
    elif name == "gemma3_270m":
        cfg.source = "gguf:package"
    else:
        raise SystemExit(f"unknown --config {name!r} (tiny | gemma3_270m)")
    return backbones.build_backbone(cfg)


def prompt_ids(bundle, batch: int) -> list[list[int]]:
    start = bundle.tokenizer.start_token_id
    rows = []
    for task, facts in (REQUESTS * ((batch + len(REQUESTS) - 1) // len(REQUESTS)))[:batch]:
        rows.append([start] + np.asarray(bundle.tokenizer(format_prompt(task, facts))).tolist())
    return rows


def timed_round_robin(fns: dict, repeats: int) -> dict:
    """One untimed call each (compilation), then `repeats` rounds timing every side once per
    round, so a change in machine load hits all sides alike."""
    outputs, times = {}, {name: [] for name in fns}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        outputs[name] = fn()
        print(f"  {name}: first call (compile) {time.perf_counter() - t0:.1f}s", flush=True)
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            outputs[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (times[name], outputs[name]) for name in fns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny", choices=["tiny", "gemma3_270m"])
    parser.add_argument("--new_tokens", type=int, default=64)
    parser.add_argument("--batch_sizes", default="1,8")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip_keras_hub_xla", action="store_true")
    parser.add_argument("--json", default="", help="also write the rows here")
    parser.add_argument("--keep_export", action="store_true", help="keep the temporary SavedModel")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="bench_generate_")
    try:
        run(args, workdir)
    finally:
        if not args.keep_export:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: str) -> None:
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    t0 = time.perf_counter()
    bundle = load_model(args.config)
    print(f"loaded {args.config} ({bundle.backbone.count_params() / 1e6:.1f}M params) in {time.perf_counter() - t0:.1f}s")
    cfg = export_config.default_config()
    cfg.stop_token_ids = (-1,)  # never stop early: both sides generate exactly new_tokens
    cfg.max_new_tokens = args.new_tokens
    cfg.max_new_tokens_cap = args.new_tokens
    cfg.warmup = False
    t0 = time.perf_counter()
    path = saved_model.export_serving(bundle.backbone, bundle.tokenizer, workdir, "bench", 1, cfg)
    export_s = time.perf_counter() - t0
    size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6
    print(f"exported in {export_s:.1f}s ({size_mb:.0f} MB) to {path}")
    t0 = time.perf_counter()
    loaded = tf.saved_model.load(path)
    print(f"loaded SavedModel in {time.perf_counter() - t0:.1f}s")

    rows, identical = [], True
    for batch in batch_sizes:
        prompts = prompt_ids(bundle, batch)
        width = max(len(p) for p in prompts)
        ids = np.zeros((batch, width), np.int32)
        mask = np.zeros((batch, width), np.int32)
        for i, p in enumerate(prompts):
            ids[i, : len(p)], mask[i, : len(p)] = p, 1
        texts = [json.dumps({"task": t, "facts": f}) for t, f in (REQUESTS[i % len(REQUESTS)] for i in range(batch))]

        def exported_ids():
            return loaded.generate_ids(tf.constant(ids), tf.constant(mask), max_new_tokens=tf.constant(args.new_tokens))

        def exported_text():
            return loaded.serving_default(tf.constant(texts), max_new_tokens=tf.constant(args.new_tokens))

        kh_inputs = {
            "token_ids": tf.constant(np.pad(ids, ((0, 0), (0, args.new_tokens)))),
            "padding_mask": tf.constant(np.pad(mask, ((0, 0), (0, args.new_tokens))).astype(bool)),
        }

        # keras-hub runs what CausalLM.generate runs once its preprocessor is done
        # (Gemma3CausalLM.generate itself refuses to run without a preprocessor attached).
        fns = {"exported generate_ids": exported_ids, "exported serving_default (text)": exported_text}
        kh_names = []
        for jit in ["auto"] + ([] if args.skip_keras_hub_xla else [True]):
            kh = generation.causal_lm_for(bundle.backbone)  # one task model per compile setting
            kh.compile(sampler="greedy", jit_compile=jit)
            name = f"keras-hub generate (jit_compile={jit!r} -> {kh.jit_compile})"
            fns[name] = lambda kh=kh: kh.make_generate_function()(kh_inputs, stop_token_ids=None)
            kh_names.append(name)
        print(f"batch {batch}:", flush=True)
        results = timed_round_robin(fns, args.repeats)
        ours = results["exported generate_ids"][1]["token_ids"].numpy()
        theirs = np.asarray(results[kh_names[0]][1]["token_ids"])
        for i, p in enumerate(prompts):
            identical &= bool((ours[i] == theirs[i, len(p) : len(p) + args.new_tokens]).all())
        base = float(np.median(results["exported generate_ids"][0]))
        for name, (times, _) in results.items():
            med = float(np.median(times))
            rows.append({
                "side": name, "batch": batch, "new_tokens": args.new_tokens,
                "tokens_per_s": batch * args.new_tokens / med, "p50_ms": 1000 * med,
                "p95_ms": 1000 * float(np.percentile(times, 95)), "latency_vs_exported": med / base,
            })

    print(f"\nconfig={args.config} new_tokens={args.new_tokens} repeats={args.repeats} greedy, {hardware.describe()}, "
          f"CPU threads={os.cpu_count()}")
    header = f"{'side':48s} {'batch':>5s} {'tok/s':>9s} {'p50 ms':>10s} {'p95 ms':>10s} {'latency / exported':>19s}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(f"{r['side']:48s} {r['batch']:5d} {r['tokens_per_s']:9.1f} {r['p50_ms']:10.1f} {r['p95_ms']:10.1f} "
              f"{r['latency_vs_exported']:18.2f}x")
    print(f"greedy token ids identical (exported vs keras-hub): {'yes' if identical else 'NO'}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"config": args.config, "export_s": export_s, "export_mb": size_mb, "rows": rows,
                       "identical": identical}, f, indent=1)


if __name__ == "__main__":
    main()
