"""Relevance filter: decides whether a raw message is a training target, and if not, why.

Each check returns a short reason code (counted in the prepare report) plus a detail for the
ledger. Rules are deliberately phrase-level: a clinic reminder that *says* "Reply STOP to opt
out" or "Please do not reply" is a real message; a message that *is* "STOP" is not.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Mapping

import ml_collections

from trainer import tasks
from trainer.util.language import detect_language, words_of

# Reason codes.
INBOUND = "inbound"
INTERNAL = "internal"
UNKNOWN_DIRECTION = "unknown_direction"
NO_TASK = "no_task"
UNKNOWN_TASK = "unknown_task"
EMPTY = "empty"
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
STOP_REQUEST = "stop_request"
AUTO_REPLY = "auto_reply"
SYSTEM_NOTICE = "system_notice"
SPAM = "spam"
WRONG_LANGUAGE = "wrong_language"
LANGUAGE_MISMATCH = "language_mismatch"
UNFILLED_TEMPLATE = "unfilled_template"


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # Training targets are what the clinic sends; patient messages are inputs, not targets.
    c.directions = ("outbound",)
    c.missing_direction = "keep"  # keep | drop: records without a direction (outbound-only exports)
    c.unknown_direction = "drop"  # keep | drop: a direction value we do not recognize
    c.tasks = tasks.task_names()
    c.task_aliases = ml_collections.ConfigDict(tasks.aliases())  # plus a clinic's own names
    c.min_chars = 15
    c.min_words = 4
    c.max_chars = 3000
    # Raw text past this length is dropped before normalization: per-character work on a 50 MB
    # line (a mangled export) took 20 minutes to reach the max_chars verdict.
    c.max_raw_chars = 30000
    c.languages = ("en", "es")  # empty tuple: any language
    c.check_language_match = True  # drop when facts.language says es but the text is English, etc.
    c.spam_threshold = 2.0
    return c


# ---------------------------------------------------------------------------------------------
# Direction and task
# ---------------------------------------------------------------------------------------------

_OUTBOUND = {"outbound", "out", "outgoing", "sent", "send", "to_patient", "clinic_to_patient", "clinic",
             "provider", "o", "mt", "from_clinic", "clinic->patient", "saliente", "enviado"}
_INBOUND = {"inbound", "in", "incoming", "received", "receive", "from_patient", "patient_to_clinic",
            "patient", "i", "mo", "to_clinic", "patient->clinic", "entrante", "recibido"}
_INTERNAL = {"internal", "note", "staff_note", "staff", "system", "interno", "nota"}


def normalize_direction(value: str | None) -> str | None:
    """'OUT', 'Sent', 'clinic_to_patient' -> 'outbound'; staff notes -> 'internal'; unknown -> None."""
    if value is None:
        return None
    v = re.sub(r"[\s\-]+", "_", value.strip().casefold())
    if v in _OUTBOUND:
        return "outbound"
    if v in _INBOUND:
        return "inbound"
    if v in _INTERNAL:
        return "internal"
    return None


def normalize_task(value: str | None, cfg: ml_collections.ConfigDict) -> str | None:
    if value is None:
        return None
    v = re.sub(r"[\s\-/]+", "_", value.strip().casefold())
    return dict(cfg.task_aliases).get(v, v) if v else None


_CHANNELS = {"sms": "sms", "text": "sms", "txt": "sms", "text_message": "sms", "mms": "sms",
             "email": "email", "e_mail": "email", "mail": "email",
             "portal": "portal", "patient_portal": "portal", "mychart": "portal", "secure_message": "portal",
             "inbasket": "portal", "app": "portal"}


def normalize_channel(value: str | None) -> str | None:
    if value is None:
        return None
    v = re.sub(r"[\s\-]+", "_", value.strip().casefold())
    return _CHANNELS.get(v, v or None)


# ---------------------------------------------------------------------------------------------
# Irrelevant-message patterns
# ---------------------------------------------------------------------------------------------

# The whole message is an opt-out keyword (carrier keywords, English and Spanish).
_STOP_ONLY = re.compile(
    r"^\W*(?:stop(?:\s*all)?|unsubscribe|cancel|end|quit|opt\s*-?\s*out|stopall|remove(?:\s+me)?|"
    r"alto|parar|baja|cancelar|detener|no\s+m[aá]s)\W*$", re.I)
_STOP_PHRASE = re.compile(
    r"\b(?:stop\s+(?:texting|messaging|sending|contacting)|unsubscribe\s+me|remove\s+me\s+from|take\s+me\s+off|"
    r"no\s+more\s+(?:texts|messages|emails)|do\s+not\s+(?:text|contact|message)\s+me|don'?t\s+(?:text|contact)\s+me|"
    r"dejen\s+de\s+(?:enviar|mandar|escribir)|no\s+me\s+(?:env[ií]en|manden|escriban))\b", re.I)

_AUTO_REPLY = re.compile(
    r"\b(?:out\s+of\s+(?:the\s+)?office|automatic\s+reply|auto[\s\-]?reply|autoreply|auto[\s\-]?response|"
    r"i\s+am\s+(?:currently\s+)?(?:away|out)\s+(?:from|of|until|on)|i\s+will\s+be\s+(?:out|away)\s+(?:of|from|until)|"
    r"with\s+limited\s+access\s+to\s+(?:e-?mail|my\s+e-?mail)|respuesta\s+autom[aá]tica|fuera\s+de\s+la\s+oficina|"
    r"estar[eé]\s+fuera\s+(?:de|hasta))\b", re.I)

_SYSTEM_NOTICE = re.compile(
    r"\b(?:delivery\s+status\s+notification|undeliverable|mail\s+delivery\s+(?:subsystem|failed|failure)|"
    r"mailer-daemon|postmaster@|message\s+(?:could\s+not|was\s+not|cannot)\s+be\s+delivered|"
    r"(?:failed|unable)\s+to\s+deliver|delivery\s+(?:has\s+)?failed|"
    r"your\s+(?:verification|security|one[\s\-]?time|login)\s+(?:code|passcode|pin)\s+is|"
    r"password\s+(?:reset|has\s+been\s+(?:changed|reset))|reset\s+your\s+password|"
    r"(?:is|was)\s+not\s+a\s+valid\s+(?:mobile\s+|phone\s+)?number|carrier\s+(?:rejected|blocked)|"
    r"you\s+have\s+(?:been\s+)?(?:successfully\s+)?(?:unsubscribed|opted\s+out)|"
    r"you\s+will\s+(?:no\s+longer|not)\s+receive\s+(?:any\s+)?(?:more\s+)?(?:text|sms|messages)|"
    r"scheduled\s+(?:system\s+)?maintenance|system\s+(?:outage|maintenance)|"
    r"(?:would\s+like\s+to\s+)?recall(?:ed)?\s+the\s+message|read\s+receipt|"
    r"(?:image|photo|attachment|media)\s+(?:omitted|removed|not\s+supported)|"
    r"this\s+is\s+a\s+test(?:\s+message)?\b|^\s*test(?:ing)?\s*\d*\s*$|"
    r"ha\s+cancelado\s+(?:su|la)\s+suscripci[oó]n|c[oó]digo\s+de\s+verificaci[oó]n)", re.I | re.M)

# (pattern, weight): two weak cues or one strong one make spam.
_SPAM_CUES = [
    (re.compile(r"\bcongratulations?\b|\bfelicidades\b", re.I), 1.0),
    (re.compile(r"\byou(?:'ve|\s+have)\s+(?:won|been\s+(?:selected|chosen|approved))\b|\bha\s+ganado\b", re.I), 2.0),
    (re.compile(r"\bclaim\s+(?:your|now)\b|\breclam[ae]\s+su\b", re.I), 1.5),
    (re.compile(r"\b(?:gift\s*card|cash\s+prize|lottery|sweepstakes?|jackpot|casino)\b", re.I), 1.5),
    (re.compile(r"\bfree\s+(?:iphone|gift|money|cash|trial|vacation|cruise)\b", re.I), 1.5),
    (re.compile(r"\b(?:limited\s+time\s+offer|act\s+now|order\s+now|buy\s+now|100%\s+free|risk[\s\-]free)\b", re.I), 1.0),
    (re.compile(r"\bclick\s+(?:here|the\s+link|below)\b", re.I), 1.0),
    (re.compile(r"\b(?:bitcoin|crypto(?:currency)?|forex|nft|investment\s+opportunity)\b", re.I), 1.5),
    (re.compile(r"\b(?:cheap|discount|generic)\s+(?:viagra|cialis|meds|pills|medications?)\b|"
                r"\bno\s+prescription\s+(?:needed|required)\b", re.I), 2.0),
    (re.compile(r"\b(?:lose\s+\d+\s*(?:lbs|pounds)|weight\s+loss\s+(?:secret|miracle)|miracle\s+cure)\b", re.I), 1.5),
    (re.compile(r"\b(?:work\s+from\s+home|earn\s+\$\s?\d+|make\s+money|extra\s+income)\b", re.I), 1.5),
    (re.compile(r"\b(?:pre-?approved|debt\s+relief|credit\s+repair|payday\s+loan|low\s+interest\s+loan)\b", re.I), 1.5),
    (re.compile(r"\b(?:verify|confirm|update)\s+your\s+(?:bank|account|billing|payment)\s+(?:details|information|info)\b", re.I), 1.0),
    (re.compile(r"\b(?:hot\s+singles|dating\s+site|meet\s+singles|adult\s+content)\b", re.I), 2.0),
    (re.compile(r"\b(?:wire\s+transfer|western\s+union|moneygram)\b", re.I), 1.0),
    (re.compile(r"\b(?:bit\.ly|tinyurl\.com|goo\.gl|t\.co|rb\.gy)/", re.I), 0.5),
    (re.compile(r"\${2,}|!{3,}"), 0.5),
    (re.compile(r"\bguaranteed\b|\bwinner\b", re.I), 1.0),
]

# Template variables a sending system failed to fill: {first_name}, {{appt_date}}, <<NAME>>, %NAME%.
_UNFILLED = re.compile(r"\{\{?\s*[A-Za-z_][\w.]*\s*\}?\}|<<\s*[A-Za-z_]\w*\s*>>|%[A-Z_]{3,}%|\$\{[A-Za-z_]\w*\}")


def spam_score(text: str) -> tuple[float, list[str]]:
    score, hits = 0.0, []
    for pattern, weight in _SPAM_CUES:
        m = pattern.search(text)
        if m:
            score += weight
            hits.append(m.group(0).strip())
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 0.5
        hits.append("ALL CAPS")
    return score, hits


@dataclasses.dataclass
class FilterResult:
    reason: str | None  # None: keep
    detail: str = ""
    language: str = "unknown"
    language_confidence: float = 0.0


def check_message(text: str, fields: Mapping[str, Any], facts: Mapping[str, Any],
                  cfg: ml_collections.ConfigDict) -> FilterResult:
    """Runs every relevance check on a normalized message; the first failing one names the reason."""
    stripped = text.strip()
    if not stripped:
        return FilterResult(EMPTY)
    n_words = len(words_of(stripped))
    if _STOP_ONLY.match(stripped):
        return FilterResult(STOP_REQUEST, "opt-out keyword")
    m = _STOP_PHRASE.search(stripped) if n_words <= 12 else None
    if m:
        return FilterResult(STOP_REQUEST, m.group(0))  # the phrase only: details never quote the message
    m = _SYSTEM_NOTICE.search(stripped)
    if m:
        return FilterResult(SYSTEM_NOTICE, m.group(0))
    m = _AUTO_REPLY.search(stripped)
    if m:
        return FilterResult(AUTO_REPLY, m.group(0))
    score, hits = spam_score(stripped)
    if score >= cfg.spam_threshold:
        return FilterResult(SPAM, f"score {score:g}: {', '.join(hits)}")
    raw_direction = fields.get("direction")
    direction = normalize_direction(raw_direction)
    if raw_direction is None or not str(raw_direction).strip():
        if cfg.missing_direction == "drop":
            return FilterResult(UNKNOWN_DIRECTION, "direction missing")
    elif direction is None:
        if cfg.unknown_direction == "drop":
            return FilterResult(UNKNOWN_DIRECTION, f"direction {raw_direction!r}")
    elif direction not in cfg.directions:
        return FilterResult(direction, f"direction {raw_direction!r}")

    task = normalize_task(fields.get("task"), cfg)
    if task is None:
        return FilterResult(NO_TASK, "task missing")
    if cfg.tasks and task not in cfg.tasks:
        return FilterResult(UNKNOWN_TASK, f"task {fields.get('task')!r}")

    if len(stripped) < cfg.min_chars or n_words < cfg.min_words:
        return FilterResult(TOO_SHORT, f"{n_words} words, {len(stripped)} chars")
    if len(stripped) > cfg.max_chars:
        return FilterResult(TOO_LONG, f"{len(stripped)} chars")
    m = _UNFILLED.search(stripped)
    if m:
        return FilterResult(UNFILLED_TEMPLATE, m.group(0))

    lang, conf = detect_language(stripped)
    if cfg.languages and lang != "unknown" and lang not in cfg.languages and conf >= 0.3:
        return FilterResult(WRONG_LANGUAGE, f"detected {lang} ({conf:.2f})", lang, conf)
    want = str(facts.get("language", "")).strip().casefold()[:2]
    if (cfg.check_language_match and want and lang != "unknown" and lang != want and conf >= 0.3):
        return FilterResult(LANGUAGE_MISMATCH, f"facts.language={want}, text is {lang} ({conf:.2f})", lang, conf)
    return FilterResult(None, "", lang, conf)
