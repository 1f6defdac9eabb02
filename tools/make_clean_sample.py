"""Writes the shipped synthetic clean examples (train + held-out) for all tasks, in English and Spanish.

    python tools/make_clean_sample.py --out_dir trainer/assets/sample \
        --n_train 480 --n_heldout 64 --seed 0

Everything is synthetic: Faker (seeded, offline) makes names and places, phones are fictional
555-01xx numbers, links live under example.org. Each response states every fact it was given in a
natural form and nothing else; messages are built from interchangeable parts (opener, body, extra
sentences, call to action, closing, sign-off) so a model learns the pattern, not one string.
Held-out examples come from patients that never appear in train. Same seed, same bytes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import re
import sys
from typing import Any, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from faker import Faker  # noqa: E402

from trainer.data.records import parse_clean_example, write_jsonl  # noqa: E402
from trainer.tasks import task_names  # noqa: E402
from trainer.util import calendar  # noqa: E402

# The key is a salted hash so the shipped files never carry even a synthetic raw id.
PATIENT_KEY_SALT = "carelora-sample-v1"
# A fixed "today": dates in the sample never depend on when the script runs.
ANCHOR_DATE = dt.date(2026, 12, 1)
SMS_MAX_CHARS = 320
SPANISH_SHARE = 0.25
# Facts that steer the message but are not stated in it.
UNSTATED_FACTS = ("language", "channel", "question_topic")

# --------------------------------------------------------------------------------------------
# Rendering of dates, times and money in each language.

MONTHS = {"en": calendar.MONTHS_EN, "es": calendar.MONTHS_ES}
WEEKDAYS = {"en": calendar.WEEKDAYS_EN, "es": calendar.WEEKDAYS_ES}


def render_date(iso: str, lang: str, weekday: bool = False, year: bool = False) -> str:
    """'2027-03-04' -> 'Thursday, March 4[, 2027]' / 'jueves 4 de marzo[ de 2027]'."""
    d = dt.date.fromisoformat(iso)
    month = MONTHS[lang][d.month - 1]
    if lang == "en":
        text = f"{month} {d.day}"
        if weekday:
            text = f"{WEEKDAYS['en'][d.weekday()]}, {text}"
        return f"{text}, {d.year}" if year else text
    text = f"{d.day} de {month}"
    if weekday:
        text = f"{WEEKDAYS['es'][d.weekday()]} {text}"
    return f"{text} de {d.year}" if year else text


def render_time(hhmm: str, lang: str) -> str:
    """'14:30' -> '2:30 PM' / '2:30 p. m.'."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    h12 = hour % 12 or 12
    if lang == "en":
        return f"{h12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"
    return f"{h12}:{minute:02d} {'a. m.' if hour < 12 else 'p. m.'}"


def render_at_time(hhmm: str, lang: str) -> str:
    """'at 2:30 PM' / 'a las 2:30 p. m.' ('a la 1:15 p. m.' for one o'clock)."""
    time = render_time(hhmm, lang)
    if lang == "en":
        return f"at {time}"
    return f"a la {time}" if time.startswith("1:") else f"a las {time}"


def render_money(amount: str) -> str:
    return f"${amount}"


# --------------------------------------------------------------------------------------------
# Message parts. Placeholders are filled from a context built out of the facts (see _context).
# "extras" are sentences that appear only when all their facts are present.

OPENERS = {
    "en": {
        "sms": ["Hi {name}!", "Hello {name}!", "Hi {name}.", "Hello, {name}."],
        "sms_identity": ["Hi {name}, this is {location}.", "Hello {name}, it's {location}.",
                         "Hi {name}! {location} here.", "{location}: Hi {name}!"],
        "long": ["Dear {name},", "Hi {name},", "Hello {name},", "Hello, {name},"],
        "warm": ["We hope you're doing well.", "We hope this message finds you well.",
                 "We hope you're having a good week."],
    },
    "es": {
        "sms": ["¡Hola, {name}!", "Hola, {name}.", "¡Hola, {name}!", "Buen día, {name}."],
        "sms_identity": ["Hola, {name}, le escribimos de {location}.", "¡Hola, {name}! Le saluda {location}.",
                         "Hola, {name}: le escribe {location}.", "{location}: ¡Hola, {name}!"],
        "long": ["Hola, {name}:", "Apreciable {name}:", "Buen día, {name}:", "Saludos, {name}:"],
        "warm": ["Esperamos que se encuentre bien.", "Esperamos que esté muy bien.",
                 "Esperamos que esté teniendo una buena semana."],
    },
}

SIGN_OFFS = {
    "en": {
        "words": ["Warm regards,", "Take care,", "Sincerely,", "Best wishes,", "Kind regards,", "With care,"],
        "signer": ["The care team at {location}", "Your care team at {location}", "{location}"],
        "signer_plain": ["Your care team", "The care team"],
        "billing": ["The billing team at {location}", "Billing Office, {location}"],
        "billing_plain": ["Your billing team", "The billing office"],
        "portal_reply": ["You can also reply to this message here in the portal.",
                         "Feel free to reply to this message in the portal."],
    },
    "es": {
        "words": ["Atentamente,", "Saludos cordiales,", "Un cordial saludo,", "Con aprecio,", "Cuídese mucho,"],
        "signer": ["El equipo de atención de {location}", "Su equipo de salud en {location}", "{location}"],
        "signer_plain": ["Su equipo de atención", "El equipo de atención médica"],
        "billing": ["El equipo de facturación de {location}", "Oficina de facturación, {location}"],
        "billing_plain": ["Su equipo de facturación", "La oficina de facturación"],
        "portal_reply": ["También puede responder a este mensaje aquí en el portal.",
                         "Si lo desea, responda a este mensaje en el portal."],
    },
}

