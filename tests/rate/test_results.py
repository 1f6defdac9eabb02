"""Statistics and exports: the web ratings become sheets human.py ingests unchanged, JSONL, the report."""
import csv
import glob
import json
import os

import numpy as np
import pytest

from trainer.deid.types import Span
from trainer.eval import evaluate, human
from trainer.rate import items as items_lib, results, stage
from trainer.rate.store import StoreError

from tests.rate.conftest import make_config, make_examples, make_outputs


def rate_everything(store, scores_of):
    """Each active rater rates all their items with scores_of(rater_name, item) -> {dim: int} or None."""
    for r in store.raters():
        if r["role"] != "rater":
            continue
        while (item := store.next_item(r["id"])) is not None:
            store.save_rating(r["id"], item["item_id"], scores_of(r["name"], item))


def scores_by_model(name, item):
    base = 4 if item["model"] == "finetuned" else 2
    bump = 1 if name == "Ben" and item["model"] == "finetuned" else 0
    return {"relevance": base + bump, "accuracy": base, "empathy": 3, "personalization": base}


def test_export_writes_sheets_that_human_py_ingests_unchanged(prepared):
    workdir, store, _, config = prepared
    for name in ("Ana", "Ben"):
        stage.issue_rater(store, name)
    rate_everything(store, scores_by_model)
    out = results.export(store, workdir, config)
    human_dir = os.path.join(workdir, "eval", "human")
    assert sorted(os.path.basename(p) for p in out["sheets"]) == ["web-ana.csv", "web-ben.csv"]
    with open(out["sheets"][0], newline="", encoding="utf-8") as f:
        assert tuple(next(csv.reader(f))) == human.SHEET_COLUMNS
    got = human.ingest_ratings(sorted(glob.glob(os.path.join(human_dir, "*.csv"))),
                               os.path.join(workdir, "eval", "rating_key.csv"), n_bootstrap=200, seed=0)
    assert got["raters"] == ["web-ana", "web-ben"] and got["n_items"] == 12
    # Finetuned relevance: Ana gives 4, Ben 5; an item rated by both averages to 4.5 first.
    rows = store.ratings()
    per_item = {}
    for r in rows:
        if r["model"] == "finetuned":
            per_item.setdefault(r["item_id"], []).append(r["scores"]["relevance"])
    expected = np.mean([np.mean(v) for v in per_item.values()])
    assert got["models"]["finetuned"]["relevance"]["mean"] == pytest.approx(expected)
    assert got["models"]["baseline"]["accuracy"]["mean"] == pytest.approx(2.0)
    lo, hi = got["models"]["finetuned"]["relevance"]["ci"]
    assert lo <= expected <= hi
    # Agreement on the shared items, straight from human.py's alpha.
    shared = sorted({r["item_id"] for r in rows if r["overlap"]})
    matrix = [[next((r["scores"]["relevance"] for r in rows if r["item_id"] == i and r["rater"] == name), None)
               for i in shared] for name in ("Ana", "Ben")]
    assert got["alpha"]["relevance"] == pytest.approx(human.krippendorff_alpha(matrix, "ordinal"))
    # The results page computes the same numbers.
    live = results.compute(store, config.eval)
    assert live["human"]["models"] == got["models"] and live["human"]["alpha"] == got["alpha"]
    assert live["raters_per_model"] == {"baseline": 2, "finetuned": 2}
    assert live["items_with_2_raters"] == len(shared) == 2


def test_jsonl_for_the_reward_model(prepared):
    workdir, store, _, config = prepared
    stage.issue_rater(store, "Ana")
    rate_everything(store, lambda name, item: None if item["model"] == "baseline" else scores_by_model(name, item))
    out = results.export(store, workdir, config, refresh_report=False)
    with open(out["jsonl"], encoding="utf-8") as f:
        lines = [json.loads(line) for line in f]
    assert len(lines) == out["n_ratings"] == 6  # skips are not ratings
    first = lines[0]
    assert set(first) == {"item_id", "example_id", "model", "task", "facts", "message", "rater", "scores",
                          "comment", "shared", "rated_at"}
    ex = {e["id"]: e for e in make_examples(6)}[first["example_id"]]
    assert first["facts"] == ex["facts"] and first["model"] == "finetuned" and first["rater"] == "web-ana"
    assert first["message"] == make_outputs(make_examples(6))["finetuned"][int(first["example_id"][2:])]
    assert first["scores"] == {"relevance": 4, "accuracy": 4, "empathy": 3, "personalization": 4}


