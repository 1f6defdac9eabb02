"""Fact matcher, hallucination detector and message checks on hand-written clinic text."""
import pytest

from tests.facts.helpers import EN, ES, stated
from trainer.facts import checks as F


def test_count_and_free_text():
    assert stated("refill_count", 2, "You have 2 refills left.")
    assert stated("refill_count", 2, "You have two refills left.")
    assert stated("refill_count", 2, "Le quedan dos resurtidos.", ES)
    assert not stated("refill_count", 2, "See you at 2:30.")
    assert stated("medication", "Atorvastatin 20 mg", "Your atorvastatin 20mg refill is ready.")
    assert not stated("medication", "Atorvastatin 20 mg", "Your atorvastatin 40 mg refill is ready.")


# ---------------------------------------------------------------------------------------------
# Key facts and recall

APPT = {
    "preferred_name": "Maria", "appointment_date": "2026-10-03", "appointment_time": "14:30",
    "provider_name": "Dr. Ana Chen", "location_name": "Northside Clinic", "callback_phone": "(555) 123-4567",
    "language": "en", "channel": "sms", "visit_reason": "annual physical",
}


def test_key_facts_come_from_config_and_skip_absent_or_unstated_keys():
    assert F.key_fact_names("appointment_reminder", APPT) == [
        "preferred_name", "appointment_date", "appointment_time", "provider_name", "location_name", "callback_phone"]
    # A task the config does not list: every stateable fact is key.
    assert F.key_fact_names("custom_task", APPT) == [
        "appointment_date", "appointment_time", "callback_phone", "location_name", "preferred_name",
        "provider_name", "visit_reason"]
    cfg = F.default_config()
    cfg.key_facts.appointment_reminder = ("appointment_date", "visit_reason", "not_in_facts")
    assert F.key_fact_names("appointment_reminder", APPT, cfg) == ["appointment_date", "visit_reason"]


def test_recall_per_example():
    out = "Hi Maria, see you Sat, Oct 3 at 2:30 PM with Dr. Chen. Call (555) 123-4567 to reschedule."
    check = F.check_facts(out, "appointment_reminder", APPT)
    assert check.missing == ["location_name"]
    assert check.recall == pytest.approx(5 / 6)


# ---------------------------------------------------------------------------------------------
# Hallucinations

FAITHFUL = [
    (APPT, "Hi Maria, this is Northside Clinic. Reminder: you see Dr. Chen on Saturday, Oct 3 at 2:30 PM. "
           "Call (555) 123-4567 to reschedule. Reply STOP to opt out."),
    (APPT, "Hello Maria,\n\nYour appointment with Dr. Ana Chen is on 10/03 at 2:30pm at Northside Clinic. "
           "Please arrive 15 minutes early and bring your insurance card.\n\nThanks,\nNorthside Clinic"),
    ({"preferred_name": "José", "appointment_date": "2026-11-12", "appointment_time": "09:15",
      "provider_name": "Dra. Lucía Ramos", "location_name": "Clínica del Valle", "callback_phone": "555-987-6543",
      "language": "es", "channel": "sms"},
     "Hola José: le recordamos su cita con la Dra. Ramos el jueves 12 de noviembre a las 9:15 de la mañana "
     "en Clínica del Valle. Si necesita cambiarla, llame al 555-987-6543. ¡Gracias!"),
    ({"preferred_name": "Sam", "balance_amount": 120.5, "due_date": "2026-12-01",
      "payment_link": "https://pay.example.org/x7", "billing_phone": "555-222-3333", "language": "en",
      "channel": "email", "office_hours": "Mon-Fri 8am-5pm"},
     "Dear Sam,\nThank you for your question. Your current balance is $120.50, due by December 1, 2026. "
     "You can pay online at https://pay.example.org/x7. Our billing team is available Monday through Friday, "
     "8 AM to 5 PM, at 555-222-3333.\nSincerely,\nBilling Office"),
    ({"preferred_name": "Lee", "medication": "metformin 500 mg", "pharmacy_name": "Main Street Pharmacy",
      "refill_count": 2, "callback_phone": "555-444-1212", "language": "en", "channel": "portal"},
     "Hi Lee, your metformin 500 mg refill is ready at Main Street Pharmacy. Take 1/2 tablet with dinner "
     "as directed. You have 2 refills left. If you feel unwell, call 911; for questions, our 24/7 nurse line "
     "is 555-444-1212. Results usually take 3-5 business days."),
    ({"preferred_name": "Rosa", "screening_type": "mamografía", "due_date": "2026-11-15",
      "scheduling_link": "https://citas.example.org/r", "language": "es", "channel": "email"},
     "Estimada Rosa:\n\nLe recordamos que su mamografía está pendiente antes del 15 de noviembre. Puede agendar "
     "su cita en https://citas.example.org/r o llamarnos de lunes a viernes.\n\nAtentamente,\n"
     "Equipo de Atención al Paciente"),
    ({"preferred_name": "Linda", "survey_link": "https://s.example.org/q1", "provider_name": "Dr. Ruth Alvarez",
      "visit_date": "2026-09-30", "language": "en", "channel": "email"},
     "Dear Linda,\nThank you for visiting Dr. Alvarez on Wednesday, September 30. We'd love your feedback in a "
     "2-minute survey: https://s.example.org/q1\nWarm regards,\nPatient Experience Team"),
    ({"preferred_name": "Tom", "discharge_date": "2026-09-28", "follow_up_date": "2026-10-05",
      "provider_name": "Dr. Grace Kim", "callback_phone": "555-300-2000", "language": "en", "channel": "portal"},
     "Hi Tom,\n\nWe hope you're feeling better since leaving the hospital on September 28. Dr. Kim would like to "
     "see you on Monday, October 5. If you notice a fever over 101°F or chest pain, call 911. For other "
     "questions call us at 555-300-2000, 24 hours a day.\n\nTake care,\nThe Care Team at Dr. Kim's office"),
    ({"preferred_name": "Ana", "portal_link": "https://portal.example.org", "language": "es", "channel": "portal"},
     "Hola Ana, sus resultados ya están listos en https://portal.example.org. Gracias, el equipo de su clínica."),
]


