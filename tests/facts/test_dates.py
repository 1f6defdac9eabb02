"""Dates in natural wording, English and Spanish; the calendar words behind them."""
import pytest

from tests.facts.helpers import EN, ES, stated
from trainer import facts as F
from trainer.facts import dates
from trainer.util import calendar


@pytest.mark.parametrize("output,lang", [
    ("See you Oct 3 at the clinic.", EN),
    ("Your visit is on October 3rd.", EN),
    ("Appointment: 10/03", EN),
    ("Appt 10/3/26 w/ Dr. Chen", EN),
    ("We'll see you Saturday, October 3.", EN),
    ("Sat, Oct. 3, 2026 at 2:30 PM", EN),
    ("on the 3rd of October", EN),
    ("date: 2026-10-03", EN),
    ("SEE YOU OCT 3!", EN),
    ("Su cita es el 3 de octubre.", ES),
    ("Le esperamos el sábado 3 de octubre.", ES),
    ("el sábado, 3 de octubre de 2026, a las 2:30 pm", ES),
    ("Fecha: 03/10/2026", ES),
    ("Cita: 3 de oct. a las 14:30 h", ES),
    ("Cita el sáb. 3/10 a las 2:30 pm", ES),
])
def test_date_stated_in_natural_wording(output, lang):
    assert stated("appointment_date", "2026-10-03", output, lang)


@pytest.mark.parametrize("output,lang", [
    ("See you Oct 4.", EN),                     # another day
    ("See you Oct 30.", EN),                    # a prefix of the day is not the day
    ("We'll see you Friday, October 3.", EN),   # weekday contradicts the date
    ("October 3, 2025", EN),                    # wrong year
    ("Appointment: 10/04", EN),
    ("Appointment: 03/10", EN),                 # US order: March 10
    ("Su cita es el 13 de octubre.", ES),
    ("Su cita es el 3 de noviembre.", ES),
    ("Fecha: 10/03", ES),                       # Spanish order: 10 March
    ("See you Saturday!", EN),                  # consistent, but does not state the date
])
def test_date_not_stated(output, lang):
    assert not stated("appointment_date", "2026-10-03", output, lang)


def test_numeric_date_order_is_configurable():
    assert stated("appointment_date", "2026-10-03", "Fecha: 10/03", ES, numeric_date_order={"en": "MD", "es": "MD"})


def test_fraction_and_slogan_are_not_dates():
    assert F.find_dates("Take 1/2 tablet daily. Our nurse line is open 24/7.") == []


def test_month_and_weekday_words_come_from_the_shared_calendar():
    assert dates.MONTH_OF == calendar.MONTH_NUMBER
    # Folded weekday names and abbreviations, plus the Spanish three-letter ones except "mar"
    # (March, in a date).
    assert set(dates.WEEKDAY_OF) == {
        "monday", "mon", "lunes", "lun", "tuesday", "tues", "tue", "martes", "wednesday", "wed", "miercoles",
        "mie", "thursday", "thurs", "thur", "thu", "jueves", "jue", "friday", "fri", "viernes", "vie",
        "saturday", "sat", "sabado", "sab", "sunday", "sun", "domingo", "dom"}
    assert dates.WEEKDAY_OF["miercoles"] == 2 and dates.WEEKDAY_OF["sab"] == 5
    assert F.find_dates("mar 3 de marzo")[0].weekday is None


def test_weekday_ranges_in_free_text_facts():
    assert F.fact_weekdays("Mon-Fri 8am-5pm") == {0, 1, 2, 3, 4}
    assert F.fact_weekdays("de lunes a miércoles") == {0, 1, 2}
    assert F.fact_weekdays("Sat") == {5}
