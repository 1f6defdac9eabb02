"""The fine-tuning prompt: task + facts in, the model writes the message after it.

One plain template serves every backbone (GPT-2 has no chat tokens), and the same function is
used at training, evaluation and export time so the three can never drift apart.
"""
from __future__ import annotations

import datetime
import re
from typing import Any, Mapping

from trainer import tasks
from trainer.util.calendar import WEEKDAYS_EN

# Facts that steer the whole message come first; the rest follow in key order so a prompt is
# a pure function of its inputs.
LEADING_FACTS = ("language", "channel")

RESPONSE_MARKER = "### Message:\n"

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def task_description(task: str) -> str | None:
    """The prompt's line saying what to write (trainer/tasks.py); None for a task not registered."""
    spec = tasks.TASKS.get(task)
    return spec.description if spec else None


def format_fact_value(value: Any) -> str:
    """A fact value as prompts show it: whitespace collapsed, yes/no, ISO dates with their weekday."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = " ".join(str(value).split())
    date = _ISO_DATE.fullmatch(text) if isinstance(value, str) else None
    if date:
        # Clinic messages name the weekday ("Tuesday, December 15"); a small model cannot work
        # it out from the date (the 270M fine-tune named 19 of 27 wrong), so the prompt states it.
        try:
            day = datetime.date(*(int(g) for g in date.groups()))
        except ValueError:
            return text  # not a calendar date (2026-02-30): left as written
        text += f" ({WEEKDAYS_EN[day.weekday()]})"
    return text


def format_prompt(task: str, facts: Mapping[str, Any]) -> str:
    """Returns the prompt text; the response follows it directly."""
    keys = [k for k in LEADING_FACTS if k in facts]
    keys += sorted(k for k in facts if k not in LEADING_FACTS)
    lines = [f"### Task: {task}"]
    description = task_description(task)
    if description:
        lines.append(description)
    lines.append("### Facts:")
    lines += [f"- {k}: {format_fact_value(facts[k])}" for k in keys]
    return "\n".join(lines) + "\n" + RESPONSE_MARKER
