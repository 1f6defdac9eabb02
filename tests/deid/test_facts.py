"""How a record's facts steer its text: fact values redacted everywhere, retyped, or kept."""
import re

import pytest

from tests.deid.helpers import found
from trainer.deid.clinic import ClinicRules
from trainer.deid.facts import occurrences, retype, spans_of_values
from trainer.deid.lexicon import load_lexicon
from trainer.deid.types import Span


def test_fact_values_are_redacted_where_no_rule_fires(deid):
    # "Sunny" after "with" has no name cue, but the record says it is the patient's name.
    res = deid.deidentify("ok with Sunny today", {"preferred_name": "Sunny"}, "r2")
    assert "Sunny" not in res.text and res.facts["preferred_name"] in res.text


@pytest.mark.parametrize("template", [
    "Hola {n}! Le recordamos su cita.", "Thanks {n}!", "Hi {n}, your appointment is tomorrow.",
    "Buenos días {n}, su receta está lista.", "can {n} come in today?"])
@pytest.mark.parametrize("name", ["Charlotte", "Brooklyn", "Orlando", "Dallas"])
def test_a_name_that_is_also_a_place_gets_the_same_name_surrogate_as_its_fact(deid, template, name):
    text = template.format(n=name)
    res = deid.deidentify(text, {"preferred_name": name}, record_key="r")
    assert [(s.text, s.type) for s in res.spans] == [(name, "NAME")]
    new = res.facts["preferred_name"]
    assert new != name and name not in res.text and re.search(rf"\b{new}\b", res.text), res.text


def test_name_fact_values_are_redacted_everywhere_whatever_the_word_is(deid):
    # "sean" is also a Spanish verb and "will" an English one: the fact says they name the patient.
    res = deid.deidentify("Hola Sean, que sean felices. SEAN, llame.", {"preferred_name": "Sean"}, "r")
    assert not re.search(r"(?i)\bsean\b", res.text)
    assert res.text.count(res.facts["preferred_name"]) == 1
    assert res.facts["preferred_name"].upper() in res.text  # case kept
    res = deid.deidentify("I will call Will tomorrow", {"patient_name": "Will Ortega"}, "r")
    assert not re.search(r"(?i)\bwill\b", res.text) and res.facts["patient_name"] != "Will Ortega"


@pytest.mark.parametrize("name,clinician", [("David", "Dr. David Kowalski"),
                                            ("Karen", "Dr. Karen Whitfield"),
                                            ("Laura", "Dr. Laura Chen")])
def test_patient_named_like_a_clinician_is_replaced_in_text_and_facts_alike(deid_gen, name, clinician):
    text = f"Hi {name}, your visit with {clinician} is on 2025-10-16. {name}, call us with questions."
    facts = {"preferred_name": name, "provider_name": clinician, "appointment_date": "2025-10-16"}
    res = deid_gen.deidentify(text, facts, record_key="r")
    new = res.facts["preferred_name"]
    assert new != name and res.text.count(new) == 2
    assert clinician in res.text and res.facts["provider_name"] == clinician
    assert res.text.count(name) == 1  # only inside the clinician's own name


def test_an_organization_in_a_name_fact_is_kept_in_text_and_facts(deid):
    facts = {"preferred_name": "Maria", "provider_name": "Riverside Family",
             "contact_name": "Oak Hill Pediatrics"}
    res = deid.deidentify("Thanks for visiting Riverside Family today, Maria. - Riverside Family", facts, "r")
    assert res.facts["provider_name"] == "Riverside Family" and res.facts["contact_name"] == "Oak Hill Pediatrics"
    assert res.text.count("Riverside Family") == 2 and "Maria" not in res.text


def test_spanish_clinic_names_with_particles_and_kept_location_facts_stay(deid):
    assert found(deid, "Hospital de la Luz called about the biopsy") == []
    text = "Hola Rosa, le habla Clínica Familiar del Valle. Su cita es el 3 de abril."
    facts = {"preferred_name": "Rosa", "location_name": "Clínica Familiar del Valle"}
    res = deid.deidentify(text, facts, "r")
    assert "Clínica Familiar del Valle" in res.text and res.facts["location_name"] == facts["location_name"]
    assert "Rosa" not in res.text and "3 de abril" not in res.text


@pytest.fixture(scope="module")
def chen_rules():
    return ClinicRules(lexicon=load_lexicon(), clinician_names=("Dr. Laura Chen",))


def test_a_name_value_is_found_word_by_word_except_in_clinician_context(chen_rules):
    text = "Laura called; Dr. Laura Chen saw laura lopez. LOPEZ"
    spans = spans_of_values(text, [("Laura Lopez", "NAME")], chen_rules)
    assert [(s.text, s.type) for s in spans] == [("Laura", "NAME"), ("laura", "NAME"), ("lopez", "NAME"),
                                                ("LOPEZ", "NAME")]
    assert all(text[s.start:s.end] == s.text for s in spans)


def test_titles_and_particles_of_a_name_value_are_not_searched(chen_rules):
    spans = spans_of_values("Maria de la Cruz and Dr Cruz", [("Dr. Maria de la Cruz", "NAME")], chen_rules)
    assert [s.text for s in spans] == ["Maria", "Cruz", "Cruz"]


def test_a_phone_value_is_found_in_any_spacing(chen_rules):
    spans = spans_of_values("call 503 555 0142 or (503)555-0142", [("503-555-0142", "PHONE")], chen_rules)
    assert [s.type for s in spans] == ["PHONE", "PHONE"]
    assert all(re.sub(r"\D", "", s.text) == "5035550142" for s in spans)


def test_kept_values_are_found_in_any_case_and_spacing():
    text = "Clínica  Familiar del Valle y clínica familiar del valle"
    assert occurrences(text, ["Clínica Familiar del Valle"]) == [(0, 27), (30, 56)]


def test_a_span_that_is_a_fact_value_takes_the_facts_type():
    city = Span(5, 12, "CITY", "Jackson")
    name = Span(5, 12, "NAME", "Jackson", 0.99)
    assert retype([city], [name], [("Jackson", "NAME")]) == [Span(5, 12, "NAME", "Jackson")]
    # a place that overlaps the patient's name is that name, whatever its exact text
    wider = Span(5, 20, "CITY", "Jackson Heights")
    assert retype([wider], [name], [("Jackson", "NAME")])[0].type == "NAME"
    assert retype([wider], [], [])[0].type == "CITY"