TEMPLATES: dict[str, dict[str, dict[str, Any]]] = {
    "appointment_reminder": {
        "en": {
            "body": [
                "This is a friendly reminder of {appt} with {provider} on {date} {at_time} at {location}.",
                "Just a reminder: {provider} will see you on {date} {at_time} at {location}{for_appt}.",
                "You're scheduled to see {provider} on {date} {at_time} at {location}{for_appt}.",
                "We're looking forward to seeing you for {appt} with {provider} on {date} {at_time} at {location}.",
                "{Appt} with {provider} is coming up on {date} {at_time} at {location}.",
                "Your next visit at {location} is on {date} {at_time} with {provider}{for_appt}.",
                "Quick reminder: {appt} with {provider} is set for {date} {at_time} at {location}.",
                "Mark your calendar: {date} {at_time}, {appt} with {provider} at {location}.",
            ],
            "extras": [
                (("arrival_minutes",), ["Please arrive {minutes} minutes early.",
                                        "Plan to arrive {minutes} minutes before your appointment time.",
                                        "Arriving {minutes} minutes early gives us time to check you in."]),
                (("portal_link",), ["You can find your visit details in the portal: {portal}",
                                    "Your visit details are in your patient portal: {portal}"]),
                (("confirm_keyword",), ["Reply {kw} to confirm.", "Please reply {kw} to confirm your visit."]),
            ],
            "cta": ["If you need to reschedule, please call us at {phone}.", "Need to change your time? Call {phone}.",
                    "Questions or need to reschedule? Call {phone}.",
                    "If something comes up, give us a call at {phone} and we'll find a new time.",
                    "To reschedule or cancel, call {phone}."],
            "close": ["See you soon!", "We look forward to seeing you.", "Thank you!", "Take care!"],
        },
        "es": {
            "body": [
                "Le recordamos {appt} con {provider} el {date} {at_time} en {location}.",
                "Este es un recordatorio amable de {appt} con {provider} el {date} {at_time} en {location}.",
                "Tiene una cita con {provider} el {date} {at_time} en {location}{for_appt}.",
                "Queremos recordarle que {appt} con {provider} es el {date} {at_time} en {location}.",
                "Su próxima visita en {location} es el {date} {at_time} con {provider}{for_appt}.",
                "Recordatorio: {appt} con {provider} es el {date} {at_time} en {location}.",
                "Anote en su calendario: {date} {at_time}, {appt} con {provider} en {location}.",
            ],
            "extras": [
                (("arrival_minutes",), ["Por favor, llegue {minutes} minutos antes.",
                                        "Le pedimos llegar {minutes} minutos antes de su hora.",
                                        "Llegar {minutes} minutos antes nos da tiempo para su registro."]),
                (("portal_link",), ["Puede ver los detalles de su cita en el portal: {portal}",
                                    "Los detalles de su visita están en su portal del paciente: {portal}"]),
                (("confirm_keyword",), ["Responda {kw} para confirmar.",
                                        "Por favor, responda {kw} para confirmar su cita."]),
            ],
            "cta": ["Si necesita cambiar su cita, llámenos al {phone}.", "¿Necesita reprogramar? Llame al {phone}.",
                    "¿Preguntas o cambios? Llame al {phone}.",
                    "Si le surge algo, llámenos al {phone} y buscamos otro horario.",
                    "Para reprogramar o cancelar, llame al {phone}."],
            "close": ["¡Hasta pronto!", "Con gusto le atenderemos.", "¡Gracias!", "¡Que esté bien!"],
        },
    },
    "follow_up_survey": {
        "en": {
            "body": [
                "Thank you for visiting {provider}{at_location} on {visit_date}. We'd love to hear how it went. "
                "Please take our short survey: {link}",
                "How was your visit with {provider}{at_location} on {visit_date}? Your feedback helps us care for "
                "you better. Share it here: {link}",
                "We hope your visit with {provider}{at_location} on {visit_date} went well. Would you tell us "
                "about it? {link}",
                "Your opinion matters to us. Please let us know how your appointment with {provider}{at_location} "
                "on {visit_date} went: {link}",
                "Thanks for seeing {provider}{at_location} on {visit_date}. A few quick questions about your "
                "experience are waiting here: {link}",
                "We'd be grateful for your thoughts on your recent visit with {provider}{at_location} "
                "({visit_date}). Survey: {link}",
                "Following up on your appointment with {provider}{at_location} on {visit_date}: could you spare "
                "a moment for our survey? {link}",
            ],
            "extras": [
                (("survey_minutes",), ["It takes about {n} minutes.", "The survey takes only {n} minutes.",
                                       "It should take no more than {n} minutes."]),
            ],
            "cta": [""],
            "close": ["Thank you!", "Thanks so much!", "We appreciate you.", "Thank you for helping us improve."],
        },
        "es": {
            "body": [
                "Gracias por su visita con {provider}{at_location} el {visit_date}. Nos encantaría saber cómo le "
                "fue. Por favor, conteste nuestra breve encuesta: {link}",
                "¿Cómo le fue en su visita con {provider}{at_location} el {visit_date}? Su opinión nos ayuda a "
                "atenderle mejor. Compártala aquí: {link}",
                "Esperamos que su visita con {provider}{at_location} el {visit_date} haya ido bien. ¿Nos cuenta "
                "cómo le fue? {link}",
                "Su opinión es muy importante para nosotros. Díganos cómo fue su cita con {provider}{at_location} "
                "el {visit_date}: {link}",
                "Gracias por elegirnos para su visita con {provider}{at_location} el {visit_date}. Unas preguntas "
                "rápidas sobre su experiencia le esperan aquí: {link}",
                "Le agradeceríamos sus comentarios sobre su visita reciente con {provider}{at_location} "
                "({visit_date}). Encuesta: {link}",
                "Damos seguimiento a su cita con {provider}{at_location} del {visit_date}: ¿tendría un momento "
                "para nuestra encuesta? {link}",
            ],
            "extras": [
                (("survey_minutes",), ["Toma unos {n} minutos.", "La encuesta dura solo {n} minutos.",
                                       "No le tomará más de {n} minutos."]),
            ],
            "cta": [""],
            "close": ["¡Gracias!", "¡Muchas gracias!", "Le agradecemos mucho.", "Gracias por ayudarnos a mejorar."],
        },
    },
    "lab_results_ready": {
        "en": {
            "body": [
                "{Results}{by_provider} are ready to view in your patient portal: {portal}",
                "Just a note: {results}{by_provider} are now available. You can see them securely at {portal}",
                "We wanted to let you know that {results}{by_provider} have been posted to your portal. "
                "Log in at {portal} to view them.",
                "{Results}{by_provider} are in. Please sign in at {portal} to review them.",
                "Your portal has an update: {results}{by_provider} are ready. View them here: {portal}",
                "{Results}{by_provider} are now available at {portal} where you can view them privately.",
                "Heads up: {results}{by_provider} can now be viewed in the portal at {portal}",
            ],
            "extras": [],
            "cta": ["If you have questions about your results, please call us at {phone}.",
                    "Questions? Call {phone} and we'll be happy to help.",
                    "If you'd like to talk about them, call {phone}.",
                    "For questions, reach our team at {phone}."],
            "close": ["Take care!", "Have a good day.", "Thank you!", "Wishing you well."],
        },
        "es": {
            "body": [
                "{Results}{by_provider} ya están disponibles en su portal del paciente: {portal}",
                "Le avisamos: {results}{by_provider} ya se pueden consultar. Véalos de forma segura en {portal}",
                "Le informamos que {results}{by_provider} ya se publicaron en su portal. Ingrese a {portal} "
                "para verlos.",
                "{Results}{by_provider} ya llegaron. Inicie sesión en {portal} para revisarlos.",
                "Tiene una novedad en su portal: {results}{by_provider} están listos. Véalos aquí: {portal}",
                "{Results}{by_provider} ya están disponibles en {portal} donde puede verlos en privado.",
                "Aviso: ya puede ver {results}{by_provider} en el portal: {portal}",
            ],
            "extras": [],
            "cta": ["Si tiene preguntas sobre sus resultados, llámenos al {phone}.",
                    "¿Preguntas? Llame al {phone}; con gusto le ayudamos.",
                    "Si desea hablar sobre ellos, llame al {phone}.",
                    "Para cualquier duda, comuníquese con nuestro equipo al {phone}."],
            "close": ["¡Cuídese!", "Que tenga buen día.", "¡Gracias!", "Le deseamos lo mejor."],
        },
    },
    "prescription_refill": {
        "en": {
            "body": [
                "Your refill of {med} has been sent to {pharmacy}.",
                "Good news! Your {med} refill is on its way to {pharmacy}.",
                "We've sent your prescription refill for {med} to {pharmacy}.",
                "Your {med} refill request is complete, and it has gone to {pharmacy}.",
                "Quick update on your {med}: the refill has been sent to {pharmacy}.",
                "We took care of your refill: your {med} has been sent to {pharmacy}.",
                "{pharmacy} has received your refill of {med}.",
            ],
            "extras": [
                (("provider_name",), ["{provider} approved this refill.", "This refill was approved by {provider}."]),
                (("ready_date",), ["It should be ready for pickup on {ready_date}.",
                                   "You can pick it up starting {ready_date}.",
                                   "Expect it to be ready on {ready_date}."]),
                (("refill_count",), ["{refills}"]),
            ],
            "cta": ["If you have questions about this medication, call us at {phone}.",
                    "Questions about your refill? Call {phone}.", "Need anything else? Reach us at {phone}."],
            "cta_last": ["To renew it, please call us at {phone}.",
                         "Please call {phone} so we can help you renew it before you run out."],
            "close": ["Take care!", "Have a great day.", "Thank you!", "Stay well."],
        },
        "es": {
            "body": [
                "Su resurtido de {med} fue enviado a {pharmacy}.",
                "¡Buenas noticias! Su resurtido de {med} va en camino a {pharmacy}.",
                "Enviamos el resurtido de su receta de {med} a {pharmacy}.",
                "Su solicitud de resurtido de {med} está completa y ya se envió a {pharmacy}.",
                "Una actualización sobre su {med}: el resurtido se envió a {pharmacy}.",
                "Ya nos encargamos de su resurtido: su {med} se envió a {pharmacy}.",
                "{pharmacy} ya recibió su resurtido de {med}.",
            ],
            "extras": [
                (("provider_name",), ["{provider} aprobó este resurtido.", "Este resurtido fue aprobado por {provider}."]),
                (("ready_date",), ["Debería estar listo para recoger el {ready_date}.",
                                   "Puede recogerlo a partir del {ready_date}.", "Estará listo el {ready_date}."]),
                (("refill_count",), ["{refills}"]),
            ],
            "cta": ["Si tiene preguntas sobre este medicamento, llámenos al {phone}.",
                    "¿Preguntas sobre su resurtido? Llame al {phone}.", "¿Necesita algo más? Comuníquese al {phone}."],
            "cta_last": ["Para renovar su receta, llámenos al {phone}.",
                         "Por favor, llame al {phone} para que le ayudemos a renovar su receta antes de que se le termine."],
            "close": ["¡Cuídese!", "Que tenga un excelente día.", "¡Gracias!", "Que esté bien."],
        },
    },
    "post_discharge_checkin": {
        "en": {
            "body": [
                "We're checking in after your discharge from {location} on {discharge_date}. How are you feeling?",
                "Since you went home from {location} on {discharge_date}, we wanted to see how you're doing.",
                "We hope your recovery is going well since your discharge from {location} on {discharge_date}.",
                "Your care team at {location} is thinking of you after your discharge on {discharge_date}. "
                "How is everything going?",
                "We wanted to follow up after your stay at {location}, which ended on {discharge_date}.",
                "Checking in after you left {location} on {discharge_date}: how are you feeling today?",
                "We're reaching out to see how you're doing after leaving {location} on {discharge_date}.",
            ],
            "extras": [
                (("provider_name", "appointment_date", "appointment_time"),
                 ["Your follow-up visit with {provider} is on {date} {at_time}.",
                  "Please remember your follow-up appointment with {provider} on {date} {at_time}.",
                  "You're scheduled to see {provider} for follow-up on {date} {at_time}."]),
            ],
            "cta": ["If you have any questions or concerns, please call us at {phone}.",
                    "If anything feels off or you have questions about your care, call {phone}.",
                    "Our team is here for you at {phone} if you need anything.",
                    "Please call {phone} if you have questions about your medications or recovery."],
            "close": ["Wishing you a smooth recovery.", "Take good care of yourself.", "We're here to help.",
                      "Feel better soon!"],
        },
        "es": {
            "body": [
                "Queremos saber cómo se encuentra después de su alta de {location} el {discharge_date}. "
                "¿Cómo se siente?",
                "Desde que salió de {location} el {discharge_date}, queremos saber cómo está.",
                "Esperamos que su recuperación vaya bien desde su alta de {location} el {discharge_date}.",
                "Su equipo de atención en {location} está pendiente de usted después de su alta el "
                "{discharge_date}. ¿Cómo va todo?",
                "Le damos seguimiento después de su estancia en {location}, que terminó el {discharge_date}.",
                "Nos comunicamos para saber cómo sigue después de salir de {location} el {discharge_date}.",
            ],
            "extras": [
                (("provider_name", "appointment_date", "appointment_time"),
                 ["Su cita de seguimiento con {provider} es el {date} {at_time}.",
                  "Recuerde su cita de seguimiento con {provider} el {date} {at_time}.",
                  "Tiene programada una consulta de seguimiento con {provider} el {date} {at_time}."]),
            ],
            "cta": ["Si tiene preguntas o inquietudes, llámenos al {phone}.",
                    "Si algo no se siente bien o tiene dudas sobre su cuidado, llame al {phone}.",
                    "Nuestro equipo está para ayudarle en el {phone} si necesita algo.",
                    "Llame al {phone} si tiene preguntas sobre sus medicamentos o su recuperación."],
            "close": ["Le deseamos una pronta recuperación.", "Cuídese mucho.", "Estamos para servirle.",
                      "¡Que se mejore pronto!"],
        },
    },
    "no_show_followup": {
        "en": {
            "body": [
                "We missed you at your appointment with {provider} on {date}{at_time_sp}.",
                "We noticed you weren't able to make your visit with {provider} on {date}{at_time_sp}. "
                "We hope everything is okay.",
                "Sorry we didn't get to see you on {date}{at_time_sp} for your appointment with {provider}.",
                "We hope all is well. You were scheduled to see {provider} on {date}{at_time_sp}, and we'd love "
                "to get you back on the schedule.",
                "Life gets busy, and we understand. You missed your appointment with {provider} on "
                "{date}{at_time_sp}, but it's easy to rebook.",
                "Your health matters to us. We missed you on {date}{at_time_sp} and would like to help you find "
                "a new time with {provider}.",
            ],
            "extras": [
                (("portal_link",), ["You can also pick a new time online: {portal}",
                                    "Prefer to book online? Visit {portal}"]),
            ],
            "cta": ["Please call us at {phone} to reschedule.",
                    "Give us a call at {phone} and we'll find a time that works for you.",
                    "When you're ready, call {phone} to set up a new appointment.", "To rebook, just call {phone}."],
            "close": ["We hope to see you soon.", "Take care.", "Thank you!", "We're here when you're ready."],
        },
        "es": {
            "body": [
                "Notamos que no pudo asistir a su cita con {provider} el {date}{at_time_sp}.",
                "Vimos que no pudo llegar a su consulta con {provider} el {date}{at_time_sp}. Esperamos que todo "
                "esté bien.",
                "Lamentamos no haberle visto el {date}{at_time_sp} en su cita con {provider}.",
                "Esperamos que todo esté bien. Tenía una cita con {provider} el {date}{at_time_sp} y con gusto "
                "le ayudamos a programar otra.",
                "Sabemos que a veces surgen imprevistos. Su cita con {provider} del {date}{at_time_sp} quedó "
                "pendiente, pero es fácil reprogramarla.",
                "Su salud nos importa. No pudo asistir a su cita del {date}{at_time_sp} con {provider} y queremos "
                "ayudarle a encontrar un nuevo horario.",
            ],
            "extras": [
                (("portal_link",), ["También puede elegir un nuevo horario en línea: {portal}",
                                    "Para reprogramar en línea, visite {portal}"]),
            ],
            "cta": ["Por favor, llámenos al {phone} para reprogramar.",
                    "Llámenos al {phone} y buscamos un horario que le convenga.",
                    "Cuando le sea posible, llame al {phone} para hacer una nueva cita.",
                    "Para reprogramar, solo llame al {phone}."],
            "close": ["Esperamos verle pronto.", "Cuídese.", "¡Gracias!", "Aquí estamos para cuando nos necesite."],
        },
    },
    "preventive_care_reminder": {
        "en": {
            "body": [
                "Our records show you're due for your {screening} by {due_date}.",
                "It's time for your {screening}! It's due by {due_date}.",
                "A friendly reminder that your {screening} is due by {due_date}.",
                "Staying on top of preventive care matters, and your {screening} is due by {due_date}.",
                "Your {screening} is coming due: please schedule it by {due_date}.",
                "We care about keeping you healthy. Your next {screening} is due by {due_date}.",
                "Just a heads-up: it's time to schedule your {screening}, due by {due_date}.",
            ],
            "extras": [
                (("provider_name",), ["This reminder is from the office of {provider}.",
                                      "{provider}'s team wanted to make sure this is on your radar."]),
                (("portal_link",), ["You can schedule online at {portal}", "Book it online: {portal}"]),
            ],
            "cta": ["Call us at {phone} to schedule.", "To book, please call {phone}.",
                    "Give us a call at {phone} and we'll set it up.",
                    "Call {phone} to find a time that works for you."],
            "close": ["Thank you for taking care of your health!", "Stay well.", "Take care!", "Here's to your health."],
        },
        "es": {
            "body": [
                "Según nuestros registros, le corresponde su {screening} a más tardar el {due_date}.",
                "¡Es momento de su {screening}! La fecha límite es el {due_date}.",
                "Le recordamos que su {screening} está pendiente para el {due_date}.",
                "La atención preventiva es importante, y su {screening} debe hacerse a más tardar el {due_date}.",
                "Su {screening} está por vencer: por favor, programe su cita a más tardar el {due_date}.",
                "Queremos ayudarle a cuidar su salud: le corresponde su {screening} a más tardar el {due_date}.",
                "Un aviso amable: tiene pendiente su {screening}, con fecha límite el {due_date}.",
            ],
            "extras": [
                (("provider_name",), ["Este recordatorio es del consultorio de {provider}.",
                                      "El equipo de {provider} quiere asegurarse de que lo tenga presente.",
                                      "Aviso del consultorio de {provider}."]),
                (("portal_link",), ["Puede programar en línea en {portal}", "Haga su cita en línea: {portal}"]),
            ],
            "cta": ["Llámenos al {phone} para programar.", "Para hacer su cita, llame al {phone}.",
                    "Llámenos al {phone} y lo programamos.",
                    "Llame al {phone} para encontrar un horario que le convenga."],
            "close": ["¡Gracias por cuidar su salud!", "Que esté bien.", "¡Cuídese!", "¡Por su salud!"],
        },
    },
    "billing_question_reply": {
        "en": {
            "body": {
                "balance": [
                    "Thanks for reaching out about your bill. Your current balance is {amount} for your visit on "
                    "{service_date}, and it is due by {due_date}.",
                    "Thank you for your question. The balance on your account is {amount}, from your visit on "
                    "{service_date}. Payment is due by {due_date}.",
                    "Happy to help with your billing question. You owe {amount} for the visit on {service_date}; "
                    "the due date is {due_date}.",
                    "We looked into your account: the balance of {amount} is for services on {service_date} and "
                    "is due by {due_date}.",
                    "Thanks for asking! Your visit on {service_date} left a balance of {amount}, which is due by "
                    "{due_date}.",
                    "Good question. Right now your account shows {amount} for your visit on {service_date}, due "
                    "by {due_date}.",
                ],
                "payment_plan": [
                    "Thanks for asking about a payment plan. Your balance of {amount} can be split into {months} "
                    "monthly payments of {monthly}.",
                    "Yes, a payment plan is available for your balance of {amount}: {months} monthly payments of "
                    "{monthly}.",
                    "We can help with that. Your {amount} balance can be paid over {months} months at {monthly} "
                    "per month.",
                    "Thank you for reaching out. We've put together a plan for your balance of {amount}: "
                    "{monthly} a month for {months} months.",
                    "Great question! You can pay your {amount} balance in {months} monthly payments of {monthly}.",
                    "We're glad to make this easier. A plan of {months} payments of {monthly} each covers your "
                    "balance of {amount}.",
                ],
                "insurance": [
                    "Thanks for your question about insurance. {insurance} paid {paid} for your visit on "
                    "{service_date}, leaving a balance of {amount}.",
                    "We checked your claim: for your visit on {service_date}, {insurance} covered {paid}, and your "
                    "remaining balance is {amount}.",
                    "Thank you for reaching out. Your claim with {insurance} for the visit on {service_date} has "
                    "been processed; they paid {paid} and {amount} remains on your account.",
                    "Happy to explain. {insurance} paid {paid} toward your visit on {service_date}. The remaining "
                    "{amount} is your balance.",
                    "Good question! After {insurance} paid {paid} for your visit on {service_date}, your balance "
                    "is {amount}.",
                    "Here's what we found: {insurance} processed your visit on {service_date} and paid {paid}, so "
                    "your balance is now {amount}.",
                ],
            },
            "extras": [
                (("portal_link",), ["You can view your account and pay online at {portal}",
                                    "To pay online, visit {portal}"]),
            ],
            "cta": ["If you have more questions, call our billing office at {phone}.",
                    "For anything else about your bill, call {phone}.", "Questions? Our billing team is at {phone}.",
                    "Please call {phone} if you'd like to go over it together."],
            "close": ["Thank you!", "We're happy to help.", "Have a good day.", "Thanks for being our patient."],
        },
        "es": {
            "body": {
                "balance": [
                    "Gracias por comunicarse sobre su factura. Su saldo actual es de {amount} por su visita del "
                    "{service_date}, con fecha de vencimiento el {due_date}.",
                    "Gracias por su pregunta. El saldo de su cuenta es de {amount}, de su visita del "
                    "{service_date}. El pago vence el {due_date}.",
                    "Con gusto le ayudamos con su pregunta de facturación. Debe {amount} por la visita del "
                    "{service_date}; la fecha límite de pago es el {due_date}.",
                    "Revisamos su cuenta: el saldo de {amount} corresponde a servicios del {service_date} y vence "
                    "el {due_date}.",
                    "¡Gracias por preguntar! Su visita del {service_date} dejó un saldo de {amount}, que vence el "
                    "{due_date}.",
                    "Buena pregunta. En este momento su cuenta muestra {amount} por su visita del {service_date}, "
                    "con vencimiento el {due_date}.",
                ],
                "payment_plan": [
                    "Gracias por preguntar por un plan de pagos. Su saldo de {amount} se puede dividir en {months} "
                    "pagos mensuales de {monthly}.",
                    "Sí, hay un plan de pagos disponible para su saldo de {amount}: {months} pagos mensuales de "
                    "{monthly}.",
                    "Con gusto le ayudamos. Su saldo de {amount} se puede pagar en {months} meses, a {monthly} por "
                    "mes.",
                    "Gracias por comunicarse. Preparamos un plan para su saldo de {amount}: {monthly} al mes "
                    "durante {months} meses.",
                    "¡Buena pregunta! Puede pagar su saldo de {amount} en {months} pagos mensuales de {monthly}.",
                    "Queremos facilitarle las cosas. Un plan de {months} pagos de {monthly} cada uno cubre su "
                    "saldo de {amount}.",
                ],
                "insurance": [
                    "Gracias por su pregunta sobre el seguro. {insurance} pagó {paid} por su visita del "
                    "{service_date}, y queda un saldo de {amount}.",
                    "Revisamos su reclamo: por su visita del {service_date}, {insurance} cubrió {paid} y su saldo "
                    "pendiente es de {amount}.",
                    "Gracias por comunicarse. Su reclamo con {insurance} por la visita del {service_date} ya se "
                    "procesó; pagaron {paid} y quedan {amount} en su cuenta.",
                    "Con gusto le explicamos. {insurance} pagó {paid} de su visita del {service_date}. Los "
                    "{amount} restantes son su saldo.",
                    "¡Buena pregunta! Después de que {insurance} pagó {paid} por su visita del {service_date}, su "
                    "saldo es de {amount}.",
                    "Esto es lo que encontramos: {insurance} procesó su visita del {service_date} y pagó {paid}, "
                    "así que su saldo ahora es de {amount}.",
                ],
            },
            "extras": [
                (("portal_link",), ["Puede ver su cuenta y pagar en línea en {portal}",
                                    "Para pagar en línea, visite {portal}"]),
            ],
            "cta": ["Si tiene más preguntas, llame a nuestra oficina de facturación al {phone}.",
                    "Para cualquier otra duda sobre su factura, llame al {phone}.",
                    "¿Preguntas? Nuestro equipo de facturación está en el {phone}.",
                    "Llame al {phone} si desea revisarlo juntos."],
            "close": ["¡Gracias!", "Con gusto le ayudamos.", "Que tenga buen día.", "Gracias por confiar en nosotros."],
        },
    },
}

