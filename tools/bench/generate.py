"""Generation speed: exported SavedModels (float32, bfloat16, int8) against the memory-bandwidth
floor, keras-hub's CausalLM.generate and HF transformers' generate(), same weights, one run.

    python tools/bench/generate.py --config tiny          # random-init small GPT-2 (seconds)
    python tools/bench/generate.py --config gemma3_270m   # Gemma 3 270M from the GGUF package

1. Memory bandwidth of this machine, STREAM-style (tools/bench/bandwidth.py): batch-1 decoding
   reads every weight once per token, so `floor tok/s = batch x bandwidth / weight bytes` (KV
   cache reads ignored: a few MB here). `time/floor` = floor tok/s / measured tok/s (1.0 = at
   the floor; the target is <= 1.5 at batch 1).
2. The merged model exported once per weight format (`--formats`, trainer/export/weight_formats:
   float32, bfloat16, int8 weight-only per-channel; `fmt:noxla` exports with jit_compile off),
   each loaded back with tf.saved_model.load and called through `generate_ids`.
3. Greedy agreement: each format's continuations of `--agreement_prompts` held-out prompts
   (trainer/assets/sample/clean_heldout.jsonl) against the float32 export's, the share of
   positions with the same token (target >= 95%); HF's float32 and bf16 continuations too. A
   free-running row differs everywhere after its first different token, so the per-position
   ("forced") agreement, with the float32 continuation as context, is printed beside it.
4. Peers: keras-hub's generate on the float32 backbone (default compile, which means no XLA on
   CPU, and jit_compile=True), and, for gemma3_270m when torch + transformers are installed (the
   `parity` extra), HF transformers' `generate()` on torch CPU with the same GGUF through
   transformers' own loader, float32 and bfloat16 (`--hf off` skips it; it is skipped with a
   message when torch is absent).

Timed batches take held-out prompts of similar length (as eval batches them). Every side gets
the same token-id prompts and produces exactly `--new_tokens` tokens per row
greedily (stop tokens off). Each cell: one untimed call (compilation), then `--repeats` timed
calls, round-robin over the sides so load changes hit all alike; tokens/s = batch x new_tokens /
median latency.
"""
import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import trainer  # noqa: E402,F401  (Keras switch before TensorFlow)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import bandwidth  # noqa: E402
from trainer.data.files import SAMPLE_HELDOUT  # noqa: E402
from trainer.data.prompts import format_prompt  # noqa: E402
from trainer.data.records import read_clean_examples  # noqa: E402
from trainer.export import config as export_config  # noqa: E402
from trainer.export import generation, saved_model, weight_formats  # noqa: E402
from trainer.models import backbones  # noqa: E402
from trainer.models import config as models_config  # noqa: E402
from trainer.util import hardware  # noqa: E402


def load_model(name: str):
    cfg = models_config.model_config()
    if name == "tiny":
        cfg.source = "tiny_gpt2"
    elif name == "gemma3_270m":
        cfg.source = "gguf:package"
    else:
        raise SystemExit(f"unknown --config {name!r} (tiny | gemma3_270m)")
    return backbones.build_backbone(cfg)


def load_tokenizer(name: str):
    """The tokenizer alone (no weights) of --config."""
    from trainer.models import tokenizers

    if name == "tiny":
        return tokenizers.gpt2_tokenizer()
    import pathlib

    import keras_hub

    from trainer.models import gguf

    path = gguf.assemble_package_gguf()
    proto = gguf._cache_entry(pathlib.Path(path), None) / "tokenizer.model"  # cached by the export step
    if proto.exists():
        return keras_hub.models.Gemma3Tokenizer(proto=proto.read_bytes(), has_vision_tokens=False)
    return gguf.load_gemma3_gguf(path, dtype="float32")[1]


