"""Clock times in English and Spanish messages: "2:30 PM", "14:30 h", "a las 2 y media de la tarde"."""
from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any

from trainer.facts.text import fold_aligned

_AMPM = r"(?P<ampm>a\.?\s?m\b\.?|p\.?\s?m\b\.?)"
_PERIOD = (r"(?P<period>de la manana|de la madrugada|de la tarde|de la noche|del mediodia|del dia|"
           r"in the morning|in the afternoon|in the evening|at night|en punto)")
_H24 = r"(?P<h24>h\b|hrs\b|hs\b|horas\b|hours\b)"
_HALF = r"(?:\s+y\s+(?P<frac>media|cuarto))"


def _nc(pattern: str) -> str:
    """The pattern with its named groups made non-capturing (for look-aheads)."""
    return re.sub(r"\?P<\w+>", "?:", pattern)


_TIME_PATTERNS = [
    # 2:30 PM, 14:30 h, 2:30 de la tarde, 14.30 h (a dot needs a marker: "120.50" is money)
    re.compile(rf"(?<![\d:.$/,])(?P<h>\d{{1,2}}):(?P<m>[0-5]\d)(?![\d:])(?:\s*(?:{_AMPM}|{_H24}|{_PERIOD}))?"),
    re.compile(rf"(?<![\d:.$/,])(?P<h>\d{{1,2}})\.(?P<m>[0-5]\d)(?![\d.])\s*(?:{_AMPM}|{_H24})"),
    # 2 PM, 2pm; "at 2 in the afternoon" (not "take 2 in the morning": that is a dose)
    re.compile(rf"(?<![\d:.$/,])(?P<h>\d{{1,2}})(?![\d:.])\s*(?:o'?clock\s*)?{_AMPM}"),
    re.compile(rf"\bat\s+(?P<h>\d{{1,2}})(?![\d:.])\s*(?:o'?clock\s*)?{_PERIOD}"),
    # a las 2 (y media) (de la tarde), a la 1; without "a" a marker is needed ("las 2 dosis")
    re.compile(rf"\ba\s+las?\s+(?P<h>\d{{1,2}})(?![\d:.]){_HALF}?(?:\s*(?:{_AMPM}|{_PERIOD}))?"),
    re.compile(rf"\blas?\s+(?P<h>\d{{1,2}})(?![\d:.])(?={_nc(_HALF)}|\s*(?:{_nc(_AMPM)}|{_nc(_PERIOD)}))"
               rf"{_HALF}?(?:\s*(?:{_AMPM}|{_PERIOD}))?"),
    re.compile(r"\b(?P<word>noon|midday|mediodia|midnight|medianoche)\b"),
]


@dataclasses.dataclass(frozen=True)
class TimeMention:
    text: str
    start: int
    hour: int  # 0-23; for an ambiguous mention the 12-hour reading (1-12)
    minute: int
    ambiguous: bool  # no am/pm or 24h marker: "2:30" may be 2:30 or 14:30


def find_times(text: str) -> list[TimeMention]:
    """Clock-time mentions: "2:30 PM", "14:30 h", "a las 2 y media de la tarde", "noon"."""
    text = unicodedata.normalize("NFC", text)
    folded = fold_aligned(text)
    taken: list[tuple[int, int]] = []
    found: list[TimeMention] = []
    for pattern in _TIME_PATTERNS:
        for m in pattern.finditer(folded):
            if any(not (m.end() <= a or m.start() >= b) for a, b in taken):
                continue
            g = m.groupdict()
            if g.get("word"):
                hour, minute, ambiguous = (12 if g["word"] in ("noon", "midday", "mediodia") else 0), 0, False
            else:
                hour = int(g["h"])
                minute = int(g["m"]) if g.get("m") else {"media": 30, "cuarto": 15}.get(g.get("frac") or "", 0)
                if hour > 23:
                    continue
                ampm, period = (g.get("ampm") or ""), (g.get("period") or "")
                pm = ampm.startswith("p") or period in ("de la tarde", "de la noche", "in the afternoon",
                                                       "in the evening", "at night")
                am = ampm.startswith("a") or period in ("de la manana", "de la madrugada", "in the morning")
                noonish = period == "del mediodia"
                if (pm or am or noonish) and not 1 <= hour <= 12:
                    if hour > 12 and pm:  # "14:30 pm": redundant but clear
                        pm = False
                    elif hour == 0 and am:
                        pass
                    else:
                        continue
                if pm and hour < 12:
                    hour += 12
                elif am and hour == 12:
                    hour = 0
                explicit = pm or am or noonish or bool(g.get("h24")) or hour == 0 or hour > 12 or \
                    (g.get("h") or "").startswith("0")
                ambiguous = not explicit
            taken.append((m.start(), m.end()))
            said = text[m.start():m.end()].strip()
            if re.search(r"(?i)[ap]m\.$", said) and not re.search(r"(?i)[ap]\.\s?m\.$", said):
                said = said[:-1]  # "9:00 AM." ends a sentence; "9:00 a.m." keeps its dot
            found.append(TimeMention(said, m.start(), hour, minute, ambiguous))
    return sorted(found, key=lambda t: t.start)


def parse_time(value: Any) -> tuple[int, int] | None:
    """'14:30' -> (14, 30); also accepts '2:30 PM' style fact values."""
    mentions = find_times(str(value))
    if len(mentions) != 1:
        return None
    t = mentions[0]
    return t.hour, t.minute


def time_matches(mention: TimeMention, hm: tuple[int, int], bare_12h_ok: bool = True) -> bool:
    """Same clock time; a mention without am/pm matches either half of the day when bare_12h_ok."""
    hour, minute = hm
    if mention.minute != minute:
        return False
    if not mention.ambiguous:
        return mention.hour == hour
    return bare_12h_ok and mention.hour % 12 == hour % 12
