"""Formatting normalization of clinic messages; it never changes a word.

`normalize_text` only deletes or rewrites formatting (Unicode, quotes, whitespace, HTML, mobile
signatures, quoted replies, confidentiality footers). Word-level repair is the typo fixer's job
(typos.py), which runs after de-identification.
"""
from __future__ import annotations

import dataclasses
import html
import re
import unicodedata

import ml_collections

from trainer.prepare import typos
from trainer.util import patterns


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.strip_html = True
    c.fix_mojibake = True
    c.strip_quoted_replies = True
    c.strip_mobile_signatures = True
    c.strip_signature_blocks = True  # "-- " delimiter and trailing Phone:/Fax:/URL-only lines
    c.strip_legal_footers = True
    c.strip_sms_footers = True  # "Reply STOP to opt out", "Msg&data rates may apply"
    c.unwrap_lines = True  # join hard-wrapped email lines inside a paragraph
    c.typo = typos.default_config()
    return c


# ---------------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------------

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HTML_TAG = re.compile(r"</?(?:p|br|div|span|b|i|u|strong|em|a|ul|ol|li|table|tr|td|th|html|head|body|font|"
                       r"h[1-6]|blockquote|img|hr|center|small)\b[^>]*>", re.I)
_HTML_BREAK = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6]|blockquote)>", re.I)
_HTML_ENTITY = re.compile(r"&(?:[a-z]{2,8}|#\d{2,5}|#x[0-9a-f]{2,4});", re.I)
_MOJIBAKE = re.compile("[\u00c3\u00c2][\u0080-\u00bf]|\u00e2\u20ac|\u00c3[\u00a0-\u00bf]")
_ESCAPED_NEWLINE = re.compile(r"\\r\\n|\\n|\\r")

_MOBILE_SIGNATURE = re.compile(
    r"^[ \t]*(?:"
    r"sent from my [\w' .\-]{2,40}|sent from (?:yahoo mail|aol|outlook|gmail|mail for windows|my mobile)[\w .\-]{0,30}|"
    r"sent (?:via|with|using) [\w .\-]{2,40}|get outlook for (?:ios|android)|"
    r"enviado desde mi [\w .\-]{2,40}|enviado desde (?:yahoo|outlook|gmail)[\w .\-]{0,30}|"
    r"obtener outlook para (?:ios|android)|"
    r"(?:please )?excuse (?:any )?(?:typos|brevity)[\w .,\-]{0,30}|"
    r"disculpe? (?:los )?errores[\w .,\-]{0,30}"
    r")[ \t.!]*$", re.I | re.M)

# Everything from one of these lines to the end is a quoted earlier message.
_REPLY_HEADER = re.compile(
    r"^[ \t]*(?:-{2,}\s*original message\s*-{2,}|-{2,}\s*mensaje original\s*-{2,}|_{10,}|"
    r"on\b[^\n]{0,200}\bwrote:|el\b[^\n]{0,200}\bescribi[oó]:|"
    r"from:[^\n]*\n[ \t]*(?:sent|date|to):|de:[^\n]*\n[ \t]*(?:enviado|fecha|para):|"
    r"begin forwarded message:|-{2,}\s*forwarded message\s*-{2,})",
    re.I | re.M)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*(?:\n|$)", re.M)

# A legal footer runs from its first words to the end of the message.
_LEGAL_FOOTER = re.compile(
    r"(?:^|(?<=[\n.!?])[ \t]*)(?:\**(?:confidentiality|privacy) notice|\**confidential(?:ity)?:|"
    r"privileged (?:and|&) confidential|\**disclaimer:|aviso de (?:confidencialidad|privacidad)|"
    r"this (?:e-?mail|message|communication|transmission|electronic mail)(?: message)?(?: and any (?:attachments?|files?|documents?)"
    r"(?: transmitted with it)?)?,? (?:(?:is|are|may be|contains?|and its contents are)\b[^\n]{0,80}?"
    r"(?:confidential|privileged|intended (?:only|solely|exclusively) for)|(?:is )?intended (?:only|solely|exclusively) for)|"
    r"the information (?:contained )?in this (?:e-?mail|message|communication|transmission)[^\n]{0,80}?(?:confidential|privileged|intended)|"
    r"if you (?:are not|have received this)[^\n]{0,60}?(?:intended recipient|in error)|"
    r"este (?:mensaje|correo)(?: electr[oó]nico)?[^\n]{0,80}?(?:confidencial|destinado [uú]nicamente)|"
    r"si usted no es el destinatario)",
    re.I)

_SMS_FOOTER = re.compile(
    r"[ \t]*(?:\(|\[)?(?:reply|text|txt|respond)\s+stop\s+(?:to\s+)?(?:opt[ -]?out|unsubscribe|cancel|end|quit|stop)[^.\n]*"
    r"(?:[.!]|$)(?:\)|\])?|"
    r"[ \t]*(?:\(|\[)?msg\s*(?:&|and)\s*data\s+rates\s+(?:may\s+)?apply[^.\n]*(?:[.!]|$)(?:\)|\])?|"
    r"[ \t]*(?:\(|\[)?(?:reply|text)\s+help\s+for\s+help[^.\n]*(?:[.!]|$)(?:\)|\])?|"
    r"[ \t]*(?:\(|\[)?responda\s+(?:stop|alto|baja)\s+para\s+[^.\n]*(?:[.!]|$)(?:\)|\])?|"
    r"[ \t]*(?:\(|\[)?(?:se\s+)?pueden?\s+aplicar\s+(?:tarifas|cargos)\s+(?:de\s+)?mensajes?[^.\n]*(?:[.!]|$)(?:\)|\])?",
    re.I)

