"""The fixes driven by the misses and false alarms of deid_dev5 (issue #13), one test per fix,
each on sentences other than the set's own, plus the dev5 set's pinned first score and floor."""
import hashlib
import re

import pytest

from tests.deid.helpers import ROOT, covered, found, load_tool

FIXTURES = ROOT / "tests" / "fixtures"


# -- "LAST, FIRST M" as forms print it --------------------------------------------------------
@pytest.mark.parametrize("text, name", [
    ("Pt BOUCHARD, ELLIS K no-showed again, letter sent.", "BOUCHARD, ELLIS K"),  # label word before
    ("Chart: PAIK, JI-WOO  DOB 4/2/1990", "PAIK, JI-WOO"),  # hyphen parts ("WOO") are not words alone
    ("Re: FITZGERALD, MAUREEN DOB 02/11/1961", "FITZGERALD, MAUREEN"),  # "DOB" after the given name
    ("SCAN - HOLLIS, BENNETT R - discharge summary", "HOLLIS, BENNETT R"),  # dictionary words, initial
])
def test_printed_surname_first_names(deid, text, name):
    assert covered(deid, text, name), found(deid, text)


@pytest.mark.parametrize("text", [
    "DX: E11, I25.10 stable on current regimen",
    "To: Patient Accounts, Providence Portland   Fax: see cover",
])
def test_codes_and_departments_are_no_printed_names(deid, text):
    assert not [s for s in deid.find(text) if s.type == "NAME"], found(deid, text)


# -- dates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, date", [
    ("Copay of $40 for the 2/3 appt was charged twice", "2/3"),  # fraction-shaped, a visit follows
    ("rescheduled to Jun-9-26 in the afternoon", "Jun-9-26"),
    ("Could she come the 14th or 15th instead?", "the 14th"),  # "the" belongs to the day
])
def test_date_forms(deid, text, date):
    assert covered(deid, text, date), found(deid, text)


def test_fraction_without_date_context_stays(deid):
    assert not [s for s in deid.find("take 1/2 tab at bedtime") if s.type == "DATE"]


# -- addresses --------------------------------------------------------------------------------
def test_keyword_number_does_not_cut_an_address(deid):
    text = "Mailing address for billing: 2210 NE Fremont St Apt 4, Portland OR 97212"
    spans = deid.find(text)
    assert any(s.type == "ADDRESS" and s.text.startswith("2210 NE Fremont") and s.text.endswith("97212")
               for s in spans), found(deid, text)


# -- words that are not names or places here --------------------------------------------------
@pytest.mark.parametrize("text", [
    "Will the lab be open on Saturday morning?",
    "Pt may need a shower chair. OT consult placed.",
    "The office is closed Memorial Day and Labor Day.",
    "Diabetes class meets in Room 12 and then Suite 400.",
])
def test_identifier_free_everyday_words(deid, text):
    assert deid.find(text) == [], found(deid, text)


# -- names in context -------------------------------------------------------------------------
@pytest.mark.parametrize("text, name", [
    ("Sra. de la Rosa pidió una cita para su hijo.", "de la Rosa"),  # lower-case particle after a title
    ("Hunter threw up twice this morning and he is still pale.", "Hunter"),  # subject taken up by "he"
    ("pls tell the nurse the cough is better. thx tj", "tj"),  # initials after a sign-off
    ("Referral sent to cardiology. Pt: Wesley Grant, afib.", "Wesley Grant"),
])
def test_names_in_context(deid, text, name):
    assert covered(deid, text, name), found(deid, text)


def test_word_subject_without_a_pronoun_is_not_a_name(deid):
    # "Bill" opens the sentence as a noun here: no "he" takes it up
    assert not [s for s in deid.find("Bill was sent to the wrong insurance, please resubmit.")
                if s.type == "NAME"]


# -- the dev5 set: pinned first score, and a floor ---------------------------------------------
def test_dev5_gold_is_the_file_first_scored():
    first = (FIXTURES / "deid_dev5.FIRST_SCORE.md").read_text()
    pinned = re.search(r"`([0-9a-f]{64})  tests/fixtures/deid_dev5.jsonl`", first).group(1)
    assert hashlib.sha256((FIXTURES / "deid_dev5.jsonl").read_bytes()).hexdigest() == pinned


def test_dev5_source_and_gold_agree():
    ev = load_tool("eval_deid")
    src = ev.parse_markup((FIXTURES / "deid_dev5.src").read_text(encoding="utf-8"))
    gold = ev.read_gold(str(FIXTURES / "deid_dev5.jsonl"))
    assert [(r["id"], r["text"], [(s["start"], s["end"], s["type"]) for s in r["spans"]]) for r in src] == \
        [(r["id"], r["text"], [(s["start"], s["end"], s["type"]) for s in r["spans"]]) for r in gold]


def test_dev5_floor(deid):
    ev = load_tool("eval_deid")
    gold = ev.read_gold(str(FIXTURES / "deid_dev5.jsonl"))
    preds = [[s.to_json() for s in spans] for spans in deid.find_many([g["text"] for g in gold])]
    result = ev.score(gold, preds)
    assert len(gold) >= 80 and result["empty_lines"] >= 25
    # a development set, read while tuning: a floor against breakage, not a measure
    assert result["recall"] >= 0.96, result["misses"]
    assert result["precision"] >= 0.95
    assert result["false_alarm_lines"] * 10 <= result["empty_lines"]
