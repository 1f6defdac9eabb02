"""The report renders, and every number it shows equals metrics.json."""
import csv
import json
import os
import re
from html.parser import HTMLParser

import pytest

from trainer.eval import evaluate as E
from trainer.eval import human as H
from trainer.eval import registry
from trainer.eval import report as R

FACTS = [
    {"preferred_name": "Maria", "appointment_date": "2026-10-03", "appointment_time": "14:30",
     "provider_name": "Dr. Ana Chen", "callback_phone": "555-123-4567", "language": "en", "channel": "sms"},
    {"preferred_name": "José", "appointment_date": "2026-11-12", "appointment_time": "09:15",
     "provider_name": "Dra. Lucía Ramos", "callback_phone": "555-987-6543", "language": "es", "channel": "sms"},
    {"preferred_name": "Sam", "balance_amount": "$120.50", "due_date": "2026-12-01", "language": "en",
     "channel": "email", "payment_link": "https://pay.example.org/x7"},
]
GOOD = [
    "Hi Maria, see Dr. Chen on Sat, Oct 3 at 2:30 PM. Call 555-123-4567 to reschedule.",
    "Hola José, su cita con la Dra. Ramos es el 12 de noviembre a las 9:15. Llame al 555-987-6543.",
    "Hi Sam,\nYour balance of $120.50 is due Dec 1. Pay at https://pay.example.org/x7\nThanks!",
]
EXAMPLES = [{"id": f"e{i}", "task": "billing_question_reply" if "balance_amount" in FACTS[i % 3] else
             "appointment_reminder", "facts": FACTS[i % 3], "reference": GOOD[i % 3]} for i in range(9)]


def finetuned(examples):
    return [GOOD[int(e["id"][1:]) % 3] for e in examples]


def baseline(examples):
    outs = []
    for e in examples:
        i = int(e["id"][1:])
        text = GOOD[i % 3].replace("Oct 3", "Oct 4").replace("$120.50", "$125.00")
        if i == 4:
            text = "<script>alert('x')</script> Hello & welcome, Dr. Who will call from 555-000-0000."
        outs.append(text)
    return outs


class Cells(HTMLParser):
    """Collects (data-metric, text) of every element that carries the attribute."""

    def __init__(self):
        super().__init__()
        self.cells, self.images, self.tags, self._open = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs["src"])
        if tag not in ("img", "br", "meta"):
            self._open.append((tag, attrs.get("data-metric"), []))

    def handle_endtag(self, tag):
        while self._open:
            t, key, text = self._open.pop()
            if key is not None:
                self.cells.append((key, "".join(text).strip()))
            if t == tag:
                break

    def handle_data(self, data):
        for _, key, text in self._open:
            if key is not None:
                text.append(data)


def lookup(metrics, dotted):
    value = metrics
    for part in dotted.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def parse(path):
    p = Cells()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    return p


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("wd"))
    cfg = E.default_config()
    cfg.n_bootstrap, cfg.n_bootstrap_per_task = 200, 50
    E.run_eval(cfg, workdir, EXAMPLES, {"finetuned": finetuned, "baseline": baseline})
    return workdir, cfg


def check_cells_equal_json(out_dir):
    with open(os.path.join(out_dir, "metrics.json")) as f:
        metrics = json.load(f)
    page = parse(os.path.join(out_dir, "report.html"))
    assert page.cells
    for key, text in page.cells:
        expected = lookup(metrics, key)
        if expected is None:
            assert text == "n/a", key
        else:
            assert float(text) == expected, (key, text, expected)
    return metrics, page


def test_every_number_in_the_html_equals_metrics_json(run):
    workdir, _ = run
    metrics, page = check_cells_equal_json(os.path.join(workdir, "eval"))
    keys = {k for k, _ in page.cells}
    for model in ("finetuned", "baseline"):
        for name in registry.names():
            assert f"{model}.{name}" in keys
            if metrics[model]["ci"][name] is not None:
                assert {f"{model}.ci.{name}.0", f"{model}.ci.{name}.1"} <= keys
        for task in metrics[model]["per_task"]:
            assert f"{model}.per_task.{task}.fact_recall" in keys
    for name in registry.names():
        assert f"comparison.metrics.{name}.p_value" in keys
    assert "n" in keys


