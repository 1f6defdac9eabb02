"""The SFT-vs-RL section outlives a re-render of the eval report, and its numbers are its file's."""
import json
import os

from tests.eval.test_report import EXAMPLES, finetuned, lookup, parse
from trainer.eval import evaluate as E
from trainer.eval import report as R
from trainer.rl import compare


def _comparison():
    sft = {"reward": [0.1, 0.2, 0.3, 0.2], "rm": [0.5] * 4, "fact_recall": [0.5, 1.0, 0.5, 1.0],
           "hallucination_rate": [0.0, 1.0, 0.0, 0.0], "response_tokens": [20, 22, 18, 20], "chars": [90, 99, 80, 91]}
    rl = dict(sft, reward=[0.4, 0.5, 0.3, 0.6], hallucination_rate=[0.0] * 4)
    return compare.compare(sft, rl, n_bootstrap=50, seed=0)


def test_rl_section_survives_a_rerender_of_the_eval_report(tmp_path):
    workdir = str(tmp_path)
    cfg = E.default_config()
    cfg.n_bootstrap, cfg.n_bootstrap_per_task = 20, 0
    cfg.human.export = False
    E.run_eval(cfg, workdir, EXAMPLES[:3], {"finetuned": finetuned})
    eval_dir = os.path.join(workdir, "eval")
    comparison = _comparison()
    updated = compare.publish(eval_dir, comparison, ["A NOTE FOR THE READER"])
    assert sorted(os.path.basename(p) for p in updated) == ["report.html", "report.md"]
    E.rerender(cfg, workdir)  # what --mode=eval's report path does later: rebuilt from metrics.json
    html = open(os.path.join(eval_dir, "report.html"), encoding="utf-8").read()
    md = open(os.path.join(eval_dir, "report.md"), encoding="utf-8").read()
    for text in (html, md):
        assert text.count("SFT vs RL") == 1 and "A NOTE FOR THE READER" in text
    assert html.index("SFT vs RL") < html.index("<h2>Signatures</h2>")
    # Every number of the section is printed from the section's file, like the rest of the report.
    with open(os.path.join(eval_dir, "metrics.json")) as f:
        numbers = dict(json.load(f), sections={compare.SECTION: comparison})
    cells = [(k, v) for k, v in parse(os.path.join(eval_dir, "report.html")).cells if k.startswith("sections.")]
    assert len(cells) == 1 + 4 * len(compare.METRICS)
    for key, text in cells:
        expected = lookup(numbers, key)
        assert text == R.fmt(expected), (key, text, expected)
    assert R.fmt(comparison["metrics"]["reward"]["delta"]) in md