REFILL_SENTENCES = {
    "en": {0: ["This was your last refill on this prescription (0 refills remaining).",
               "You have 0 refills left after this one."],
           1: ["You have 1 refill remaining.", "After this, 1 refill is left on this prescription."],
           "n": ["You have {n} refills remaining.", "There are {n} refills left on this prescription."]},
    "es": {0: ["Este fue su último resurtido de esta receta (quedan 0 resurtidos).",
               "Después de este, le quedan 0 resurtidos."],
           1: ["Le queda 1 resurtido.", "Después de este, queda 1 resurtido en esta receta."],
           "n": ["Le quedan {n} resurtidos.", "Quedan {n} resurtidos en esta receta."]},
}

# --------------------------------------------------------------------------------------------
# Facts the clinic system would hold (per language where a clinic keeps patient-facing text).

VISIT_TYPES = {
    "en": ["annual checkup", "follow-up visit", "blood pressure check", "diabetes check-up", "medication review",
           "new patient visit"],
    "es": ["chequeo anual", "consulta de seguimiento", "control de presión arterial", "control de diabetes",
           "revisión de medicamentos", "consulta de paciente nuevo"],
}
TEST_NAMES = {
    "en": ["lipid panel", "complete blood count", "A1C test", "thyroid panel", "metabolic panel", "vitamin D test",
           "urinalysis"],
    "es": ["perfil de lípidos", "biometría hemática", "hemoglobina A1C", "perfil tiroideo", "química sanguínea",
           "prueba de vitamina D", "examen general de orina"],
}
MEDICATIONS = {
    "en": ["lisinopril 10 mg", "metformin 500 mg", "atorvastatin 20 mg", "levothyroxine 50 mcg", "amlodipine 5 mg",
           "sertraline 50 mg", "omeprazole 20 mg", "losartan 50 mg", "albuterol inhaler", "metoprolol 25 mg"],
    "es": ["lisinopril 10 mg", "metformina 500 mg", "atorvastatina 20 mg", "levotiroxina 50 mcg",
           "amlodipino 5 mg", "sertralina 50 mg", "omeprazol 20 mg", "losartán 50 mg", "inhalador de albuterol",
           "metoprolol 25 mg"],
}
SCREENINGS = {
    "en": ["mammogram", "cervical cancer screening", "colonoscopy", "flu shot", "annual wellness visit",
           "diabetic eye exam", "bone density scan", "cholesterol screening", "shingles vaccine"],
    "es": ["mamografía", "prueba de Papanicolaou", "colonoscopia", "vacuna contra la influenza",
           "visita anual de bienestar", "examen de la vista para diabéticos", "densitometría ósea",
           "prueba de colesterol", "vacuna contra el herpes zóster"],
}
INSURERS = ["Blue Harbor Health", "Summit Care Insurance", "Evergreen Health Plan", "Northstar Benefits",
            "Meridian Mutual Health"]