def test_images_exist_and_are_png(run):
    workdir, _ = run
    out = os.path.join(workdir, "eval")
    page = parse(os.path.join(out, "report.html"))
    assert set(page.images) == {"overall.png", "per_task.png", "facts.png"}
    for name in page.images:
        with open(os.path.join(out, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_outputs_are_escaped_and_worst_comes_first(run):
    workdir, _ = run
    out = os.path.join(workdir, "eval")
    page = parse(os.path.join(out, "report.html"))
    assert "script" not in page.tags
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        html = f.read()
    table = html[html.index("id='examples'"):]
    with open(os.path.join(out, "predictions.jsonl")) as f:
        preds = [json.loads(line) for line in f]
    shown = re.findall(r"<td>(e\d+)<br>", table)
    assert shown == [p["id"] for p in R.worst_first(preds, "finetuned")]
    # By the baseline, the message with an invented doctor and phone and no key fact is the worst.
    worst = R.worst_first(preds, "baseline")
    assert worst[0]["id"] == "e4" and worst[0]["scores"]["baseline"]["fact_recall"] == 0.0
    assert worst[-1]["scores"]["baseline"]["faithful"]


def test_markdown_has_the_same_numbers(run):
    workdir, _ = run
    out = os.path.join(workdir, "eval")
    with open(os.path.join(out, "metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
        md = f.read()
    for model in ("finetuned", "baseline"):
        for name in registry.names():
            assert R.fmt(metrics[model][name]) in md
    row = next(line for line in md.splitlines() if line.startswith(f"| {registry.labels()['fact_recall']} |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[1]) == metrics["finetuned"]["fact_recall"]
    assert float(cells[-1]) == metrics["comparison"]["metrics"]["fact_recall"]["p_value"]


def test_human_section_appears_with_filled_sheets_and_matches_json(run, tmp_path):
    workdir, cfg = run
    out = os.path.join(workdir, "eval")
    key = H.read_key(os.path.join(out, "rating_key.csv"))
    with open(os.path.join(out, "rating_sheet.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for rater, bump in (("nurse_a", 0), ("nurse_b", 1)):
        with open(os.path.join(out, "human", f"{rater}.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            for i, row in enumerate(rows):
                base = 4 if key[row["item_id"]]["model"] == "finetuned" else 2
                w.writerow(dict(row, **{d: str(base + (bump and i % 3 == 0)) for d in H.DIMENSIONS}))
    E.rerender(cfg, workdir)
    metrics, page = check_cells_equal_json(out)
    keys = {k for k, _ in page.cells}
    assert "human.models.finetuned.empathy.mean" in keys and "human.alpha.empathy" in keys
    assert "human.png" in page.images and os.path.exists(os.path.join(out, "human.png"))
    with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
        assert R.fmt(metrics["human"]["models"]["baseline"]["accuracy"]["mean"]) in f.read()


def test_single_model_report(tmp_path):
    cfg = E.default_config()
    cfg.n_bootstrap, cfg.n_bootstrap_per_task = 50, 0
    cfg.human.export = False
    E.run_eval(cfg, str(tmp_path), EXAMPLES[:3], {"finetuned": finetuned})
    metrics, page = check_cells_equal_json(os.path.join(tmp_path, "eval"))
    assert "comparison" not in metrics
    assert not any(k.startswith("comparison") for k, _ in page.cells)


def test_sections_from_the_workdir_render_on_every_rebuild(run, tmp_path):
    out = str(tmp_path)
    with open(os.path.join(run[0], "eval", "metrics.json")) as f:
        metrics = json.load(f)
    R.write_report(metrics, [], out)  # a report from before the section existed
    html_part = f"<h2>Extra</h2><p data-metric='{R.section_key('extra', 'x')}'>{R.fmt(0.5)}</p>"
    assert len(R.write_section(out, "extra", html_part, "## Extra\n\nx = 0.5000", data={"x": 0.5})) == 2
    R.write_report(metrics, [], out)  # rebuilt from scratch: the section comes back from its file
    R.write_section(out, "extra", html_part, "## Extra\n\nx = 0.5000", data={"x": 0.5})  # replaced, not doubled
    for name in ("report.html", "report.md"):
        text = open(os.path.join(out, name), encoding="utf-8").read()
        assert text.count("Extra") == 1 and text.index("Extra") < text.index("Signatures"), name
    assert ("sections.extra.x", "0.5000") in parse(os.path.join(out, "report.html")).cells
    with open(os.path.join(out, "sections", "extra.json"), "w") as f:
        f.write('{"name": "extra", "html": 3, "markdown": ""}')
    with pytest.raises(ValueError, match=r"extra\.json: report section field 'html' must be a string"):
        R.write_report(metrics, [], out)
    with pytest.raises(ValueError, match="lowercase"):
        R.write_section(out, "../x", "", "")
