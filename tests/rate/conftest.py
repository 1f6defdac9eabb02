"""A tiny eval/ directory (rating sheet, key, predictions) and a rate config, without any model."""
import json
import os
import re

import pytest

from trainer import config_lib
from trainer.eval import human
from trainer.rate import stage

NAMES = ["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana"]
MODELS = ("baseline", "finetuned")


def make_examples(n=6):
    out = []
    for i in range(n):
        facts = {"preferred_name": NAMES[i % len(NAMES)], "appointment_date": f"2026-10-{i + 10:02d}",
                 "appointment_time": f"{9 + i}:30", "provider_name": "Dr. Ana Chen", "language": "en",
                 "channel": "sms" if i % 2 else "email"}
        out.append({"id": f"ex{i:02d}", "task": "appointment_reminder", "facts": facts,
                    "reference": f"Hi {facts['preferred_name']}, see Dr. Ana Chen on {facts['appointment_date']}."})
    return out


def make_outputs(examples):
    return {"finetuned": [f"Hi {e['facts']['preferred_name']}, a reminder: Dr. Ana Chen sees you on "
                          f"{e['facts']['appointment_date']} at {e['facts']['appointment_time']}." for e in examples],
            "baseline": [f"Hello. You have an upcoming visit (ref {i})." for i in range(len(examples))]}


def write_eval(workdir, n=6, seed=0, outputs=None):
    """eval/rating_sheet.csv + rating_key.csv + predictions.jsonl as the eval stage writes them."""
    examples = make_examples(n)
    outputs = outputs or make_outputs(examples)
    eval_dir = os.path.join(workdir, "eval")
    os.makedirs(os.path.join(eval_dir, "human"), exist_ok=True)
    count = human.export_rating_sheet(examples, outputs, os.path.join(eval_dir, "rating_sheet.csv"),
                                      os.path.join(eval_dir, "rating_key.csv"), seed=seed)
    with open(os.path.join(eval_dir, "predictions.jsonl"), "w", encoding="utf-8") as f:
        for i, e in enumerate(examples):
            f.write(json.dumps({"id": e["id"], "task": e["task"], "facts": e["facts"], "reference": e["reference"],
                                "outputs": {m: outputs[m][i] for m in outputs}}) + "\n")
    return count


def make_config(**rate):
    c = config_lib.base_config()
    c.rate.phi_gate.allow_synthetic = True
    c.rate.update(rate)
    c.eval.n_bootstrap = 200
    return c


def csrf_of(html):
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def item_of(html):
    m = re.search(r'name="item_id" value="([^"]+)"', html)
    return m.group(1) if m else None


@pytest.fixture
def workdir(tmp_path):
    write_eval(str(tmp_path))
    return str(tmp_path)


@pytest.fixture
def prepared(workdir):
    """(workdir, store, info, config) after the stage's preparation (12 items, 2 of them shared)."""
    config = make_config()
    store, info = stage.prepare(config, workdir)
    return workdir, store, info, config
