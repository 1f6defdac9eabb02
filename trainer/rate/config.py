"""Defaults of the rating web page (`config.rate`); no heavy imports, so configs load fast."""
from __future__ import annotations

import ml_collections


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # Loopback only unless asked: the page shows patient communication.
    c.host = "127.0.0.1"
    c.port = 8765
    c.threads = 8  # server worker threads (each request opens its own SQLite connection)
    c.db = ""  # "" = DIR/rate/ratings.sqlite
    c.seed = 0  # item order per rater and which items are shared
    c.overlap = 0.2  # share of items every rater rates, for agreement; the rest is dealt out once each
    c.session_hours = 12.0  # a browser stays signed in this long after opening its link
    c.cookie_secure = False  # True when served behind HTTPS (the cookie is then never sent over http)
    # Wrong tokens allowed per client address within the window before it is locked out (429).
    c.max_token_failures = 10
    c.token_failure_window_s = 300.0
    c.max_comment_chars = 2000
    c.export_on_exit = True  # write eval/human/web-*.csv, rate/ratings.jsonl and the report on shutdown
    c.phi_gate = ml_collections.ConfigDict()
    c.phi_gate.enabled = True
    # Items the de-identifier flags are withheld unless the data is declared synthetic (the
    # shipped sample counts as such when it is both the training and the held-out file).
    c.phi_gate.allow_synthetic = False
    c.phi_gate.scan_facts = True
    return c
