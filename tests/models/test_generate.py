"""Batched generation: length-sorted batches give each prompt its own continuation, in order."""
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
