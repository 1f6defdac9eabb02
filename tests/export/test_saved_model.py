"""In-process behaviour of the serving graph: prompt building, generation, requests, adapters."""
import json
import math
import os
import random
import re
import struct

import numpy as np
import pytest
import tensorflow as tf

from tests.export.export_models import tiny_bundle, tiny_export_config
from trainer.data.prompts import format_prompt
from trainer.tasks import task_names
from trainer.export import adapters, generation, prompt_graph, saved_model
from trainer.models import lora

# --------------------------------------------------------------------------- JSON -> prompt

_WORDS = ["María", "José Núñez", "clinic", "Dr. Smith", "2026-03-04", "14:30", "Ozempic 0.5 mg", "niño", "日本",
          "emoji 😀", "tab\there", "new\nline", "  spaces  ", 'quote"d', "back\\slash", "\u00a0nbsp", "\u2003em",
          "\x1f", "\u0085", "ß", "/slash", "<b>", "a\u2028b", "(555) 010-2030", "https://x.org/s?a=1&b=2"]
_KEYS = ["preferred_name", "appointment_date", "language", "channel", "provider_name", "Zeta", "zeta", "ä", "a",
         "aa", "a b", "Ω", "medication", "balance_amount", "refill_count", "é", "e\u0301", "", "😀", "A"]


def _random_value(rng):
    r = rng.random()
    if r < 0.4:
        return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 4)))
    if r < 0.55:
        return rng.randint(-10 ** rng.randint(1, 25), 10 ** rng.randint(1, 25))
    if r < 0.75:
        k = rng.random()
        if k < 0.3:
            return round(rng.uniform(-1000, 1000), rng.randint(0, 4))
        if k < 0.6:  # any double, from its bits
            v = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
            return 0.5 if math.isnan(v) or math.isinf(v) or (v != 0 and abs(v) < 2.3e-308) else v
        return rng.uniform(-1, 1) * 10 ** rng.randint(-12, 25)
    if r < 0.9:
        return rng.choice([True, False])
    return None


def _random_requests(n, seed=0):
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        facts = {rng.choice(_KEYS): _random_value(rng) for _ in range(rng.randint(0, 8))}
        task = rng.choice(list(task_names()) + ["custom_task", "Recordatorio ñ"])
        body = {"task": task, "facts": facts} if rng.random() < 0.7 else {"facts": facts, "id": "r1", "task": task}
        text = json.dumps(
            body,
            ensure_ascii=rng.random() < 0.5,
            indent=rng.choice([None, None, 2]),
            separators=rng.choice([None, (",", ":")]),
        )
        out.append((text, format_prompt(task, facts)))
    return out


# Hand-written requests: number spellings json.dumps never makes, escapes, duplicates, extras.
_HANDWRITTEN = [
    '{"task":"lab_results_ready","facts":{"n":12.50,"m":1E3,"z":-0.0,"s":0.00012,"t":1e-7,"i":-0,"big":123456789012345678901234567890}}',
    '{"task":"t","facts":{"a":0.30000000000000001,"b":1.0e+16,"c":9007199254740993.0,"d":-1e400,"e":1e22,"f":0.1e1,"g":2.5e-5}}',
    '{"task":"x\\"y\\\\z\\u00e9\\ud83d\\ude00","facts":{"k\\n":"\\t tab\\u2028","k":"a","k":"b","emoji":"\\ud83d\\ude00 ok"},"extra":{"a":1},"id":"r1"}',
    '  {"facts": {"language": "es", "channel": "sms", "preferred_name": "Lucía"}, "task": "appointment_reminder"}\n',
    '{"task":"billing_question_reply","facts":{}}',
    '{"task":"prescription_refill","facts":{"medication":"metformin\\r\\n 500 mg","refill_count":2,"ok":true,"no":false,"none":null}}',
    '{"task": "post_discharge_checkin", "task": "no_show_followup", "facts": {"preferred_name": "Ana\\u00a0María"}}',
]


