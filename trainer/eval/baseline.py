"""The prompt-engineered alternative to fine-tuning: instruct the base model, optionally few-shot.

The baseline sees the same task and facts as the fine-tuned model and is decoded with the same
settings (the caller controls decoding); only the prompt differs. Shots come from the train
split, never from the evaluation set, retrieved by task, then language, channel and recipient
(select_shots). The instruction is named and versioned (PROMPTS; config eval.baseline.prompt) so
a report can say which one it used (describe); n_shots is chosen on the validation split only
(tools/tune_baseline.py).
"""
from __future__ import annotations

import hashlib
import random
from typing import Any, Callable, Mapping, Sequence

from absl import logging
from trainer.data.prompts import format_fact_value, task_description

_LANGUAGE_NAMES = {"en": "English", "es": "Spanish"}
_CHANNEL_NAMES = {"sms": "text message", "email": "e-mail", "portal": "patient portal message"}
_HIDDEN_FACTS = ("language", "channel")
DEFAULT_PROMPT = "style-v1"
# How select_shots ranks same-task candidates; stated in the report beside the prompt name.
RETRIEVAL = "same task; then same language, same channel, same recipient (in that order)"


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


def _language(facts: Mapping[str, Any]) -> str:
    lang = str(facts.get("language", "en"))
    return _LANGUAGE_NAMES.get(lang, lang)


def _plain_rules(facts: Mapping[str, Any], sms_max_chars: int) -> list[str]:
    """The first baseline's rules (kept so older reports can be reproduced)."""
    channel = str(facts.get("channel", "")).lower()
    rules = [
        f"Write the message in {_language(facts)}.",
        "Use every fact below, written exactly as given (names, dates, times, phone numbers, "
        "amounts and links).",
        "Do not add any date, time, phone number, amount, link or name that is not in the facts.",
        "Be warm, clear and brief. Do not give medical advice or test results.",
    ]
    if channel == "sms":
        rules.append(f"This is a text message: keep it under {sms_max_chars} characters.")
    elif channel:
        rules.append(f"It will be sent by {channel}.")
    return rules


def _style_rules(facts: Mapping[str, Any], sms_max_chars: int) -> list[str]:
    """The corpus style guide (trainer/assets/corpus/README.md) in a few lines."""
    channel = str(facts.get("channel", "")).lower()
    recipient = str(facts.get("recipient", "") or "patient").lower()
    language = _language(facts)
    rules = [f"Write the message in {language}" + (", addressing the reader as usted." if language == "Spanish" else ".")]
    rules += [
        "Use every fact below, written exactly as given (names, dates, times, phone numbers, amounts and "
        "links), each in its role: a balance is what is owed, not what was paid; a due date is not the "
        "visit date; the insurer is not the clinic.",
        "Do not add any date, time, phone number, amount, link, name or other number that is not in the facts.",
        "Give no medical advice and no results; instructions only as the facts give them.",
        "Be warm and plain, at a 6th-8th grade reading level, in short sentences: say who is writing, "
        "what is happening and the one thing to do next.",
    ]
    if channel == "sms":
        rules.append(f"This is a text message: at most {sms_max_chars} characters; no greeting line or sign-off needed.")
    elif channel:
        name = _CHANNEL_NAMES.get(channel, channel)
        rules.append(f"This is an {name}: a greeting line, 2 to 6 sentences, then a closing line and a signature.")
    if recipient != "patient":
        rules.append(f"You are writing to the patient's {recipient.replace('_', ' ')}: greet them by their name "
                     "and speak of the patient in the third person.")
    return rules


# name -> rules(facts, sms_max_chars); a changed wording gets a new name, never an edit in place.
PROMPTS: dict[str, Callable[[Mapping[str, Any], int], list[str]]] = {
    "plain-v1": _plain_rules,
    "style-v1": _style_rules,
}


def _rules_of(prompt: str) -> Callable[[Mapping[str, Any], int], list[str]]:
    if prompt not in PROMPTS:
        raise ValueError(f"config field eval.baseline.prompt: unknown prompt {prompt!r} (known: {sorted(PROMPTS)})")
    return PROMPTS[prompt]


def _shot_heading(i: int, facts: Mapping[str, Any]) -> str:
    what = [_language(facts)]
    channel = str(facts.get("channel", "")).lower()
    if channel:
        what.append(_CHANNEL_NAMES.get(channel, channel))
    recipient = str(facts.get("recipient", "") or "")
    if recipient:
        what.append(f"to the {recipient.replace('_', ' ')}")
    return f"Example {i} ({', '.join(what)})"