@pytest.mark.parametrize("facts,output", FAITHFUL)
def test_no_false_alarm_on_faithful_messages(facts, output):
    assert F.find_hallucinations(output, facts) == []


BASE = FAITHFUL[0][1]


@pytest.mark.parametrize("planted,kind,text", [
    ("We also moved your lab visit to Oct 4.", "date", "Oct 4"),
    ("We'll see you Friday, October 3.", "date", "Friday, October 3"),
    ("Or call our main line at 555-000-1111.", "phone", "555-000-1111"),
    ("Dr. Patel will also join.", "name", "Patel"),
    ("Please bring your $35.00 copay.", "amount", "$35.00"),
    ("Please arrive by 9:00 AM.", "time", "9:00 AM"),
    ("Fill the form at https://forms.example.com/intake.", "url", "https://forms.example.com/intake"),
    ("Questions? Email frontdesk@northside.example.org.", "email", "frontdesk@northside.example.org"),
])
def test_planted_invention_is_flagged(planted, kind, text):
    found = F.find_hallucinations(f"{BASE} {planted}", APPT)
    assert [(h.kind, h.text) for h in found] == [(kind, text)]


def test_invented_staff_signature_is_flagged_but_a_department_is_not():
    found = F.find_hallucinations(f"{BASE}\nBest,\nSarah from Billing", APPT)
    assert [(h.kind, h.text) for h in found] == [("name", "Sarah")]
    assert F.find_hallucinations(f"{BASE}\nBest,\nScheduling Team", APPT) == []


def test_title_case_bullets_are_not_signatures():
    out = "Hi Maria, please bring:\n- Photo ID\n- Insurance Card\nSee you Oct 3!"
    assert F.find_hallucinations(out, APPT) == []
    assert [h.text for h in F.find_hallucinations("Hi Maria, see you Oct 3.\n- Sarah", APPT)] == ["Sarah"]


def test_wrong_patient_name_in_greeting_is_flagged():
    found = F.find_hallucinations("Hi John, see you Oct 3 at 2:30 PM.", APPT)
    assert [(h.kind, h.text) for h in found] == [("name", "John")]


def test_invented_surname_for_patient_is_flagged():
    found = F.find_hallucinations("Hi Maria Gonzalez, see you Oct 3.", APPT)
    assert [h.kind for h in found] == ["name"]


def test_spacy_person_names_are_optional():
    out = "Hi Maria, please ask for Jordan Whitfield at the front desk on Oct 3."
    assert F.find_hallucinations(out, APPT) == []
    cfg = F.default_config()
    cfg.use_spacy_names = True
    assert [h.kind for h in F.find_hallucinations(out, APPT, cfg)] == ["name"]


# ---------------------------------------------------------------------------------------------
# Channel, readability, language

def test_sms_length_only_for_sms():
    assert F.sms_length_ok("x" * 320, {"channel": "sms"}) is True
    assert F.sms_length_ok("x" * 321, {"channel": "sms"}) is False
    assert F.sms_length_ok("x" * 2000, {"channel": "email"}) is None


def test_reading_grade_orders_simple_below_complex():
    simple = "Your test is ready. Please call us. We are glad to help."
    hard = ("Comprehensive laboratory evaluation demonstrated abnormalities necessitating additional "
            "consultation regarding cardiovascular medication administration and documentation.")
    assert F.reading_grade(simple, EN) < 4 < 14 < F.reading_grade(hard, EN)
    es = F.reading_grade("Sus resultados están listos. Llame a la clínica si tiene preguntas.", ES)
    assert isinstance(es, float)
    assert F.reading_grade("12345", EN) is None


def test_score_output_summarises_one_message():
    out = "Hi Maria, see you Sat, Oct 3 at 2:30 PM with Dr. Chen. Call (555) 123-4567. Dr. Patel will join."
    s = F.score_output(out, "appointment_reminder", APPT)
    assert s["key_facts"] == 6 and s["fact_recall"] == pytest.approx(5 / 6)
    assert s["facts_missing"] == ["location_name"]
    assert s["hallucinated"] and not s["faithful"]
    assert s["sms_length_ok"] is True and s["language_match"] is True
