"""Reward model: reads sheets and the web export, beats a constant predictor on held-out raters of a
planted rating set, round-trips through the workdir; the real MiniLM encoder loads offline."""
import json

import numpy as np

from trainer.data.records import read_clean_examples
from trainer.data import files
from trainer.eval import human
from trainer.rl import config as rl_config
from trainer.rl import reward_model as rm_lib

WARM = "Thank you, we are here to help and we care about you."


def _variants(ex):
    """Messages of planted quality for one example: (message, true quality per dimension)."""
    ref = ex.response
    name = ex.facts.get("preferred_name", "")
    generic = "Please contact the clinic."
    broken = ref.replace("555", "777")  # an invented phone number
    return [
        (ref + " " + WARM, {"relevance": 5, "accuracy": 5, "empathy": 5, "personalization": 5 if name else 3}),
        (ref, {"relevance": 5, "accuracy": 5, "empathy": 3, "personalization": 4 if name else 3}),
        (broken, {"relevance": 4, "accuracy": 2, "empathy": 3, "personalization": 3}),
        (generic, {"relevance": 1, "accuracy": 2, "empathy": 2, "personalization": 1}),
    ]


def planted_ratings(n_examples=12, raters=("ann", "bob", "cy", "dee"), seed=0):
    rng = np.random.default_rng(seed)
    exs = read_clean_examples(files.SAMPLE_HELDOUT)[:n_examples]
    out = []
    for ex in exs:
        for v, (message, truth) in enumerate(_variants(ex)):
            for rater in raters:
                bias = {"ann": 0, "bob": -1, "cy": 0, "dee": 1}[rater]
                scores = {d: int(np.clip(round(q + bias * 0.5 + rng.normal(0, 0.6)), 1, 5)) for d, q in truth.items()}
                out.append(rm_lib.Rating(rater, f"{ex.id}-{v}", ex.id, f"m{v}", ex.task, dict(ex.facts), message,
                                         scores, "planted"))
    return out


def _cfg(encoder="tiny"):
    c = rl_config.reward_model_config()
    c.encoder = encoder
    return c


def test_reward_model_beats_a_constant_predictor_on_heldout_raters(tmp_path):
    ratings = planted_ratings()
    model = rm_lib.train_reward_model(ratings, _cfg("tiny"))
    ev = model.meta["evaluation"]
    assert ev["split"] == "raters" and len(ev["heldout"]) >= 1
    for kind in ("regression", "bradley_terry"):
        assert ev[kind]["mean_pairwise_accuracy"] > 0.7, ev[kind]
        assert ev[kind]["mean_spearman"] > 0.4, ev[kind]
    for d in human.DIMENSIONS:
        assert ev["regression"][d]["mse"] < ev["regression"][d]["mse_constant"], (d, ev["regression"][d])
    inter = ev["inter_rater"]
    assert inter["raters"] == 4 and inter["accuracy"]["alpha"] is not None
    # Scores order the planted variants: the warm faithful message above the generic one.
    ex = read_clean_examples(files.SAMPLE_HELDOUT)[20]
    msgs = [m for m, _ in _variants(ex)]
    s = model.score(msgs, [ex.task] * 4, [ex.facts] * 4)
    assert ((0 <= s) & (s <= 1)).all() and s[0] > s[3] and s[1] > s[3]
    # Saves and loads with the workdir.
    model.save(str(tmp_path / "rm"))
    again = rm_lib.RewardModel.load(str(tmp_path / "rm"))
    np.testing.assert_allclose(again.score(msgs, [ex.task] * 4, [ex.facts] * 4), s, rtol=1e-6, atol=1e-6)
    assert again.kind == model.kind and not again.simulated


def test_one_rater_falls_back_to_heldout_examples():
    ratings = [r for r in planted_ratings(n_examples=8) if r.rater == "ann"]
    _, test, unit = rm_lib.split_raters(ratings, 0.34, 0)
    assert unit.startswith("examples") and test
    heldout = {ratings[i].example_id for i in test}
    assert all(r.example_id not in heldout for i, r in enumerate(ratings) if i not in test)


def test_ratings_load_from_sheets_and_the_web_export_without_duplicates(tmp_path):
    exs = [{"id": e.id, "task": e.task, "facts": e.facts, "reference": e.response}
           for e in read_clean_examples(files.SAMPLE_HELDOUT)[:3]]
    outputs = {"finetuned": [e["reference"] for e in exs], "baseline": ["Please contact the clinic."] * 3}
    eval_dir = tmp_path / "eval"
    (eval_dir / "human").mkdir(parents=True)
    human.export_rating_sheet(exs, outputs, str(eval_dir / "rating_sheet.csv"), str(eval_dir / "rating_key.csv"))
    with open(eval_dir / "predictions.jsonl", "w") as f:
        for e in exs:
            f.write(json.dumps({"id": e["id"], "facts": e["facts"]}) + "\n")
    import csv
    rows = list(csv.DictReader(open(eval_dir / "rating_sheet.csv", newline="", encoding="utf-8")))
    for rater, score in (("alice", "4"), ("web-bo", "2")):
        with open(eval_dir / "human" / f"{rater}.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow(dict(r, relevance=score, accuracy=score))
    key = human.read_key(str(eval_dir / "rating_key.csv"))
    first = rows[0]
    (tmp_path / "rate").mkdir()
    web = [{"item_id": first["item_id"], "example_id": key[first["item_id"]]["example_id"], "model": "x",
            "task": first["task"], "facts": {"language": "en"}, "message": first["message"], "rater": "web-bo",
            "scores": {"relevance": 5}},  # the same rating as web-bo.csv's row: the store's copy wins
           {"item_id": "item-web-only", "example_id": "ex9", "model": "y", "task": "follow_up_survey",
            "facts": {"language": "en"}, "message": "Hi!", "rater": "web-cy", "scores": {"empathy": 3}}]
    with open(tmp_path / "rate" / "ratings.jsonl", "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in web)
    ratings = rm_lib.load_ratings(str(tmp_path))
    assert len(ratings) == 2 * len(rows) + 1
    by = {(r.rater, r.item_id): r for r in ratings}
    assert by[("web-bo", first["item_id"])].scores == {"relevance": 5}
    assert by[("alice", first["item_id"])].scores == {"relevance": 4, "accuracy": 4}
    ex_facts = by[("alice", first["item_id"])].facts
    assert isinstance(ex_facts, dict) and "language" in ex_facts
    assert not rm_lib.is_simulated(ratings)


def test_real_minilm_encoder_loads_offline_and_ranks_meaning():
    """all-MiniLM-L6-v2 from the PyPI package, through keras-hub (no torch), mean pooled."""
    enc = rm_lib.SentenceEncoder("minilm", 64)
    assert enc.dim == 384
    e = enc.encode(["Your appointment is on Monday at 3 pm.", "Reminder: you have a visit Monday afternoon.",
                    "Your bill of $40 is due."])
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, rtol=1e-5)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.1
    # The default reward model encoder is this one, and a model trains on it.
    assert rl_config.reward_model_config().encoder == "minilm"
    model = rm_lib.train_reward_model(planted_ratings(n_examples=4, raters=("ann", "bob", "cy")), _cfg("minilm"))
    assert model.meta["encoder"]["kind"] == "minilm"
    assert model.meta["evaluation"]["regression"]["mean_spearman"] > 0.3
