"""Relevance filter: each kind of irrelevant message is dropped with its reason; real ones stay."""
import pytest

from trainer.prepare import filters

CFG = filters.default_config()
OUT = {"direction": "outbound", "task": "appointment_reminder"}


def reason(text, fields=OUT, facts=None, cfg=CFG):
    return filters.check_message(text, fields, facts or {}, cfg).reason


@pytest.mark.parametrize("text,expected", [
    ("", filters.EMPTY),
    ("   \n ", filters.EMPTY),
    ("ok thx", filters.TOO_SHORT),
    ("STOP", filters.STOP_REQUEST),
    ("stop all", filters.STOP_REQUEST),
    ("Unsubscribe", filters.STOP_REQUEST),
    ("ALTO", filters.STOP_REQUEST),
    ("Please stop texting me, I moved to another doctor", filters.STOP_REQUEST),
    ("Out of office: I am away until Monday. For urgent matters please call the front desk.", filters.AUTO_REPLY),
    ("Automatic reply: Thank you for your email, I will respond when I return on March 9.", filters.AUTO_REPLY),
    ("Respuesta automática: estaré fuera de la oficina hasta el lunes.", filters.AUTO_REPLY),
    ("Message delivery failed. The recipient's number is not reachable.", filters.SYSTEM_NOTICE),
    ("Undeliverable: Your appointment reminder", filters.SYSTEM_NOTICE),
    ("You have been unsubscribed and will receive no more messages. Reply START to resubscribe.",
     filters.SYSTEM_NOTICE),
    ("Your verification code is 482913. It expires in 10 minutes.", filters.SYSTEM_NOTICE),
    ("Congratulations! You've been selected for a $1000 Walmart gift card. Claim now at win-prize-now.biz",
     filters.SPAM),
    ("Get cheap meds online no prescription needed!!! best prices", filters.SPAM),
    ("Hi {first_name}, your appointment is on {{appt_date}}. Reply C to confirm.", filters.UNFILLED_TEMPLATE),
    ("Bonjour, votre rendez-vous est confirmé pour demain à 10h. Merci de nous appeler si vous avez des questions.",
     filters.WRONG_LANGUAGE),
])
def test_irrelevant_messages_are_dropped_with_their_reason(text, expected):
    assert reason(text) == expected


@pytest.mark.parametrize("text", [
    "Hi Maria, your appointment with Dr. Patel is on March 3 at 2:30 PM. Reply C to confirm. Reply STOP to opt out.",
    "This is an automated reminder from Riverside Clinic. Please do not reply to this message; call 555-201-3344.",
    "Your sildenafil (Viagra) refill is ready for pickup at the pharmacy on Main St.",
    "Thanks for your question! Your balance of $80.00 is due by March 31. You can pay online in the portal.",
    "Hola Carmen, le recordamos su cita con la Dra. Ruiz el 5 de marzo a las 9:00 AM. Por favor llegue temprano.",
    "Your lab results are ready. Click here to log in to the portal: https://portal.example.org",
])
def test_real_clinic_messages_are_kept(text):
    assert reason(text) is None


def test_direction_inbound_and_internal_are_not_targets():
    text = "Can I move my appointment to Thursday afternoon instead?"
    assert reason(text, {"direction": "Received", "task": "appointment_reminder"}) == filters.INBOUND
    assert reason(text, {"direction": "staff_note", "task": "appointment_reminder"}) == filters.INTERNAL
    assert reason(text, {"direction": "sideways", "task": "appointment_reminder"}) == filters.UNKNOWN_DIRECTION
    assert reason(text, {"direction": None, "task": "appointment_reminder"}) is None  # outbound-only exports
    cfg = filters.default_config()
    cfg.directions = ("outbound", "inbound")
    assert reason(text, {"direction": "inbound", "task": "appointment_reminder"}, cfg=cfg) is None


def test_task_is_required_known_and_aliases_map():
    text = "Your prescription refill was sent to your pharmacy and is ready for pickup."
    assert reason(text, {"direction": "out", "task": None}) == filters.NO_TASK
    assert reason(text, {"direction": "out", "task": "marketing"}) == filters.UNKNOWN_TASK
    assert reason(text, {"direction": "out", "task": "Rx Refill"}) is None
    assert filters.normalize_task("Rx Refill", CFG) == "prescription_refill"


def test_language_settings():
    english = "Hi Jose, this is a reminder that you have an appointment with us tomorrow. Please call to reschedule."
    assert reason(english, facts={"language": "es"}) == filters.LANGUAGE_MISMATCH
    assert reason(english, facts={"language": "en"}) is None
    cfg = filters.default_config()
    cfg.check_language_match = False
    assert reason(english, facts={"language": "es"}, cfg=cfg) is None
    cfg.languages = ("es",)
    assert reason(english, cfg=cfg) == filters.WRONG_LANGUAGE


@pytest.mark.parametrize("text,lang", [
    ("Your lab results are ready in the patient portal. Please call us with any questions.", "en"),
    ("Sus resultados de laboratorio están disponibles en el portal. Llame si tiene preguntas.", "es"),
    ("Votre rendez-vous est confirmé pour demain. Merci de nous appeler.", "fr"),
    ("您好，您的预约在明天上午十点。", "zh"),
    ("Здравствуйте, ваш прием завтра в десять часов.", "ru"),
])
def test_detect_language(text, lang):
    assert filters.detect_language(text)[0] == lang


def test_channel_and_direction_normalization():
    channels = [filters.normalize_channel(c) for c in ("Text", "E-mail", "MyChart", "portal")]
    assert channels == ["sms", "email", "portal", "portal"]
    assert [filters.normalize_direction(d) for d in ("OUT", "Sent", "clinic_to_patient", "MO", "note", "??")] == [
        "outbound", "outbound", "outbound", "inbound", "internal", None]
