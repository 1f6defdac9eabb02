"""Place recognizers: street addresses, ZIP codes, cities; a person cue beats a place reading."""
import pytest

from tests.deid.helpers import found
from trainer.deid.recognizers import find_spans


@pytest.mark.parametrize("text,name", [
    ("Hola Charlotte! Le recordamos su cita.", "Charlotte"), ("Thanks Brooklyn!", "Brooklyn"),
    ("Hola Dr. Reyes, soy Yesenia. Tengo mareos.", "Yesenia"),
])
def test_a_person_cue_beats_a_place_reading_without_facts(deid, text, name):
    assert (name, "NAME") in found(deid, text)


@pytest.mark.parametrize("text,kind,value", [
    ("new addr 4410 SE Rhine St Apt 12 pls update", "ADDRESS", "4410 SE Rhine St Apt 12"),
    ("Springfield, IL 62704", "ZIP", "62704"),
    ("we live in Hillsboro now", "CITY", "Hillsboro"),
])
def test_identifier_kinds_with_context(deid, text, kind, value):
    assert (value, kind) in found(deid, text)


def test_a_city_and_zip_after_an_address(deid):
    assert found(deid, "12 Oak St, Boise 83702") == [("12 Oak St", "ADDRESS"), ("Boise", "CITY"), ("83702", "ZIP")]


def test_a_text_only_scan_has_no_spacy_places(rules):
    # fact values are scanned without a spaCy doc: the city and ZIP after the address need it
    spans = find_spans("12 Oak St, Boise 83702", rules)
    assert [(s.text, s.type) for s in spans] == [("12 Oak St", "ADDRESS")]