def prompt_ids(bundle, n: int, similar_lengths: bool = False) -> list[list[int]]:
    """Prompts of n held-out examples (cycled), start token first: the first n, or with
    `similar_lengths` the n nearest in length around the median, as eval batches them (sorted
    by length; the exported decoder walks a batch from its shortest prompt to its longest)."""
    examples = read_clean_examples(SAMPLE_HELDOUT)
    start = bundle.tokenizer.start_token_id
    rows = [[start] + np.asarray(bundle.tokenizer(format_prompt(e.task, e.facts))).tolist() for e in examples]
    rows = (rows * (n // len(rows) + 1))
    if not similar_lengths:
        return rows[:n]
    rows = sorted(rows[: max(n, len(examples))], key=len)
    first = max(0, min(len(rows) - n, len(rows) // 2 - n // 2))
    return rows[first : first + n]


def right_padded(prompts):
    width = max(len(p) for p in prompts)
    ids = np.zeros((len(prompts), width), np.int32)
    mask = np.zeros((len(prompts), width), np.int32)
    for i, p in enumerate(prompts):
        ids[i, : len(p)], mask[i, : len(p)] = p, 1
    return ids, mask


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


def parse_formats(text: str) -> list[tuple[str, str, bool | None]]:
    """'float32,bfloat16:noxla,int8' -> [(label, format, jit_compile or None = config's)]."""
    out = []
    for item in text.split(","):
        fmt, _, option = item.strip().partition(":")
        fmt = weight_formats.resolve(fmt).dtype if fmt != "auto" else weight_formats.resolve("auto").dtype
        if option not in ("", "xla", "noxla"):
            raise SystemExit(f"--formats: {item!r}: option must be :xla or :noxla")
        jit = None if not option else option == "xla"
        out.append((fmt + (f" ({option})" if option else ""), fmt, jit))
    if not any(f == "float32" for _, f, _ in out):
        out.insert(0, ("float32", "float32", None))  # the reference for agreement
    return out


# --------------------------------------------------------------------------- HF transformers

def hf_models(dtypes: list[str]):
    """{dtype: model} through transformers' GGUF loader, or (None, why) without torch."""
    try:
        import torch
        import transformers
    except ImportError as e:
        return None, f"HF transformers side skipped: {e.name} is not installed (pip install -e '.[parity]')"
    from trainer.models.gguf import assemble_package_gguf

    directory, name = os.path.split(assemble_package_gguf())
    torch.set_num_threads(os.cpu_count() or 1)
    models = {}
    base = transformers.AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32).eval()
    import copy

    for d in dtypes:
        if d != "float32":
            models[d] = copy.deepcopy(base).to(getattr(torch, d)).eval()
    if "float32" in dtypes:
        models = {"float32": base, **models}
    else:
        del base
    return models, f"transformers {transformers.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads"


def hf_generate_fn(model, prompts, new_tokens):
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.zeros((len(prompts), width), dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):  # left padding, as HF decoder-only generation expects
        ids[i, width - len(p):] = torch.tensor(p)
        mask[i, width - len(p):] = 1

    def call():
        with torch.inference_mode():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=new_tokens,
                                 min_new_tokens=new_tokens, do_sample=False, pad_token_id=0)
        return out[:, width:].numpy()

    return call


def torch_bytes(model) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


# --------------------------------------------------------------------------- main

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny", choices=["tiny", "gemma3_270m"])
    parser.add_argument("--new_tokens", type=int, default=64)
    parser.add_argument("--batch_sizes", default="1,8")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--formats", default="float32,bfloat16,int8",
                        help="weight formats to export (auto|float32|bfloat16|int8, optional :xla / :noxla)")
    parser.add_argument("--agreement_prompts", type=int, default=8)
    parser.add_argument("--skip_keras_hub", action="store_true", help="no keras-hub generate() sides")
    parser.add_argument("--skip_keras_hub_xla", action="store_true")
    parser.add_argument("--hf", default="auto", choices=["auto", "off"],
                        help="HF transformers generate() side (gemma3_270m only; needs torch + transformers)")
    parser.add_argument("--hf_dtypes", default="float32,bfloat16")
    parser.add_argument("--bandwidth_mib", type=int, default=512)
    parser.add_argument("--json", default="", help="also write the rows here")
    parser.add_argument("--keep_export", action="store_true", help="keep the temporary SavedModels")
    parser.add_argument("--export_only", default="", help=argparse.SUPPRESS)
    parser.add_argument("--teacher_forced_only", default="", help=argparse.SUPPRESS)
    parser.add_argument("--teacher_forced", type=int, default=1,
                        help="also per-position agreement given the float32 context (one forward pass per format)")
    args = parser.parse_args()
    if args.teacher_forced_only:
        result = teacher_forced(args, args.teacher_forced_only)
        with open(args.teacher_forced_only + ".out", "w", encoding="utf-8") as f:
            json.dump(result, f)
        return
    if args.export_only:
        info = export_all(args, os.path.dirname(args.export_only))
        with open(args.export_only, "w", encoding="utf-8") as f:
            json.dump(info, f)
        return
    workdir = tempfile.mkdtemp(prefix="bench_generate_")
    try:
        run(args, workdir)
    finally:
        if not args.keep_export:
            shutil.rmtree(workdir, ignore_errors=True)


def export_all(args, workdir: str) -> dict:
    """Exports every format to workdir (run in a subprocess, so that the Keras models and their
    traces are gone before timing starts); returns {label: {path, weight_bytes, ...}}."""
    formats = parse_formats(args.formats)
    t0 = time.perf_counter()
    bundle = load_model(args.config)
    print(f"loaded {args.config} ({bundle.backbone.count_params() / 1e6:.1f}M params) in {time.perf_counter() - t0:.1f}s")
    out = {}
    for label, fmt, jit in formats:
        cfg = export_config.default_config()
        cfg.stop_token_ids = (-1,)  # never stop early: every side generates exactly new_tokens
        cfg.max_new_tokens = cfg.max_new_tokens_cap = args.new_tokens
        cfg.warmup = False
        if jit is not None:
            cfg.jit_compile = jit
        t0 = time.perf_counter()
        backbone = weight_formats.convert(bundle.backbone, fmt)
        wbytes = weight_formats.weight_bytes(backbone)
        name = "bench_" + "".join(c if c.isalnum() else "_" for c in label)
        path = saved_model.export_serving(backbone, bundle.tokenizer, workdir, name, 1, cfg)
        export_s = time.perf_counter() - t0
        del backbone
        gc.collect()
        size_mb = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs) / 1e6
        out[label] = {"path": path, "format": fmt, "weight_bytes": wbytes, "export_mb": size_mb, "export_s": export_s,
                      "xla": bool(cfg.jit_compile)}
        print(f"exported {label} in {export_s:.1f}s: {size_mb:.0f} MB on disk, {wbytes / 1e6:.0f} MB of weights "
              f"(XLA {'on' if cfg.jit_compile else 'off'})", flush=True)
    return out


