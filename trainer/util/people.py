"""Words about people that several stages need: titles before names, and Faker's name locales."""
from __future__ import annotations

import functools
import importlib

# Social titles and forms of address (English and Spanish), lower case, without the dot.
HONORIFICS = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "mister", "missus", "sr", "sra", "srta", "señor", "señora",
    "senor", "senora", "señorita", "senorita", "don", "doña", "dona", "sir", "madam", "maam", "ma'am",
    "señores", "senores", "sres", "dear", "prof", "professor", "rev", "pastor", "capt", "sgt",
})
# Titles and credentials of clinicians ("Dr.", "NP", "enfermera", "MD" after a name).
CLINICIAN_TITLES = frozenset({
    "dr", "dra", "doctor", "doctora", "nurse", "enfermera", "enfermero", "np", "pa", "md", "do",
    "rn", "dds", "phd", "lpn", "fnp", "aprn", "pac", "lic", "licda", "licenciada", "licenciado",
})

# Faker person-name locales in Latin script that clinic rosters in the US draw on. Every entry is
# checked against the installed Faker (tests/util/test_people.py): a locale that does not exist
# would otherwise be skipped without a word. The first locale that lists a first name decides its
# sex in the de-identifier's lexicon, so the order matters.
NAME_LOCALES = ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "es_MX", "es_ES", "es_CO", "es_AR",
                "es_CL", "pt_BR", "fr_FR", "it_IT", "de_DE", "pl_PL", "vi_VN")
# Faker's bare "en" and "es" lists: ~5,000 more rare first names, many of them everyday words
# ("press", "son", "may"). Fine for protecting words from spelling correction, wrong for deciding
# that a word is a name.
BROAD_NAME_LOCALES = ("en", "es")
# Romanized names from non-Latin-script locales, for name recall beyond the Latin ones.
EXTRA_NAME_LOCALES = ("zh_CN", "hi_IN", "ko_KR", "ar_AA")


@functools.lru_cache(maxsize=None)
def person_providers(locales: tuple[str, ...] = NAME_LOCALES) -> tuple:
    """Faker person Providers of `locales`; a missing locale is an error, not a silent skip."""
    providers = []
    for loc in locales:
        try:
            providers.append(importlib.import_module(f"faker.providers.person.{loc}").Provider)
        except ImportError as e:
            raise ImportError(f"Faker has no person locale {loc!r} (carelora.util.people)") from e
    return tuple(providers)