def test_json_requests_build_exactly_the_python_prompt():
    pairs = _random_requests(250)
    for text in _HANDWRITTEN:
        body = json.loads(text)
        pairs.append((text, format_prompt(body["task"], body["facts"])))
    got = tf.function(prompt_graph.format_prompts)(tf.constant([p[0] for p in pairs])).numpy()
    mismatches = [(r, g.decode("utf-8"), e) for (r, e), g in zip(pairs, got) if g.decode("utf-8") != e]
    assert not mismatches, mismatches[:3]


def test_plain_prompts_pass_through_unchanged():
    texts = ["### Task: custom\n### Facts:\n- a: 1\n### Message:\n", "Hello {not json", "", "{ but not closed"]
    assert [t.decode() for t in prompt_graph.format_prompts(tf.constant(texts)).numpy()] == texts


@pytest.mark.parametrize(
    "request_text, reason",
    [
        ('{"task": "t"}', 'no "facts" key'),
        ('{"facts": {}}', 'no "task" key'),
        ('{"task": 1, "facts": {}}', '"task" must be a JSON string'),
        ('{"task": "t", "facts": "x"}', '"facts" must be a JSON object'),
        ('{"task": "t", "facts": {"a": [1]}}', "not an object"),
        ('{"task": "t", "facts": {"a": {"b": 1}}}', "not an object"),
        ('{"task": "t", "facts": {"a": 1},}', "not an object"),
        ('{"task": "t", "facts": {"a": "\\x"}}', "not an object"),
        ('{"task": "t", "facts": {"a": 1e-320}}', "too close to zero"),
    ],
)
def test_bad_json_requests_are_refused_with_the_reason(request_text, reason):
    with pytest.raises(tf.errors.InvalidArgumentError, match=reason):
        prompt_graph.format_prompts(tf.constant([request_text]))


def test_bad_json_errors_name_the_row_never_the_request_text():
    """Servers log errors; a request holds a patient's name, MRN and date of birth."""
    request = ('{"task": "appointment_reminder", "facts": {"preferred_name": "Zelphine Quartermaine", '
               '"mrn": "MRN 80417731", "dob": "1957-03-14"},}')
    for bad in (request, request.replace('"task": "appointment_reminder", ', "")):
        with pytest.raises(tf.errors.InvalidArgumentError) as err:
            prompt_graph.format_prompts(tf.constant(["Hello", bad]))
        message = err.value.message
        assert "request row" in message
        for secret in ("Zelphine", "Quartermaine", "80417731", "1957-03-14"):
            assert secret not in message


def test_export_refuses_a_prompt_graph_that_no_longer_matches_python(monkeypatch):
    prompt_graph.check_matches_python()
    from trainer.data import prompts

    monkeypatch.setattr(prompts, "format_prompt", lambda task, facts: f"Task: {task}\n")
    with pytest.raises(AssertionError, match="out of date"):
        prompt_graph.check_matches_python()


# --------------------------------------------------------------------------- decoding

def _right_pad(rows, pad=0):
    width = max(len(r) for r in rows)
    ids = np.full((len(rows), width), pad, np.int32)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = r
    return ids, np.array([len(r) for r in rows], np.int32)


def _decoder_fn(bundle, stop_ids=(), cap=12, pool=64):
    lm = generation.causal_lm_for(bundle.backbone)
    dec = generation.Decoder(lm, stop_ids, 0, cap, pool)

    @tf.function(
        jit_compile=True,
        input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                         tf.TensorSpec([], tf.float32), tf.TensorSpec([None], tf.int64),
                         tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.float32)],
    )
    def compiled(ids, lengths, temperature, seed, top_k, top_p):
        p = generation.SamplingParams(tf.constant(cap), temperature, top_k, top_p, seed)
        r = dec.decode(ids, lengths, p)
        return r.token_ids, r.num_tokens, r.stopped

    def run(ids, lengths, temperature, seed, top_k=0, top_p=1.0):
        return compiled(ids, lengths, temperature, seed, tf.constant(top_k), tf.constant(top_p, tf.float32))

    return lm, run


def _prompts(bundle):
    texts = ["Hi Ana, your appointment", "Hola María, su cita es el lunes a las 9:30 con la Dra. Pérez en", "Refill"]
    start = bundle.tokenizer.start_token_id
    return [[start] + np.asarray(bundle.tokenizer(t)).tolist() for t in texts]