CLINIC_SUFFIXES = ["Family Medicine", "Medical Group", "Health Center", "Community Clinic", "Primary Care"]
AREA_CODES = ["206", "213", "305", "312", "404", "503", "512", "602", "617", "702", "713", "919"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _phone(rng: random.Random) -> str:
    return f"({rng.choice(AREA_CODES)}) 555-01{rng.randrange(100):02d}"


def _code(rng: random.Random, n: int = 6) -> str:
    return "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(n))


def _provider(fake: Faker, rng: random.Random) -> str:
    last = fake.last_name()
    return f"Dr. {fake.first_name()} {last}" if rng.random() < 0.5 else f"Dr. {last}"


def make_clinics(fake_en: Faker, fake_es: Faker, rng: random.Random, n: int = 6) -> list[dict[str, Any]]:
    clinics = []
    for i in range(n):
        place = fake_en.city() if i % 2 == 0 else fake_en.street_name()
        name = f"{place} {CLINIC_SUFFIXES[i % len(CLINIC_SUFFIXES)]}"
        slug = _slug(place)
        hospital = (f"{fake_en.city()} General Hospital" if rng.random() < 0.5
                    else f"{fake_en.last_name()} Medical Center")
        clinics.append({
            "name": name,
            "phone": _phone(rng),
            "portal": f"https://portal.{slug}.example.org",
            "survey": f"https://survey.{slug}.example.org/s/",
            "providers": [_provider(fake_es if j % 3 == 2 else fake_en, rng) for j in range(4)],
            "hospital": hospital,
            "pharmacies": [f"{fake_en.street_name()} Pharmacy", f"{fake_en.last_name()} Drug",
                           f"{fake_en.city()} Pharmacy"],
        })
    return clinics


def make_patients(prefix: str, n: int, clinics: Sequence[dict[str, Any]], fake_en: Faker, fake_es: Faker,
                  rng: random.Random) -> list[dict[str, Any]]:
    n_es = max(1, round(n * SPANISH_SHARE))
    patients = []
    for i in range(n):
        lang = "es" if i < n_es else "en"
        pid = f"{prefix}-{i:05d}"
        fake = fake_es if lang == "es" else fake_en
        sex = rng.choice(("F", "M"))
        patients.append({
            "key": hashlib.sha256(f"{PATIENT_KEY_SALT}:{pid}".encode()).hexdigest(),
            "name": fake.first_name_female() if sex == "F" else fake.first_name_male(),
            "sex": sex,
            "lang": lang,
            "clinic": clinics[rng.randrange(len(clinics))],
            "channel": rng.choices(("sms", "email", "portal"), weights=(5, 2, 3))[0],
        })
    return patients


def _iso(offset_days: int, weekdays_only: bool = False) -> str:
    """A date relative to ANCHOR_DATE; clinic days skip weekends and the two holidays in range."""
    d = ANCHOR_DATE + dt.timedelta(days=offset_days)
    while weekdays_only and (d.weekday() >= 5 or (d.month, d.day) in ((12, 25), (1, 1))):
        d += dt.timedelta(days=1 if offset_days >= 0 else -1)
    return d.isoformat()


def _clinic_time(rng: random.Random) -> str:
    return f"{rng.randint(8, 16):02d}:{rng.choice((0, 15, 30, 45)):02d}"


def make_facts(task: str, patient: dict[str, Any], channel: str, rng: random.Random) -> dict[str, Any]:
    """The facts a clinic system holds for one message: required ones plus a random subset of optional ones."""
    lang, clinic = patient["lang"], patient["clinic"]
    provider = rng.choice(clinic["providers"])
    long_channel = channel != "sms"
    f: dict[str, Any] = {"preferred_name": patient["name"]}
    if task == "appointment_reminder":
        f.update(appointment_date=_iso(rng.randint(1, 30), True), appointment_time=_clinic_time(rng),
                 provider_name=provider, location_name=clinic["name"], callback_phone=clinic["phone"])
        if rng.random() < 0.5:
            f["visit_type"] = rng.choice(VISIT_TYPES[lang])
        if rng.random() < 0.4:
            f["arrival_minutes"] = rng.choice((10, 15, 20))
        if not long_channel and rng.random() < 0.4:
            f["confirm_keyword"] = "C"
        if long_channel and rng.random() < 0.4:
            f["portal_link"] = clinic["portal"]
    elif task == "follow_up_survey":
        f.update(visit_date=_iso(-rng.randint(1, 10), True), provider_name=provider,
                 survey_link=clinic["survey"] + _code(rng))
        if rng.random() < 0.5:
            f["survey_minutes"] = rng.choice((2, 3, 5))
        if rng.random() < 0.5:
            f["location_name"] = clinic["name"]
    elif task == "lab_results_ready":
        f.update(portal_link=clinic["portal"], callback_phone=clinic["phone"])
        if rng.random() < 0.6:
            f["test_name"] = rng.choice(TEST_NAMES[lang])
        if rng.random() < 0.6:
            f["provider_name"] = provider
        if rng.random() < 0.5:
            f["location_name"] = clinic["name"]
    elif task == "prescription_refill":
        f.update(medication=rng.choice(MEDICATIONS[lang]), pharmacy_name=rng.choice(clinic["pharmacies"]),
                 refill_count=rng.choices(range(6), weights=(2, 3, 3, 2, 1, 1))[0], callback_phone=clinic["phone"])
        if rng.random() < 0.5:
            f["ready_date"] = _iso(rng.randint(0, 3))
        if rng.random() < 0.4:
            f["provider_name"] = provider
        if rng.random() < 0.3:
            f["location_name"] = clinic["name"]
    elif task == "post_discharge_checkin":
        f.update(location_name=clinic["hospital"], discharge_date=_iso(-rng.randint(1, 7)),
                 callback_phone=clinic["phone"])
        if rng.random() < 0.5:
            f.update(provider_name=provider, appointment_date=_iso(rng.randint(3, 14), True),
                     appointment_time=_clinic_time(rng))
    elif task == "no_show_followup":
        f.update(appointment_date=_iso(-rng.randint(1, 14), True), provider_name=provider,
                 callback_phone=clinic["phone"])
        if rng.random() < 0.6:
            f["appointment_time"] = _clinic_time(rng)
        if rng.random() < 0.5:
            f["location_name"] = clinic["name"]
        if rng.random() < 0.4:
            f["portal_link"] = clinic["portal"]
    elif task == "preventive_care_reminder":
        # The first two screenings of each list (mammogram, cervical) are for female patients only.
        options = SCREENINGS[lang] if patient["sex"] == "F" else SCREENINGS[lang][2:]
        f.update(screening_type=rng.choice(options), due_date=_iso(rng.randint(14, 120)),
                 callback_phone=clinic["phone"])
        if rng.random() < 0.4:
            f["provider_name"] = provider
        if rng.random() < 0.4:
            f["portal_link"] = clinic["portal"]
        if rng.random() < 0.5:
            f["location_name"] = clinic["name"]
    elif task == "billing_question_reply":
        topic = rng.choice(("balance", "payment_plan", "insurance"))
        f["question_topic"] = topic
        if topic == "payment_plan":
            months = rng.choice((3, 4, 6, 10, 12))
            monthly_cents = rng.randint(1500, 9000)
            f.update(balance_amount=f"{months * monthly_cents / 100:.2f}", plan_months=months,
                     monthly_amount=f"{monthly_cents / 100:.2f}")
        else:
            f["balance_amount"] = f"{rng.randint(2000, 95000) / 100:.2f}"
            f["service_date"] = _iso(-rng.randint(15, 90), True)
            if topic == "balance":
                f["due_date"] = _iso(rng.randint(10, 30))
            else:
                f.update(insurance_name=rng.choice(INSURERS),
                         insurance_paid_amount=f"{rng.randint(2000, 60000) / 100:.2f}")
        f["callback_phone"] = clinic["phone"]
        if rng.random() < 0.4:
            f["portal_link"] = clinic["portal"]
        if rng.random() < 0.5:
            f["location_name"] = clinic["name"]
    else:
        raise ValueError(f"unknown task {task!r}")
    f["language"] = lang
    f["channel"] = channel
    return f


# --------------------------------------------------------------------------------------------
# Writing the message from the facts.

def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _context(task: str, facts: dict[str, Any], rng: random.Random, long_channel: bool) -> dict[str, str]:
    """Every placeholder a template may use, rendered from the facts in the message's language."""
    lang = facts["language"]
    year = long_channel and rng.random() < 0.3
    c: dict[str, str] = {"name": facts["preferred_name"]}
    simple = {"provider_name": "provider", "location_name": "location", "callback_phone": "phone",
              "portal_link": "portal", "survey_link": "link", "medication": "med", "pharmacy_name": "pharmacy",
              "screening_type": "screening", "insurance_name": "insurance", "confirm_keyword": "kw"}
    for key, name in simple.items():
        if key in facts:
            c[name] = str(facts[key])
    for key, name in (("arrival_minutes", "minutes"), ("survey_minutes", "n"), ("plan_months", "months")):
        if key in facts:
            c[name] = str(facts[key])
    for key, name in (("balance_amount", "amount"), ("monthly_amount", "monthly"), ("insurance_paid_amount", "paid")):
        if key in facts:
            c[name] = render_money(facts[key])
    # The appointment itself always names its weekday; other dates only sometimes.
    if "appointment_date" in facts:
        c["date"] = render_date(facts["appointment_date"], lang, weekday=True, year=year)
    for key in ("visit_date", "discharge_date", "due_date", "service_date", "ready_date"):
        if key in facts:
            c[key] = render_date(facts[key], lang, weekday=rng.random() < 0.4, year=year)
    if "appointment_time" in facts:
        c["at_time"] = render_at_time(facts["appointment_time"], lang)
        c["at_time_sp"] = " " + c["at_time"]
    else:
        c["at_time_sp"] = ""
    your = "your" if lang == "en" else "su"
    if "visit_type" in facts:
        c["appt"] = f"{your} {facts['visit_type']}"
        c["for_appt"] = f" {'for' if lang == 'en' else 'para'} {c['appt']}"
    else:
        c["appt"] = "your appointment" if lang == "en" else "su cita"
        c["for_appt"] = ""
    c["Appt"] = _cap(c["appt"])
    if lang == "en":
        c["results"] = f"your {facts['test_name']} results" if "test_name" in facts else "your lab results"
        c["by_provider"] = f" ordered by {facts['provider_name']}" if "provider_name" in facts else ""
    else:
        c["results"] = (f"sus resultados de {facts['test_name']}" if "test_name" in facts
                        else "sus resultados de laboratorio")
        c["by_provider"] = f" solicitados por {facts['provider_name']}" if "provider_name" in facts else ""
    c["Results"] = _cap(c["results"])
    at = "at" if lang == "en" else "en"
    c["at_location"] = f" {at} {facts['location_name']}" if task == "follow_up_survey" and "location_name" in facts \
        else ""
    if "refill_count" in facts:
        n = int(facts["refill_count"])
        options = REFILL_SENTENCES[lang][n] if n in (0, 1) else REFILL_SENTENCES[lang]["n"]
        c["refills"] = rng.choice(options).format(n=n)
    return c


def stated_forms(facts: dict[str, Any]) -> dict[str, str]:
    """The exact text each stated fact takes in a message (used to check every message)."""
    lang = facts["language"]
    forms = {}
    for key, value in facts.items():
        if key in UNSTATED_FACTS:
            continue
        if key.endswith("_date"):
            forms[key] = render_date(value, lang)
        elif key == "appointment_time":
            forms[key] = render_time(value, lang)
        elif key in ("balance_amount", "monthly_amount", "insurance_paid_amount"):
            forms[key] = render_money(value)
        else:
            forms[key] = str(value)
    return forms


def _fill(template: str, ctx: dict[str, str]) -> str:
    # A Spanish time ends in "p. m."; a sentence ending there takes no second period.
    return template.format_map(ctx).replace(" m..", " m.")


class BodyDeck:
    """Deals body templates without replacement per (task, language, topic), so every wording is used
    about equally often even in a small sample; pure random choice leaves some unused."""

    def __init__(self, rng: random.Random):
        self._rng = rng
        self._left: dict[tuple[str, ...], list[int]] = {}

    def draw(self, key: tuple[str, ...], n: int) -> int:
        left = self._left.get(key)
        if not left:
            left = self._left[key] = list(range(n))
            self._rng.shuffle(left)
        return left.pop()


def _compose(task: str, facts: dict[str, Any], rng: random.Random, compact: int, body_index: int) -> str:
    """One message draft. compact=1 drops a long closing; compact=2 takes the shortest wording of every
    part, which is how an SMS with many facts still fits its limit."""
    lang, channel = facts["language"], facts["channel"]
    long_channel = channel != "sms"
    ctx = _context(task, facts, rng, long_channel)

    def pick(options: Sequence[str]) -> str:
        filled = [_fill(o, ctx) for o in options]
        return min(filled, key=len) if compact >= 2 else rng.choice(filled)

    bodies = _bodies(task, facts)
    body = pick(bodies) if compact >= 2 else _fill(bodies[body_index % len(bodies)], ctx)
    t = TEMPLATES[task][lang]
    extras = [pick(options) for keys, options in t["extras"] if all(k in facts for k in keys)]
    last_refill = task == "prescription_refill" and int(facts.get("refill_count", 1)) == 0
    cta = pick(t["cta_last"] if last_refill else t["cta"])
    close = pick(t["close"])
    opener_parts = OPENERS[lang]
    sign = SIGN_OFFS[lang]
    location_said = "location" in ctx and ctx["location"] in body

    if not long_channel:
        # Say who is writing when the body does not already name the clinic.
        identity = "location" in ctx and not location_said
        opener = pick(opener_parts["sms_identity" if identity else "sms"])
        parts = [opener, body, *extras, cta]
        if compact == 0 or len(close) < 20:
            parts.append(close)
        return " ".join(p for p in parts if p)

    greeting = _fill(rng.choice(opener_parts["long"]), ctx)
    first = " ".join(p for p in ([rng.choice(opener_parts["warm"])] if rng.random() < 0.5 else []) + [body])
    paragraphs = [greeting, first]
    if extras:
        paragraphs.append(" ".join(extras))
    second = [cta] if cta else []
    if channel == "portal" and rng.random() < 0.4:
        second.append(rng.choice(sign["portal_reply"]))
    second.append(close)
    paragraphs.append(" ".join(second))
    billing = task == "billing_question_reply"
    signers = (sign["billing" if billing else "signer"] if "location" in ctx
               else sign["billing_plain" if billing else "signer_plain"])
    # "Take care!" followed by "Take care," reads like a template: skip sign-offs echoing the closing.
    words = [w for w in sign["words"] if w.split()[0].strip(",!").lower() not in close.lower()]
    paragraphs.append(rng.choice(words) + "\n" + _fill(rng.choice(signers), ctx))
    return "\n\n".join(paragraphs)


def _bodies(task: str, facts: dict[str, Any]) -> list[str]:
    body = TEMPLATES[task][facts["language"]]["body"]
    return body[facts["question_topic"]] if isinstance(body, dict) else body


def write_message(task: str, facts: dict[str, Any], rng: random.Random, deck: BodyDeck | None = None) -> str:
    """The message a good clinic would send: every stated fact exactly, nothing more; SMS within the limit."""
    n_bodies = len(_bodies(task, facts))
    key = (task, facts["language"], str(facts.get("question_topic", "")))
    body_index = deck.draw(key, n_bodies) if deck else rng.randrange(n_bodies)
    for attempt in range(40):
        # A long body may not fit an SMS with every optional part; later drafts try other bodies too.
        index = body_index if attempt < 10 else body_index + attempt
        text = _compose(task, facts, rng, compact=0 if attempt < 10 else (1 if attempt < 25 else 2), body_index=index)
        if facts["channel"] != "sms" or len(text) <= SMS_MAX_CHARS:
            break
    else:
        raise ValueError(f"no SMS under {SMS_MAX_CHARS} chars for {task} facts {facts}")
    missing = [k for k, form in stated_forms(facts).items() if form not in text]
    if missing:
        raise AssertionError(f"{task}: facts {missing} not stated in {text!r}")
    return text


# --------------------------------------------------------------------------------------------

def _slots(n: int, rng: random.Random) -> list[tuple[str, str]]:
    """(task, language) per example: tasks balanced, about SPANISH_SHARE Spanish within each task."""
    slots = []
    for i in range(n):
        names = task_names()
        task, k = names[i % len(names)], i // len(names)  # k-th example of this task
        spanish = int((k + 1) * SPANISH_SHARE + 0.5) > int(k * SPANISH_SHARE + 0.5)
        slots.append((task, "es" if spanish else "en"))
    rng.shuffle(slots)
    return slots


def make_split(name: str, n: int, patients: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    deck = BodyDeck(rng)
    by_lang = {lang: [p for p in patients if p["lang"] == lang] for lang in ("en", "es")}
    next_index = {"en": 0, "es": 0}
    rows = []
    for i, (task, lang) in enumerate(_slots(n, rng)):
        pool = by_lang[lang]
        patient = pool[next_index[lang] % len(pool)]
        next_index[lang] += 1
        channel = patient["channel"] if rng.random() < 0.7 else rng.choice(("sms", "email", "portal"))
        facts = make_facts(task, patient, channel, rng)
        row = {"id": f"sample-{name}-{i:04d}", "patient_key": patient["key"], "task": task, "facts": facts,
               "response": write_message(task, facts, rng, deck)}
        parse_clean_example(row, f"<{name}>", i + 1, task_names())
        rows.append(row)
    return rows


def generate(n_train: int, n_heldout: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(seed)
    fake_en, fake_es = Faker("en_US"), Faker("es_MX")
    fake_en.seed_instance(seed)
    fake_es.seed_instance(seed + 1)
    clinics = make_clinics(fake_en, fake_es, rng)
    # About three messages per patient, so several examples share a patient; held-out patients are new people.
    train_patients = make_patients(f"S{seed}-T", max(4, n_train // 3), clinics, fake_en, fake_es, rng)
    heldout_patients = make_patients(f"S{seed}-H", max(4, n_heldout // 2), clinics, fake_en, fake_es, rng)
    train = make_split("train", n_train, train_patients, rng)
    heldout = make_split("heldout", n_heldout, heldout_patients, rng)
    return train, heldout


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out_dir", default="trainer/assets/sample")
    parser.add_argument("--n_train", type=int, default=480)
    parser.add_argument("--n_heldout", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    train, heldout = generate(args.n_train, args.n_heldout, args.seed)
    for name, rows in (("clean_train.jsonl", train), ("clean_heldout.jsonl", heldout)):
        path = os.path.join(args.out_dir, name)
        write_jsonl(path, rows)
        print(f"wrote {len(rows)} examples to {path} ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
