"""Name and road cases from the dev4 round: each rule is general, so each test uses new text."""
import pytest

from tests.deid.helpers import covered, found


@pytest.mark.parametrize("text, name", [
    ("Mrs. Van Dyke left a message about her refill.", "Van Dyke"),
    ("Please call Mr. Ó Súilleabháin back today.", "Ó Súilleabháin"),
    ("Sra. De la Fuente pregunta por su cita.", "De la Fuente"),
])
def test_surname_starting_with_a_particle_after_a_title_is_one_name(deid, text, name):
    assert covered(deid, text, name)


@pytest.mark.parametrize("text, name", [
    ("Patient: RODRIGUEZ-SOLIS, JUAN DE DIOS\nDOB on file", "RODRIGUEZ-SOLIS, JUAN DE DIOS"),
    ("Name: GARZA, MARIA DEL CARMEN", "GARZA, MARIA DEL CARMEN"),
])
def test_label_order_name_with_particles_in_the_given_name_is_one_span(deid, text, name):
    spans = deid.find(text)
    assert any(s.text == name and s.type == "NAME" for s in spans), spans


@pytest.mark.parametrize("text, road", [
    ("car broke down on Highway 99 so I'll be late", "Highway 99"),
    ("he lives off Route 30 past the feed store", "Route 30"),
    ("accident near I-84 exit, running late", "I-84"),
])
def test_numbered_road_named_alone_is_an_address(deid, text, road):
    assert (road, "ADDRESS") in found(deid, text)


@pytest.mark.parametrize("text", [
    "Needs a Somali interpreter for the visit; Polish too for her husband.",
    "Interpreter (Vietnamese) booked, and the kids go to Jefferson Elementary.",
])
def test_interpreter_languages_and_schools_are_not_identifiers(deid, text):
    assert found(deid, text) == []


def test_capitalized_proper_noun_that_looks_like_a_spanish_verb_form_is_a_name_in_english(deid):
    assert covered(deid, "the pt Amari wants to know if we take her plan", "Amari")
    # in a Spanish message the same shape is still a verb form
    assert found(deid, "Hola, necesito ayuda con mi cita por favor") == []