_SIG_DELIMITER = re.compile(r"^-- ?$", re.M)
# Signature contact lines: labelled ("Phone: ...", "Fax: ...") or several contacts joined by "|".
# A bare URL or phone line stays: it is often the message's point (a survey link).
_CONTACT_ITEM = r"(?:[(+]?\d[\d().\s\-]{6,}\d(?:\s*(?:ext\.?|x)\s*\d+)?|" + patterns.LINK_OR_EMAIL_TOKEN + ")"
_CONTACT_LINE = re.compile(
    r"^[ \t]*(?:(?:phone|tel|telephone|fax|ph|office|cell|mobile|direct|main|email|e-mail|web|website|"
    r"tel[eé]fono|correo)\s*[:.]\s*\S.*|"
    + _CONTACT_ITEM + r"(?:\s*[|/;\u2022]\s*" + _CONTACT_ITEM + r")+|"
    r"[^\n|]{0,60}\|[^\n]*(?:\d{3}[\s.\-]\d{4}|www\.|https?://|@)[^\n]*)[ \t]*$",
    re.I)


@dataclasses.dataclass
class Normalized:
    text: str
    stripped: list[str]  # what was removed, e.g. ["mobile_signature", "legal_footer"]


_CP1252_HIGH = "\u20ac\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u017d\u2018\u2019" \
               "\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u017e\u0178"
_MOJIBAKE_RUN = re.compile(f"[\u00c2-\u00f4][\u0080-\u00bf{_CP1252_HIGH}]{{1,3}}")


def _fix_mojibake(text: str) -> str:
    """Undoes UTF-8 read as cp1252 ("CafÃ©" -> "Café", "itâ€™s" -> "it’s") run by run, so one
    stray real curly quote elsewhere does not block the repair."""
    if not _MOJIBAKE.search(text):
        return text

    def repair(m: re.Match) -> str:
        try:
            return m.group(0).encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return m.group(0)

    return _MOJIBAKE_RUN.sub(repair, text)


def _strip_html(text: str) -> str:
    if _HTML_TAG.search(text):
        text = _HTML_BREAK.sub("\n", text)
        text = re.sub(r"<a\b[^>]*href=\"([^\"]+)\"[^>]*>\s*\1\s*</a>", r"\1", text, flags=re.I)
        text = _HTML_TAG.sub("", text)
    if _HTML_ENTITY.search(text):
        text = html.unescape(text)
    return text


def _unwrap(text: str) -> str:
    """Joins a line to the next when the break is a hard wrap, not a sentence or list break."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        if (out and out[-1] and line and line[0].islower() and not re.search(r"[.!?:;,]$", out[-1])
                and not re.match(r"^\s*(?:[-*\u2022]|\d+[.)])\s", line)):
            out[-1] = out[-1] + " " + line
        else:
            out.append(line)
    return "\n".join(out)


def _strip_trailing_contact_lines(text: str) -> tuple[str, bool]:
    lines = text.rstrip().split("\n")
    n = len(lines)
    while len(lines) > 1 and _CONTACT_LINE.match(lines[-1]):
        lines.pop()
    return "\n".join(lines), len(lines) < n


def _tidy_whitespace(text: str) -> str:
    text = text.replace("\t", " ")
    text = re.sub(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def normalize_text(text: str, cfg: ml_collections.ConfigDict | None = None) -> Normalized:
    """Formatting-only cleanup; returns the text and the list of parts it removed."""
    cfg = cfg or default_config()
    stripped: list[str] = []
    if cfg.fix_mojibake:
        text = _fix_mojibake(text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text and _ESCAPED_NEWLINE.search(text):
        text = _ESCAPED_NEWLINE.sub("\n", text)  # double-escaped exports write a literal "\n"
    if cfg.strip_html:
        text = _strip_html(text)
    text = text.translate(_QUOTES)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text)
    if cfg.strip_quoted_replies:
        m = _REPLY_HEADER.search(text)
        if m and text[:m.start()].strip():
            text = text[:m.start()]
            stripped.append("quoted_reply")
        new = _QUOTED_LINE.sub("", text)
        if new != text and new.strip():
            text = new
            stripped.append("quoted_reply")
    if cfg.strip_mobile_signatures:
        new = _MOBILE_SIGNATURE.sub("", text)
        if new != text:
            text = new
            stripped.append("mobile_signature")
    if cfg.strip_legal_footers:
        m = _LEGAL_FOOTER.search(text)
        # Only a footer: "This message is intended only for Maria..." opening a text is content.
        if m and len(text[:m.start()].strip()) >= 10:
            text = text[:m.start()]
            stripped.append("legal_footer")
    if cfg.strip_sms_footers:
        new = _SMS_FOOTER.sub("", text)
        if new != text:
            text = new
            stripped.append("sms_footer")
    if cfg.strip_signature_blocks:
        m = _SIG_DELIMITER.search(text)
        if m and text[:m.start()].strip():
            text = text[:m.start()]
            stripped.append("signature_block")
        text, cut = _strip_trailing_contact_lines(_tidy_whitespace(text))
        if cut:
            stripped.append("signature_block")
    text = _tidy_whitespace(text)
    if cfg.unwrap_lines:
        text = _unwrap(text)
    return Normalized(text, sorted(set(stripped), key=stripped.index))


