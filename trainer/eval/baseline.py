"""The prompt-engineered alternative to fine-tuning: instruct the base model, optionally few-shot.

The baseline sees the same task and facts as the fine-tuned model and is decoded with the same
settings (the caller controls decoding); only the prompt differs. Shots come from the train
split, never from the evaluation set.
"""
from __future__ import annotations

import hashlib
import random
from typing import Any, Mapping, Sequence

from trainer.data.prompts import format_fact_value, task_description

_LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
_HIDDEN_FACTS = ("language", "channel")


def _render_facts(facts: Mapping[str, Any]) -> str:
    lines = []
    for key in sorted(k for k in facts if k not in _HIDDEN_FACTS):
        lines.append(f"- {key.replace('_', ' ')}: {format_fact_value(facts[key])}")
    return "\n".join(lines) if lines else "- (none)"


def _target(example: Mapping[str, Any]) -> str:
    text = example.get("response", example.get("reference"))
    if not isinstance(text, str):
        raise ValueError(f"shot {example.get('id', '?')!r}: field 'response': missing or not a string")
    return text.strip()


def baseline_prompt(task: str, facts: Mapping[str, Any], shots: Sequence[Mapping[str, Any]] = (),
                    sms_max_chars: int = 320) -> str:
    """An instruction for the base model; the message follows the final 'Message:' line."""
    language = _LANGUAGE_NAMES.get(str(facts.get("language", "en")), str(facts.get("language", "English")))
    channel = str(facts.get("channel", "")).lower()
    what = task_description(task) or f"Write a message for the task: {task.replace('_', ' ')}."
    rules = [
        f"Write the message in {language}.",
        "Use every fact below, written exactly as given (names, dates, times, phone numbers, "
        "amounts and links).",
        "Do not add any date, time, phone number, amount, link or name that is not in the facts.",
        "Be warm, clear and brief. Do not give medical advice or test results.",
    ]
    if channel == "sms":
        rules.append(f"This is a text message: keep it under {sms_max_chars} characters.")
    elif channel:
        rules.append(f"It will be sent by {channel}.")
    parts = [
        "You write messages from a medical clinic to one of its patients.",
        f"Task: {what}",
        "Rules:\n" + "\n".join(f"- {r}" for r in rules),
    ]
    for i, shot in enumerate(shots, start=1):
        parts.append(f"Example {i}\nFacts:\n{_render_facts(shot.get('facts', {}))}\nMessage:\n{_target(shot)}")
    heading = "Now write the message" if shots else "Write the message"
    parts.append(f"{heading}\nFacts:\n{_render_facts(facts)}\nMessage:\n")
    return "\n\n".join(parts)


def select_shots(example: Mapping[str, Any], train: Sequence[Mapping[str, Any]], k: int,
                 seed: int = 0) -> list[Mapping[str, Any]]:
    """k train examples of the same task, same language first; stable per (example id, seed)."""
    if k <= 0:
        return []
    task = example.get("task")
    language = (example.get("facts") or {}).get("language", "en")
    same_task = [t for t in train if t.get("task") == task and t.get("id") != example.get("id")]
    same_lang, others = [], []
    for t in same_task:
        (same_lang if (t.get("facts") or {}).get("language", "en") == language else others).append(t)
    digest = hashlib.sha256(f"{seed}:{example.get('id')}".encode()).hexdigest()
    rng = random.Random(int(digest[:16], 16))
    picked = rng.sample(same_lang, min(k, len(same_lang)))
    if len(picked) < k:
        picked += rng.sample(others, min(k - len(picked), len(others)))
    return picked


def baseline_prompts(examples: Sequence[Mapping[str, Any]], train: Sequence[Mapping[str, Any]] = (),
                     n_shots: int = 0, seed: int = 0, sms_max_chars: int = 320) -> list[str]:
    """One baseline prompt per evaluation example."""
    return [baseline_prompt(ex["task"], ex.get("facts", {}), select_shots(ex, train, n_shots, seed), sms_max_chars)
            for ex in examples]
