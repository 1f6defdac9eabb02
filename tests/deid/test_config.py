"""The de-identification config: identifier facts come from the generic keys and the task registry."""
from trainer import tasks
from trainer.deid.config import GENERIC_FACT_TYPES, default_config, fact_types

# The map the de-id results were measured with before it was derived from the tasks.
MEASURED_FACT_TYPES = {
    "preferred_name": "NAME", "patient_name": "NAME", "first_name": "NAME",
    "last_name": "NAME", "full_name": "NAME", "caregiver_name": "NAME",
    "provider_name": "NAME", "contact_name": "NAME",
    "appointment_date": "DATE", "due_date": "DATE", "dob": "DATE",
    "date_of_birth": "DATE", "discharge_date": "DATE", "last_visit_date": "DATE",
    "callback_phone": "PHONE", "phone": "PHONE", "fax": "FAX", "email": "EMAIL",
    "mrn": "MRN", "member_id": "HEALTH_PLAN", "account_number": "ACCOUNT",
    "address": "ADDRESS", "zip": "ZIP", "city": "CITY",
}


def test_fact_types_are_the_generic_keys_and_the_tasks_identifier_facts():
    assert default_config().fact_types.to_dict() == MEASURED_FACT_TYPES
    assert fact_types() == {**GENERIC_FACT_TYPES, **tasks.phi_fact_types()}
    assert not set(GENERIC_FACT_TYPES) & set(tasks.phi_fact_types())


def test_a_new_tasks_identifier_facts_are_de_identified():
    tasks.register(tasks.TaskSpec(
        "pharmacy_pickup_test", "Tell the patient the order is ready.", ("pickup_date",),
        fact_kinds={"pickup_date": "date", "pharmacy_phone": "phone", "pickup_note": "text"}))
    try:
        types = default_config().fact_types
        assert (types["pickup_date"], types["pharmacy_phone"]) == ("DATE", "PHONE")
        assert "pickup_note" not in types
    finally:
        tasks.unregister("pharmacy_pickup_test")
    assert "pickup_date" not in default_config().fact_types