def teacher_forced(args, request_file: str) -> dict:
    """Per-position greedy agreement with float32 given the same context: each format's argmax
    after prompt + float32 continuation[:k], for every k, from one forward pass per format (the
    converted Keras backbone: the same weights and layers the export runs). Free-running
    agreement counts every token after a first difference as different; this does not."""
    with open(request_file, encoding="utf-8") as f:
        req = json.load(f)
    bundle = load_model(args.config)
    rows = [p + c for p, c in zip(req["prompts"], req["continuations"])]
    ids, mask = right_padded(rows)
    width = max(len(c) for c in req["continuations"])
    # Position of the hidden state that predicts continuation token k of row i.
    where = np.asarray([[min(len(p) - 1 + k, ids.shape[1] - 1) for k in range(width)] for p in req["prompts"]], np.int32)
    by_format = {}
    for _, fmt, _ in parse_formats(args.formats):
        if fmt in by_format:
            continue
        backbone = weight_formats.convert(bundle.backbone, fmt)

        @tf.function
        def predict(x, m, at, backbone=backbone):
            hidden = tf.gather(backbone({"token_ids": x, "padding_mask": m}), at, batch_dims=1)
            return tf.argmax(backbone.token_embedding(hidden, reverse=True), axis=-1, output_type=tf.int32)

        pred = predict(tf.constant(ids), tf.constant(mask), tf.constant(where)).numpy()
        same = []
        for i, c in enumerate(req["continuations"]):
            same += (pred[i, : len(c)] == np.asarray(c)).tolist()
        by_format[fmt] = float(np.mean(same))
        print(f"teacher-forced agreement {fmt}: {by_format[fmt]:.1%}", flush=True)
        del backbone, predict
        gc.collect()
    out = {label: by_format[fmt] for label, fmt, _ in parse_formats(args.formats)}
    return out


