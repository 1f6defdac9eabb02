"""Role-aware fact check (trainer.facts.roles): a value must be stated next to the words of its
role, not just somewhere in the message; key facts come from the fact dictionary."""
import pytest

from trainer import facts as F
from trainer.facts import roles

# A small dictionary in the corpus' format (trainer/assets/corpus/fact_dictionary.json).
DICTIONARY = {
    "preferred_name": {"meaning": "patient's name", "kind": "person", "role": "patient", "appears": "name"},
    "balance_amount": {"meaning": "what the patient owes", "kind": "amount", "role": "amount_owed"},
    "amount_paid": {"meaning": "what the patient paid", "kind": "amount", "role": "amount_paid"},
    "insurance_paid": {"meaning": "what insurance paid", "kind": "amount", "role": "insurance_paid"},
    "due_date": {"meaning": "pay by", "kind": "date", "role": "deadline"},
    "appointment_date": {"meaning": "visit", "kind": "date", "role": "visit_date",
                         "role_by_task": {"no_show_followup": "missed_visit_date"}},
    "provider_name": {"meaning": "clinician", "kind": "person", "role": "provider", "appears": "name"},
    "insurer_name": {"meaning": "insurance company", "kind": "text", "role": "insurer", "appears": "exact"},
    "question_topic": {"meaning": "what was asked", "kind": "text", "role": "context",
                       "appears": "optional_mention", "key_fact": False},
    "language": {"meaning": "message language", "kind": "meta", "role": "steering", "appears": "never"},
}


def check(text, facts, task="billing_question_reply"):
    return F.check_roles(text, task, {**facts, "language": "en"}, DICTIONARY)


def test_paid_vs_owed():
    facts = {"balance_amount": "$690.30", "amount_paid": "$120.00"}
    right = check("Hi Ana, we received your payment of $120.00. Your remaining balance is $690.30.", facts)
    assert (sorted(right.in_role), right.wrong_role, right.missing) == (["amount_paid", "balance_amount"], [], [])
    # the same two amounts, each in the other's role
    swapped = check("Hi Ana, we received your payment of $690.30. Your remaining balance is $120.00.", facts)
    assert sorted(swapped.wrong_role) == ["amount_paid", "balance_amount"] and swapped.rate == 0.0


def test_balance_written_as_the_insurers_payment():
    # the example: "your balance of $690.30 is your insurance's total"
    facts = {"balance_amount": "$120.00", "insurance_paid": "$690.30"}
    bad = check("Your insurance paid $120.00 and you owe nothing else. The total is $690.30.", facts)
    assert set(bad.wrong_role) == {"balance_amount", "insurance_paid"}
    good = check("Your insurance paid $690.30, so your balance is $120.00.", facts)
    assert sorted(good.in_role) == ["balance_amount", "insurance_paid"] and good.rate == 1.0


def test_due_date_vs_visit_date():
    facts = {"due_date": "2027-06-10", "appointment_date": "2027-06-01"}
    right = check("Thanks for your visit on June 1. Please pay by June 10.", facts)
    assert sorted(right.in_role) == ["appointment_date", "due_date"]
    swapped = check("Thanks for your visit on June 10. Please pay by June 1.", facts)
    assert sorted(swapped.wrong_role) == ["appointment_date", "due_date"]
    # a role that changes by task: a missed visit needs words of missing it
    missed = {"appointment_date": "2027-06-01"}
    text = "We missed you at your appointment on June 1."
    assert F.check_roles(text, "no_show_followup", {**missed, "language": "en"}, DICTIONARY).in_role == ["appointment_date"]
    plain = "Your appointment is on June 1."
    assert F.check_roles(plain, "no_show_followup", {**missed, "language": "en"}, DICTIONARY).wrong_role == [
        "appointment_date"]


def test_provider_vs_insurer():
    facts = {"provider_name": "Dr. Amara Okafor", "insurer_name": "Bluepeak Health Plan"}
    right = check("Dr. Okafor's office sent the claim to your insurance, Bluepeak Health Plan.", facts)
    assert sorted(right.in_role) == ["insurer_name", "provider_name"] and right.missing == []
    # the insurer signed as the billing team: named, but not as the insurer
    wrong = check("Dr. Okafor sent the claim. Questions? Call us.\n— Bluepeak Health Plan billing team", facts)
    assert wrong.wrong_role == ["insurer_name"] and wrong.in_role == ["provider_name"]


def test_key_facts_default_to_every_stateable_fact_with_a_per_key_opt_out():
    facts = {"balance_amount": "$40.00", "question_topic": "a second bill", "preferred_name": "Ana"}
    got = check("Hi Ana, your balance is $40.00.", facts)
    # question_topic opts out (key_fact=false); language is meta; the rest are key facts
    assert sorted(got.in_role) == ["balance_amount", "preferred_name"] and got.key_facts == 2
    missing = check("Hi there, your balance is $40.00.", facts)
    assert missing.missing == ["preferred_name"] and missing.rate == pytest.approx(0.5)


def test_documented_only_when_every_non_meta_key_is_in_the_dictionary():
    assert F.documented({"balance_amount": "$1.00", "language": "en", "channel": "sms"}, DICTIONARY)
    assert not F.documented({"balance_amount": "$1.00", "clinic_parking": "Lot B"}, DICTIONARY)
    assert not F.documented({"language": "en"}, DICTIONARY)
    # an undocumented key is skipped by check_roles, not counted
    got = check("Your balance is $1.00.", {"balance_amount": "$1.00", "clinic_parking": "Lot B"})
    assert got.in_role == ["balance_amount"] and got.key_facts == 1


def test_dictionary_config_reads_kinds_from_the_dictionary():
    cfg = F.dictionary_config(DICTIONARY)
    assert cfg.kind_overrides["insurer_name"] == "text" and cfg.kind_overrides["language"] == "skip"
    assert cfg.kind_overrides["recipient"] == "skip"  # a meta fact even when the dictionary omits it
    assert dict(cfg.key_facts) == {}


def test_the_corpus_module_uses_the_same_check():
    from trainer.data import corpus

    assert corpus.fact_in_role is roles.fact_in_role and corpus.ROLE_CUES is roles.ROLE_CUES
