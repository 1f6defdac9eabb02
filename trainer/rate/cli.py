"""Organiser commands on a workdir's ratings store (work while the page is being served).

    python -m trainer.rate add-rater  --workdir=DIR --name="Ana Ruiz"   # prints Ana's secret link
    python -m trainer.rate new-link   --workdir=DIR --name="Ana Ruiz"   # a lost link: the old one stops working
    python -m trainer.rate revoke     --workdir=DIR --name="Ana Ruiz"   # her unrated items go to the others
    python -m trainer.rate admin-link --workdir=DIR                     # a new organiser link
    python -m trainer.rate list       --workdir=DIR                     # raters and progress
    python -m trainer.rate export     --workdir=DIR [--no_report]       # eval/human/web-*.csv, rate/ratings.jsonl, report

Links are shown once: only a hash of each token is stored.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

import ml_collections

from trainer.eval.config import default_config as eval_default_config
from trainer.rate import results, stage
from trainer.rate.config import default_config as rate_default_config
from trainer.rate.store import Store, StoreError


def _saved_config(workdir: str) -> ml_collections.ConfigDict:
    """config.rate and config.eval of the workdir's last run (DIR/config.json), defaults elsewhere."""
    c = ml_collections.ConfigDict({"rate": rate_default_config(), "eval": eval_default_config()})
    path = os.path.join(workdir, "config.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        for section, keys in (("rate", ("db",)), ("eval", ("n_bootstrap", "seed", "confidence", "report_examples"))):
            for k in keys:
                value = (saved.get(section) or {}).get(k)
                if value is not None:
                    c[section][k] = value
    return c


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainer.rate", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("add-rater", "add a rater and print their secret link"),
                            ("new-link", "issue a new link for a rater (the old one stops working)"),
                            ("revoke", "revoke a rater's link and sessions"),
                            ("admin-link", "issue a new organiser link"),
                            ("list", "raters and their progress"),
                            ("export", "write eval/human/web-*.csv and rate/ratings.jsonl, re-render the report")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--workdir", required=True)
        p.add_argument("--db", default="", help="the store (default: DIR/rate/ratings.sqlite)")
        if name in ("add-rater", "new-link", "revoke"):
            p.add_argument("--name", required=True)
        if name == "export":
            p.add_argument("--no_report", action="store_true", help="do not re-render eval/report.*")
    args = parser.parse_args(argv)
    config = _saved_config(args.workdir)
    if args.db:
        config.rate.db = args.db
    path = stage.db_path(config.rate, args.workdir)
    if args.command != "add-rater" and args.command != "admin-link" and not os.path.exists(path):
        print(f"{path}: no ratings store yet (serve with --mode=rate, or add a rater first)", file=sys.stderr)
        return 2
    try:
        store = Store(path)
        base_url = store.get_meta("base_url", stage.DEFAULT_BASE_URL)
        if args.command == "add-rater":
            token = stage.issue_rater(store, args.name)
            print(f"{args.name}: {stage.link(base_url, token)}")
        elif args.command == "new-link":
            print(f"{args.name}: {stage.link(base_url, stage.reissue(store, args.name))}")
        elif args.command == "revoke":
            store.revoke(args.name)
            print(f"{args.name}: revoked")
        elif args.command == "admin-link":
            print(f"organiser: {stage.link(base_url, stage.issue_admin(store))}")
        elif args.command == "list":
            for r in store.raters():
                if r["role"] == "admin":
                    print(f"{r['name']} (organiser)")
                else:
                    state = "" if r["active"] else " (revoked)"
                    print(f"{r['name']}{state}: {r['rated']} rated, {r['skipped']} skipped, {r['left']} left "
                          f"of {r['total']}")
        elif args.command == "export":
            out = results.export(store, args.workdir, config, refresh_report=not args.no_report)
            print(f"{out['n_ratings']} ratings -> {', '.join(out['sheets']) or '(no sheet)'}; {out['jsonl']}"
                  + (f"; {out['report']}" if out["report"] else ""))
    except (ValueError, StoreError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
