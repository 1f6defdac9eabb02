"""Exact and near-duplicate removal: resends and re-signed copies go, template instances stay."""
from trainer.prepare import dedup

BASE = ("Hi Ahmed, your lab results from your visit with Dr. Okafor are ready. Log in to the patient portal "
        "to view them, or call us at 555-201-3344 with any questions about your results.")


def _run(texts, **overrides):
    cfg = dedup.default_config()
    cfg.update(overrides)
    items = [(f"r{i}", dedup.fingerprint(t, cfg)) for i, t in enumerate(texts)]
    return dedup.deduplicate(items, cfg)


def test_exact_duplicates_ignore_case_spacing_and_punctuation():
    result = _run([BASE, BASE.upper(), BASE.replace(" ", "  ").replace(".", "!"), "Something else entirely here."])
    assert result.exact == {"r1": "r0", "r2": "r0"}
    assert not result.near


def test_near_duplicates_over_threshold_are_removed_and_counted():
    edited = BASE.replace("your visit", "your recent visit").replace("are ready", "are now ready")
    result = _run([BASE, edited])
    assert set(result.near) == {"r1"}
    kept, j = result.near["r1"]
    assert kept == "r0" and 0.85 <= j < 1.0


def test_same_template_with_other_facts_is_not_a_duplicate():
    a = "Hi Maria, your appointment with Dr. Patel is on March 3 at 2:30 PM. Please arrive 15 minutes early."
    b = "Hi Jonathan, your appointment with Dr. Okafor is on April 12 at 10:00 AM. Please arrive 15 minutes early."
    c = "Hi Maria, your appointment with Dr. Patel is on March 4 at 2:30 PM. Please arrive 15 minutes early."
    result = _run([a, b, c])
    assert result.removed == {"r2"}  # one digit apart: a resend with a typo'd date
    assert "r1" not in result.removed


def test_threshold_comes_from_config_and_first_item_wins():
    edited = BASE.replace("your visit", "your recent visit")
    assert _run([edited, BASE], threshold=0.999).removed == set()
    result = _run([edited, BASE])
    assert result.near["r1"][0] == "r0"  # the caller's order decides which twin stays
    assert _run([BASE, BASE], exact=False, near=False).removed == set()
