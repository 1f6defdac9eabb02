"""tf.data pipeline: loss mask on response tokens, packing without cross-talk, seeded resumable order."""
import numpy as np
import pytest

from tests import tolerances
from trainer.data import pipeline
from trainer.data.prompts import format_prompt
from trainer.data.records import CleanExample
from trainer.models import backbones, causal_lm
from trainer.models import config as models_config


def _examples(n=12):
    out = []
    for i in range(n):
        facts = {"preferred_name": f"Ana{i}", "appointment_date": f"2026-03-{i % 27 + 1:02d}", "language": "en"}
        resp = f"Hi Ana{i}, see you on March {i % 27 + 1}." + " Thanks!" * (i % 4)
        out.append(CleanExample(f"e{i}", f"p{i % 5}", "appointment_reminder", facts, resp))
    return out


@pytest.fixture(scope="module")
def gpt2():
    cfg = models_config.model_config()
    cfg.source = "tiny_gpt2"
    return backbones.build_backbone(cfg)


def test_loss_targets_are_exactly_the_response_tokens_plus_eos(gpt2):
    ex = _examples(1)[0]
    tok = gpt2.tokenizer
    tokenized = pipeline.tokenize_examples([ex], tok)
    arrays, stats = pipeline.pack(tokenized, 128, pad_id=0)
    response = [int(t) for t in np.asarray(tok(ex.response))] + [tok.end_token_id]
    w = arrays["loss_weights"][0] > 0
    assert arrays["loss_targets"][0][w].tolist() == response
    # Each target is the token right after its position, so no prompt token is ever a target.
    ids = arrays["token_ids"][0]
    assert [int(ids[p + 1]) for p in arrays["loss_positions"][0][w]] == response
    prompt_len = len(tokenized[0].prompt_ids)
    assert arrays["loss_positions"][0][w].min() == prompt_len - 1
    assert stats.response_tokens == len(response)
    decoded = tok.detokenize(ids[1:prompt_len])  # after the start token
    decoded = decoded.numpy().decode() if hasattr(decoded, "numpy") else decoded
    assert decoded == format_prompt(ex.task, ex.facts)


def test_packing_fills_rows_and_keeps_every_example(gpt2):
    tokenized = pipeline.tokenize_examples(_examples(40), gpt2.tokenizer)
    packed, pstats = pipeline.pack(tokenized, 256, pad_id=0, packing=True)
    unpacked, ustats = pipeline.pack(tokenized, 256, pad_id=0, packing=False)
    assert pstats.examples == ustats.examples == 40
    assert pstats.rows < ustats.rows
    assert pstats.padding_fraction < ustats.padding_fraction
    assert pstats.response_tokens == ustats.response_tokens
    # Every example is one segment; segments never exceed a row.
    assert sum(int(r.max()) for r in packed["segment_ids"]) == 40
    assert int((packed["segment_ids"] > 0).sum()) == pstats.real_tokens


def test_overlong_examples_are_truncated_or_dropped(gpt2):
    long_resp = CleanExample("long", "p", "appointment_reminder", {"a": "b"}, "word " * 400)
    huge_prompt = CleanExample("huge", "p", "appointment_reminder", {"a": "x " * 400}, "ok")
    tokenized = pipeline.tokenize_examples([long_resp, huge_prompt], gpt2.tokenizer)
    arrays, stats = pipeline.pack(tokenized, 64, pad_id=0)
    assert stats.truncated == 1 and stats.dropped_too_long == 1 and stats.rows == 1
    assert int((arrays["segment_ids"][0] > 0).sum()) == 64


