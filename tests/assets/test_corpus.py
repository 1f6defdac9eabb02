"""The hand-written corpus (trainer/assets/corpus/): it passes its own check, meets the issue's
counts, splits by patient, and the checker catches planted violations."""
import collections
import copy
import json
import os

import pytest

from trainer.data import corpus
from trainer.data.records import read_clean_examples
from trainer.tasks import task_names

MIN_PAIRS = 600  # issue 12


@pytest.fixture(scope="module")
def report():
    return corpus.check_corpus()


@pytest.fixture(scope="module")
def dictionary():
    return corpus.load_dictionary()


def test_shipped_corpus_passes_the_check(report):
    assert report.violations == [], "\n".join(str(v) for v in report.violations[:20])


def test_counts_meet_the_issue_except_size(report):
    s = report.stats()
    assert s["spanish_share"] >= 0.25
    assert set(s["task"]) == set(task_names())
    assert set(s["channel"]) == set(corpus.CHANNELS)
    assert s["distinct_keys"] >= 120
    assert sum(n for r, n in s["recipient"].items() if r != "patient") >= 0.2 * s["pairs"]
    assert {"parent", "caregiver"} <= set(s["recipient"])
    # every task in both languages and every channel
    by_task = collections.defaultdict(set)
    for p in report.pairs:
        by_task[p.task] |= {p.language, p.channel}
    for task, seen in by_task.items():
        assert {"en", "es", "sms", "email"} <= seen, task
    # optional facts present and absent: some keys appear in only part of a task's pairs
    keys_by_task = collections.defaultdict(collections.Counter)
    n_by_task = collections.Counter(p.task for p in report.pairs)
    for p in report.pairs:
        keys_by_task[p.task].update(list(p.facts))
    for task, counter in keys_by_task.items():
        assert any(0 < n < n_by_task[task] for n in counter.values()), task
    # patients with several messages exist (they make the patient split matter)
    assert max(collections.Counter(p.patient for p in report.pairs).values()) >= 3


def test_corpus_has_600_pairs(report):
    assert len(report.pairs) >= MIN_PAIRS


def test_every_used_key_is_documented(report, dictionary):
    used = {k for p in report.pairs for k in p.facts}
    assert used <= set(dictionary)
    for key, entry in dictionary.items():
        assert entry["meaning"] and entry["kind"] in corpus.KINDS and entry["appears"] in corpus.APPEARS, key


def test_split_is_by_patient_and_deterministic(report, tmp_path):
    splits = corpus.split_by_patient(report.pairs)
    seen = {}
    for name, items in splits.items():
        for p in items:
            assert seen.setdefault(p.patient, name) == name, f"{p.patient} in {seen[p.patient]} and {name}"
    assert sum(len(v) for v in splits.values()) == len(report.pairs)
    n = len(report.pairs)
    assert 0.6 * n <= len(splits["train"]) <= 0.8 * n and len(splits["test"]) >= 0.12 * n
    # the shipped files are exactly what the split writes today
    corpus.write_splits(report.pairs, str(tmp_path))
    for name in corpus.SPLITS:
        shipped = open(corpus.split_path(name), encoding="utf-8").read()
        assert open(tmp_path / f"{name}.jsonl", encoding="utf-8").read() == shipped, name


def test_shipped_splits_are_clean_examples():
    keys = {}
    for name in corpus.SPLITS:
        examples = read_clean_examples(corpus.split_path(name), tasks=task_names())
        assert examples
        for ex in examples:
            assert {"language", "channel", "recipient"} <= set(ex.facts)
            assert len(ex.patient_key) == 64
            assert keys.setdefault(ex.patient_key, name) == name
    assert corpus.load_split("test")


def _pair(report, **where):
    for p in report.pairs:
        if all(p.data.get(k) == v for k, v in where.items()):
            return corpus.Pair(p.path, p.line, copy.deepcopy(p.data))
    raise LookupError(where)


def _rules(pair, dictionary):
    return {v.rule for v in corpus.check_pair(pair, dictionary)}