def run(args, workdir: str) -> None:
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    formats = parse_formats(args.formats)
    bw = bandwidth.measure(args.bandwidth_mib, repeats=5)
    floor_gbs = max(bw["copy_gbs"], bw["read_gbs"])
    print(f"memory bandwidth: STREAM copy {bw['copy_gbs']:.1f} GB/s, read {bw['read_gbs']:.1f} GB/s "
          f"({bw['threads']} threads); floors use {floor_gbs:.1f} GB/s", flush=True)

    info_file = os.path.join(workdir, "exports.json")
    cmd = [sys.executable, os.path.abspath(__file__), "--export_only", info_file] + sys.argv[1:]
    if subprocess.run(cmd).returncode:
        raise SystemExit("export failed")
    with open(info_file, encoding="utf-8") as f:
        info = json.load(f)
    import tensorflow_text  # noqa: F401  (ops of the text signature, registered before loading)

    exports = {}  # label -> (loaded SavedModel, weight bytes, export MB, export s)
    for label, e in info.items():
        exports[label] = (tf.saved_model.load(e["path"]), e["weight_bytes"], e["export_mb"], e["export_s"])
    bundle = load_model(args.config) if not args.skip_keras_hub else None
    if bundle is None:  # the tokenizer only
        bundle = argparse.Namespace(tokenizer=load_tokenizer(args.config), backbone=None)

    hf, hf_note = {}, ""
    if args.hf == "off":
        hf_note = "HF transformers side off (--hf off)"
    elif args.config != "gemma3_270m":
        hf_note = "HF transformers side skipped: it loads the real GGUF (--config gemma3_270m)"
    else:
        hf, hf_note = hf_models([d.strip() for d in args.hf_dtypes.split(",") if d.strip()])
        hf = hf or {}
    print(hf_note, flush=True)

    def exported_fn(label, ids, mask):
        loaded = exports[label][0]
        return lambda: loaded.generate_ids(
            tf.constant(ids), tf.constant(mask), max_new_tokens=tf.constant(args.new_tokens),
            temperature=tf.constant(0.0), top_k=tf.constant(0), top_p=tf.constant(1.0),
            seed=tf.constant(-1, tf.int64))["token_ids"].numpy()

    # Greedy agreement with the float32 export on held-out prompts.
    held = prompt_ids(bundle, args.agreement_prompts)
    ids, mask = right_padded(held)
    ref_label = next(l for l, f, _ in formats if f == "float32")
    continuations = {label: exported_fn(label, ids, mask)() for label in exports}
    for d, model in hf.items():
        continuations[f"HF {d}"] = hf_generate_fn(model, held, args.new_tokens)()
    reference = continuations[ref_label]
    agreement = {k: float((v[:, : args.new_tokens] == reference).mean()) for k, v in continuations.items()}
    print("greedy agreement with the float32 export: " + ", ".join(f"{k} {v:.1%}" for k, v in agreement.items()), flush=True)
    forced = {}
    if args.teacher_forced:
        request = os.path.join(workdir, "forced.json")
        with open(request, "w", encoding="utf-8") as f:
            json.dump({"prompts": held, "continuations": reference.tolist()}, f)
        cmd = [sys.executable, os.path.abspath(__file__), "--teacher_forced_only", request] + sys.argv[1:]
        if subprocess.run(cmd).returncode == 0:
            with open(request + ".out", encoding="utf-8") as f:
                forced = json.load(f)

    rows = []
    for batch in batch_sizes:
        prompts = prompt_ids(bundle, batch, similar_lengths=True)
        ids, mask = right_padded(prompts)
        print(f"batch {batch}: prompt lengths {min(map(len, prompts))}-{max(map(len, prompts))} tokens", flush=True)
        fns, meta = {}, {}
        for label, (_, wbytes, _, _) in exports.items():
            name = f"exported {label}"
            fns[name] = exported_fn(label, ids, mask)
            meta[name] = (label, wbytes, agreement[label])
        if bundle.backbone is not None:
            kh_inputs = {
                "token_ids": tf.constant(np.pad(ids, ((0, 0), (0, args.new_tokens)))),
                "padding_mask": tf.constant(np.pad(mask, ((0, 0), (0, args.new_tokens))).astype(bool)),
            }
            fp32_bytes = exports[ref_label][1]
            # keras-hub runs what CausalLM.generate runs once its preprocessor is done.
            for jit in ["auto"] + ([] if args.skip_keras_hub_xla else [True]):
                kh = generation.causal_lm_for(bundle.backbone)  # one task model per compile setting
                kh.compile(sampler="greedy", jit_compile=jit)
                name = f"keras-hub generate (jit_compile={jit!r} -> {kh.jit_compile})"
                fns[name] = lambda kh=kh: kh.make_generate_function()(kh_inputs, stop_token_ids=None)
                meta[name] = ("float32", fp32_bytes, None)
        for d, model in hf.items():
            name = f"HF transformers generate ({d})"
            fns[name] = hf_generate_fn(model, prompts, args.new_tokens)
            meta[name] = (d, torch_bytes(model), agreement[f"HF {d}"])
        results = timed_round_robin(fns, args.repeats)
        hf_fp32 = "HF transformers generate (float32)"
        hf_tps = batch * args.new_tokens / float(np.median(results[hf_fp32][0])) if hf_fp32 in results else None
        for name, (times, _) in results.items():
            med = float(np.median(times))
            tps = batch * args.new_tokens / med
            fmt, wbytes, agree = meta[name]
            label = name[len("exported "):] if name.startswith("exported ") else None
            floor = batch * floor_gbs * 1e9 / wbytes
            rows.append({
                "side": name, "weights": fmt, "batch": batch, "new_tokens": args.new_tokens, "tokens_per_s": tps,
                "p50_ms": 1000 * med, "p95_ms": 1000 * float(np.percentile(times, 95)), "weight_mb": wbytes / 1e6,
                "floor_tokens_per_s": floor, "time_vs_floor": floor / tps,
                "vs_hf_fp32": tps / hf_tps if hf_tps else None, "agreement_vs_fp32": agree,
                "forced_agreement_vs_fp32": forced.get(label),
            })

    print(f"\nconfig={args.config} new_tokens={args.new_tokens} repeats={args.repeats} greedy; {hardware.describe()}, "
          f"{os.cpu_count()} CPUs; load average at the end {os.getloadavg()[0]:.1f}")
    print(f"bandwidth: STREAM copy {bw['copy_gbs']:.1f} GB/s, read {bw['read_gbs']:.1f} GB/s -> floor uses {floor_gbs:.1f} GB/s; "
          f"{hf_note}")
    header = (f"{'side':44s} {'batch':>5s} {'tok/s':>8s} {'p50 ms':>9s} {'weights MB':>10s} {'floor tok/s':>11s} "
              f"{'time/floor':>10s} {'vs HF fp32':>10s} {'agree fp32':>10s} {'forced':>7s}")
    print(header)
    print("-" * len(header))
    for r in rows:
        vs_hf = f"{r['vs_hf_fp32']:9.2f}x" if r["vs_hf_fp32"] else f"{'-':>10s}"
        agree = f"{r['agreement_vs_fp32']:10.1%}" if r["agreement_vs_fp32"] is not None else f"{'-':>10s}"
        print(f"{r['side']:44s} {r['batch']:5d} {r['tokens_per_s']:8.1f} {r['p50_ms']:9.1f} {r['weight_mb']:10.0f} "
              f"{r['floor_tokens_per_s']:11.1f} {r['time_vs_floor']:9.2f}x {vs_hf} {agree} "
              + (f"{r['forced_agreement_vs_fp32']:7.1%}" if r["forced_agreement_vs_fp32"] is not None else f"{'-':>7s}"))
    print("agree fp32: free-running greedy continuations equal to the float32 export's, share of positions; "
          "forced: the same with the float32 continuation as context (one difference does not carry over)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"config": args.config, "bandwidth": bw, "agreement": agreement, "forced_agreement": forced, "rows": rows,
                       "exports": {k: {"weight_bytes": v[1], "export_mb": v[2], "export_s": v[3]} for k, v in exports.items()},
                       "cpu": hardware.describe(), "hf": hf_note}, f, indent=1)


if __name__ == "__main__":
    main()
