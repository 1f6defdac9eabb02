"""The rate stage: serve the blinded items of DIR/eval/ to clinicians for 1-5 ratings.

    python -m trainer.main --config=configs/X.py --workdir=DIR --mode=rate [--config.rate.port=8765]

Loads the items of eval/rating_sheet.csv (after --mode=eval), withholds those the PHI gate flags,
syncs them into the SQLite store (DIR/rate/ratings.sqlite), prints an organiser link the first
time, and serves until Ctrl-C; on the way out it exports the ratings (eval/human/web-*.csv,
rate/ratings.jsonl) and re-renders eval/report.html. Raters are added from another shell with
`python -m trainer.rate add-rater --workdir=DIR --name=NAME`, also while the page is served.
"""
from __future__ import annotations

import logging as pylogging
import os
import signal
import threading
from typing import Any

import ml_collections
from absl import logging

from trainer.rate import auth, items as items_lib, results
from trainer.rate.app import create_app
from trainer.rate.server import Server, is_loopback
from trainer.rate.store import Store, StoreError

DEFAULT_BASE_URL = "http://127.0.0.1:8765"


def db_path(rate_cfg: ml_collections.ConfigDict, workdir: str) -> str:
    return rate_cfg.db or os.path.join(workdir, "rate", "ratings.sqlite")


def issue_admin(store: Store, name: str = "organiser") -> str:
    """A new admin token (the organiser's), replacing the old one if there is one."""
    selector, secret, token = auth.new_token()
    admins = [r for r in store.raters() if r["role"] == "admin"]
    if admins:
        store.replace_token(admins[0]["name"], selector, auth.hash_secret(secret))
    else:
        store.add_rater(name, "admin", selector, auth.hash_secret(secret))
    return token


def issue_rater(store: Store, name: str) -> str:
    selector, secret, token = auth.new_token()
    store.add_rater(name, "rater", selector, auth.hash_secret(secret))
    return token


def reissue(store: Store, name: str) -> str:
    """A new link for a rater; the old link and its browser sessions stop working."""
    selector, secret, token = auth.new_token()
    store.replace_token(name, selector, auth.hash_secret(secret))
    return token


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/r/{token}"


def prepare(config: ml_collections.ConfigDict, workdir: str, deidentifier: Any = None) -> tuple[Store, dict[str, Any]]:
    """Loads and gates the items, syncs the store; returns it with what happened (and a new
    organiser token when none existed)."""
    cfg = config.rate
    eval_dir = os.path.join(workdir, "eval")
    loaded = items_lib.load_items(eval_dir)
    synthetic, why = items_lib.declared_synthetic(config, workdir)
    surrogates = {} if synthetic else items_lib.known_surrogates(config, workdir)
    shown, withheld_ids, summary = items_lib.gate_items(loaded, cfg.phi_gate, synthetic, deidentifier, surrogates)
    logging.info("%s%s", summary, f" ({why})" if why else "")
    flagged = set(withheld_ids)
    withheld = [it for it in loaded if it.item_id in flagged]
    store = Store(db_path(cfg, workdir))
    info: dict[str, Any] = dict(store.sync_items(shown, withheld, float(cfg.overlap), int(cfg.seed)))
    info["admin_token"] = None
    if not any(r["role"] == "admin" for r in store.raters()):
        info["admin_token"] = issue_admin(store)
    return store, info


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run(config: ml_collections.ConfigDict, workdir: str, deidentifier: Any = None) -> dict[str, Any]:
    cfg = config.rate
    store, info = prepare(config, workdir, deidentifier)
    if not is_loopback(cfg.host):
        logging.warning("rate.host=%s: the rating page is reachable from other machines. It shows patient "
                        "communication: serve it only on a trusted network, behind HTTPS "
                        "(then set rate.cookie_secure=True).", cfg.host)
    # The access log is ours (route patterns only); waitress logs no requests.
    pylogging.getLogger("carelora.rate").setLevel(pylogging.INFO)
    app = create_app(store, cfg, workdir, config.eval)
    server = Server(app, cfg.host, int(cfg.port), int(cfg.threads))
    store.set_meta({"base_url": server.url})
    raters = [r for r in store.raters() if r["role"] == "rater" and r["active"]]
    print(f"carelora rate: {info['shown']} items ({info['withheld']} withheld by the PHI gate, "
          f"{info['overlap_items']} shared by every rater), {len(raters)} raters, store {store.path}")
    if info["admin_token"]:
        print(f"organiser link (progress, results, export; shown once): {link(server.url, info['admin_token'])}")
    print(f"add a rater:        python -m trainer.rate add-rater --workdir={workdir} --name=NAME\n"
          f"new organiser link: python -m trainer.rate admin-link --workdir={workdir}\n"
          f"serving on {server.url}  (Ctrl-C stops; every rating is saved when it is given)", flush=True)
    main_thread = threading.current_thread() is threading.main_thread()
    if main_thread:  # `kill` stops it as Ctrl-C does, so the export on exit still runs
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        server.stop()
    if cfg.export_on_exit:
        try:
            out = results.export(store, workdir, config)
            logging.info("exported %d ratings: %s, %s", out["n_ratings"], out["jsonl"], out["report"] or "(no report)")
        except (StoreError, OSError) as e:
            logging.error("export on exit failed: %s", e)
    return info
