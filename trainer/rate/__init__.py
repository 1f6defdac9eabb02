"""Clinician rating web page: blinded 1-5 ratings of the eval items, kept in SQLite.

    python -m trainer.main --config=configs/X.py --workdir=DIR --mode=rate    # serve DIR/eval/ items
    python -m trainer.rate add-rater --workdir=DIR --name=NAME                # a rater's secret link
    python -m trainer.rate export --workdir=DIR                               # CSVs + JSONL + report

Modules: config (defaults), items (the blinded items of eval/ and their PHI gate), assign (who
rates what, in which order), store (SQLite schema, migrations, queries), auth (tokens, CSRF, guess
limits), results (statistics and exports through trainer.eval.human), app (Flask), server
(waitress), stage (`run(config, workdir)`), cli.
"""
