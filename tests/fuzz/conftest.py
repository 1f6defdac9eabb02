"""Fuzzing setup: one hypothesis profile (fast, no deadline, derandomized so CI is repeatable)
and one tiny export shared by every serving fuzz test of the session."""
import os

import pytest
from hypothesis import HealthCheck, settings

# derandomize: the same examples on every run (a fuzz finding reproduces; CI never flakes).
# Set HYPOTHESIS_PROFILE=explore to draw new examples locally.
settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                                 HealthCheck.data_too_large])
settings.register_profile("explore", parent=settings.get_profile("ci"), derandomize=False, max_examples=300)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def tiny_export(tiny_export_and_vocab):
    """(loaded SavedModel, export config): a tiny random GPT-2 exported once, loaded back the way
    a server would (no project code is needed to call it)."""
    loaded, cfg, _ = tiny_export_and_vocab
    return loaded, cfg


@pytest.fixture(scope="session")
def tiny_export_and_vocab(tmp_path_factory):
    """The tiny export, its config and the vocabulary size of the model behind it."""
    import tensorflow as tf

    from tests.export.export_models import tiny_bundle, tiny_export_config
    from trainer.export import saved_model

    root = tmp_path_factory.mktemp("fuzz_export")
    cfg = tiny_export_config(warmup=False, max_new_tokens=3, max_new_tokens_cap=8, max_prompt_tokens=24)
    bundle = tiny_bundle("gpt2")
    module, sigs = saved_model.make_serving_module(bundle.backbone, bundle.tokenizer, cfg)
    path = saved_model.export_module(module, sigs, str(root), "fuzz", 1)
    return tf.saved_model.load(path), cfg, int(bundle.tokenizer.vocabulary_size())
