"""Which language a message is in, from function words and script; no model, no download.

One word table serves the three places that ask: the prepare filter (any language, with a
confidence), the fact checker ("is this output English or Spanish?") and the de-identifier
(Spanish name order and particles).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable

# Function words and clinic-message staples per language (lower case).
STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("""the and you your to of for is are be a an in on at this that with we our us please have has
        will it if or not can was were from by as do any call reply thank thanks hi hello dear appointment
        reminder would could should had about questions results ready visit check see me my let know today
        tomorrow feel free refill prescription bill balance due here there how what when which who doctor
        office team i she he""".split()),
    "es": frozenset("""el la los las de del que y en un una su sus usted ustedes para por con es está están le les
        se no nos nuestro nuestra al lo como hola gracias favor cita recordatorio estimado estimada tiene
        puede llame mi muy pero porque tengo soy esta estamos pueda si cuando tener hay pregunta preguntas
        resultados listos visita mensaje saludos equipo llamar llámenos responda receta factura saldo aqui
        sobre mas este estos""".split()),
    "fr": frozenset("le la les de des du et est vous votre vos pour pas une un avec dans sur nous bonjour merci "
                    "rendez ce cette sont".split()),
    "pt": frozenset("o a os as de do da dos das e que em um uma para com não você seu sua por favor obrigado "
                    "olá consulta está são".split()),
    "de": frozenset("der die das und ist sie ihr ihre nicht mit für auf ein eine zu den dem bitte danke hallo "
                    "termin".split()),
    "it": frozenset("il lo la gli le di che e è per non un una con suo sua sono grazie ciao appuntamento".split()),
    "vi": frozenset("của và là có không các được cho với này những một người chúng tôi bạn xin cảm ơn".split()),
    "tl": frozenset("ang ng mga sa na at ay po kayo ninyo salamat ito para".split()),
}
_SCRIPTS = (("zh", "CJK"), ("ja", "HIRAGANA"), ("ja", "KATAKANA"), ("ko", "HANGUL"), ("ru", "CYRILLIC"),
            ("ar", "ARABIC"), ("he", "HEBREW"), ("hi", "DEVANAGARI"), ("th", "THAI"), ("el", "GREEK"),
            ("am", "ETHIOPIC"), ("hy", "ARMENIAN"), ("km", "KHMER"), ("bn", "BENGALI"), ("pa", "GURMUKHI"))
_WORDS = re.compile(r"[^\W\d_]+")
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]")


def _fold(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if not unicodedata.combining(ch))


def words_of(text: str) -> list[str]:
    return [w.casefold() for w in _WORDS.findall(text)]


def detect_language(text: str) -> tuple[str, float]:
    """(language code, confidence in [0, 1]) over every language above; 'unknown' on too little signal."""
    letters = [ch for ch in text if ch.isalpha()]
    if letters:
        for code, script in _SCRIPTS:
            n = sum(1 for ch in letters if script in unicodedata.name(ch, ""))
            if n / len(letters) > 0.3:
                return code, min(1.0, n / len(letters))
    words = words_of(text)
    if not words:
        return "unknown", 0.0
    hits = {lang: sum(1 for w in words if w in sw) for lang, sw in STOPWORDS.items()}
    hits["es"] += 0.5 * sum(1 for ch in text if ch in "ñ¿¡")
    ranked = sorted(hits.items(), key=lambda kv: -kv[1])
    (best, n1), (_, n2) = ranked[0], ranked[1]
    if n1 < 2:
        return "unknown", 0.0
    confidence = (n1 - n2) / n1 * min(1.0, n1 / 4)
    return best, round(confidence, 3)


def english_or_spanish(text: str) -> str:
    """'en', 'es' or 'unknown' for a short message known to be one of the two (a model's output).

    Unlike detect_language, one function word is enough: outputs are short and the question is
    only which of the two.
    """
    words = words_of(text)
    en = sum(w in STOPWORDS["en"] for w in words)
    es = sum(w in STOPWORDS["es"] or _fold(w) in STOPWORDS["es"] for w in words)
    es += 0.5 * len(_SPANISH_MARKS.findall(text.lower()))
    if max(en, es) < 1 or en == es:
        return "unknown"
    return "en" if en > es else "es"


def mostly_spanish(words: Iterable[str]) -> bool:
    """Whether lower-cased tokens hold more Spanish than English function words."""
    words = list(words)
    return sum(w in STOPWORDS["es"] for w in words) > sum(w in STOPWORDS["en"] for w in words)