@pytest.fixture(scope="module", params=["gpt2", "gemma3"])
def decoder_case(request):
    bundle = tiny_bundle(request.param)
    lm, run = _decoder_fn(bundle)
    return bundle, lm, run


def test_greedy_decoding_matches_keras_hub_generate_step(decoder_case):
    bundle, lm, run = decoder_case
    lm.compile(sampler="greedy")
    rows = _prompts(bundle)
    ids, lengths = _right_pad(rows)
    ours = run(ids, lengths, tf.constant(0.0), tf.constant([0] * len(rows), tf.int64))[0].numpy()
    # keras-hub's own generate_step (what CausalLM.generate runs), on the same uneven batch.
    padded = {"token_ids": tf.constant(np.pad(ids, ((0, 0), (0, 12)))),
              "padding_mask": tf.constant(np.pad(np.arange(ids.shape[1])[None] < lengths[:, None], ((0, 0), (0, 12))))}
    theirs = tf.function(lm.generate_step)(padded, stop_token_ids=None)["token_ids"].numpy()
    for i, n in enumerate(lengths):
        np.testing.assert_array_equal(ours[i], theirs[i, n : n + 12])
    assert len(set(ours.ravel().tolist())) > 4  # varied outputs, so the comparison has teeth


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_uneven_batch_gives_each_prompt_its_own_output(decoder_case, temperature):
    bundle, _, run = decoder_case
    rows = _prompts(bundle)
    ids, lengths = _right_pad(rows)
    seeds = tf.constant([7] * len(rows), tf.int64)
    batch = run(ids, lengths, tf.constant(temperature), seeds)[0].numpy()
    for i, row in enumerate(rows):
        alone_ids, alone_len = _right_pad([row])
        alone = run(alone_ids, alone_len, tf.constant(temperature), seeds[:1])[0].numpy()[0]
        np.testing.assert_array_equal(batch[i], alone, err_msg=f"row {i} changed by its batch")


def test_generation_stops_at_a_stop_token_and_leaves_it_out():
    bundle = tiny_bundle("gpt2")
    _, run = _decoder_fn(bundle)
    ids, lengths = _right_pad(_prompts(bundle)[:1])
    free = run(ids, lengths, tf.constant(0.0), tf.constant([0], tf.int64))[0].numpy()[0].tolist()
    k = next(i for i in range(2, len(free)) if free[i] not in free[:i])  # first fresh token after 2
    _, run_stop = _decoder_fn(bundle, stop_ids=(free[k],))
    out, count, stopped = run_stop(ids, lengths, tf.constant(0.0), tf.constant([0], tf.int64))
    assert int(count[0]) == k and bool(stopped[0])
    assert out.numpy()[0, :k].tolist() == free[:k] and set(out.numpy()[0, k:].tolist()) == {0}


