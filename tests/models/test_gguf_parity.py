"""Our GGUF loader against transformers' own GGUF loader, an independent implementation.

Needs the optional extra (torch, transformers, accelerate); skipped where it is not installed.
"""
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # transformers needs it to load GGUF files

import trainer  # noqa: E402,F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from trainer.models.gguf import assemble_package_gguf  # noqa: E402
from trainer.models.sources import load_source  # noqa: E402

# Measured here: max |logit diff| 5e-5..3e-4 on short prompts; on the 759-token text 1.3e-3 at
# one of its 200M logits (float32 accumulation over 18 layers; mean 5e-5). A
# sliding window off by one token gives diffs of 0.5 and more, so these bounds still catch it.
TOLERANCE = 1e-3
LONG_TOLERANCE = 5e-3
TEXTS = [
    "The capital of France is",
    "Hola Sra. Núñez, le recordamos su cita el 2026-03-14 a las 14:30 con la Dra. Pérez.",
    "<start_of_turn>user\nWrite a reminder for Mr. O'Brien.<end_of_turn>\n<start_of_turn>model\n",
    "Emoji 🙂👍🏽, tabs\t\tand    spaces, code:\n        return x  ",
]
# Longer than the 512-token sliding window, so local and global layers differ.
LONG_TEXT = " ".join(
    f"Note {i}: the patient reported feeling better after the change in medication "
    f"and will return to the clinic in {i % 7 + 1} weeks for a follow-up visit."
    for i in range(24)
)


@pytest.fixture(scope="module")
def gguf_path():
    return assemble_package_gguf()


@pytest.fixture(scope="module")
def ours():
    return load_source("gguf:package")


@pytest.fixture(scope="module")
def reference(gguf_path):
    directory, name = os.path.split(gguf_path)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        directory, gguf_file=name, dtype=torch.float32).eval()
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory, gguf_file=name)
    return model, tokenizer


def _our_logits(backbone, ids):
    x = np.asarray([ids], dtype="int32")
    hidden = backbone({"token_ids": x, "padding_mask": np.ones_like(x)})
    return np.asarray(backbone.token_embedding(hidden, reverse=True))[0]


def _reference_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].numpy()


@pytest.mark.parametrize("text", TEXTS + [LONG_TEXT])
def test_token_ids_match_transformers(ours, reference, text):
    ids = [int(i) for i in np.asarray(ours[1](text))]
    assert ids == reference[1](text, add_special_tokens=False)["input_ids"]


@pytest.mark.parametrize("text", TEXTS + [LONG_TEXT])
def test_logits_match_transformers(ours, reference, text):
    ids = [2] + reference[1](text, add_special_tokens=False)["input_ids"]
    if text is LONG_TEXT:
        assert len(ids) > 512
    ours_logits = _our_logits(ours[0], ids)
    expected = _reference_logits(reference[0], ids)
    diff = np.abs(ours_logits - expected)
    print(f"\n{len(ids)} tokens: max |logit diff| {diff.max():.2e}, mean {diff.mean():.2e}")
    assert diff.max() < (LONG_TOLERANCE if text is LONG_TEXT else TOLERANCE)
    assert diff.mean() < 1e-4
    np.testing.assert_array_equal(ours_logits.argmax(-1), expected.argmax(-1))
