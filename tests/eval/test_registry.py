"""A metric is one registration: the scorer computes it and the report shows it, nothing else to edit."""
import json

import pytest

from trainer.eval import evaluate as E
from trainer.eval import metrics as M
from trainer.eval import registry
from trainer.eval import report as R

FACTS = {"preferred_name": "Maria", "portal_link": "https://portal.example.org", "language": "en", "channel": "sms"}
EXAMPLES = [{"id": f"e{i}", "task": "lab_results_ready", "facts": FACTS,
             "reference": "Hi Maria, your results are ready at https://portal.example.org ."} for i in range(4)]
OUTPUTS = ["Hi Maria! Results: https://portal.example.org", "Hi Maria, see https://portal.example.org",
           "Great news, Maria! https://portal.example.org !", "Maria, https://portal.example.org"]
LABEL = "Messages with an exclamation mark (toy)"


def model(examples):
    return [OUTPUTS[int(e["id"][1:])] for e in examples]


@pytest.fixture
def toy_metrics():
    registry.register(registry.example_metric(
        "exclamation_rate", LABEL, value=lambda row: float("!" in row.output), higher_is_better=False,
        per_task=True, plot_scale="0-1", keep_per_example=True))
    # A corpus metric: output characters per reference character over the whole set.
    registry.register(registry.Metric(
        "length_ratio", "Output length / reference length (toy)", registry.CORPUS,
        lambda b: M.ratio_stat([len(o) for o in b.outputs], [len(r) for r in b.references]),
        higher_is_better=None))
    try:
        yield
    finally:
        registry.unregister("exclamation_rate")
        registry.unregister("length_ratio")


def test_a_registered_metric_is_scored_and_reported(toy_metrics, tmp_path):
    cfg = E.default_config()
    cfg.n_bootstrap, cfg.n_bootstrap_per_task = 50, 20
    cfg.human.export = False
    E.run_eval(cfg, str(tmp_path), EXAMPLES, {"finetuned": model, "baseline": model})
    out = tmp_path / "eval"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["finetuned"]["exclamation_rate"] == 0.5
    assert metrics["finetuned"]["ci"]["exclamation_rate"] is not None
    assert metrics["finetuned"]["per_task"]["lab_results_ready"]["exclamation_rate"] == 0.5
    assert metrics["comparison"]["metrics"]["exclamation_rate"]["delta"] == 0.0
    expected = sum(map(len, OUTPUTS)) / sum(len(e["reference"]) for e in EXAMPLES)
    assert metrics["baseline"]["length_ratio"] == round(expected, R.DIGITS)
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["scores"]["finetuned"]["exclamation_rate"] for p in preds] == [1.0, 0.0, 1.0, 0.0]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert f"| {LABEL} | 0.5000 |" in md and "finetuned exclamation_rate" in md
    page = (out / "report.html").read_text(encoding="utf-8")
    assert LABEL in page and 'data-metric="finetuned.exclamation_rate"' in page
    assert 'data-metric="finetuned.per_task.lab_results_ready.exclamation_rate"' in page
    assert "Output length / reference length (toy)" in page and "Output length / reference length (toy)" in md


def test_unregistered_metric_is_gone(tmp_path):
    assert "exclamation_rate" not in registry.names()
    cfg = E.default_config()
    cfg.n_bootstrap, cfg.n_bootstrap_per_task = 0, 0
    cfg.human.export = False
    metrics = E.run_eval(cfg, str(tmp_path), EXAMPLES, {"finetuned": model})
    assert "exclamation_rate" not in metrics["finetuned"]
    assert LABEL not in (tmp_path / "eval" / "report.md").read_text(encoding="utf-8")


def test_builtin_metrics_in_report_order():
    assert registry.names() == ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "fact_recall",
                                "facts_in_role", "fact_accuracy", "hallucination_rate", "sms_length_ok",
                                "reading_grade", "language_match")
    assert registry.per_task_names() == ("chrf", "rougeL", "fact_recall", "facts_in_role", "hallucination_rate")
    assert {m.kind for m in registry.all_metrics()} == {registry.CORPUS, registry.EXAMPLE}
    assert registry.get("hallucination_rate").higher_is_better is False


def test_names_the_results_layout_uses_are_refused():
    with pytest.raises(ValueError, match="taken"):
        registry.register(registry.example_metric("ci", "CI", value=lambda row: 1.0))
    with pytest.raises(ValueError, match="kind"):
        registry.Metric("x", "X", "other", lambda b: None)
    assert "ci" not in registry.names()


def test_facts_in_role_uses_the_dictionary_for_corpus_examples_and_key_facts_otherwise(tmp_path):
    from trainer.data import corpus, files

    corpus_ex = next(e for e in E.load_examples(files.CORPUS_TEST) if "balance_amount" in e["facts"]
                     and "insurance_paid" in e["facts"] and e["facts"]["balance_amount"] != e["facts"]["insurance_paid"])
    owed, insured = corpus_ex["facts"]["balance_amount"], corpus_ex["facts"]["insurance_paid"]
    swapped = corpus_ex["reference"].replace(owed, "@@").replace(insured, owed).replace("@@", insured)
    dictionary = corpus.load_dictionary()
    # a generated example with a key the dictionary does not document (most are documented)
    sample_ex = next(e for e in E.load_examples(files.SAMPLE_HELDOUT) if any(k not in dictionary for k in e["facts"]))
    examples = [corpus_ex, sample_ex]
    cfg = E.default_config()
    cfg.n_bootstrap, cfg.n_bootstrap_per_task = 0, 0
    cfg.human.export = False
    metrics = E.run_eval(cfg, str(tmp_path), examples,
                         {"finetuned": lambda exs: [e["reference"] for e in exs],
                          "baseline": lambda exs: [swapped, exs[1]["reference"]]})
    preds = [json.loads(line) for line in (tmp_path / "eval" / "predictions.jsonl").read_text().splitlines()]
    right, wrong = preds[0]["scores"]["finetuned"], preds[0]["scores"]["baseline"]
    assert right["role_check"] == "dictionary" and right["facts_wrong_role"] == []
    assert right["key_facts_in_role"] == right["role_key_facts"] > 0
    assert {"balance_amount", "insurance_paid"} <= set(wrong["facts_wrong_role"])
    # the swap states every value, so the plain key-fact check cannot see it
    assert wrong["fact_recall"] == right["fact_recall"] == 1.0
    gen = preds[1]["scores"]["finetuned"]
    assert gen["role_check"] == "key_facts" and gen["role_key_facts"] == gen["key_facts"]
    total = right["role_key_facts"] + gen["role_key_facts"]
    assert metrics["finetuned"]["facts_in_role"] == 1.0
    expected = (total - len(wrong["facts_wrong_role"])) / total
    assert metrics["baseline"]["facts_in_role"] == round(expected, R.DIGITS) < 1.0
    page = (tmp_path / "eval" / "report.html").read_text(encoding="utf-8")
    assert "Key facts stated in their role" in page and 'data-metric="baseline.facts_in_role"' in page
    md = (tmp_path / "eval" / "report.md").read_text(encoding="utf-8")
    assert f"| Key facts stated in their role | {R.fmt(metrics['finetuned']['facts_in_role'])} |" in md
