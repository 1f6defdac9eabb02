"""Contact recognizers: e-mail, web and IP addresses, phone and fax numbers."""
import pytest

from tests.deid.helpers import covered, found
from trainer.deid.recognizers import Context
from trainer.deid.recognizers.contact import EmailRecognizer, IpRecognizer, PhoneRecognizer, UrlRecognizer


@pytest.mark.parametrize("phone", [
    "555 - 123  4567", "( 555 )1234567", "(555) 123-4567", "555.123.4567", "5551234567",
    "+1 555 123 4567", "1-555-123-4567", "(541)-555-0199", "555-123-4567 ext 22",
    "five five five one two three four five six seven",
])
def test_phone_numbers_with_odd_spacing(deid, phone):
    text = f"call me at {phone} after 5"
    spans = deid.find(text)
    assert [s.type for s in spans] == ["PHONE"]
    assert covered(deid, text, phone)


def test_fax_is_told_from_phone(deid):
    assert found(deid, "fax it to (503) 555-0123 please") == [("(503) 555-0123", "FAX")]


@pytest.mark.parametrize("text,kind,value", [
    ("email xochitl.ramos77@gmail.com", "EMAIL", "xochitl.ramos77@gmail.com"),
    ("login at https://mychart.example.org/login?user=ml88", "URL", "https://mychart.example.org/login?user=ml88"),
    ("from 10.24.8.119 at work", "IP", "10.24.8.119"),
])
def test_identifier_kinds_with_context(deid, text, kind, value):
    assert (value, kind) in found(deid, text)


def _found(recognizer, text, rules):
    return [(s.text, s.type) for s in recognizer.find(text, Context(rules))]


def test_a_written_out_email_needs_its_at(rules):
    assert _found(EmailRecognizer(), "mail maria at gmail dot com", rules) == [("maria at gmail dot com", "EMAIL")]
    assert _found(EmailRecognizer(), "see clinic dot com", rules) == []


def test_urls_are_not_email_domains_or_version_numbers(rules):
    text = "maria@gmail.com v4.6.2 see riversideclinic.org/survey"
    assert _found(UrlRecognizer(), text, rules) == [("riversideclinic.org/survey", "URL")]


def test_ip_addresses_but_not_clock_times(rules):
    text = "at 12:30:45 from fe80:0:0:0:202:b3ff:fe1e:8329 and 10.0.0.7"
    assert _found(IpRecognizer(), text, rules) == [("10.0.0.7", "IP"), ("fe80:0:0:0:202:b3ff:fe1e:8329", "IP")]


def test_a_phone_word_after_fax_makes_it_a_phone(rules):
    assert _found(PhoneRecognizer(), "fax or call 503-555-0123", rules) == [("503-555-0123", "PHONE")]
    assert _found(PhoneRecognizer(), "fax 503-555-0199", rules) == [("503-555-0199", "FAX")]
    assert _found(PhoneRecognizer(), "my cel 555 0142", rules) == [("555 0142", "PHONE")]
