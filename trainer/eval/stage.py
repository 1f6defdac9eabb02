"""The eval stage: prompted base model vs fine-tuned adapter on one held-out file, same decoding.

    python -m trainer.main --config=configs/X.py --workdir=DIR --mode=eval [--config.eval.file=FILE.jsonl]

Without eval.file it takes the test split of a data.source TFDS dataset, else DIR/data/test.jsonl
(written by the prepare stage) when present, else the shipped test split: the corpus' (126
examples), or the generated held-out sample under data.fallback="sample". The baseline's prompt
(eval.baseline.prompt) and shot count (eval.baseline.n_shots) go into metrics.json and the
report. The base model is loaded once: the baseline generates first,
then the adapter is attached to the same weights for the fine-tuned run.
"""
from __future__ import annotations

import os
from typing import Any

import ml_collections
from absl import logging

from trainer.data import files
from trainer.data.prompts import format_prompt
from trainer.eval import baseline, evaluate
from trainer.models import backbones, generate, lora, precision


def resolve_eval_file(workdir: str, eval_file: str | None, cfg: ml_collections.ConfigDict | None = None) -> str:
    return files.heldout_file(workdir, eval_file or "", cfg)


def shots_file(cfg: ml_collections.ConfigDict, workdir: str) -> str:
    """The baseline's few-shot examples come from the file the adapter trained on, so neither
    side sees examples the other did not."""
    return files.train_files(cfg, workdir)[0]


def run(cfg: ml_collections.ConfigDict, workdir: str) -> dict[str, Any]:
    gen_cfg = cfg.eval.generation
    path = resolve_eval_file(workdir, cfg.eval.file, cfg)
    examples = evaluate.load_examples(path)
    if gen_cfg.max_examples:
        examples = examples[: gen_cfg.max_examples]
    # --config.rl.use=True takes the reward-tuned adapter of --mode=rl (same format).
    adapter = os.path.join(workdir, *(("rl",) if cfg.get("rl") and cfg.rl.get("use") else ()), "adapter", "adapter.npz")
    if not os.path.exists(adapter):
        raise FileNotFoundError(f"{adapter} is missing: run --mode=train first")
    logging.info("eval on %d examples of %s", len(examples), path)

    base_cfg = cfg.eval.baseline
    pool_path = shots_file(cfg, workdir) if base_cfg.n_shots else ""
    shots_pool = evaluate.load_examples(pool_path) if pool_path else []
    about_baseline = baseline.describe(base_cfg.get("prompt", baseline.DEFAULT_PROMPT), base_cfg.n_shots,
                                       base_cfg.seed, pool_path)
    seq_len = cfg.data.seq_len + gen_cfg.max_new_tokens
    prec = precision.resolve(gen_cfg.dtype)
    logging.info("generating with %s weights (eval.generation.dtype=%s): %s", prec.dtype, gen_cfg.dtype, prec.reason)
    bundle = backbones.build_backbone(cfg.model, prec.dtype)

    def run_lm(prompts: list[str]) -> list[str]:
        lm = generate.make_causal_lm(bundle, seq_len, sampler=gen_cfg.sampler)
        return generate.generate_texts(lm, bundle, prompts, gen_cfg.max_new_tokens, gen_cfg.batch_size)

    def baseline_generator(exs: list[dict]) -> list[str]:
        # Shots that would push a prompt past the model's positions are dropped, worst match first.
        limit = int(bundle.max_sequence_length or 0)
        budget = limit - int(gen_cfg.max_new_tokens) - 1 if limit else 0  # 1: the start token
        prompts = baseline.baseline_prompts(exs, shots_pool, base_cfg.n_shots, base_cfg.seed,
                                            cfg.eval.facts.sms_max_chars, about_baseline["prompt"],
                                            count_tokens=lambda text: int(bundle.tokenizer(text).shape[-1]),
                                            max_prompt_tokens=max(budget, 0))
        return run_lm(prompts)

    def finetuned_generator(exs: list[dict]) -> list[str]:
        lora.attach_adapter(bundle.backbone, adapter, cfg.lora)
        return run_lm([format_prompt(e["task"], e["facts"]) for e in exs])

    # Insertion order matters: the baseline must run before the adapter is attached.
    metrics = evaluate.run_eval(cfg, workdir, examples, {"baseline": baseline_generator, "finetuned": finetuned_generator},
                                baseline=about_baseline)
    for name in metrics["models"]:
        m = metrics[name]
        logging.info(
            "%s: BLEU %.1f chrF %.1f ROUGE-L %.3f fact recall %.3f hallucination rate %.3f",
            name, m["bleu"], m["chrf"], m["rougeL"], m["fact_recall"], m["hallucination_rate"],
        )
    logging.info("report: %s", os.path.join(workdir, "eval", "report.html"))
    return metrics