def test_checker_catches_planted_violations(report, dictionary):
    base = _pair(report, id="ar-001")
    assert _rules(base, dictionary) == set()

    changed_date = copy.deepcopy(base)
    changed_date.data["facts"]["appointment_date"] = "2026-10-07"
    assert "key_fact" in _rules(changed_date, dictionary)

    invented_phone = copy.deepcopy(base)
    invented_phone.data["response"] += " Or text 555-0177."
    violations = corpus.check_pair(invented_phone, dictionary)
    assert any(v.rule == "invented" and "555-0177" in v.message for v in violations)

    long_sms = copy.deepcopy(base)
    long_sms.data["response"] += " We look forward to seeing you." * 10
    assert len(long_sms.data["response"]) > 320
    assert "length" in _rules(long_sms, dictionary)

    wrong_language = _pair(report, id="ar-002")
    wrong_language.data["language"] = "en"
    assert "language" in _rules(wrong_language, dictionary)

    undocumented = copy.deepcopy(base)
    undocumented.data["facts"]["favorite_color"] = "teal"
    violations = corpus.check_pair(undocumented, dictionary)
    assert any(v.rule == "dictionary" and v.field == "facts.favorite_color" for v in violations)

    real_phone = copy.deepcopy(base)
    real_phone.data["facts"]["callback_phone"] = "(503) 494-8311"
    real_phone.data["response"] = real_phone.data["response"].replace("(503) 555-0142", "(503) 494-8311")
    assert "fictional" in _rules(real_phone, dictionary)

    other_host = copy.deepcopy(_pair(report, id="lab-001"))
    other_host.data["facts"]["portal_link"] = "https://portal.clinic.com/x"
    other_host.data["response"] = other_host.data["response"].replace(
        "https://portal.example.org/northgate", "https://portal.clinic.com/x")
    assert "fictional" in _rules(other_host, dictionary)

    invented_number = copy.deepcopy(base)
    invented_number.data["response"] += " Arrive 15 minutes early."
    assert "invented" in _rules(invented_number, dictionary)


def test_email_shape_rules(report, dictionary):
    email = _pair(report, id="ar-003")
    no_greeting = copy.deepcopy(email)
    no_greeting.data["response"] = no_greeting.data["response"].split("\n", 2)[2]
    assert "shape" in _rules(no_greeting, dictionary)
    too_long = copy.deepcopy(email)
    too_long.data["response"] = too_long.data["response"].replace(
        "See you soon,", "We care. We listen. We help. We plan. We smile. We wait.\n\nSee you soon,")
    assert "shape" in _rules(too_long, dictionary)


def test_role_check_catches_values_in_the_wrong_role():
    # the issue's example: the insurer's payment written as the patient's balance
    text = "Hi Ana, your balance of $690.30 is due by May 3. Your insurance paid $120.00."
    kw = dict(kind="amount", text=text, lang="en", competing_roles=["insurance_paid"])
    assert corpus.fact_in_role("balance_amount", "$690.30", "amount_owed", **kw)
    assert not corpus.fact_in_role("insurance_paid", "$690.30", "insurance_paid", **kw)
    # due date vs visit date
    text = "Your visit is on June 1. Please pay by June 10."
    assert corpus.fact_in_role("due_date", "2027-06-10", "deadline", "date", text, "en", ["visit_date"])
    assert not corpus.fact_in_role("due_date", "2027-06-01", "deadline", "date", text, "en", ["visit_date"])
    # roles without cue words are not checked
    assert corpus.fact_in_role("survey_link", "https://example.org/s", "survey_link", "url", "x", "en") is None


def test_role_violation_is_reported(report, dictionary):
    pair = _pair(report, id="bq-004")
    # swap the paid amount and the balance in the text only
    pair.data["response"] = (pair.data["response"].replace("$120.00", "@@").replace("$0.00", "$120.00")
                             .replace("@@", "$0.00"))
    violations = corpus.check_pair(pair, dictionary)
    assert {v.field for v in violations if v.rule == "role"} >= {"facts.amount_paid", "facts.balance_amount"}


def test_cli_reports_file_line_field(tmp_path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "check_corpus", os.path.join(os.path.dirname(__file__), "..", "..", "tools", "check_corpus.py"))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    bad_dir = tmp_path / "corpus"
    (bad_dir / "pairs").mkdir(parents=True)
    src = corpus.load_dictionary()
    (bad_dir / "fact_dictionary.json").write_text(json.dumps({"keys": src}), encoding="utf-8")
    line = json.loads(open(os.path.join(corpus.CORPUS_DIR, "pairs", "appointment_reminder.jsonl"),
                           encoding="utf-8").readline())
    line["response"] = line["response"].replace("Oct 6", "Oct 7")
    (bad_dir / "pairs" / "x.jsonl").write_text(json.dumps(line) + "\n", encoding="utf-8")
    import io
    import contextlib
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["--corpus_dir", str(bad_dir), "--quiet"])
    assert rc == 1
    assert "x.jsonl:1: facts.appointment_date" in out.getvalue()
