"""The checker's settings: key facts come from the task registry."""
from trainer import facts as F
from trainer import tasks


def test_key_facts_are_the_task_registry_s():
    cfg = F.default_config()
    assert {k: tuple(v) for k, v in cfg.key_facts.items()} == tasks.key_facts()
    assert F.default_config().numeric_date_order.to_dict() == {"en": "MD", "es": "DM"}


def test_a_registered_task_gets_its_key_facts():
    tasks.register(tasks.TaskSpec("toy_task", "A toy task.", ("preferred_name", "pickup_date")))
    try:
        assert tuple(F.default_config().key_facts.toy_task) == ("preferred_name", "pickup_date")
        facts = {"preferred_name": "Ana", "pickup_date": "2026-10-03", "language": "en"}
        assert F.key_fact_names("toy_task", facts) == ["preferred_name", "pickup_date"]
    finally:
        tasks.unregister("toy_task")
