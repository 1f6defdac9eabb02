"""Every Faker locale the project lists exists in the pinned Faker: none is skipped silently."""
import pytest

from trainer.util import people


def test_every_listed_name_locale_exists():
    providers = people.person_providers(people.BROAD_NAME_LOCALES + people.NAME_LOCALES + people.EXTRA_NAME_LOCALES)
    assert len(providers) == len(people.BROAD_NAME_LOCALES) + len(people.NAME_LOCALES) + len(people.EXTRA_NAME_LOCALES)
    assert all(getattr(p, "first_names", None) or getattr(p, "first_names_female", None) for p in providers)


def test_a_missing_locale_is_an_error():
    with pytest.raises(ImportError, match="tl_PH"):
        people.person_providers(("en_US", "tl_PH"))


def test_titles_are_lower_case_without_dots():
    assert {"dr", "sra", "mrs"} <= people.HONORIFICS | people.CLINICIAN_TITLES
    assert all(t == t.lower() and "." not in t for t in people.HONORIFICS | people.CLINICIAN_TITLES)
