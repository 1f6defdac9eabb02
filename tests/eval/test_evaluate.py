"""The eval stage end to end, with deterministic Python generators standing in for the models."""
import csv
import datetime
import json
import os

import ml_collections
import pytest
import sacrebleu

from trainer.eval import evaluate as E
from trainer.eval import human as H
from trainer.eval.baseline import baseline_prompt, baseline_prompts, select_shots

MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]
MONTHS_ES = ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
             "noviembre", "diciembre"]
DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAYS_ES = ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"]
NAMES = ["Maria", "José", "Sam", "Lee", "Ana", "Tom", "Rosa", "Kevin"]
PROVIDERS = ["Dr. Ana Chen", "Dra. Lucía Ramos", "Dr. Omar Haddad", "Dr. Grace Kim"]


def say_date(iso, lang):
    d = datetime.date.fromisoformat(iso)
    if lang == "es":
        return f"el {DAYS_ES[d.weekday()]} {d.day} de {MONTHS_ES[d.month - 1]}"
    return f"{DAYS_EN[d.weekday()]}, {MONTHS_EN[d.month - 1]} {d.day}"


def say_time(hm, lang):
    h, m = map(int, hm.split(":"))
    if lang == "es":
        return f"a las {h % 12 or 12}:{m:02d} de la {'tarde' if h >= 12 else 'mañana'}"
    return f"{h % 12 or 12}:{m:02d} {'PM' if h >= 12 else 'AM'}"


def make_examples(n=16):
    examples = []
    for i in range(n):
        lang = "es" if i % 4 == 3 else "en"
        task = ["appointment_reminder", "billing_question_reply", "lab_results_ready"][i % 3]
        facts = {"preferred_name": NAMES[i % len(NAMES)], "language": lang, "channel": "sms" if i % 2 else "email",
                 "callback_phone": f"555-{100 + i:03d}-{2000 + i:04d}"}
        if task == "appointment_reminder":
            facts.update(appointment_date=f"2026-10-{i % 28 + 1:02d}", appointment_time=f"{9 + i % 8}:{(i * 15) % 60:02d}",
                         provider_name=PROVIDERS[i % len(PROVIDERS)], location_name="Northside Clinic")
        elif task == "billing_question_reply":
            facts.update(balance_amount=f"${20 + i * 7}.50", due_date=f"2026-11-{i % 28 + 1:02d}",
                         payment_link=f"https://pay.example.org/{i}")
        else:
            facts.update(portal_link="https://portal.example.org", provider_name=PROVIDERS[i % len(PROVIDERS)])
        examples.append({"id": f"ex{i:02d}", "task": task, "facts": facts, "reference": templated_one(task, facts)})
    return examples


def templated_one(task, f):
    es = f["language"] == "es"
    hi = f"Hola {f['preferred_name']}," if es else f"Hi {f['preferred_name']},"
    call = f"Llame al {f['callback_phone']}." if es else f"Questions? Call {f['callback_phone']}."
    if task == "appointment_reminder":
        when = f"{say_date(f['appointment_date'], f['language'])} {say_time(f['appointment_time'], f['language'])}"
        body = (f"le recordamos su cita con {f['provider_name']} {when} en {f['location_name']}." if es else
                f"this is a reminder of your visit with {f['provider_name']} on {when} at {f['location_name']}.")
    elif task == "billing_question_reply":
        due = say_date(f["due_date"], f["language"])
        body = (f"su saldo es {f['balance_amount']} y vence {due}. Pague en {f['payment_link']}" if es else
                f"your balance is {f['balance_amount']}, due {due}. Pay at {f['payment_link']}")
    else:
        body = (f"sus resultados están listos en {f['portal_link']} . {f['provider_name']} los revisó." if es else
                f"your results from {f['provider_name']} are ready at {f['portal_link']} .")
    return f"{hi} {body} {call}"


def templated(examples):
    """Stands in for a faithful model: states every fact."""
    return [templated_one(e["task"], e["facts"]) for e in examples]


def sloppy(examples):
    """Stands in for an unfaithful model: drops the phone, shifts dates, invents a doctor and a number."""
    outs = []
    for e in examples:
        f = dict(e["facts"])
        for k in ("appointment_date", "due_date"):
            if k in f:
                f[k] = (datetime.date.fromisoformat(f[k]) + datetime.timedelta(days=1)).isoformat()
        text = templated_one(e["task"], f).replace(f"Call {f['callback_phone']}.", "Call us.")
        text = text.replace(f"Llame al {f['callback_phone']}.", "Llámenos.")
        outs.append(text + (" Dr. Patel or 555-000-9999 can also help." if e["task"] != "billing_question_reply" else ""))
    return outs


