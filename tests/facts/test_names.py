"""Person names: providers by title and surname, patients exactly; titles from util.people."""
import pytest

from tests.facts.helpers import stated
from trainer.facts import names
from trainer.util import people


@pytest.mark.parametrize("output,ok", [
    ("You will see Dr. López.", True), ("con la dra. lopez", True), ("DR. ANA LÓPEZ will see you", True),
    ("Ana Lopez will see you", True), ("You will see Dr. Lopes.", False), ("You will see Dr. Ana.", False),
])
def test_provider_name(output, ok):
    assert stated("provider_name", "Dr. Ana López", output) is ok


def test_patient_name_is_case_insensitive_but_exact():
    assert stated("preferred_name", "Maria", "HI MARIA, your results are ready")
    assert not stated("preferred_name", "Maria", "Hi Mario, your results are ready")


def test_titles_are_the_shared_ones():
    assert set(names.CLINICIAN_ADDRESS) <= people.CLINICIAN_TITLES
    assert names.ADDRESS_HONORIFICS <= people.HONORIFICS
    assert names.TITLES == {
        "dr", "dra", "doctor", "doctora", "nurse", "enfermera", "enfermero", "mr", "mrs", "ms", "miss", "sr",
        "sra", "srta", "prof", "md", "do", "np", "pa", "rn", "dds", "phd", "lpn", "fnp", "aprn", "pac", "c",
        "lic", "licda", "licenciada", "licenciado"}


def test_name_tokens_drop_titles_possessives_and_generic_words():
    assert names.name_tokens("Dr. Kim's") == ["kim"]
    assert names.name_tokens("Ana López, PA-C") == ["ana", "lopez"]
    assert [m.value for m in names.find_names("Hi Maria,\nsee Dr. Grace Kim.")] == ["maria", "grace kim"]
