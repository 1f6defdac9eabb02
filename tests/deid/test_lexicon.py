"""Word lists and the lexicon: shared tables composed exactly as the rules were measured with."""
from trainer.deid import lexicon
from trainer.deid.lexicon import load_lexicon
from trainer.util import calendar, people


def test_calendar_words_are_the_shared_tables_with_their_misspellings():
    assert lexicon.MONTHS == {**calendar.MONTH_NUMBER, **calendar.MONTH_MISSPELLINGS}
    assert lexicon.WEEKDAYS == {**calendar.WEEKDAY_NUMBER, **calendar.WEEKDAY_MISSPELLINGS}
    assert lexicon.MONTHS["febuary"] == 2 and lexicon.WEEKDAYS["wensday"] == 2
    # month names that are also first names need context; the rest never are names
    assert "april" not in lexicon.CALENDAR_WORDS and "march" in lexicon.CALENDAR_WORDS


def test_titles_are_the_shared_honorifics_and_the_doctor_titles():
    assert lexicon.TITLES == {
        "mr", "mrs", "ms", "miss", "mx", "mister", "missus", "sr", "sra", "srta", "señor", "señora",
        "senor", "senora", "señorita", "senorita", "don", "doña", "dona", "dr", "dra", "doctor",
        "doctora", "nurse", "prof", "professor", "rev", "pastor", "capt", "sgt", "sir", "madam",
        "maam", "ma'am", "señores", "senores", "sres", "dear"}
    assert lexicon.DOCTOR_TITLES <= people.CLINICIAN_TITLES


def test_names_come_from_the_shared_latin_locales_not_the_broad_ones():
    lex = load_lexicon()
    es_mx = people.person_providers(("es_MX",))[0]
    assert all(n.lower() in lex.first_names for n in list(es_mx.first_names_female)[:50] if n.isalpha())
    # Faker's bare "en" list holds everyday words that must not become names.
    assert "press" not in lex.first_names


def test_the_lexicon_tells_names_from_everyday_words():
    lex = load_lexicon()
    assert "maria" in lex.strong_names and "sean" in lex.strong_names
    assert {"faith", "will", "grace"} <= lex.common_names
    assert lex.known("appointment") and lex.everyday("hope") and not lex.everyday("john")
    assert lex.medical_like("metformina") and lex.spanish_form("llámenos") and lex.typo_of_word("spkoe")


def test_a_clinics_own_safe_words_and_names():
    lex = load_lexicon(("zorblax",), ("quispe",))
    assert "zorblax" in lex.never_name and "quispe" in lex.strong_names
    assert "zorblax" not in load_lexicon().never_name
