"""Fuzzing the exported signatures (`serving_default`, `generate_ids`) of one tiny export.

Whatever a client sends (random strings and bytes, JSON and broken JSON, any option value, odd
shapes, wrong dtypes), the served model either answers every row of the batch with well-formed
outputs or refuses the request with an error; the process never dies or hangs, and an error
never repeats the request's text (requests hold patient names, MRNs and birth dates).
"""
import json
import re
import time

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from trainer.tasks import task_names

# Identifiers a request may carry; no error message may repeat them.
CANARIES = ("Zelphine Quartermaine", "MRN 80417731", "1957-03-14", "zq@example.org")
_ERRORS = (tf.errors.InvalidArgumentError,)
MAX_CALL_S = 60  # one call (compile included) far above this is a hang

_fact_value = st.one_of(st.text(max_size=30), st.sampled_from(CANARIES), st.integers(-10**20, 10**20),
                        st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none())
_facts = st.dictionaries(st.one_of(st.sampled_from(["preferred_name", "mrn", "dob", "email", "appointment_date",
                                                    "language", "channel"]), st.text(max_size=12)),
                         _fact_value, max_size=6)
_task = st.one_of(st.sampled_from(list(task_names())), st.text(max_size=20))


@st.composite
def _json_request(draw):
    body = {"task": draw(_task), "facts": draw(_facts)}
    body["facts"]["patient"] = draw(st.sampled_from(CANARIES))
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))
    cut = draw(st.sampled_from(["none", "truncate", "trailing_comma", "array", "nested", "bad_escape"]))
    if cut == "truncate":
        text = text[: draw(st.integers(1, max(1, len(text) - 1)))] + "}"
    elif cut == "trailing_comma":
        text = text[:-1] + ",}"
    elif cut == "array":
        text = text.replace('"facts": {', '"facts": [{', 1)
    elif cut == "nested":
        text = text.replace('"facts": {', '"facts": {"x": {"y": 1}, ', 1)
    elif cut == "bad_escape":
        text = text[:-1] + ', "k": "\\q"}'
    return text.encode("utf-8")


_request = st.one_of(
    _json_request(),
    st.text(max_size=60).map(lambda s: s.encode("utf-8")),
    st.binary(max_size=60),
    st.builds(lambda a, b: ("{" + a + "}").encode("utf-8", "surrogatepass") + b, st.text(max_size=40), st.binary(max_size=8)),
    st.just(("word " * 400).encode()),  # a prompt far over max_prompt_tokens
)
_good_options = st.fixed_dictionaries({
    "max_new_tokens": st.integers(1, 8),
    "temperature": st.floats(0, 2, width=32),
    "top_k": st.integers(0, 100),
    "top_p": st.floats(0.0625, 1, width=32),
    "seed": st.integers(-1, 2**31),
})
_wild_options = st.fixed_dictionaries({
    "max_new_tokens": st.integers(-3, 12),
    "temperature": st.one_of(st.floats(-2, 3, width=32), st.sampled_from([0.0, float("nan"), float("inf")])),
    "top_k": st.integers(-2, 70000),
    "top_p": st.one_of(st.floats(-0.5, 1.5, width=32), st.sampled_from([1.0, float("nan")])),
    "seed": st.integers(-2**63, 2**63 - 1),
})
_options = st.one_of(_good_options, _good_options, _wild_options)


def _option_tensors(options):
    return {"max_new_tokens": tf.constant(options["max_new_tokens"], tf.int32),
            "temperature": tf.constant(options["temperature"], tf.float32),
            "top_k": tf.constant(options["top_k"], tf.int32),
            "top_p": tf.constant(options["top_p"], tf.float32),
            "seed": tf.constant(options["seed"], tf.int64)}


def _valid(options, cap):
    t, p = options["temperature"], options["top_p"]
    return (1 <= options["max_new_tokens"] <= cap and np.isfinite(t) and t >= 0 and options["top_k"] >= 0
            and 0 < p <= 1)


def _event(text):
    try:
        event(text)
    except InvalidArgument:  # outside a hypothesis test
        pass


def _check_error(error, requests=()):
    message = error.message
    reason = re.search(r"(?:assertion failed: \[|Summarized data: b')(.{0,40})", message)
    _event("refused: " + (reason.group(1) if reason else message[:60]))
    for canary in CANARIES:
        assert canary not in message, f"the error repeats request text: {message[:500]}"
    for request in requests:
        text = request.decode("utf-8", "replace").strip()
        if len(text) >= 12:
            assert text not in message, f"the error repeats a request: {message[:500]}"


def _check_row_outputs(out, batch, options, cap):
    _event("answered")
    count = out["num_tokens"].numpy()
    assert count.shape == (batch,)
    assert ((count >= 0) & (count <= min(options["max_new_tokens"], cap))).all()
    for key in ("stopped", "prompt_tokens", "truncated", "seed"):
        assert out[key].shape == (batch,), key
    if options["seed"] >= 0:
        assert (out["seed"].numpy() == options["seed"]).all()


@settings(max_examples=30)
@given(requests=st.one_of(st.lists(_request, min_size=1, max_size=3), st.just([])), options=_options)
def test_serving_default_answers_every_row_or_refuses_without_echo(tiny_export, requests, options):
    loaded, cfg = tiny_export
    t0 = time.time()
    try:
        out = loaded.signatures["serving_default"](text=tf.constant(requests, tf.string), **_option_tensors(options))
    except _ERRORS as e:
        _check_error(e, requests)
    else:
        assert requests and _valid(options, cfg.max_new_tokens_cap)
        _check_row_outputs(out, len(requests), options, cfg.max_new_tokens_cap)
        assert out["text"].shape == (len(requests),)
        for text in out["text"].numpy():
            text.decode("utf-8")  # always valid UTF-8
        assert (out["prompt_tokens"].numpy() <= cfg.max_prompt_tokens).all()
    assert time.time() - t0 < MAX_CALL_S