def test_sampling_is_reproducible_and_topk1_is_greedy(decoder_case):
    bundle, _, run = decoder_case
    ids, lengths = _right_pad(_prompts(bundle)[:1])
    greedy = run(ids, lengths, tf.constant(0.0), tf.constant([0], tf.int64))[0].numpy()
    a = run(ids, lengths, tf.constant(1.0), tf.constant([3], tf.int64))[0].numpy()
    b = run(ids, lengths, tf.constant(1.0), tf.constant([3], tf.int64))[0].numpy()
    c = run(ids, lengths, tf.constant(1.0), tf.constant([4], tf.int64))[0].numpy()
    top1 = run(ids, lengths, tf.constant(1.0), tf.constant([3], tf.int64), top_k=1)[0].numpy()
    nucleus = run(ids, lengths, tf.constant(1.0), tf.constant([3], tf.int64), top_p=1e-6)[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert (a != c).any() and (a != greedy).any()
    np.testing.assert_array_equal(top1, greedy)
    np.testing.assert_array_equal(nucleus, greedy)  # a tiny nucleus keeps only the top token


def test_gumbel_noise_depends_on_seed_step_and_token_only():
    ids = tf.constant([[5, 9, 11], [11, 5, 9]])
    noise = generation.gumbel_noise(tf.constant([1, 1], tf.int64), tf.constant([2, 2]), ids).numpy()
    np.testing.assert_allclose(noise[0], noise[1][[1, 2, 0]])
    other = generation.gumbel_noise(tf.constant([1, 2], tf.int64), tf.constant([2, 2]), ids).numpy()
    assert not np.allclose(noise[1], other[1])
    big = generation.gumbel_noise(tf.constant([0], tf.int64), tf.constant([0]), tf.range(20000)[None]).numpy()
    assert abs(big.mean() - 0.5772) < 0.03 and abs(big.std() - math.pi / math.sqrt(6)) < 0.05  # Gumbel(0,1)


# --------------------------------------------------------------------------- serving module

@pytest.fixture(scope="module")
def gpt2_module():
    bundle = tiny_bundle("gpt2")
    module, sigs = saved_model.make_serving_module(bundle.backbone, bundle.tokenizer, tiny_export_config())
    return bundle, module, sigs


def _text(module, texts, **kw):
    out = module.serving_default(tf.constant(texts, tf.string), **{k: tf.constant(v) for k, v in kw.items()})
    return {k: v.numpy() for k, v in out.items()}


def _ids(module, ids, mask, **kw):
    out = module.generate_ids(tf.constant(ids, tf.int32), tf.constant(mask, tf.int32),
                              **{k: tf.constant(v) for k, v in kw.items()})
    return {k: v.numpy() for k, v in out.items()}


def test_text_signature_equals_token_id_signature_on_the_same_prompt(gpt2_module):
    bundle, module, _ = gpt2_module
    request = json.dumps({"task": "appointment_reminder", "facts": {"preferred_name": "Ana"}})
    text = _text(module, [request, "Hi there"], seed=np.int64(5), temperature=np.float32(0.7))
    prompt = format_prompt("appointment_reminder", {"preferred_name": "Ana"})
    ids = [bundle.tokenizer.start_token_id] + np.asarray(bundle.tokenizer(prompt)).tolist()
    ids = ids[:1] + ids[-(module.max_prompt_tokens - 1):]  # the text path truncates the same way
    by_ids = _ids(module, [ids], [[1] * len(ids)], seed=np.int64(5), temperature=np.float32(0.7))
    generated = by_ids["token_ids"][0][: by_ids["num_tokens"][0]]
    expected = tf.function(module.tokenizer.detokenize)(tf.ragged.constant([generated.tolist()]))
    assert text["text"][0] == expected.numpy()[0]
    assert text["num_tokens"][0] == by_ids["num_tokens"][0] == 6
    assert text["seed"].tolist() == [5, 5]


def test_long_prompts_are_truncated_from_the_left(gpt2_module):
    bundle, module, _ = gpt2_module
    limit = module.max_prompt_tokens
    long_ids = list(range(1000, 1000 + limit + 20))
    out = _ids(module, [long_ids, long_ids[-limit:] + [0] * 20], [[1] * len(long_ids), [1] * limit + [0] * 20])
    assert out["truncated"].tolist() == [True, False]
    assert out["prompt_tokens"].tolist() == [limit, limit]
    np.testing.assert_array_equal(out["token_ids"][0], out["token_ids"][1])
    request = json.dumps({"task": "appointment_reminder", "facts": {"note": "word " * 200}})
    text = _text(module, [request])
    assert text["truncated"].tolist() == [True] and text["prompt_tokens"].tolist() == [limit]


def test_any_padding_layout_of_token_ids_gives_the_same_output(gpt2_module):
    _, module, _ = gpt2_module
    row = [464, 3290, 318, 257, 1332]
    right = _ids(module, [row + [0, 0], [11, 22, 33, 0, 0, 0, 0]], [[1] * 5 + [0, 0], [1, 1, 1, 0, 0, 0, 0]])
    left = _ids(module, [[0, 0] + row, [0, 0, 0, 0, 11, 22, 33]], [[0, 0] + [1] * 5, [0, 0, 0, 0, 1, 1, 1]])
    for key in ("token_ids", "num_tokens", "prompt_tokens"):
        np.testing.assert_array_equal(right[key], left[key])


def test_unseeded_requests_draw_a_seed_per_row_that_reproduces_the_row(gpt2_module):
    _, module, _ = gpt2_module
    out = _text(module, ["Hi there"] * 4, temperature=np.float32(1.0), max_new_tokens=np.int32(8))
    assert len(set(out["seed"].tolist())) == 4 and len(set(out["text"].tolist())) > 1
    again = _text(module, ["Hi there"], temperature=np.float32(1.0), max_new_tokens=np.int32(8), seed=out["seed"][2])
    assert again["text"][0] == out["text"][2]
    fixed = _text(module, ["Hi there"] * 2, temperature=np.float32(1.0), max_new_tokens=np.int32(8), seed=np.int64(9))
    assert fixed["text"][0] == fixed["text"][1]


@pytest.mark.parametrize(
    "kwargs, reason",
    [
        (dict(texts=[]), "empty batch"),
        (dict(max_new_tokens=np.int32(0)), r"max_new_tokens must be in \[1, 16\]"),
        (dict(max_new_tokens=np.int32(17)), r"max_new_tokens must be in \[1, 16\]"),
        (dict(temperature=np.float32(-1)), "temperature must be >= 0"),
        (dict(top_p=np.float32(0)), r"top_p must be in \(0, 1\]"),
        (dict(top_k=np.int32(-2)), "top_k must be >= 0"),
    ],
)
def test_bad_text_requests_fail_with_a_clear_message(gpt2_module, kwargs, reason):
    _, module, _ = gpt2_module
    texts = kwargs.pop("texts", ["Hi"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=reason):
        _text(module, texts, **kwargs)


def test_bad_token_id_requests_fail_with_a_clear_message(gpt2_module):
    _, module, _ = gpt2_module
    with pytest.raises(tf.errors.InvalidArgumentError, match="same shape"):
        _ids(module, [[1, 2, 3]], [[1, 1]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least one token"):
        _ids(module, [[1, 2], [3, 4]], [[1, 1], [0, 0]])
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError)):
        module.generate_ids(tf.constant([[1.5]]), tf.constant([[1]]))


def _failing_row(message):
    found = re.search(r"\(request row\] \[(-?\d+)\] \[of the batch", message)
    assert found, message
    return int(found.group(1))


def test_out_of_vocabulary_token_ids_are_refused_naming_the_row_not_the_ids(gpt2_module):
    bundle, module, _ = gpt2_module
    vocab = bundle.tokenizer.vocabulary_size()
    assert bundle.backbone.vocabulary_size == vocab == 50257  # the real GPT-2 BPE
    for row, bad in ((1, -1), (2, vocab), (0, vocab + 12345), (2, -(2**31))):
        ids = [[4321, 9876, 31415, 2718], [1111, 2222, 3333, 4444], [7071, 7072, 7073, 7074]]
        ids[row][2] = bad
        with pytest.raises(tf.errors.InvalidArgumentError) as err:
            _ids(module, ids, [[1, 1, 1, 1]] * 3)
        message = err.value.message
        assert f"token_ids out of vocabulary: ids where padding_mask is 1 must be in [0, {vocab})" in message
        assert _failing_row(message) == row
        for token in [i for r in ids for i in r if i != vocab]:  # none of the request's ids is repeated
            assert not re.search(rf"(?<![\d-]){token}(?!\d)", message), token
    # The first bad row is named when several are bad.
    with pytest.raises(tf.errors.InvalidArgumentError) as err:
        _ids(module, [[1, 2], [3, -5], [vocab, 4]], [[1, 1]] * 3)
    assert _failing_row(err.value.message) == 1


def test_ids_under_padding_mask_zero_are_ignored_and_the_last_id_is_accepted(gpt2_module):
    bundle, module, _ = gpt2_module
    vocab = bundle.tokenizer.vocabulary_size()
    mask = [[0, 0, 1, 1], [1, 1, 1, 0]]
    odd = _ids(module, [[-1, vocab + 7, 464, 3290], [11, 22, 33, -(2**31)]], mask)
    plain = _ids(module, [[0, 0, 464, 3290], [11, 22, 33, 0]], mask)
    for key in ("token_ids", "num_tokens", "prompt_tokens"):
        np.testing.assert_array_equal(odd[key], plain[key])
    edge = _ids(module, [[0, vocab - 1]], [[1, 1]])
    assert edge["prompt_tokens"].tolist() == [2] and edge["num_tokens"][0] > 0


# --------------------------------------------------------------------------- adapters

def _lora_model_and_adapter(tmp_path, rank=4):
    bundle = tiny_bundle("gpt2")
    wrappers = lora.apply_lora(bundle.backbone, rank=rank, alpha=8.0, targets=("query", "value", "ffn_up"))
    rng = np.random.default_rng(0)
    for w in wrappers:
        w.lora_b.assign(rng.normal(0, 0.5, w.lora_b.shape).astype("float32"))
    path = os.path.join(tmp_path, "clinic_a.npz")
    lora.save_adapter(bundle.backbone, path)
    lora.merge_lora(bundle.backbone)
    return bundle, path


def test_adapter_slot_gives_the_merged_model_output(tmp_path):
    merged, path = _lora_model_and_adapter(tmp_path)
    cfg = tiny_export_config()
    merged_module, _ = saved_model.make_serving_module(merged.backbone, merged.tokenizer, cfg)
    base = tiny_bundle("gpt2")
    slot_cfg = tiny_export_config(adapter_slots=2, adapter_rank=8, adapter_targets=("query", "value", "ffn_up", "ffn_down"))
    module, _ = saved_model.make_serving_module(base.backbone, base.tokenizer, slot_cfg)
    layout = module.adapters.describe()
    weights = adapters.pack_adapter(path, layout)
    assert weights.size == layout["num_weights"] and os.path.getsize(path) < 64_000
    loaded = module.load_adapter(slot=tf.constant(2), name=tf.constant("clinic_a"), weights=tf.constant(weights))
    assert [n.decode() for n in loaded["names"].numpy()] == ["", "", "clinic_a"]
    texts = ["Hi Ana, your appointment", "Refill"]
    with_adapter = _text(module, texts, adapter=b"clinic_a")
    expected = _text(merged_module, texts)
    assert with_adapter["text"].tolist() == expected["text"].tolist()
    plain = _text(module, texts, adapter=b"")
    assert plain["text"].tolist() != with_adapter["text"].tolist()
    with pytest.raises(tf.errors.InvalidArgumentError, match="unknown adapter"):
        _text(module, texts, adapter=b"clinic_b")
    with pytest.raises(tf.errors.InvalidArgumentError, match="adapter weights must have"):
        module.load_adapter(slot=tf.constant(1), name=tf.constant("x"), weights=tf.constant(weights[:-1]))
    module.adapters.remove()


def test_pack_adapter_refuses_layers_the_export_has_no_slot_for(tmp_path):
    _, path = _lora_model_and_adapter(tmp_path)
    base = tiny_bundle("gpt2")
    module, _ = saved_model.make_serving_module(
        base.backbone, base.tokenizer, tiny_export_config(adapter_slots=1, adapter_rank=8, adapter_targets=("query",))
    )
    with pytest.raises(ValueError, match="no slots for"):
        adapters.pack_adapter(path, module.adapters.describe())
    module.adapters.remove()


def test_graph_states_the_weekday_of_every_iso_date_exactly_as_python():
    rng = random.Random(3)
    values = ["2026-12-15", "2024-02-29", "2023-02-29", "0000-01-01", "0001-01-01", "9999-12-31", "2026-04-31",
              "1900-02-29", "2000-02-29", " 2026-12-15\n", "2026-12-15T09:30", "\u0662\u0660\u0662\u0666-12-15"]
    values += [f"{rng.randint(0, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}" for _ in range(400)]
    facts = [{"appointment_date": v, "n": 20261215} for v in values]
    requests = [json.dumps({"task": "appointment_reminder", "facts": f}) for f in facts]
    # As served: one traced graph (eagerly, map_fn would run its body op by op, 400 times).
    got = [g.decode("utf-8") for g in tf.function(prompt_graph.format_prompts)(tf.constant(requests)).numpy()]
    assert got == [format_prompt("appointment_reminder", f) for f in facts]
    assert "- appointment_date: 2026-12-15 (Tuesday)\n" in got[0] and "2023-02-29\n" in got[2]
