"""The shipped synthetic clean examples: valid, complete, faithful to their facts, reproducible.

Dates, times and money are re-rendered here independently of the generator, so a generator bug
that drops or garbles a fact shows up as a failure rather than agreeing with itself.
"""
from __future__ import annotations

import collections
import datetime as dt
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)  # runnable as plain `pytest` before the package is installed

from trainer.data.records import read_clean_examples  # noqa: E402
from trainer.tasks import task_names  # noqa: E402

SAMPLE_DIR = os.path.join(ROOT, "trainer", "assets", "sample")
TRAIN = os.path.join(SAMPLE_DIR, "clean_train.jsonl")
HELDOUT = os.path.join(SAMPLE_DIR, "clean_heldout.jsonl")
GENERATOR = os.path.join(ROOT, "tools", "make_clean_sample.py")

MONTHS = {
    "en": "January February March April May June July August September October November December".split(),
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre".split(),
}
WEEKDAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "es": "lunes martes miércoles jueves viernes sábado domingo".split(),
}
MONEY_KEYS = ("balance_amount", "monthly_amount", "insurance_paid_amount")
UNSTATED = ("language", "channel", "question_topic")
# The sentence that carries each task's main fact; its wording must vary across examples.
CORE_FACT = {
    "appointment_reminder": "appointment_date", "follow_up_survey": "survey_link",
    "lab_results_ready": "portal_link", "prescription_refill": "medication",
    "post_discharge_checkin": "discharge_date", "no_show_followup": "appointment_date",
    "preventive_care_reminder": "screening_type", "billing_question_reply": "balance_amount",
}


@pytest.fixture(scope="module")
def train():
    return read_clean_examples(TRAIN, tasks=task_names())


@pytest.fixture(scope="module")
def heldout():
    return read_clean_examples(HELDOUT, tasks=task_names())


def date_regex(iso: str, lang: str, weekday_required: bool) -> str:
    d = dt.date.fromisoformat(iso)
    month, wd = MONTHS[lang][d.month - 1], WEEKDAYS[lang][d.weekday()]
    q = "" if weekday_required else "?"
    if lang == "en":
        return rf"(?:{wd}, ){q}{month} {d.day}(?:, {d.year})?(?!\d)"
    return rf"(?<!\d)(?:{wd} ){q}{d.day} de {month}(?: de {d.year})?"


def time_text(hhmm: str, lang: str) -> str:
    hour, minute = (int(x) for x in hhmm.split(":"))
    suffix = ("AM" if hour < 12 else "PM") if lang == "en" else ("a. m." if hour < 12 else "p. m.")
    return f"{hour % 12 or 12}:{minute:02d} {suffix}"


def fact_regex(key: str, value, lang: str) -> str:
    """How a stated fact must appear in the message."""
    if key.endswith("_date"):
        return date_regex(value, lang, weekday_required=key == "appointment_date")
    if key == "appointment_time":
        return re.escape(time_text(value, lang))
    if key in MONEY_KEYS:
        return re.escape(f"${value}") + r"(?!\d)"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return rf"(?<![\d.]){value}(?![\d.])"
    return rf"(?<!\w){re.escape(str(value))}(?!\w)"


def stated(example):
    lang = example.facts["language"]
    return {k: fact_regex(k, v, lang) for k, v in example.facts.items() if k not in UNSTATED}


def skeleton(example) -> str:
    """The response with every stated fact replaced by <key>, longest values first."""
    text = example.response
    for key, pattern in sorted(stated(example).items(), key=lambda kv: -len(str(example.facts[kv[0]]))):
        text = re.sub(pattern, f"<{key}>", text)
    return text


def test_shipped_files_parse_with_expected_sizes(train, heldout):
    assert len(train) == 480 and len(heldout) == 64
    for path in (TRAIN, HELDOUT):
        assert os.path.getsize(path) < 400_000


def test_every_task_language_and_channel_present_in_both_splits(train, heldout):
    for split in (train, heldout):
        assert {e.task for e in split} == set(task_names())
        assert {e.facts["language"] for e in split} == {"en", "es"}
        assert {e.facts["channel"] for e in split} == {"sms", "email", "portal"}
        assert {(e.task, e.facts["language"]) for e in split} == {(t, l) for t in task_names() for l in ("en", "es")}
    share_es = sum(e.facts["language"] == "es" for e in train) / len(train)
    assert 0.2 <= share_es <= 0.3


def test_every_stated_fact_appears_exactly_in_its_response(train, heldout):
    failures = []
    for e in train + heldout:
        for key, pattern in stated(e).items():
            if not re.search(pattern, e.response):
                failures.append(f"{e.id}: {key}={e.facts[key]!r}")
    assert not failures, failures[:10]


