"""The clinic's own people and organizations: who stays, and where."""


def test_a_clinician_is_any_part_of_a_configured_name(rules):
    assert rules.is_clinician("Laura") and rules.is_clinician("Dr. Chen")
    assert not rules.is_clinician("Laura Lopez")


def test_clinician_context_is_a_title_or_the_full_name(rules):
    assert rules.is_clinician_mention("Dr. Laura") and rules.is_clinician_mention("Laura Chen")
    assert not rules.is_clinician_mention("Laura")
    text = "Hi Laura, Dr. Laura Chen will see you"
    assert [text[a:b] for a, b in rules.clinician_ranges(text)] == ["Dr. Laura Chen"]
    # a kept provider name is clinician context wherever it stands
    assert rules.clinician_ranges("Okafor here", ["Dr. Okafor"]) == [(0, 6)]


def test_organizations_but_not_a_persons_family(rules):
    assert rules.is_org("Riverside Family")  # the configured clinic, cut short
    assert rules.is_org("Oak Hill Pediatrics")
    assert not rules.is_org("the Lopez Family") and not rules.is_org("Maria")
