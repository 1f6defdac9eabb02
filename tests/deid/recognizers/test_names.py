"""The name recognizer: names in lower case and in context, greetings, clinicians, coded words."""
import pytest

from tests.deid.helpers import covered, found


def test_clinicians_on_the_config_list_stay_but_other_doctors_do_not(deid):
    text = "saw Dr. Patel and Dr Chen today, then Dr. Hargreaves at the ER"
    names = [t for t, k in found(deid, text) if k == "NAME"]
    assert names == ["Hargreaves"]


@pytest.mark.parametrize("text,names", [
    ("this is faith, hopes daughter. can someone call me", ["faith", "hope"]),
    ("hi its maria lopez again", ["maria lopez"]),
    ("my son will is sick, will call later", ["will"]),
    ("spoke to mark about the refill", ["mark"]),
    ("Can Grace pick up my meds tomorrow?", ["Grace"]),
    ("THIS IS SEAN GREEN CALLING ABOUT MY APPOINTMENT", ["SEAN GREEN"]),
    ("hey its oluwaseun, still waiting on the paperwork", ["oluwaseun"]),
    ("Pt Thaddeus Wojcik c/o SOB x3 days", ["Thaddeus Wojcik"]),
    ("le habla Xiomara Quispe, mi cita es mañana", ["Xiomara Quispe"]),
    ("Buenas tardes, le habla lourdes de la cruz", ["lourdes de la cruz"]),
    ("hi this is chloe l. russo i need to move my appt", ["chloe l. russo"]),
    ("thank you so much for everything. - Lupe", ["Lupe"]),
])
def test_names_in_lowercase_and_common_words_in_context(deid, text, names):
    for name in names:
        assert covered(deid, text, name), (name, found(deid, text))


@pytest.mark.parametrize("greeting", ["Hola", "Buenos días", "Estimada", "Querido", "Hi", "Hello",
                                      "Dear", "Hey"])
@pytest.mark.parametrize("name", ["Sean", "Ana", "Will", "Rosa"])
def test_greetings_in_spanish_and_english_redact_the_name(deid, greeting, name):
    for text in (f"{greeting} {name}, le recordamos su cita mañana.",
                 f"{greeting} {name}, this is a reminder of your visit."):
        assert (name, "NAME") in found(deid, text), text


@pytest.mark.parametrize("text", ["hola sean, su cita es mañana", "hi will, call me back"])
def test_lowercase_greeting_addressee_is_a_name(deid, text):
    name = text.split()[1].rstrip(",")
    assert (name, "NAME") in found(deid, text)


@pytest.mark.parametrize("text", [
    "Hi there, can I get a refill?", "Hola a todos", "Dear Patient, your results are ready",
    "Hey Doc, quick question", "Hi again, sorry to bother", "Hello Billing, question about my bill",
    "Hola buenos días, necesito una cita", "Hi I need to reschedule",
])
def test_greetings_without_a_name_find_nothing(deid, text):
    assert [t for t, k in found(deid, text) if k == "NAME"] == []


def test_clinician_names_stay_only_in_clinician_context(deid):
    assert found(deid, "Dr. Laura Chen called") == []
    assert found(deid, "tell Laura Chen thanks, and Dr. Laura too") == []
    assert found(deid, "Hi Laura, Dr. Laura Chen will see you") == [("Laura", "NAME")]
    assert ("Chen", "NAME") in found(deid, "tell Chen thanks")
    # the record's provider name is clinician context wherever it stands; the patient's is not
    res = deid.deidentify("Hi Laura, Chen here. Dr. Chen will call you, Laura.",
                          {"preferred_name": "Laura", "provider_name": "Chen"}, "r")
    assert res.facts["provider_name"] == "Chen" and res.text.count("Chen") == 2
    assert "Laura" not in res.text and res.text.count(res.facts["preferred_name"]) == 2
    res = deid.deidentify("Hi Laura, Laura will call you.", {"preferred_name": "Laura", "provider_name": "Laura"}, "r")
    assert "Laura" not in res.text and "Laura" not in res.facts.values()


@pytest.mark.parametrize("text", ["sms", "portal", "email", "voicemail", "es", "en", "english",
                                  "metformin 500 mg\nsms", "Ivan\nportal\nes", "SMS"])
def test_category_words_are_never_names(deid, text):
    assert [s.text for s in deid.scan(text) if s.type == "NAME" and s.text != "Ivan"] == []


def test_category_word_is_still_a_surname_after_a_title(deid):
    assert ("English", "NAME") in found(deid, "Mr. English called about his refill")
    assert found(deid, "I only speak English") == []
