"""After training: write messages for held-out facts and print them beside their references.

The facts come from sample.file, else the corpus' val split (trainer.data.files.samples_file; the
test split is kept for eval), or the generated held-out sample under data.fallback="sample".
"""
from __future__ import annotations

import json
import os
import textwrap
from typing import Any

import ml_collections
from absl import logging

from trainer.data import files
from trainer.data.prompts import format_prompt
from trainer.data.records import read_clean_examples, write_jsonl
from trainer.models import backbones, generate, lora, precision



def run(cfg: ml_collections.ConfigDict, workdir: str) -> list[dict[str, Any]]:
    # --config.rl.use=True takes the reward-tuned adapter of --mode=rl (same format).
    adapter = os.path.join(workdir, *(("rl",) if cfg.get("rl") and cfg.rl.get("use") else ()), "adapter", "adapter.npz")
    if not os.path.exists(adapter):
        raise FileNotFoundError(f"{adapter} is missing: run --mode=train first")
    examples = read_clean_examples(files.samples_file(cfg))[: cfg.sample.count]
    prec = precision.resolve(cfg.sample.dtype)
    logging.info("sampling with %s weights (sample.dtype=%s): %s", prec.dtype, cfg.sample.dtype, prec.reason)
    bundle = backbones.build_backbone(cfg.model, prec.dtype)
    lora.attach_adapter(bundle.backbone, adapter, cfg.lora)
    lm = generate.make_causal_lm(bundle, cfg.data.seq_len + cfg.sample.max_new_tokens)
    prompts = [format_prompt(e.task, e.facts) for e in examples]
    outputs = generate.generate_texts(lm, bundle, prompts, cfg.sample.max_new_tokens)
    rows = []
    for e, out in zip(examples, outputs):
        rows.append({"id": e.id, "task": e.task, "facts": e.facts, "generated": out, "reference": e.response})
        print(f"\n=== {e.id} [{e.task}] facts: {json.dumps(e.facts, ensure_ascii=False)}")
        print("generated: " + textwrap.shorten(out, 600))
        print("reference: " + textwrap.shorten(e.response, 600))
    write_jsonl(os.path.join(workdir, "samples.jsonl"), rows)
    return rows
