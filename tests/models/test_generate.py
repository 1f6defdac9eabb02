"""Batched generation: length-sorted batches give each prompt its own continuation, in order."""
import numpy as np
import pytest

from trainer.models import backbones, generate
from trainer.models import config as models_config


def _bundle(source):
    cfg = models_config.model_config()
    cfg.source = source
    return backbones.build_backbone(cfg)


@pytest.mark.parametrize("source", ["tiny_gpt2", "tiny_gemma"])
def test_batched_outputs_match_one_prompt_at_a_time_in_caller_order(source):
    bundle = _bundle(source)
    lm = generate.make_causal_lm(bundle, sequence_length=128)
    # Uneven lengths, not in length order: a batch that mixed a 3-token and a 40-token prompt
    # would start decoding at the short one.
    prompts = [
        "Reminder for the visit on Tuesday at the north clinic with the nurse and the doctor, "
        "please bring your card and your list of medicines",
        "Hi",
        "Your lab results are ready in the portal",
        "Please call us back",
        "Your refill of metformin is ready for pickup at the pharmacy on Main Street today",
    ]
    batched = generate.generate_texts(lm, bundle, prompts, max_new_tokens=6, batch_size=2)
    alone = [generate.generate_texts(lm, bundle, [p], max_new_tokens=6, batch_size=1)[0] for p in prompts]
    assert len(batched) == len(prompts)
    # Greedy decoding of a random-init model: a row must get its own prompt's continuation, so the
    # batched outputs equal one-at-a-time outputs position by position.
    assert batched == alone
    assert len(set(alone)) > 1  # the prompts really do lead to different continuations


PROMPTS = [
    "Reminder for the visit on Tuesday at the north clinic with the nurse and the doctor, please bring "
    "your card and your list of medicines and the letter from your last visit",
    "Hi",
    "Your lab results are ready in the portal",
    "Please call us back",
    "Your refill of metformin is ready for pickup at the pharmacy on Main Street today",
    "Good morning",
    "The clinic is closed on Monday for the holiday",
]


# One backbone each for the next two (keras-hub's generate compiles once per prompt length, ~35 s
# a backbone): the decode loop under them is compared with keras-hub on both backbones in
# tests/export/test_saved_model.py; these pin the batching and stopping that eval adds on top.
@pytest.mark.parametrize("source", ["tiny_gemma"])
def test_kv_cache_greedy_equals_keras_hub_generate(source):
    bundle = _bundle(source)
    # A short cache: the longest prompt does not fit in `sequence_length - max_new_tokens`, so
    # one batch takes the widened shape and the rest the default one; batch 3 leaves a partial
    # last batch.
    lm = generate.make_causal_lm(bundle, sequence_length=40)
    assert getattr(lm, generate._KV_ATTR) is not None  # greedy runs on the KV-cache loop
    ours = generate.generate_texts(lm, bundle, PROMPTS, max_new_tokens=12, batch_size=3)
    # keras-hub one prompt at a time with max_length = prompt + 12 exactly: batched, it would run
    # the shorter rows of a batch past their budget.
    reference = generate.keras_hub_generate_texts(lm, bundle, PROMPTS, max_new_tokens=12, batch_size=1, length_bucket=1)
    assert ours == reference
    assert all(ours) and len(set(ours)) > 1


@pytest.mark.parametrize("source", ["tiny_gpt2"])
def test_kv_cache_stops_where_keras_hub_stops(source):
    """A row ends at its first stop token, with the same text as keras-hub; other rows go on."""
    bundle = _bundle(source)
    lm = generate.make_causal_lm(bundle, sequence_length=64)
    gen = getattr(lm, generate._KV_ATTR)
    prompts = PROMPTS[1:]
    ids = generate._prompt_ids(lm, bundle, prompts)
    width = 32
    token_ids = np.zeros((len(prompts), width), np.int32)
    for r, row in enumerate(ids):
        token_ids[r, : len(row)] = row
    lengths = np.array([len(r) for r in ids], np.int32)
    free, _ = gen.function(8)(token_ids, lengths)
    # Stop at a token the model really produces after the first new token of some row.
    free = free.numpy()
    novel = [int(t) for row in free for i, t in enumerate(row) if i >= 1 and t not in row[:i]]
    stop = novel[0] if novel else int(free[0, 0])
    gen.stop_token_ids = (stop,)
    gen._fns.clear()
    new_ids, counts = gen.function(8)(token_ids, lengths)
    new_ids, counts = new_ids.numpy(), counts.numpy()
    for r, row in enumerate(free):
        hits = [i for i, t in enumerate(row) if t == stop]
        if hits:  # the new tokens before the stop token, then the stop token (kept, as keras-hub does)
            assert counts[r] == hits[0] + 1 and new_ids[r, hits[0]] == stop
            assert list(new_ids[r, : hits[0]]) == list(row[: hits[0]])
        else:  # a row that never meets the stop token keeps its budget
            assert counts[r] == 8 and list(new_ids[r]) == list(row)
    assert counts.min() < 8
    # keras-hub one prompt at a time, with exactly 8 new tokens of room.
    reference = [lm.generate([p], max_length=len(i) + 8, stop_token_ids=(stop,), strip_prompt=True)[0]
                 for p, i in zip(prompts, ids)]
    mask = np.arange(8)[None, :] < counts[:, None]
    ours = lm.preprocessor.generate_postprocess({"token_ids": new_ids, "padding_mask": mask})
    assert [generate._as_str(t).strip() for t in ours] == [t.strip() for t in reference]


def test_xla_auto_is_off_for_bfloat16_on_cpu_only():
    assert generate.xla_for("auto", "float32") is True
    assert generate.xla_for("auto", "bfloat16") is False  # the test machines have no GPU/TPU
    assert generate.xla_for(True, "bfloat16") is True
    assert generate.xla_for("off", "float32") is False
    with pytest.raises(ValueError, match="xla must be auto, on or off"):
        generate.xla_for("fast", "float32")