def test_export_refuses_when_eval_was_rerun_under_the_ratings(prepared):
    workdir, store, _, config = prepared
    stage.issue_rater(store, "Ana")
    rate_everything(store, scores_by_model)
    key = os.path.join(workdir, "eval", "rating_key.csv")
    with open(key, encoding="utf-8") as f:
        text = f.read()
    with open(key, "w", encoding="utf-8") as f:
        f.write(text.replace(text.splitlines()[1].split(",")[-1], "0" * 64))
    with pytest.raises(StoreError, match="rating_key.csv: item .* holds another message"):
        results.export(store, workdir, config)


def test_export_puts_the_web_ratings_into_the_eval_report(tmp_path):
    workdir = str(tmp_path)
    examples = make_examples(4)
    outs = make_outputs(examples)
    config = make_config()
    config.eval.n_bootstrap = 50
    config.eval.n_bootstrap_per_task = 20
    evaluate.run_eval(config, workdir, [dict(e) for e in examples],
                      {m: (lambda exs, m=m: outs[m][: len(exs)]) for m in outs})
    store, _ = stage.prepare(config, workdir)
    for name in ("Ana", "Ben"):
        stage.issue_rater(store, name)
    rate_everything(store, scores_by_model)
    out = results.export(store, workdir, config)
    assert out["report"] == os.path.join(workdir, "eval", "report.html")
    with open(out["report"], encoding="utf-8") as f:
        html = f.read()
    assert "Raters: web-ana, web-ben" in html and "<table id='human'>" in html
    with open(os.path.join(workdir, "eval", "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    assert metrics["human"]["raters"] == ["web-ana", "web-ben"]
    assert metrics["human"]["models"]["baseline"]["accuracy"]["mean"] == 2.0
    # A re-run of eval keeps the key while web sheets exist, so the store still matches it.
    evaluate.run_eval(config, workdir, [dict(e) for e in examples],
                      {m: (lambda exs, m=m: outs[m][: len(exs)]) for m in outs})
    stage.prepare(config, workdir)


class FakeDeid:
    """Flags a made-up record number, as the de-identifier would flag an MRN."""

    def scan(self, text):
        i = text.find("MRN 889123")
        return [Span(i, i + 10, "MRN", text[i:i + 10])] if i >= 0 else []


def test_phi_gate_withholds_flagged_items(tmp_path):
    from tests.rate.conftest import write_eval
    examples = make_examples(3)
    outs = make_outputs(examples)
    outs["finetuned"][1] += " Your chart: MRN 889123."
    write_eval(str(tmp_path), n=3, outputs=outs)
    config = make_config()
    config.rate.phi_gate.allow_synthetic = False
    config.data.train_file = "/clinic/real_train.jsonl"  # not the shipped sample: no synthetic pass
    store, info = stage.prepare(config, str(tmp_path), deidentifier=FakeDeid())
    assert (info["shown"], info["withheld"]) == (5, 1)
    loaded = items_lib.load_items(str(tmp_path / "eval"))
    flagged = next(i for i in loaded if "889123" in i.message)
    rater = store.raters()  # organiser only so far
    rid = store.add_rater("Ana", "rater", "selAna0000", "h" * 64)
    seen = []
    while (item := store.next_item(rid)) is not None:
        seen.append(item["item_id"])
        store.save_rating(rid, item["item_id"], None)
    assert len(seen) == 5 and flagged.item_id not in seen and len(rater) == 1
    with pytest.raises(LookupError):
        store.save_rating(rid, flagged.item_id, {"empathy": 3})
    # A surrogate that prepare inserted in that example (its manifest beside data/test.jsonl) is no identifier.
    os.makedirs(tmp_path / "data")
    (tmp_path / "data" / "test.jsonl").write_text("")
    (tmp_path / "data" / "deid_manifest.json").write_text(json.dumps({"surrogates": {"ex01": ["MRN 889123"]}}))
    _, info = stage.prepare(config, str(tmp_path), deidentifier=FakeDeid())
    assert (info["shown"], info["withheld"]) == (6, 0)
    # Declared synthetic (or trained and evaluated on the shipped sample): nothing is withheld.
    assert items_lib.declared_synthetic(make_config(), str(tmp_path))[0]
    sample = make_config()
    sample.rate.phi_gate.allow_synthetic = False
    assert items_lib.declared_synthetic(sample, str(tmp_path)) == (False, "")  # its own data/test.jsonl
    assert items_lib.declared_synthetic(sample, str(tmp_path / "fresh")) == (
        True, "trained and evaluated on the shipped synthetic sample")


def test_missing_eval_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"eval/rating_sheet.csv is missing: run --mode=eval first"):
        stage.prepare(make_config(), str(tmp_path))
