"""The prompted baseline: a named style-guide instruction, and shots retrieved from the training
split by task, language, channel and recipient, the same for the same (example id, seed)."""
import pytest

from trainer.data import files
from trainer.eval import baseline as B
from trainer.eval import evaluate as E


def ex(id_, task="appointment_reminder", language="en", channel="sms", recipient="patient", **facts):
    return {"id": id_, "task": task, "facts": {"preferred_name": id_, **facts, "language": language,
                                                "channel": channel, "recipient": recipient},
            "response": f"message {id_}"}


POOL = [ex("t-en-sms-patient"), ex("t-en-sms-parent", recipient="parent"), ex("t-en-email", channel="email"),
        ex("t-es-sms", language="es"), ex("t-es-email", language="es", channel="email"),
        ex("other-task", task="lab_results_ready", language="es", channel="email", recipient="parent")]


def test_retrieval_picks_same_task_then_language_then_channel_then_recipient():
    target = ex("q", language="es", channel="email", recipient="parent")
    assert [s["id"] for s in B.select_shots(target, POOL, 1)] == ["t-es-email"]  # language and channel match
    # then same language, other channel, before same channel, other language
    assert [s["id"] for s in B.select_shots(target, POOL, 2)] == ["t-es-email", "t-es-sms"]
    three = [s["id"] for s in B.select_shots(target, POOL, 3)]
    assert three == ["t-es-email", "t-es-sms", "t-en-email"]
    # never another task, never the example itself, never more than there are
    everything = B.select_shots(target, POOL + [dict(target)], 10)
    assert {s["task"] for s in everything} == {"appointment_reminder"} and "q" not in {s["id"] for s in everything}
    assert len(everything) == 5
    # recipient breaks ties between otherwise equal candidates
    sms_parent = ex("q2", recipient="parent")
    assert [s["id"] for s in B.select_shots(sms_parent, POOL, 1)] == ["t-en-sms-parent"]


def test_retrieval_is_deterministic_per_example_id_and_seed():
    pool = [ex(f"t{i}") for i in range(12)]
    picks = {(i, seed): tuple(s["id"] for s in B.select_shots(ex(f"q{i}"), pool, 2, seed))
             for i in range(6) for seed in (0, 1)}
    assert all(tuple(s["id"] for s in B.select_shots(ex(f"q{i}"), pool, 2, seed)) == picks[(i, seed)]
               for i, seed in picks)
    assert len(set(picks.values())) > 1  # equal candidates are drawn at random, not always the same two


def test_shots_from_the_corpus_train_split_match_the_test_example():
    train = E.load_examples(files.CORPUS_TRAIN)
    test = E.load_examples(files.CORPUS_TEST)
    matched = 0
    for target in test:
        shots = B.select_shots(target, train, 2)
        assert len(shots) == 2 and all(s["task"] == target["task"] for s in shots)
        key = [target["facts"][k] for k in ("language", "channel")]
        matched += all([s["facts"][k] for k in ("language", "channel")] == key for s in shots)
    assert matched >= 0.9 * len(test)  # the train split covers nearly every task x language x channel twice


def test_style_prompt_states_the_style_guide_rules():
    es_email = ex("q", task="billing_question_reply", language="es", channel="email", recipient="caregiver")
    p = B.baseline_prompt(es_email["task"], es_email["facts"])
    assert "Spanish, addressing the reader as usted" in p and "greeting line, 2 to 6 sentences" in p
    assert "in its role" in p and "Do not add any date" in p and "6th-8th grade" in p
    assert "patient's caregiver" in p and p.endswith("Message:\n")
    sms = B.baseline_prompt("appointment_reminder", ex("q")["facts"], sms_max_chars=160)
    assert "at most 160 characters" in sms and "caregiver" not in sms
    plain = B.baseline_prompt("appointment_reminder", ex("q")["facts"], prompt="plain-v1")
    assert "keep it under 320 characters" in plain and "in its role" not in plain
    with pytest.raises(ValueError, match=r"eval.baseline.prompt: unknown prompt 'style-v9'"):
        B.baseline_prompt("appointment_reminder", {}, prompt="style-v9")


def test_shot_headings_say_language_channel_and_recipient():
    target = ex("q", language="es", channel="email", recipient="parent")
    prompt = B.baseline_prompts([target], POOL, n_shots=2)[0]
    assert "Example 1 (Spanish, e-mail, to the patient)" in prompt
    assert "Example 2 (Spanish, text message, to the patient)" in prompt
    assert prompt.index("message t-es-email") < prompt.index("message t-es-sms") < prompt.rindex("Now write")


def test_describe_names_prompt_and_shots():
    info = B.describe("style-v1", 2, 0, files.CORPUS_TRAIN)
    assert info == {"prompt": "style-v1", "n_shots": 2, "seed": 0, "retrieval": B.RETRIEVAL,
                    "shots_file": files.CORPUS_TRAIN}
    assert B.describe("plain-v1", 0, 3, files.CORPUS_TRAIN)["retrieval"] == "none (zero-shot)"
    assert B.signature(info).startswith("prompt:style-v1|shots:2|seed:0|")


def test_shots_are_dropped_worst_match_first_until_the_prompt_fits_the_budget():
    target = ex("q", language="es", channel="email", recipient="parent")
    words = lambda text: len(text.split())  # noqa: E731 (a stand-in tokenizer: one token per word)
    full = B.baseline_prompts([target], POOL, n_shots=2)[0]
    one = B.baseline_prompt(target["task"], target["facts"], B.select_shots(target, POOL, 1))
    zero = B.baseline_prompt(target["task"], target["facts"])
    assert words(zero) < words(one) < words(full)
    assert B.baseline_prompts([target], POOL, 2, count_tokens=words, max_prompt_tokens=words(full)) == [full]
    fitted = B.baseline_prompts([target], POOL, 2, count_tokens=words, max_prompt_tokens=words(full) - 1)
    assert fitted == [one] and "message t-es-email" in one  # the best match is the one kept
    assert B.baseline_prompts([target], POOL, 2, count_tokens=words, max_prompt_tokens=1) == [zero]