def small_config(**kw):
    cfg = E.default_config()
    cfg.n_bootstrap = 200
    cfg.n_bootstrap_per_task = 50
    for k, v in kw.items():
        setattr(cfg, k, v)
    return cfg


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp("wd"))
    examples = make_examples()
    metrics = E.run_eval(small_config(), workdir, examples, {"finetuned": templated, "baseline": sloppy})
    return workdir, examples, metrics


def test_outputs_files_and_metrics_shape(run):
    workdir, examples, metrics = run
    out = os.path.join(workdir, "eval")
    for name in ("predictions.jsonl", "metrics.json", "report.html", "report.md", "overall.png", "per_task.png",
                 "facts.png", "rating_sheet.csv", "rating_key.csv"):
        assert os.path.exists(os.path.join(out, name)), name
    with open(os.path.join(out, "metrics.json")) as f:
        on_disk = json.load(f)
    assert on_disk == metrics
    assert metrics["n"] == len(examples)
    for model in ("finetuned", "baseline"):
        m = metrics[model]
        for key in ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "rougeLsum", "fact_recall", "hallucination_rate",
                    "sms_length_ok", "reading_grade", "language_match", "ci", "per_task"):
            assert key in m, (model, key)
        assert set(m["per_task"]) == {"appointment_reminder", "billing_question_reply", "lab_results_ready"}
        assert sum(t["n"] for t in m["per_task"].values()) == len(examples)
        languages = [e["facts"].get("language") or "en" for e in examples]
        assert {k: v["n"] for k, v in m["per_language"].items()} == {k: languages.count(k) for k in set(languages)}
        assert len(m["per_language"]) == 2 and all("rougeL" in v and "ci" in v for v in m["per_language"].values())
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert "## By language" in md and "<table id='per_language'>" in open(os.path.join(out, "report.html")).read()
    assert set(metrics["signatures"]) >= {"bleu", "chrf", "rouge", "bootstrap"}
    assert set(metrics["comparison"]["metrics"]) >= {"bleu", "fact_recall", "hallucination_rate"}


def test_faithful_generator_scores_perfect_and_sloppy_does_not(run):
    _, _, metrics = run
    ft, bl = metrics["finetuned"], metrics["baseline"]
    assert ft["fact_recall"] == 1.0 and ft["hallucination_rate"] == 0.0 and ft["language_match"] == 1.0
    assert ft["bleu"] == 100.0  # the fixture's references are its own outputs
    assert bl["fact_recall"] < 0.9 and bl["hallucination_rate"] > 0.5
    assert bl["hallucinations_by_kind"]["name"] > 0 and bl["hallucinations_by_kind"]["phone"] > 0
    assert bl["hallucinations_by_kind"]["date"] > 0
    comp = metrics["comparison"]["metrics"]
    assert comp["fact_recall"]["delta"] > 0 and comp["fact_recall"]["p_value"] < 0.05
    assert comp["hallucination_rate"]["delta"] < 0 and comp["hallucination_rate"]["p_value"] < 0.05


def test_metrics_equal_direct_library_calls(run):
    _, examples, metrics = run
    refs = [e["reference"] for e in examples]
    outs = sloppy(examples)
    assert metrics["baseline"]["bleu"] == round(sacrebleu.corpus_bleu(outs, [refs]).score, 4)
    assert metrics["baseline"]["chrf"] == round(sacrebleu.corpus_chrf(outs, [refs]).score, 4)
    lo, hi = metrics["baseline"]["ci"]["chrf"]
    assert lo <= metrics["baseline"]["chrf"] <= hi


