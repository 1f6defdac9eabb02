"""The message tasks: the one place a task is defined.

Everything that depends on the task reads it from here: the clean-example contract (which task
names are valid), the prompt (the line that says what to write), the fact checker (which facts
the message must state, and what kind of value a fact holds), the prepare filter (the other names
clinic exports use for the task) and the de-identifier (which facts hold an identifier).
Adding a task is one `TaskSpec` in `TASKS`, or `register(TaskSpec(...))` before the config is
built (see tests/test_tasks.py).
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

# Kinds a fact value can have; the fact checker knows how each is stated in a message, and the
# de-identifier treats the identifier kinds as PHI.
FACT_KINDS = ("date", "time", "phone", "email", "url", "amount", "person", "number", "text")
# Fact kind -> PHI type of the de-identifier, for facts whose whole value is one identifier.
PHI_TYPE_OF_KIND = {"date": "DATE", "phone": "PHONE", "email": "EMAIL", "person": "NAME"}


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """One kind of message the model learns to write."""

    name: str
    description: str  # one line of the prompt: what the message must do
    key_facts: tuple[str, ...]  # facts the patient needs in order to act: the message must state them
    aliases: tuple[str, ...] = ()  # other names clinic exports use ("appt_reminder")
    # Fact key -> kind (FACT_KINDS) for the facts this task brings. Kinds of date/phone/email/person
    # facts also tell the de-identifier that the whole value is one identifier.
    fact_kinds: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.fact_kinds.items() if v not in FACT_KINDS}
        if bad:
            raise ValueError(f"task {self.name!r}: unknown fact kinds {bad}; known: {FACT_KINDS}")


_PATIENT = {"preferred_name": "person"}

TASKS: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> TaskSpec:
    """Adds (or replaces) a task; call it before building the config."""
    TASKS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    TASKS.pop(name, None)


for _spec in (
    TaskSpec(
        "appointment_reminder", "Remind the patient of an upcoming appointment.",
        ("preferred_name", "appointment_date", "appointment_time", "provider_name", "location_name",
         "callback_phone"),
        aliases=("appt_reminder", "reminder"),
        fact_kinds={**_PATIENT, "appointment_date": "date", "appointment_time": "time",
                    "provider_name": "person", "callback_phone": "phone"},
    ),
    TaskSpec(
        "follow_up_survey", "Invite the patient to a short follow-up survey about a recent visit.",
        ("preferred_name", "survey_link"),
        aliases=("survey", "followup_survey"),
        fact_kinds={**_PATIENT, "survey_link": "url"},
    ),
    TaskSpec(
        "lab_results_ready", "Tell the patient that lab results are ready, without stating any result.",
        ("preferred_name", "portal_link"),
        aliases=("lab_results", "results_ready"),
        fact_kinds={**_PATIENT, "portal_link": "url"},
    ),
    TaskSpec(
        "prescription_refill", "Tell the patient about a prescription refill.",
        ("preferred_name", "medication", "pharmacy_name", "refill_count", "pickup_date"),
        aliases=("refill", "rx_refill"),
        fact_kinds={**_PATIENT, "medication": "text", "refill_count": "number"},
    ),
    TaskSpec(
        "post_discharge_checkin", "Check in on the patient after a hospital discharge.",
        ("preferred_name", "discharge_date", "follow_up_date", "callback_phone"),
        aliases=("discharge_checkin", "post_discharge"),
        fact_kinds={**_PATIENT, "discharge_date": "date", "callback_phone": "phone"},
    ),
    TaskSpec(
        "no_show_followup", "Follow up kindly on a missed appointment and offer to rebook.",
        ("preferred_name", "appointment_date", "callback_phone", "scheduling_link"),
        aliases=("no_show", "noshow_followup"),
        fact_kinds={**_PATIENT, "appointment_date": "date", "callback_phone": "phone",
                    "scheduling_link": "url"},
    ),
    TaskSpec(
        "preventive_care_reminder", "Remind the patient of due preventive care.",
        ("preferred_name", "screening_type", "due_date", "callback_phone", "scheduling_link"),
        aliases=("preventive_reminder", "screening_reminder"),
        fact_kinds={**_PATIENT, "due_date": "date", "callback_phone": "phone", "scheduling_link": "url"},
    ),
    TaskSpec(
        "billing_question_reply", "Answer the patient's billing question.",
        ("preferred_name", "balance_amount", "due_date", "billing_phone", "payment_link"),
        aliases=("billing_reply", "billing_question"),
        fact_kinds={**_PATIENT, "balance_amount": "amount", "due_date": "date", "payment_link": "url"},
    ),
):
    register(_spec)


def task_names() -> tuple[str, ...]:
    return tuple(TASKS)


def descriptions() -> dict[str, str]:
    return {name: spec.description for name, spec in TASKS.items()}


def key_facts() -> dict[str, tuple[str, ...]]:
    return {name: spec.key_facts for name, spec in TASKS.items()}


def aliases() -> dict[str, str]:
    """Alias -> task name over every task."""
    return {alias: name for name, spec in TASKS.items() for alias in spec.aliases}


def fact_kinds() -> dict[str, str]:
    """Fact key -> kind over every task; a key two tasks declare differently is an error."""
    out: dict[str, str] = {}
    for spec in TASKS.values():
        for key, kind in spec.fact_kinds.items():
            if out.setdefault(key, kind) != kind:
                raise ValueError(f"fact {key!r} is {out[key]!r} in one task and {kind!r} in {spec.name!r}")
    return out


def phi_fact_types() -> dict[str, str]:
    """Fact key -> de-identifier PHI type for task facts whose whole value is one identifier."""
    return {k: PHI_TYPE_OF_KIND[v] for k, v in fact_kinds().items() if v in PHI_TYPE_OF_KIND}