def baseline_prompt(task: str, facts: Mapping[str, Any], shots: Sequence[Mapping[str, Any]] = (),
                    sms_max_chars: int = 320, prompt: str = DEFAULT_PROMPT) -> str:
    """An instruction for the base model; the message follows the final 'Message:' line."""
    rules = _rules_of(prompt)(facts, sms_max_chars)
    what = task_description(task) or f"Write a message for the task: {task.replace('_', ' ')}."
    parts = [
        "You write messages from a medical clinic to one of its patients.",
        f"Task: {what}",
        "Rules:\n" + "\n".join(f"- {r}" for r in rules),
    ]
    for i, shot in enumerate(shots, start=1):
        shot_facts = shot.get("facts", {})
        parts.append(f"{_shot_heading(i, shot_facts)}\nFacts:\n{_render_facts(shot_facts)}\nMessage:\n{_target(shot)}")
    heading = "Now write the message" if shots else "Write the message"
    parts.append(f"{heading}\nFacts:\n{_render_facts(facts)}\nMessage:\n")
    return "\n\n".join(parts)


def _match(example_facts: Mapping[str, Any], shot_facts: Mapping[str, Any]) -> tuple[bool, bool, bool]:
    """(same language, same channel, same recipient): tuples compare in that order of importance."""
    def same(key: str, default: str) -> bool:
        return str(example_facts.get(key) or default) == str(shot_facts.get(key) or default)
    return same("language", "en"), same("channel", ""), same("recipient", "patient")


def select_shots(example: Mapping[str, Any], train: Sequence[Mapping[str, Any]], k: int,
                 seed: int = 0) -> list[Mapping[str, Any]]:
    """k train examples of the same task, the best matches first (RETRIEVAL); stable per (example id, seed).

    Candidates are grouped by how well they match (language, then channel, then recipient); the
    best group is drawn from first, at random within a group, so two examples that match the
    same group do not always get the same shots.
    """
    if k <= 0:
        return []
    facts = example.get("facts") or {}
    tiers: dict[tuple[bool, bool, bool], list[Mapping[str, Any]]] = {}
    for t in train:
        if t.get("task") == example.get("task") and t.get("id") != example.get("id"):
            tiers.setdefault(_match(facts, t.get("facts") or {}), []).append(t)
    digest = hashlib.sha256(f"{seed}:{example.get('id')}".encode()).hexdigest()
    rng = random.Random(int(digest[:16], 16))
    picked: list[Mapping[str, Any]] = []
    for tier in sorted(tiers, reverse=True):
        if len(picked) >= k:
            break
        group = tiers[tier]
        picked += rng.sample(group, min(k - len(picked), len(group)))
    return picked


def baseline_prompts(examples: Sequence[Mapping[str, Any]], train: Sequence[Mapping[str, Any]] = (),
                     n_shots: int = 0, seed: int = 0, sms_max_chars: int = 320,
                     prompt: str = DEFAULT_PROMPT, count_tokens: Callable[[str], int] | None = None,
                     max_prompt_tokens: int = 0) -> list[str]:
    """One baseline prompt per evaluation example.

    With a token counter and a budget, the worst-matching shots are dropped one at a time until
    the prompt fits: a model with a short context (or a long record) still gets a prompt, with
    fewer examples, instead of failing the whole eval.
    """
    prompts, trimmed = [], 0
    for ex in examples:
        shots = select_shots(ex, train, n_shots, seed)
        text = baseline_prompt(ex["task"], ex.get("facts", {}), shots, sms_max_chars, prompt)
        if count_tokens is not None and max_prompt_tokens > 0:
            while shots and count_tokens(text) > max_prompt_tokens:
                shots = shots[:-1]
                text = baseline_prompt(ex["task"], ex.get("facts", {}), shots, sms_max_chars, prompt)
                trimmed += 1
        prompts.append(text)
    if trimmed:
        logging.warning("baseline: %d shot(s) dropped so that prompts fit %d tokens", trimmed, max_prompt_tokens)
    return prompts



def describe(prompt: str, n_shots: int, seed: int, shots_file: str) -> dict[str, Any]:
    """What the report and metrics.json say about the baseline: enough to rebuild its prompts."""
    _rules_of(prompt)  # an unknown prompt name fails here, before any model is loaded
    return {"prompt": prompt, "n_shots": int(n_shots), "seed": int(seed),
            "retrieval": RETRIEVAL if n_shots else "none (zero-shot)", "shots_file": shots_file if n_shots else ""}


def signature(info: Mapping[str, Any]) -> str:
    """One line that names the baseline, so results of different baselines are never pooled."""
    return f"prompt:{info['prompt']}|shots:{info['n_shots']}|seed:{info['seed']}|retrieval:task>language>channel>recipient"
