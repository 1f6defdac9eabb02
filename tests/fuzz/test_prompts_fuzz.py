"""Fuzzing the prompt formatter (trainer/data/prompts.py) and its in-graph twin used by the
export (trainer/export/prompt_graph.py): any task and facts give a prompt of the fixed shape, a
pure function of its inputs, and the graph builds exactly the same text from the JSON request."""
import datetime
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.data import prompts

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=25)
_date = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32))
_value = st.one_of(_text, _date, st.integers(-10**30, 10**30), st.booleans(), st.none(),
                   st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False))
_facts = st.dictionaries(st.one_of(_text, st.sampled_from(["language", "channel", "appointment_date"])), _value, max_size=6)
_task = st.one_of(st.sampled_from(["appointment_reminder", "lab_results_ready", "custom"]), _text)


@settings(max_examples=300)
@given(task=_task, facts=_facts)
def test_any_task_and_facts_give_a_prompt_of_the_fixed_shape(task, facts):
    prompt = prompts.format_prompt(task, facts)
    assert prompt.startswith(f"### Task: {task}\n") and prompt.endswith(prompts.RESPONSE_MARKER)
    assert prompts.format_prompt(task, dict(reversed(list(facts.items())))) == prompt  # order-free
    body = prompt.split("### Facts:\n", 1)[1][: -len(prompts.RESPONSE_MARKER)]
    assert body.count("\n- ") + body.startswith("- ") >= len(facts) or not facts
    leading = [k for k in prompts.LEADING_FACTS if k in facts]
    if leading:
        assert body.startswith(f"- {leading[0]}: ")


@settings(max_examples=300)
@given(value=_value)
def test_fact_values_format_without_error_and_dates_get_their_true_weekday(value):
    text = prompts.format_fact_value(value)
    assert "\n" not in text.replace("\n", "") and text == " ".join(text.split()) or isinstance(value, str)
    if isinstance(value, str) and len(value) == 10 and value[4] == "-":
        try:
            day = datetime.date.fromisoformat(value)
        except ValueError:
            assert text == value
        else:
            assert text == f"{value} ({day.strftime('%A')})"


_GRAPH = []


def _serving_graph():
    """format_prompts traced once for any batch size, as the SavedModel serves it."""
    if not _GRAPH:
        import tensorflow as tf

        from trainer.export import prompt_graph
        _GRAPH.append(tf.function(prompt_graph.format_prompts, input_signature=[tf.TensorSpec([None], tf.string)]))
    return _GRAPH[0]


@settings(max_examples=100, deadline=None)
@given(requests=st.lists(st.tuples(_task, _facts, st.booleans()), min_size=1, max_size=4))
def test_the_serving_graph_builds_exactly_the_python_prompt(requests):
    import tensorflow as tf

    texts = [json.dumps({"task": t, "facts": f}, ensure_ascii=a) for t, f, a in requests]
    got = _serving_graph()(tf.constant(texts)).numpy()
    for (task, facts, _), prompt in zip(requests, got):
        assert prompt.decode("utf-8") == prompts.format_prompt(task, facts)
