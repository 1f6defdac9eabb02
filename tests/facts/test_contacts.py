"""Phone numbers in any format; URLs stated exactly."""
import pytest

from tests.facts.helpers import stated
from trainer import facts as F


@pytest.mark.parametrize("output", [
    "Call (555) 123-4567.", "Call 555.123.4567", "Call +1 555 123 4567", "Call 1-555-123-4567",
    "Call 5551234567 today", "Llame al 555 123 4567.",
])
def test_phone_stated_in_any_format(output):
    assert stated("callback_phone", "555-123-4567", output)


@pytest.mark.parametrize("output", [
    "Call 555-123-4568.", "Call (555) 123-456.", "Call 555-123-45678.", "Call (556) 123-4567.",
])
def test_phone_not_stated(output):
    assert not stated("callback_phone", "555-123-4567", output)


def test_url_is_exact():
    url = "https://clinic.example.org/s/abc"
    assert stated("survey_link", url, f"Take the survey at {url}.")
    assert stated("survey_link", url, f"Survey: {url}")
    assert not stated("survey_link", url, f"Take the survey at {url}d")
    assert not stated("survey_link", url, "Take the survey at http://clinic.example.org/s/abc")
    assert not stated("survey_link", url, "Take the survey at clinic.example.org/s/abc")


def test_urls_and_emails_do_not_overlap():
    text = "Write to billing@clinic.example.org or visit clinic.example.org/pay."
    assert [m.value for m in F.find_emails(text)] == ["billing@clinic.example.org"]
    assert [m.value for m in F.find_urls(text)] == ["clinic.example.org/pay"]
