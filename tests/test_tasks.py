"""A task is defined once, in trainer/tasks.py, and every stage that depends on tasks follows it."""
import pytest

from trainer import tasks
from trainer.data import prompts, records
from trainer.prepare import filters

NEW_TASK = tasks.TaskSpec(
    "vaccine_reminder",
    "Remind the parent or guardian that a child's vaccine is due.",
    ("preferred_name", "vaccine_name", "due_date", "callback_phone"),
    aliases=("immunization_reminder", "shot_reminder"),
    fact_kinds={"preferred_name": "person", "guardian_name": "person", "due_date": "date",
                "callback_phone": "phone", "vaccine_name": "text"},
)


@pytest.fixture
def registered_task():
    tasks.register(NEW_TASK)
    yield NEW_TASK
    tasks.unregister(NEW_TASK.name)


def test_adding_a_task_is_one_entry(registered_task):
    name = registered_task.name
    # the data contract accepts it
    example = records.parse_clean_example(
        {"id": "v1", "task": name, "facts": {"preferred_name": "Ana"}, "response": "Hi Ana"},
        tasks=records.known_tasks())
    assert example.task == name
    # the prompt says what to write
    prompt = prompts.format_prompt(name, {"preferred_name": "Ana", "due_date": "2026-12-15"})
    assert registered_task.description in prompt and "2026-12-15 (Tuesday)" in prompt
    # prepare maps a clinic export's other name for it, and keeps it as a known task
    cfg = filters.default_config()
    assert filters.normalize_task("Shot Reminder", cfg) == name and name in cfg.tasks
    # the key facts and the kinds of its facts are known to the checker and the de-identifier
    assert tasks.key_facts()[name] == registered_task.key_facts
    assert tasks.phi_fact_types()["guardian_name"] == "NAME"
    assert "vaccine_name" not in tasks.phi_fact_types()


def test_unregistered_task_is_refused_by_the_contract():
    with pytest.raises(records.RecordError, match="unknown task 'vaccine_reminder'"):
        records.parse_clean_example({"id": "v1", "task": "vaccine_reminder", "response": "x"},
                                    tasks=records.known_tasks())


def test_a_fact_declared_with_two_kinds_is_an_error():
    tasks.register(tasks.TaskSpec("t_a", "a", (), fact_kinds={"pickup_window": "time"}))
    tasks.register(tasks.TaskSpec("t_b", "b", (), fact_kinds={"pickup_window": "text"}))
    try:
        with pytest.raises(ValueError, match="pickup_window"):
            tasks.fact_kinds()
    finally:
        tasks.unregister("t_a")
        tasks.unregister("t_b")


def test_unknown_fact_kind_is_refused():
    with pytest.raises(ValueError, match="unknown fact kinds"):
        tasks.TaskSpec("t_c", "c", (), fact_kinds={"x": "colour"})


def test_shipped_tasks_cover_the_design_list():
    assert tasks.task_names() == (
        "appointment_reminder", "follow_up_survey", "lab_results_ready", "prescription_refill",
        "post_discharge_checkin", "no_show_followup", "preventive_care_reminder", "billing_question_reply")
    for spec in tasks.TASKS.values():
        assert spec.description.endswith(".") and "preferred_name" in spec.key_facts
