"""Fact kinds: config overrides, then the task registry, then the key name and value."""
from trainer import facts as F
from trainer import tasks


def test_fact_kinds_follow_key_names_and_values():
    kinds = {k: F.fact_kind(k, v) for k, v in {
        "appointment_date": "2026-10-03", "appointment_time": "14:30", "callback_phone": "555-123-4567",
        "balance_amount": "$12.00", "portal_link": "https://x.org", "provider_name": "Dr. A B",
        "preferred_name": "Ana", "refill_count": 2, "location_name": "Northside Clinic", "language": "es",
        "channel": "sms", "fasting_required": True, "discharge_date": "2026-01-02", "billing_email": "a@b.org",
    }.items()}
    assert kinds == {
        "appointment_date": "date", "appointment_time": "time", "callback_phone": "phone",
        "balance_amount": "amount", "portal_link": "url", "provider_name": "person", "preferred_name": "person",
        "refill_count": "number", "location_name": "text", "language": "skip", "channel": "skip",
        "fasting_required": "skip", "discharge_date": "date", "billing_email": "email",
    }


def test_kind_overrides_apply_format_aware_matching():
    facts = {"clinic_line": "555-123-4567", "language": "en"}
    assert F.fact_kind("clinic_line", "555-123-4567") == "text"
    assert not F.check_facts("Call 5551234567.", "custom", facts).stated
    cfg = F.default_config()
    cfg.kind_overrides.clinic_line = "phone"
    assert F.check_facts("Call 5551234567.", "custom", facts, cfg).stated == ["clinic_line"]
    # An override the value cannot satisfy falls back to plain text matching.
    cfg.kind_overrides.visit_day = "date"
    assert F.fact_kind("visit_day", "next Tuesday", cfg.kind_overrides) == "text"


def test_task_registry_declares_kinds_below_overrides():
    spec = tasks.TaskSpec("toy_task", "A toy task.", ("pickup_window",), fact_kinds={"pickup_window": "time"})
    tasks.register(spec)
    try:
        assert F.infer_kind("pickup_window", "4 PM") == "text"
        assert F.fact_kind("pickup_window", "4 PM") == "time"
        assert F.fact_kind("pickup_window", "4 PM", {"pickup_window": "text"}) == "text"
        # A value the declared kind cannot read falls back to inference.
        assert F.fact_kind("pickup_window", "after lunch") == "text"
        assert F.fact_kind("pickup_window", None) == "skip"
    finally:
        tasks.unregister("toy_task")
    assert F.fact_kind("pickup_window", "4 PM") == "text"


def test_declared_number_reads_a_numeric_string():
    assert F.fact_kind("refill_count", "2") == "number"
    assert F.fact_kind("refill_count", "two") == "text"
    assert F.check_facts("You have 2 refills left.", "custom", {"refill_count": "2"}).stated == ["refill_count"]
    assert not F.check_facts("See you at 2:30.", "custom", {"refill_count": "2"}).stated