_ids_case = st.sampled_from([1, 1, 2, 3, 0]).flatmap(lambda b: st.sampled_from([1, 5, 17, 40, 0]).flatmap(lambda p: st.tuples(
    st.just((b, p)),
    st.lists(st.one_of(st.integers(0, 1000), st.integers(0, 1000), st.integers(-5, 60000),
                       st.integers(-2**31, 2**31 - 1)), min_size=b * p, max_size=b * p),
    st.lists(st.sampled_from([0, 1, 1, 1, 1, 1, 2, -1]), min_size=b * p, max_size=b * p),
    st.sampled_from(["same", "same", "same", "fewer_columns", "more_rows"]),
)))


def _named_row(message):
    found = re.search(r"\(request row\] \[(-?\d+)\]", message)
    return int(found.group(1)) if found else None


@settings(max_examples=30)
@given(case=_ids_case, options=_options)
def test_generate_ids_answers_every_row_or_refuses(tiny_export_and_vocab, case, options):
    loaded, cfg, vocab = tiny_export_and_vocab
    (batch, width), ids, mask, layout = case
    ids = np.asarray(ids, np.int32).reshape(batch, width)
    mask = np.asarray(mask, np.int32).reshape(batch, width)
    if layout == "fewer_columns" and width:
        mask = mask[:, :-1]
    elif layout == "more_rows":
        mask = np.concatenate([mask, np.ones((1, width), np.int32)])
    # Ids the model has no embedding for, where the mask says they are real tokens.
    oov = ((ids < 0) | (ids >= vocab)) & (mask != 0) if ids.shape == mask.shape else np.zeros_like(ids, bool)
    t0 = time.time()
    try:
        out = loaded.signatures["generate_ids"](token_ids=tf.constant(ids), padding_mask=tf.constant(mask),
                                                **_option_tensors(options))
    except _ERRORS as e:
        _check_error(e)
        only_oov = (ids.shape == mask.shape and batch > 0 and _valid(options, cfg.max_new_tokens_cap)
                    and (mask != 0).sum(axis=1).min(initial=1) > 0)
        if only_oov:  # nothing else was wrong: the error is the vocabulary's and names the first bad row
            assert oov.any(), e.message[:500]
            assert "token_ids out of vocabulary" in e.message and f"[0, {vocab})" in e.message
            assert _named_row(e.message) == int(np.argmax(oov.any(axis=1)))
    else:
        assert ids.shape == mask.shape and batch > 0 and _valid(options, cfg.max_new_tokens_cap)
        assert (mask != 0).sum(axis=1).min() > 0  # every row had a token
        assert not oov.any(), "an out-of-vocabulary id was accepted"
        _check_row_outputs(out, batch, options, cfg.max_new_tokens_cap)
        generated = out["token_ids"].numpy()
        assert generated.shape[0] == batch and generated.shape[1] == out["num_tokens"].numpy().max(initial=0)
        assert (out["prompt_tokens"].numpy() == np.minimum((mask != 0).sum(axis=1), cfg.max_prompt_tokens)).all()
    assert time.time() - t0 < MAX_CALL_S


@settings(max_examples=15)
@given(dtype=st.sampled_from([tf.float32, tf.int64, tf.string, tf.bool, tf.uint8]),
       which=st.sampled_from(["token_ids", "padding_mask", "max_new_tokens", "seed", "text", "temperature"]),
       rank=st.integers(0, 3))
def test_wrong_dtypes_and_shapes_are_refused_in_the_caller_not_by_a_crash(tiny_export, dtype, which, rank):
    loaded, _ = tiny_export
    value = tf.zeros([1] * rank, dtype) if dtype != tf.string else tf.fill([1] * rank, "x")
    base = {"max_new_tokens": tf.constant(2, tf.int32), "temperature": tf.constant(0.0), "top_k": tf.constant(0),
            "top_p": tf.constant(1.0), "seed": tf.constant(1, tf.int64)}
    if which == "text":
        name, inputs = "serving_default", dict(base, text=value)
    else:
        name = "generate_ids"
        inputs = dict(base, token_ids=tf.constant([[5, 6]], tf.int32), padding_mask=tf.constant([[1, 1]], tf.int32))
        if which in inputs:
            inputs[which] = value
    try:
        out = loaded.signatures[name](**inputs)
    except (TypeError, ValueError, tf.errors.InvalidArgumentError):
        return
    # Accepted only when the value happened to fit the signature.
    assert all(v.shape[0] == 1 for v in out.values() if v.shape.rank)


def test_a_bad_json_request_with_identifiers_is_refused_without_echoing_them(tiny_export):
    loaded, _ = tiny_export
    request = json.dumps({"task": "appointment_reminder", "facts": {"preferred_name": "Zelphine Quartermaine",
                                                                    "mrn": "MRN 80417731", "dob": "1957-03-14"}})
    broken = request[:-1] + ",}"  # trailing comma
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"not an object.*request row") as err:
        loaded.signatures["serving_default"](text=tf.constant(["Hello", broken]), **_option_tensors(
            {"max_new_tokens": 2, "temperature": 0.0, "top_k": 0, "top_p": 1.0, "seed": 0}))
    _check_error(err.value, [broken.encode()])
    assert "request row" in err.value.message and "1" in err.value.message
