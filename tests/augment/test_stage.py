"""The augment stage end to end on the tiny config; provenance, accounting, no split leak, cache."""
import json
import os

import pytest

from tests.augment.helpers import TEST, TRAIN, VAL, write_prepared
from trainer import config_lib
from trainer.augment import generators, stage
from trainer.data import files
from trainer.data.records import read_clean_examples
from trainer.facts import checks
from trainer.facts.config import default_config as facts_config


def tiny_config():
    c = config_lib.tiny_config("tiny_gpt2", ("query", "value"))
    a = c.augment
    a.edge_cases.per_category = 2
    a.paraphrase.max_sources = 2
    a.backtranslation.max_sources = 2
    a.lm.update(max_new_tokens=8, batch_size=4, max_prompt_tokens=200, dtype="float32", xla=False)
    a.filters.encoder = "lexical"  # the tiny model writes gibberish; MiniLM is tested on its own
    return c


@pytest.fixture(scope="module")
def ran(tmp_path_factory, deid):
    workdir = str(tmp_path_factory.mktemp("augment"))
    write_prepared(workdir)
    report = stage.run(tiny_config(), workdir, deidentifier=deid)
    return workdir, report


def _jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_ledger_accounts_for_every_candidate(ran):
    workdir, report = ran
    data = os.path.join(workdir, "data")
    ledger = _jsonl(os.path.join(data, stage.LEDGER))
    kept = _jsonl(os.path.join(data, stage.AUGMENTED))
    assert report["accounting_ok"] and report["candidates"] == len(ledger) > 0
    assert len(ledger) == len(kept) + sum(report["rejected_by_reason"].values())
    assert {r["candidate_id"] for r in ledger if r["outcome"] == "kept"} == {r["id"] for r in kept}
    assert all(r["reason"] for r in ledger if r["outcome"] == "rejected")
    # every method ran: the tiny random model's paraphrases and translations are filtered out
    assert set(report["by_method"]) == {"edge_case", "paraphrase", "backtranslation"}
    assert report["by_method"]["paraphrase"]["candidates"] == 2
    assert report["by_method"]["backtranslation"]["candidates"] == 2
    assert json.load(open(os.path.join(data, "prepare_report.json")))["augment"]["kept"] == len(kept)
    assert json.load(open(os.path.join(data, "prepare_report.json")))["records_in"] == 12  # prepare's keys stay


def test_kept_examples_are_faithful_with_provenance(ran):
    workdir, _ = ran
    kept = _jsonl(os.path.join(workdir, "data", stage.AUGMENTED))
    assert kept and read_clean_examples(os.path.join(workdir, "data", stage.AUGMENTED))
    by_id = {e["id"]: e for e in TRAIN}
    cfg = facts_config()
    for r in kept:
        src = by_id[r["source_id"]]
        assert r["method"] in ("edge_case", "paraphrase", "backtranslation") and r["category"]
        assert r["patient_key"] == src["patient_key"]
        assert checks.find_hallucinations(r["response"], r["facts"], cfg) == []
        src_missing = set(checks.check_facts(src["response"], src["task"], src["facts"], cfg).missing)
        assert set(checks.check_facts(r["response"], r["task"], r["facts"], cfg).missing) <= src_missing


def test_phi_manifest_knows_the_augmented_surrogates(ran):
    from trainer.augment import masking

    workdir, _ = ran
    kept = _jsonl(os.path.join(workdir, "data", stage.AUGMENTED))
    manifest = json.load(open(os.path.join(workdir, "data", stage.MANIFEST)))["surrogates"]
    for r in kept:
        stated = {sp.text for sp in masking.fact_spans(r["response"], r["facts"])}
        assert stated <= set(manifest[r["id"]])  # "December 30" as well as 2026-12-30


def test_augmented_never_shares_a_patient_key_across_splits(ran):
    workdir, report = ran
    kept = _jsonl(os.path.join(workdir, "data", stage.AUGMENTED))
    train_keys = {e["patient_key"] for e in TRAIN}
    heldout_keys = {e["patient_key"] for e in VAL + TEST}
    assert {r["patient_key"] for r in kept} <= train_keys
    assert not {r["patient_key"] for r in kept} & heldout_keys
    assert report["patients_in_val_or_test"] == report["patients_outside_train"] == 0
    # the guard itself catches a planted leak
    planted = [dict(kept[0], patient_key=VAL[0]["patient_key"])]
    assert stage.check_patient_keys(planted, train_keys, heldout_keys)["patients_in_val_or_test"] == 1


def test_rerun_is_served_from_the_cache(ran, deid):
    workdir, first = ran
    again = stage.run(tiny_config(), workdir, deidentifier=deid)
    assert again["lm"]["generated"] == 0 and again["lm"]["cache_hits"] == first["lm"]["generated"] > 0
    assert again["kept"] == first["kept"] and again["rejected_by_reason"] == first["rejected_by_reason"]


@pytest.mark.parametrize("weight,extra", [(0.0, 0), (0.5, None), (1.0, 1), (2.0, 2)])
def test_training_takes_originals_plus_augmented_by_weight(ran, weight, extra):
    workdir, _ = ran
    c = tiny_config()
    c.data.augmented_weight = weight
    kept = _jsonl(os.path.join(workdir, "data", stage.AUGMENTED))
    train_file, val_file = files.train_files(c, workdir)
    assert val_file.endswith("val.jsonl")
    rows = _jsonl(train_file)
    assert rows[: len(TRAIN)] == TRAIN
    want = round(0.5 * len(kept)) if extra is None else extra * len(kept)
    assert len(rows) - len(TRAIN) == want
    if weight:
        assert os.path.exists(os.path.join(os.path.dirname(train_file), "deid_manifest.json"))
    assert len({r["id"] for r in rows}) == len(rows)  # copies get their own ids


def test_paraphrase_restores_facts_from_the_lm_output():
    """A stand-in LM that rewrites the masked source (or loses a placeholder): restore and errors."""
    from trainer.data.records import parse_clean_example

    train = [parse_clean_example(e) for e in TRAIN]
    cfg = tiny_config().augment.paraphrase
    cfg.max_sources = 0

    def fake_lm(requests):
        outs = []
        for _, make in requests:
            prompt = make()
            source = prompt.rsplit("Message: ", 1)[1].rsplit("\nRewrite:", 1)[0]
            outs.append(" " + source.replace("Hi ", "Hello ") + "\nMessage: next")
        return outs

    cands = generators.paraphrases(train, cfg, facts_config(), fake_lm, lambda t: len(t) // 4, lambda: 400, 0)
    assert len(cands) == len(train)
    for c in cands:
        src = next(e for e in train if e.id == c.source_id)
        assert not c.error and "Message:" not in c.response
        assert c.response == src.response.replace("Hi ", "Hello ")


def test_lost_or_made_up_placeholders_are_generator_errors():
    from trainer.data.records import parse_clean_example

    train = [parse_clean_example(e) for e in TRAIN]
    cfg = tiny_config().augment.paraphrase
    cands = generators.paraphrases(train, cfg, facts_config(), lambda reqs: [" Hi {patient}, see you."] * len(reqs),
                                   lambda t: len(t) // 4, lambda: 400, 0)
    assert cands and all(c.error == "placeholder_lost" and "patient" in c.detail for c in cands)
    empty = generators.paraphrases(train, cfg, facts_config(), lambda reqs: ["\nMessage: x"] * len(reqs),
                                   lambda t: len(t) // 4, lambda: 400, 0)
    assert all(c.error == "generation_failed" for c in empty)
