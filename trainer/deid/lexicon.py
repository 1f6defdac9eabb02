"""Word lists the recognizers read, and the `Lexicon` built once per process from them.

Safe words (English and Spanish dictionaries, medical terms, drugs, chat words), names (Faker's
person locales plus romanized East Asian and Arabic names), US places (phonenumbers' offline
geocoding data) and the curated lists under trainer/assets/deid. Names are found Philter-style:
a word that is not a known word in a name-like position is a name, so the safe lists decide
recall and precision alike.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import re
import unicodedata
from pathlib import Path
from typing import Sequence

from trainer.deid.types import DeidSetupError
from trainer.util import calendar, people

ASSETS = Path(__file__).resolve().parent.parent / "assets" / "deid"
# A word: letters, with inner apostrophes and hyphens ("O'Neil", "Mary-Kate").
WORD_RE = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# ----------------------------------------------------------------------------------------------
# Word lists
# ----------------------------------------------------------------------------------------------
# Misspellings count: "Febuary 3" and "wensday the 5th" are dates all the same.
MONTHS = calendar.MONTH_NUMBER | calendar.MONTH_MISSPELLINGS
WEEKDAYS = calendar.WEEKDAY_NUMBER | calendar.WEEKDAY_MISSPELLINGS
# Month names that are also first names; dates with them are caught by the date rules, and
# alone they are names only in context ("mi hija julio").
CALENDAR_NAMES = {"june", "april", "august", "may", "julio", "augusto", "jun", "abril"}
CALENDAR_WORDS = (set(MONTHS) | set(WEEKDAYS)) - CALENDAR_NAMES | {
    "today", "tomorrow", "yesterday", "tonight", "morning", "afternoon", "evening", "noon",
    "christmas", "xmas", "easter", "thanksgiving", "halloween", "hanukkah", "navidad",
    "weekend", "weekday", "hoy", "mañana", "ayer", "semana", "mes", "año",
}
US_STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "FL": "florida", "GA": "georgia",
    "HI": "hawaii", "ID": "idaho", "IL": "illinois", "IN": "indiana", "IA": "iowa",
    "KS": "kansas", "KY": "kentucky", "LA": "louisiana", "ME": "maine", "MD": "maryland",
    "MA": "massachusetts", "MI": "michigan", "MN": "minnesota", "MS": "mississippi",
    "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada",
    "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico", "NY": "new york",
    "NC": "north carolina", "ND": "north dakota", "OH": "ohio", "OK": "oklahoma",
    "OR": "oregon", "PA": "pennsylvania", "RI": "rhode island", "SC": "south carolina",
    "SD": "south dakota", "TN": "tennessee", "TX": "texas", "UT": "utah", "VT": "vermont",
    "VA": "virginia", "WA": "washington", "WV": "west virginia", "WI": "wisconsin",
    "WY": "wyoming", "DC": "district of columbia", "PR": "puerto rico",
}
# Places bigger than a state are not identifiers; nor are nationalities and languages.
NOT_CITIES = set(US_STATES.values()) | {
    "us", "usa", "u.s.", "america", "united states", "mexico", "méxico", "canada", "guatemala",
    "honduras", "el salvador", "salvador", "cuba", "puerto rico", "colombia", "venezuela", "peru",
    "ecuador", "spain", "españa", "china", "india", "philippines", "vietnam", "korea", "japan",
    "france", "germany", "italy", "england", "uk", "europe", "asia", "africa", "haiti",
    "dominican republic", "nicaragua", "brazil", "argentina", "chile", "bolivia", "russia",
    "ukraine", "poland", "ireland", "canadá", "estados unidos", "eeuu", "ee.uu.",
    "american", "mexican", "english", "spanish", "español", "ingles", "inglés",
    "latino", "latina", "hispanic", "asian", "african", "european", "chinese", "vietnamese",
}
# Words before a name that are not part of it ("Mrs. Lopez", "Dr. Chen", "Sra. Ruiz").
TITLES = people.HONORIFICS | {"dr", "dra", "doctor", "doctora", "nurse"}
# The clinician titles a configured clinician's name is written with. Narrower than
# people.CLINICIAN_TITLES on purpose: the rules have always read only these, and the de-id
# results are measured with them.
DOCTOR_TITLES = frozenset({"dr", "dra", "doctor", "doctora", "np", "pa", "nurse", "md", "do"})
KIN_WORDS = {
    "daughter", "son", "wife", "husband", "mom", "mother", "mum", "mommy", "dad", "father",
    "daddy", "sister", "brother", "sis", "bro", "grandma", "grandpa", "grandmother",
    "grandfather", "granny", "nana", "papa", "grandson", "granddaughter", "aunt", "auntie",
    "uncle", "niece", "nephew", "cousin", "caregiver", "partner", "boyfriend", "girlfriend",
    "fiance", "fiancé", "fiancee", "friend", "neighbor", "roommate", "stepson", "stepdaughter",
    "stepmom", "stepdad", "child", "kid", "baby", "spouse", "hija", "hijo", "esposa", "esposo",
    "mamá", "mama", "papá", "hermana", "hermano", "abuela", "abuelo", "nieta", "nieto", "tía",
    "tia", "tío", "tio", "sobrina", "sobrino", "prima", "primo", "suegra", "suegro", "nuera",
    "yerno", "cuñada", "cuñado", "novia", "novio", "amiga", "amigo", "vecina", "vecino",
}
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "md", "do", "np", "rn", "phd"}
NAME_PARTICLES = {"de", "del", "la", "las", "los", "van", "von", "der", "den", "da", "di",
                  "du", "le", "st", "st.", "mc", "mac", "o", "bin", "ibn", "y", "al", "el",
                  "ó", "ní", "nic", "uí", "ua", "ter", "ten", "dos", "das", "abu", "bint"}
# Organization words that also follow a person's name ("the Lopez Family"): an organization only
# after non-name words ("Riverside Family") or before another organization word ("Lopez Family Dental").
FAMILY_WORDS = {"family", "familia", "familiar", "families"}
# Names from elsewhere than Faker's Latin-script locales (romanized East Asian and Arabic).
EXTRA_NAMES = """
wang zhang liu chen yang huang zhao zhou xu zhu guo luo liang song zheng xie tang feng deng cao
peng zeng xiao tian dong pan yuan jiang cai jia wei xue yan ye qian
kim park choi jung kang cho yoon jang lim shin seo kwon hwang ahn yoo jeon hong moon
nguyen tran pham hoang phan vu vo dang bui duong ngo huynh truong
mohammed muhammad mohamed ahmed ahmad ali hassan hussein hussain fatima aisha omar khalid
abdullah yusuf ibrahim mahmoud mustafa karim samir nadia layla leila zainab amir tariq rashid
kaur singh patel shah gupta sharma kumar reddy rao iyer nair chaudhry desai mehta joshi
""".split()
STOP_EXTRA = {"im", "ive", "id", "ill", "dont", "cant", "wont", "didnt", "doesnt", "isnt",
              "thats", "whats", "u", "ur", "pls", "plz", "ok", "okay", "hi", "hello", "hey",
              "yes", "no", "si", "thanks", "thank", "gracias", "hola", "please"}
MEDICAL_NEXT = {"disease", "syndrome", "palsy", "disorder", "cyst", "smear", "stain", "test",
                "catheter", "enfermedad", "síndrome", "sindrome", "'", "’", "'s", "’s", "s"}

# Determiners and adjectives that come before everyday nouns but hardly ever before names
# (prepositions are left out: "to Boston", "in Vancouver" would make places look everyday).
_FUNCTION_WORDS = {"the", "a", "my", "your", "no", "some", "this", "that", "his", "her", "our",
                   "an", "good", "great", "new", "more", "their", "any", "every", "each"}
_CLITICS = ("selos", "selas", "selo", "sela", "melo", "mela", "telo", "nos", "les", "los", "las",
            "me", "te", "se", "lo", "la", "le", "os")
_VERB_ENDINGS = (
    "aríamos", "eríamos", "iríamos", "ábamos", "aremos", "eremos", "iremos", "aríais", "ieron",
    "aron", "asteis", "isteis", "arían", "erían", "irían", "aría", "ería", "iría", "iendo", "ando",
    "amos", "emos", "imos", "aban", "ían", "aste", "iste", "arán", "erán", "irán", "aré", "eré",
    "iré", "ará", "erá", "irá", "aba", "ía", "ado", "ada", "ido", "ida", "an", "en", "as", "es",
    "ar", "er", "ir", "ó", "é", "í", "ió", "o", "a", "e")
_STEM_FIXES = (("gu", "g"), ("qu", "c"), ("c", "z"), ("ue", "o"), ("ie", "e"), ("i", "e"),
               ("j", "g"), ("zc", "c"), ("y", "i"), ("g", ""))


def _spanish_infinitive(w: str, spanish: dict) -> bool:
    """`w` reduces to a frequent Spanish infinitive (see `Lexicon.spanish_form`)."""
    if len(w) < 4 or not w.isalpha():
        return False
    # infinitive + clitic ("programarla", "verle"): no name ends that way
    if re.fullmatch(r"\w{3,}[aeií]r(?:" + "|".join(_CLITICS) + r")", w):
        return True
    bases = {w}
    for c in _CLITICS:
        for b in list(bases):
            if b.endswith(c) and len(b) - len(c) >= 3:
                bases.add(b[: -len(c)])
    for b in bases:
        plain = strip_accents(b)
        for end in _VERB_ENDINGS:
            e = strip_accents(end)
            if not plain.endswith(e) or len(plain) - len(e) < 2:
                continue
            stem = plain[: -len(e)] if e else plain
            stems = {stem} | {stem[: -len(a)] + r for a, r in _STEM_FIXES if stem.endswith(a)} | {
                stem.replace(a, r, 1) for a, r in _STEM_FIXES[3:6] if a in stem}
            for st in stems:
                for inf in ("ar", "er", "ir"):
                    if spanish.get(st + inf, 0) >= 50 or spanish.get(st + inf + "se", 0) >= 50:
                        return True
    return False


def strip_accents(s: str) -> str:
    """'José' -> 'Jose': patients type names and words with and without accents."""
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))


def read_list(name: str, lower: bool = True) -> set[str]:
    """The entries of the word list `name` under trainer/assets/deid (one a line, # comments).
    A missing or empty list is a broken install, never a shorter list."""
    path = ASSETS / name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise DeidSetupError(f"de-identification word list {path} cannot be read ({e}); "
                             "reinstall carelora with its assets") from e
    words = set()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(line.lower() if lower else line)
    if not words:
        raise DeidSetupError(f"de-identification word list {path} is empty")
    return words


_read_list = read_list


def _faker_names() -> tuple[dict[str, str], set[str]]:
    """First names (word -> 'f'|'m'|'x') and surnames from Faker's Latin-script locales."""
    first: dict[str, str] = {}
    last: set[str] = set()
    for provider in people.person_providers(people.NAME_LOCALES):
        for attr, sex in (("first_names_female", "f"), ("first_names_male", "m"),
                          ("first_names", "x"), ("first_names_nonbinary", "x")):
            names = getattr(provider, attr, ())
            if not isinstance(names, (dict, list, tuple)):
                continue
            for name in names:
                for part in re.split(r"[\s\-]+", name.lower()):
                    if part.isalpha() and len(part) > 1:
                        first.setdefault(part, sex)
                        first.setdefault(strip_accents(part), sex)
        names = getattr(provider, "last_names", ())
        for name in names if isinstance(names, (dict, list, tuple)) else ():
            for part in re.split(r"[\s\-]+", name.lower()):
                if part.isalpha() and len(part) > 1:
                    last.add(part)
                    last.add(strip_accents(part))
    return first, last


def _us_cities() -> set[str]:
    """US and Canadian place names from phonenumbers' offline geocoding data."""
    from phonenumbers.geodata import GEOCODE_DATA

    cities = set()
    for prefix, desc in GEOCODE_DATA.items():
        if not prefix.startswith("1"):
            continue
        text = desc.get("en", "")
        if "," in text:
            city, state = text.rsplit(",", 1)
            if len(state.strip()) == 2:
                cities.add(city.strip().lower())
    return cities


@dataclasses.dataclass(frozen=True)
class Lexicon:
    """Word lists the rules read; built once per process (see `load_lexicon`)."""

    english: dict  # word -> count (pyspellchecker, from subtitles: counts lowercase use)
    spanish: dict
    web: dict  # word -> count (symspell, case-folded web text)
    after_function_word: dict  # word -> count of "the/a/to/my/... word" bigrams (symspell)
    never_name: frozenset  # medical terms, drugs, calendar, chat words, stop words
    eponyms_in_context: frozenset
    first_names: dict  # word -> sex ('f', 'm', 'x')
    last_names: frozenset
    strong_names: frozenset  # names that are not everyday words
    common_names: frozenset  # names that are everyday words: need context
    spanish_common: frozenset  # names that are everyday Spanish words ("sean", "rosa", "luz")
    curated_common: frozenset  # common_name_words.txt: stop words among them may be names
    cities: frozenset
    city_heads: frozenset  # first word of every multi-word city
    org_words: frozenset
    medical_speller: object  # symspellpy.SymSpell over the medical list
    medical_names: frozenset  # medical words that are also names ("ana", "colon", "lyme")
    stopwords: frozenset  # English and Spanish
    en_stopwords: frozenset
    medical: frozenset
    category_words: frozenset = frozenset()  # coded values ("sms", "portal", "es"): never names

    def known(self, w: str) -> bool:
        """A real English/Spanish word (names included: callers check names first)."""
        return (self.english.get(w, 0) >= 30 or self.spanish.get(w, 0) >= 30
                or self.web.get(w, 0) >= 200_000 or w in self.never_name)

    def medical_like(self, w: str) -> bool:
        """A drug or medical word in Spanish form or misspelled: 'metformina', 'losartán',
        'omeprazol', 'lisinipril' (edit distance <= 2 from the medical list, long words only)."""
        plain = strip_accents(w)
        cands = {plain, plain[:-1], plain + "e", plain[:-1] + "e", plain.replace("ina", "ine")}
        if any(c in self.medical for c in cands):
            return True
        if len(plain) < 7 or self.medical_speller is None:
            return False
        from symspellpy import Verbosity

        hits = self.medical_speller.lookup(plain, Verbosity.TOP, max_edit_distance=2 if len(plain) >= 8 else 1)
        return bool(hits)

    def typo_of_word(self, w: str) -> bool:
        """One edit (swap, drop, add, change a letter) from a frequent English word: 'spkoe',
        'sattes'. Names one edit from a word are rare and Capitalized ones are not checked."""
        if len(w) < 4 or not w.isalpha():
            return False
        letters = "abcdefghijklmnopqrstuvwxyz"
        splits = [(w[:i], w[i:]) for i in range(len(w) + 1)]
        cands = {a + b[1:] for a, b in splits if b}
        cands |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
        cands |= {a + c + b[1:] for a, b in splits if b for c in letters}
        cands |= {a + c + b for a, b in splits for c in letters}
        return any((self.english.get(c, 0) >= 1000 or c in self.medical) and c not in self.strong_names
                   for c in cands - {w})

    def everyday(self, w: str) -> bool:
        """An everyday English word ('hope', 'green'), not only a name ('john', 'lopez'):
        everyday words follow 'the', 'a', 'to', 'my', ... often; names almost never do."""
        web = self.web.get(w, 0)
        if not web:
            return self.known(w)
        return self.after_function_word.get(w, 0) / web >= 0.6

    def spanish_form(self, w: str) -> bool:
        """A Spanish verb form the dictionary lacks (it is built from encyclopedic text):
        'necesito', 'llámenos', 'programarla', 'pagué' reduce to a known infinitive."""
        return _spanish_infinitive(w, self.spanish)


@functools.lru_cache(maxsize=8)
def load_lexicon(extra_safe: Sequence[str] = (), extra_names: Sequence[str] = ()) -> Lexicon:
    """The lexicon, with a clinic's own safe words (`extra_safe`: never names) and names
    (`extra_names`: always names). Reads the dictionaries of spaCy, pyspellchecker, symspellpy,
    Faker and phonenumbers, which are imported here so that importing the package stays cheap."""
    import spacy.lang.en.stop_words as en_stop
    import spacy.lang.es.stop_words as es_stop
    import spellchecker
    import symspellpy

    res = Path(spellchecker.__file__).parent / "resources"
    english = json.loads(gzip.open(res / "en.json.gz").read())
    spanish = json.loads(gzip.open(res / "es.json.gz").read())
    for w, c in list(spanish.items()):
        spanish.setdefault(strip_accents(w), c)
    web = {}
    with open(Path(symspellpy.__file__).parent / "frequency_dictionary_en_82_765.txt") as f:
        for line in f:
            word, count = line.split()
            web[word] = int(count)
    after_fn: dict[str, int] = {}
    with open(Path(symspellpy.__file__).parent / "frequency_bigramdictionary_en_243_342.txt") as f:
        for line in f:
            a, b, count = line.split()
            if a in _FUNCTION_WORDS:
                after_fn[b] = after_fn.get(b, 0) + int(count)

    medical = _read_list("drugs.txt") | _read_list("medical_terms.txt") | _read_list("brands.txt")
    chat = _read_list("sms_words.txt")
    stop = {w.lower() for w in en_stop.STOP_WORDS | es_stop.STOP_WORDS} | STOP_EXTRA
    safe_extra = {w.lower() for w in extra_safe}
    first, last = _faker_names()
    for w in EXTRA_NAMES:
        first.setdefault(w, "x")
    names = set(first) | last
    eponyms = _read_list("eponyms.txt")
    medical |= eponyms
    never = (medical - names) | eponyms | chat | CALENDAR_WORDS | safe_extra | TITLES | KIN_WORDS
    # Stop words that are also names ("will", "sean") are decided in context; see kind().
    never |= {strip_accents(w) for w in never}

    curated_common = _read_list("common_name_words.txt")
    common = set()
    for w in names:
        everyday = (after_fn.get(w, 0) / web[w] >= 0.6) if web.get(w) else False
        if w in curated_common or everyday:
            common.add(w)
    spanish_common = {w for w in names if spanish.get(w, 0) >= 10_000} - common
    common |= curated_common | CALENDAR_NAMES
    strong = {w for w in names - common - never if len(w) > 2}
    # everyday Spanish words stay strong names in English text; see Tokens.kind

    strong |= {w.lower() for w in extra_names}
    never |= stop - names - _read_list("common_name_words.txt")
    never = frozenset(never - {w.lower() for w in extra_names})
    cities = _us_cities()
    heads = {c.split()[0] for c in cities if " " in c}
    speller = symspellpy.SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
    for w in medical:
        if len(w) >= 6 and w.isalpha() and w not in names:
            speller.create_dictionary_entry(w, 1)
    return Lexicon(
        english=english, spanish=spanish, web=web, after_function_word=after_fn, never_name=never,
        medical_speller=speller,
        medical_names=frozenset((medical & names) - curated_common - eponyms),
        eponyms_in_context=frozenset(_read_list("eponyms_in_context.txt")),
        first_names=first, last_names=frozenset(last), strong_names=frozenset(strong),
        common_names=frozenset(common - strong), spanish_common=frozenset(spanish_common),
        curated_common=frozenset(curated_common | CALENDAR_NAMES),
        cities=frozenset(cities),
        city_heads=frozenset(heads), org_words=frozenset(_read_list("org_words.txt")),
        stopwords=frozenset(stop), en_stopwords=frozenset(w.lower() for w in en_stop.STOP_WORDS),
        medical=frozenset(medical | safe_extra),
        category_words=frozenset(_read_list("category_words.txt")),
    )


