"""Normalization rewrites formatting only: footers, signatures, HTML and quoted replies go, words stay."""
import pytest

from trainer.prepare import normalize


@pytest.mark.parametrize("raw,expected,stripped", [
    ("Your results are ready.\n\nSent from my iPhone", "Your results are ready.", "mobile_signature"),
    ("Gracias por su visita.\nEnviado desde mi iPhone", "Gracias por su visita.", "mobile_signature"),
    ("See you soon.\n\nGet Outlook for Android", "See you soon.", "mobile_signature"),
    ("Your refill is ready.\n\nCONFIDENTIALITY NOTICE: This e-mail, including attachments, is intended only for "
     "the named recipient and may contain privileged information.", "Your refill is ready.", "legal_footer"),
    ("Your refill is ready. This message and any attachments are confidential and intended solely for the "
     "addressee.", "Your refill is ready.", "legal_footer"),
    ("Thanks for letting us know!\n\nOn Mon, Mar 2, 2026 at 9:14 AM Jane <jane@example.com> wrote:\n> can I move my appt?",
     "Thanks for letting us know!", "quoted_reply"),
    ("We can see you Friday.\n-----Original Message-----\nFrom: patient\nSent: Monday", "We can see you Friday.", "quoted_reply"),
    ("Your visit is confirmed. Reply STOP to opt out. Msg&data rates may apply.", "Your visit is confirmed.", "sms_footer"),
    ("Thanks,\nDr. Lee\n--\nRiverside Clinic\nPhone: 555-201-3344\nFax: 555-201-3345", "Thanks,\nDr. Lee", "signature_block"),
    ("Thanks,\nThe care team\nPhone: 555-201-3344\nFax: 555-201-3345", "Thanks,\nThe care team", "signature_block"),
])
def test_normalize_strips_signatures_footers_and_replies(raw, expected, stripped):
    out = normalize.normalize_text(raw)
    assert out.text == expected
    assert stripped in out.stripped


@pytest.mark.parametrize("raw,expected", [
    ("It\u2019s \u201cready\u201d", "It's \"ready\""),  # curly quotes
    ("Room\u00a0\uff11\uff12, of\ufb01ce", "Room 12, office"),  # NBSP, full-width digits, ligature (NFKC)
    ("call\u200b us", "call us"),  # zero-width space
    ("Caf\u00c3\u00a9 on Main, it\u00e2\u20ac\u2122s open", "Café on Main, it's open"),  # UTF-8 read as cp1252
    ("Line one\\nLine two.", "Line one\nLine two."),  # a literal backslash-n from a double-escaped export
    ("Dear Ana,<br><br>Your results are ready &amp; reviewed.</p>", "Dear Ana,\n\nYour results are ready & reviewed."),
    ("We hope you are\nfeeling better and\nresting well.", "We hope you are feeling better and resting well."),
    ("Hi   there,\r\n\r\n\r\n\r\nSee you\t soon.  ", "Hi there,\n\nSee you soon."),
])
def test_normalize_formatting(raw, expected):
    assert normalize.normalize_text(raw).text == expected


@pytest.mark.parametrize("text", [
    "Please do not reply to this automated message. Call 555-201-3344 with questions.",
    "Take our 2-minute survey:\nhttps://rfm.example.org/s/8KQ2",
    "Reminder:\n- bring your insurance card\n- arrive 15 minutes early",
    "Questions? Call us at 555-201-3344.",
    "This message is intended only for Maria. If you are not Maria, please call 555-201-3344.",
])
def test_normalize_keeps_message_content(text):
    assert normalize.normalize_text(text).text == text
