"""Clock times: am/pm, 24-hour, Spanish periods, bare 12-hour times."""
import pytest

from tests.facts.helpers import EN, ES, stated


@pytest.mark.parametrize("output,lang", [
    ("at 2:30 PM", EN), ("at 2:30pm", EN), ("at 2:30 p.m.", EN), ("14:30 h", ES), ("at 14:30", EN),
    ("a las 2:30 de la tarde", ES), ("a las 2 y media de la tarde", ES), ("las 2:30 pm", ES),
    ("see you at 2:30", EN),  # no am/pm: clinic messages rarely write it
])
def test_time_stated(output, lang):
    assert stated("appointment_time", "14:30", output, lang)


@pytest.mark.parametrize("output", [
    "at 2:30 AM", "at 3:30 PM", "at 12:30 PM", "at 14:45", "a las 2:30 de la mañana", "at 2 PM",
])
def test_time_not_stated(output):
    assert not stated("appointment_time", "14:30", output)


def test_bare_12_hour_time_can_be_required_to_say_pm():
    assert not stated("appointment_time", "14:30", "see you at 2:30", bare_12h_time_matches=False)
    assert stated("appointment_time", "14:30", "see you at 2:30 PM", bare_12h_time_matches=False)


@pytest.mark.parametrize("output", ["9 AM", "9:00 a.m.", "a las 9 de la mañana", "09:00", "at 9:00"])
def test_morning_time_stated(output):
    assert stated("appointment_time", "09:00", output, ES if "las" in output else EN)


def test_morning_time_not_stated_by_evening():
    assert not stated("appointment_time", "09:00", "at 9 PM")
    assert not stated("appointment_time", "09:00", "a las 9 de la noche", ES)
