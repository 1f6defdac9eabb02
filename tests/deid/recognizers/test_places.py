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


def test_a_full_address_is_one_span_through_unit_city_state_and_zip(deid):
    assert found(deid, "12 Oak St, Boise 83702") == [("12 Oak St, Boise 83702", "ADDRESS")]
    text = "Address change: 1200 NW Everett St, Unit 5, Portland, OR 97209-2248. Thanks"
    assert found(deid, text) == [("1200 NW Everett St, Unit 5, Portland, OR 97209-2248", "ADDRESS")]
    assert found(deid, "new address is 8823 n interstate ave apt 210 portland or 97217") == [
        ("8823 n interstate ave apt 210 portland or 97217", "ADDRESS")]
    # what follows the address on its line is not part of it
    assert found(deid, "I'm at 4410 SE Woodstock Blvd, the blue house") == [("4410 SE Woodstock Blvd", "ADDRESS")]


def test_rooms_and_suites_of_a_building_are_no_address(deid):
    assert found(deid, "Please check in at Suite 210 on the 2nd floor; the lab is in Room 118.") == []


def test_a_text_only_scan_reads_addresses_but_no_spacy_places(rules):
    # fact values are scanned without a spaCy doc: usaddress reads the address, spaCy's places need the doc
    assert [(s.text, s.type) for s in find_spans("12 Oak St, Boise 83702", rules)] == [
        ("12 Oak St, Boise 83702", "ADDRESS")]
    assert find_spans("we live in Hillsboro now", rules) == []