def test_responses_state_no_phone_link_money_time_date_or_doctor_beyond_the_facts(train, heldout):
    months = "|".join(MONTHS["en"] + MONTHS["es"])
    weekdays = "|".join(WEEKDAYS["en"] + WEEKDAYS["es"])
    failures = []
    for e in train + heldout:
        rest = skeleton(e)
        leftovers = {
            "phone": re.findall(r"\(?\d{3}\)?[ .-]?\d{3}-\d{4}", rest),
            "link": re.findall(r"https?://|www\.|\.org|\.com", rest),
            "money": re.findall(r"\$\s?\d", rest),
            "time": re.findall(r"\d{1,2}:\d{2}", rest),
            "date": re.findall(rf"\b(?:{months})\b", rest),
            "weekday": re.findall(rf"\b(?:{weekdays})\b", rest),
            "doctor": re.findall(r"\bDra?\.", rest),
            "digit": re.findall(r"\d+", rest),
        }
        found = {k: v for k, v in leftovers.items() if v}
        if found:
            failures.append(f"{e.id}: {found} in {rest!r}")
    assert not failures, failures[:5]


def test_lab_results_never_state_a_result(train, heldout):
    words = r"\b(?:normal|abnormal|high|low|elevated|negative|positive|mg/dL|alto|bajo|elevado|negativo|positivo)\b"
    labs = [e for e in train + heldout if e.task == "lab_results_ready"]
    assert labs
    for e in labs:
        rest = skeleton(e)
        assert not re.search(words, rest, re.IGNORECASE), e.response
        assert not re.search(r"\d", rest), e.response


def test_sms_within_limit_and_long_messages_have_greeting_and_sign_off(train, heldout):
    for e in train + heldout:
        if e.facts["channel"] == "sms":
            assert len(e.response) <= 320, (e.id, len(e.response))
            assert "\n" not in e.response
        else:
            paragraphs = e.response.split("\n\n")
            assert len(paragraphs) >= 3, e.id
            assert e.facts["preferred_name"] in paragraphs[0] and len(paragraphs[0]) < 40, e.id
            assert "\n" in paragraphs[-1], e.id  # closing word, then who signs


def test_patient_keys_are_hashes_shared_within_but_not_across_splits(train, heldout):
    for e in train + heldout:
        assert re.fullmatch(r"[0-9a-f]{64}", e.patient_key), e.patient_key
    train_keys = collections.Counter(e.patient_key for e in train)
    heldout_keys = collections.Counter(e.patient_key for e in heldout)
    assert not set(train_keys) & set(heldout_keys)
    assert max(train_keys.values()) >= 2 and max(heldout_keys.values()) >= 2
    # One patient keeps one name and one language across messages.
    seen = {}
    for e in train + heldout:
        identity = (e.facts["preferred_name"], e.facts["language"])
        assert seen.setdefault(e.patient_key, identity) == identity


def test_phrasing_varies_within_each_task_and_language(train):
    sentences = collections.defaultdict(set)
    whole = collections.defaultdict(collections.Counter)
    for e in train:
        lang = e.facts["language"]
        text = skeleton(e)
        whole[(e.task, lang)][text] += 1
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
            if f"<{CORE_FACT[e.task]}>" in sentence:
                sentences[(e.task, lang)].add(sentence)
    for task in task_names():
        for lang in ("en", "es"):
            assert len(sentences[(task, lang)]) >= 6, (task, lang, sorted(sentences[(task, lang)]))
            counts = whole[(task, lang)]
            top = counts.most_common(1)[0][1]
            assert top <= max(3, sum(counts.values()) // 10), (task, lang, counts.most_common(1))


def test_same_seed_regenerates_identical_bytes_and_other_seed_differs(tmp_path):
    def generate(out_dir, seed):
        subprocess.run([sys.executable, GENERATOR, "--out_dir", str(out_dir), "--n_train", "480",
                        "--n_heldout", "64", "--seed", str(seed)], check=True, cwd=ROOT, capture_output=True)

    generate(tmp_path / "same", 0)
    for name, shipped in (("clean_train.jsonl", TRAIN), ("clean_heldout.jsonl", HELDOUT)):
        with open(shipped, "rb") as a, open(tmp_path / "same" / name, "rb") as b:
            assert a.read() == b.read(), name
    generate(tmp_path / "other", 1)
    with open(TRAIN, "rb") as a, open(tmp_path / "other" / "clean_train.jsonl", "rb") as b:
        assert a.read() != b.read()
