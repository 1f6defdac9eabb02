"""Defaults of the eval stage (no TensorFlow import: configs load fast)."""
from __future__ import annotations

import ml_collections

from trainer import facts as facts_lib


def default_config() -> ml_collections.ConfigDict:
    """The eval section of the config (`config.eval`)."""
    c = ml_collections.ConfigDict()
    c.n_bootstrap = 1000
    c.n_bootstrap_per_task = 1000
    c.confidence = 0.95
    c.seed = 0
    # Paired test: first minus second. Both must be generator names for a comparison.
    c.compare = ("finetuned", "baseline")
    c.bleu_tokenize = "13a"
    c.chrf_word_order = 0  # 2 = chrF++
    c.facts = facts_lib.default_config()
    c.report_examples = 100
    c.human = ml_collections.ConfigDict()
    c.human.export = True
    c.human.n_examples = 50  # examples per sheet (each rated once per model); 0 = all
    c.human.seed = 0
    # Fact dictionary of the "facts in role" metric (trainer.facts.roles); "" = the corpus'
    # (trainer/assets/corpus/fact_dictionary.json). Examples with undocumented keys fall back to
    # the key-fact check.
    c.fact_dictionary = ""
    # The prompted baseline (trainer.eval.baseline): a named instruction (baseline.PROMPTS) and
    # n_shots examples retrieved from the training file by task, language, channel, recipient.
    # n_shots is picked on the validation split only: tools/tune_baseline.py.
    c.baseline = ml_collections.ConfigDict()
    c.baseline.prompt = "style-v1"
    c.baseline.n_shots = 2
    c.baseline.seed = 0
    # Held-out JSONL for --mode=eval; "" = the test split of a data.source TFDS dataset, else
    # DIR/data/test.jsonl, else the shipped test split (the corpus'; the sample's under
    # data.fallback="sample").
    c.file = ""
    c.generation = generation_config()
    return c


def generation_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.max_examples = 0  # 0 = every example of the eval file
    c.max_new_tokens = 96
    c.batch_size = 8
    c.sampler = "greedy"  # the same decoding for both models
    # float32 by default so that eval numbers compare across machines (a bf16 run's outputs
    # differ in places); "auto" trades that for speed where bf16 is native.
    c.dtype = "float32"  # auto | bfloat16 | float32
    return c