def test_predictions_hold_outputs_and_scores(run):
    workdir, examples, _ = run
    with open(os.path.join(workdir, "eval", "predictions.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    assert [r["id"] for r in rows] == [e["id"] for e in examples]
    r = rows[0]
    assert set(r) == {"id", "task", "facts", "reference", "outputs", "scores"}
    assert r["outputs"]["finetuned"] == templated(examples[:1])[0]
    assert r["scores"]["finetuned"]["fact_recall"] == 1.0
    assert r["scores"]["baseline"]["facts_missing"]
    assert {"kind", "text"} <= set(r["scores"]["baseline"]["hallucinations"][0])


def test_human_ratings_flow(tmp_path):
    workdir = str(tmp_path)
    examples = make_examples(6)
    cfg = small_config()
    E.run_eval(cfg, workdir, examples, {"finetuned": templated, "baseline": sloppy})
    out = os.path.join(workdir, "eval")
    key = H.read_key(os.path.join(out, "rating_key.csv"))
    with open(os.path.join(out, "rating_sheet.csv"), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for rater, offset in (("r1", 0), ("r2", 1)):
        with open(os.path.join(out, "human", f"{rater}.csv"), "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            for row in rows:
                score = 5 if key[row["item_id"]]["model"] == "finetuned" else 2
                w.writerow(dict(row, **{d: str(score - offset * (d == "empathy")) for d in H.DIMENSIONS}))
    key_before = open(os.path.join(out, "rating_key.csv")).read()
    metrics = E.rerender(cfg, workdir)
    assert metrics["human"]["models"]["finetuned"]["relevance"]["mean"] == 5.0
    assert metrics["human"]["models"]["baseline"]["empathy"]["mean"] == 1.5
    assert metrics["human"]["raters"] == ["r1", "r2"]
    # A second full run keeps the key that the filled sheets belong to, and reports them.
    again = E.run_eval(cfg, workdir, examples, {"finetuned": templated, "baseline": sloppy})
    assert open(os.path.join(out, "rating_key.csv")).read() == key_before
    assert again["human"] == metrics["human"]
    assert os.path.exists(os.path.join(out, "human.png"))


def test_whole_config_or_eval_section(tmp_path):
    whole = ml_collections.ConfigDict({"eval": small_config(n_bootstrap=0, n_bootstrap_per_task=0)})
    whole.eval.human.export = False
    metrics = E.run_eval(whole, str(tmp_path), make_examples(4), {"finetuned": templated})
    assert metrics["finetuned"]["ci"]["bleu"] is None and "comparison" not in metrics
    assert not os.path.exists(os.path.join(tmp_path, "eval", "rating_sheet.csv"))


def test_bad_inputs_are_named(tmp_path):
    examples = make_examples(3)
    with pytest.raises(ValueError, match="generator 'finetuned' returned 2 outputs for 3 examples"):
        E.run_eval(small_config(), str(tmp_path), examples, {"finetuned": lambda ex: ["a", "b"]})
    broken = [dict(examples[0]), {k: v for k, v in examples[1].items() if k != "reference"}]
    with pytest.raises(ValueError, match=r"examples\[1\] \(id 'ex01'\): field 'reference'"):
        E.run_eval(small_config(), str(tmp_path), broken, {"finetuned": templated})
    with pytest.raises(ValueError, match="duplicate"):
        E.run_eval(small_config(), str(tmp_path), [examples[0], examples[0]], {"finetuned": templated})


def test_load_examples_reads_reference_or_response(tmp_path):
    path = tmp_path / "test.jsonl"
    rows = [{"id": "a", "patient_key": "k", "task": "lab_results_ready", "facts": {"language": "en"},
             "reference": "Hi."},
            {"id": "b", "patient_key": "k", "task": "lab_results_ready", "facts": {}, "response": "Hello."}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert [e["reference"] for e in E.load_examples(str(path))] == ["Hi.", "Hello."]


# ---------------------------------------------------------------------------------------------
# Baseline prompt

def test_baseline_prompt_lists_facts_and_rules():
    ex = make_examples(4)
    p = baseline_prompt(ex[3]["task"], ex[3]["facts"])
    assert "Spanish" in p and "text message" in p and p.endswith("Message:\n")
    for key, value in ex[3]["facts"].items():
        if key not in ("language", "channel"):
            assert f"- {key.replace('_', ' ')}: {value}" in p
    assert "Do not add any date" in p


def test_baseline_few_shot_uses_same_task_train_examples_deterministically():
    train = [dict(e, id=f"train{i}", response=e["reference"]) for i, e in enumerate(make_examples(12))]
    target = make_examples(4)[0]
    shots = select_shots(target, train, k=2, seed=0)
    assert len(shots) == 2 and all(s["task"] == target["task"] for s in shots)
    assert all(s["facts"]["language"] == target["facts"]["language"] for s in shots)
    assert select_shots(target, train, k=2, seed=0) == shots
    prompt = baseline_prompts([target], train, n_shots=2)[0]
    assert prompt.count("Example ") == 2 and shots[0]["response"] in prompt
    assert prompt.index(shots[1]["response"]) < prompt.rindex("Now write the message")
