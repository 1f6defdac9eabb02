"""Language detection on short clinic messages written by hand."""
import pytest

from trainer.util import language


def test_detects_english_spanish_and_other_scripts():
    assert language.detect_language("Hi Ana, this is a reminder of your appointment on Friday. Please call us.")[0] == "en"
    assert language.detect_language("Hola Ana, le recordamos su cita del viernes. Por favor llame a la clínica.")[0] == "es"
    assert language.detect_language("您好，您的预约在星期五。")[0] == "zh"
    assert language.detect_language("ok 123") == ("unknown", 0.0)


def test_english_or_spanish_needs_only_one_function_word():
    assert language.english_or_spanish("Friday 3pm") == "unknown"
    assert language.english_or_spanish("See you on Friday") == "en"
    assert language.english_or_spanish("Nos vemos el viernes") == "es"
    assert language.english_or_spanish("¿Mañana?") == "es"  # orthography alone


def test_mostly_spanish_compares_function_words():
    assert language.mostly_spanish("mi hija tiene una cita".split())
    assert not language.mostly_spanish("my daughter has an appointment".split())


@pytest.mark.parametrize("text,lang", [
    ("Hi Maria, your appointment is on Oct 3. Please call us if you have questions.", "en"),
    ("Hola María, su cita es el 3 de octubre. Llame si tiene preguntas.", "es"),
    ("Recordatorio: cita con la Dra. Ramos en Northside Family Clinic", "es"),
    ("Reminder: appt w/ Dr. Ramos at Clínica del Valle", "en"),
    ("12345 !!!", "unknown"),
])
def test_english_or_spanish_on_clinic_messages(text, lang):
    assert language.english_or_spanish(text) == lang
