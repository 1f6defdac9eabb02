"""Contact-detail patterns on what patients and clinics actually write."""
import pytest

from trainer.util.patterns import EMAIL_RE, PHONE_INTL_RE, PHONE_RE, URL_RE


@pytest.mark.parametrize("text,email", [
    ("email xochitl.ramos77@gmail.com please", "xochitl.ramos77@gmail.com"),
    ("send to maria @ yahoo.com.mx gracias", "maria @ yahoo.com.mx"),
    ("Email: Maria.Lopez+clinic@health-partners.org.", "Maria.Lopez+clinic@health-partners.org"),
])
def test_email(text, email):
    assert [m.group(0) for m in EMAIL_RE.finditer(text)] == [email]


@pytest.mark.parametrize("text,urls", [
    ("login at https://mychart.example.org/login?user=ml88 today", ["https://mychart.example.org/login?user=ml88"]),
    ("survey: riversideclinic.org/survey/12 (2 min)", ["riversideclinic.org/survey/12"]),
    ("see www.example.com.", ["www.example.com."]),  # callers trim the sentence's dot
    ("write to maria@gmail.com", []),  # an e-mail's domain is no web address
    ("BP 120/80, A1c 7.2", []),
])
def test_url(text, urls):
    assert [m.group(0) for m in URL_RE.finditer(text)] == urls


@pytest.mark.parametrize("phone", [
    "555 - 123  4567", "( 555 )1234567", "(555) 123-4567", "555.123.4567", "5551234567",
    "+1 555 123 4567", "1-555-123-4567", "(541)-555-0199", "555-123-4567 ext 22",
])
def test_phone_in_any_spacing(phone):
    assert [m.group(0) for m in PHONE_RE.finditer(f"call me at {phone} after 5")] == [phone]


def test_phone_needs_ten_digits_and_intl_numbers_need_a_country_code():
    assert PHONE_RE.search("call 555-0142 or 12345") is None
    assert PHONE_RE.search("ref 123456789012") is None
    assert [m.group(0) for m in PHONE_INTL_RE.finditer("cel +52 33 1234 5678 o 33 1234 5678")] == ["+52 33 1234 5678"]