@pytest.mark.parametrize("source", ["tiny_gpt2", "tiny_gemma"])
def test_packed_rows_give_the_logits_of_each_example_alone(source):
    cfg = models_config.model_config()
    cfg.source = source
    bundle = backbones.build_backbone(cfg)
    causal_lm.enable_packed_attention(bundle)
    tokenized = pipeline.tokenize_examples(_examples(6), bundle.tokenizer)
    arrays, _ = pipeline.pack(tokenized, 256, pad_id=bundle.pad_token_id)
    row = 0
    segs = arrays["segment_ids"][row]
    assert segs.max() >= 2, "the test needs a row holding several examples"
    t = arrays["token_ids"].shape[1]
    hidden = causal_lm.hidden_states(
        bundle, arrays["token_ids"][:1], arrays["segment_ids"][:1], arrays["positions"][:1]
    )
    packed = np.asarray(causal_lm.logits_at(bundle, hidden, np.arange(t, dtype="int32")[None]))[0]
    for s in range(1, segs.max() + 1):
        idx = np.where(segs == s)[0]
        ids = arrays["token_ids"][row, idx][None]
        alone = np.asarray(causal_lm.full_logits(bundle, ids, np.ones_like(ids)))[0]
        np.testing.assert_allclose(packed[idx], alone, **tolerances.PACKED)
    # Without segment ids (plain causal mask over the whole row) later examples would differ.
    naive = np.asarray(
        causal_lm.full_logits(bundle, arrays["token_ids"][:1], (segs > 0).astype("int32")[None])
    )[0]
    idx = np.where(segs == 2)[0]
    ids = arrays["token_ids"][row, idx][None]
    alone = np.asarray(causal_lm.full_logits(bundle, ids, np.ones_like(ids)))[0]
    assert np.abs(naive[idx] - alone).max() > 1e-2


def test_row_order_is_seeded_and_resumes_exactly():
    full = pipeline.row_order(10, seed=3, start=0, count=35)
    again = pipeline.row_order(10, seed=3, start=0, count=35)
    np.testing.assert_array_equal(full, again)
    np.testing.assert_array_equal(pipeline.row_order(10, seed=3, start=17, count=18), full[17:])
    assert sorted(full[:10].tolist()) == list(range(10))  # each epoch is a permutation
    assert not np.array_equal(full[:10], full[10:20])  # and epochs differ
    assert not np.array_equal(full, pipeline.row_order(10, seed=4, start=0, count=35))


def test_dataset_batches_follow_the_row_order_and_shard_per_worker():
    import tensorflow as tf

    rows = {k: np.arange(12 * 2, dtype=np.int32).reshape(12, 2) for k in pipeline.FEATURES}
    batches = list(pipeline.make_dataset(rows, batch_size=4, seed=0, start_batch=1, num_batches=3))
    order = pipeline.row_order(12, seed=0, start=4, count=12)
    got = np.concatenate([b["token_ids"].numpy()[:, 0] // 2 for b in batches])
    np.testing.assert_array_equal(got, order)

    class Ctx:
        num_input_pipelines = 2

        def __init__(self, i):
            self.input_pipeline_id = i

        def get_per_replica_batch_size(self, global_batch):
            return global_batch // 2

    shards = [list(pipeline.make_dataset(rows, 4, 0, 1, 3, input_context=Ctx(i))) for i in (0, 1)]
    for step in range(3):
        together = np.concatenate([shards[0][step]["token_ids"].numpy(), shards[1][step]["token_ids"].numpy()])
        np.testing.assert_array_equal(together, batches[step]["token_ids"].numpy())
    assert isinstance(batches[0]["token_ids"], tf.Tensor)


def test_split_by_patient_never_shares_a_patient():
    exs = _examples(60)
    exs = [CleanExample(e.id, f"patient{i % 17}", e.task, e.facts, e.response) for i, e in enumerate(exs)]
    train, val = pipeline.split_by_patient(exs, 0.3, seed=0)
    assert len(train) + len(val) == 60 and val and train
    assert not {e.patient_key for e in train} & {e.patient_key for e in val}


def test_prompt_states_the_weekday_of_calendar_dates_only():
    prompt = format_prompt("appointment_reminder", {
        "appointment_date": " 2026-12-15 ", "due_date": "2024-02-29", "bad": "2026-02-30", "n": 20261215,
        "stamp": "2026-12-15T09:30", "range": "2026-12-15 to 2026-12-16"})
    assert "- appointment_date: 2026-12-15 (Tuesday)\n" in prompt
    assert "- due_date: 2024-02-29 (Thursday)\n" in prompt
    assert "- bad: 2026-02-30\n" in prompt and "- n: 20261215\n" in prompt
    assert "- stamp: 2026-12-15T09:30\n" in prompt and "- range: 2026-12-15 to 2026-12-16\n" in prompt
