"""Which files the stages read by default: the corpus' splits (train/val to train, val to sample,
test to eval), the generated sample for the tiny configs, and the PHI gate's pass for exactly the
shipped files."""
import importlib.util
import os
import shutil

import pytest

from trainer import config_lib
from trainer.data import corpus, files

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _load(name):
    spec = importlib.util.spec_from_file_location("c", os.path.join(REPO, "configs", name))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.get_config()


def _prepare(workdir, *names):
    os.makedirs(os.path.join(workdir, "data"))
    for name in names:
        open(os.path.join(workdir, "data", f"{name}.jsonl"), "w").close()


def test_corpus_constants_are_the_shipped_splits():
    assert [files.CORPUS_TRAIN, files.CORPUS_VAL, files.CORPUS_TEST] == [corpus.split_path(s) for s in corpus.SPLITS]
    lines = [sum(1 for _ in open(p, encoding="utf-8")) for p in (files.CORPUS_TRAIN, files.CORPUS_VAL, files.CORPUS_TEST)]
    assert lines == [438, 62, 126]


def test_default_data_is_the_corpus(tmp_path):
    cfg = config_lib.base_config()
    work = str(tmp_path / "fresh")
    assert files.train_files(cfg, work) == (files.CORPUS_TRAIN, files.CORPUS_VAL)
    assert files.heldout_file(work, "", cfg) == files.CORPUS_TEST
    assert files.heldout_file(work) == files.CORPUS_TEST  # no config: the corpus too
    assert files.samples_file(cfg) == files.CORPUS_VAL  # never the test split: that is eval's
    # the main job's config trains on it
    main = _load("gemma3_270m_lora.py")
    assert files.train_files(main, work) == (files.CORPUS_TRAIN, files.CORPUS_VAL)
    assert files.heldout_file(work, main.eval.file, main) == files.CORPUS_TEST


def test_tiny_configs_keep_the_generated_sample(tmp_path):
    for name in ("tiny_gpt2_lora.py", "tiny_gemma_lora.py", "tiny_gpt2_rl.py"):
        cfg = _load(name)
        assert cfg.data.fallback == "sample", name
        assert files.train_files(cfg, str(tmp_path)) == (files.SAMPLE_TRAIN, ""), name
        assert files.heldout_file(str(tmp_path), "", cfg) == files.SAMPLE_HELDOUT, name
        assert files.samples_file(cfg) == files.SAMPLE_HELDOUT, name


def test_prepared_split_and_explicit_files_win_over_the_corpus(tmp_path):
    cfg = config_lib.base_config()
    cfg.data.augmented_weight = 0.0
    work = str(tmp_path)
    _prepare(work, "train", "val", "test")
    data = os.path.join(work, "data")
    assert files.train_files(cfg, work) == (os.path.join(data, "train.jsonl"), os.path.join(data, "val.jsonl"))
    assert files.heldout_file(work, "", cfg) == os.path.join(data, "test.jsonl")
    assert files.heldout_file(work, "mine.jsonl", cfg) == "mine.jsonl"
    cfg.data.train_file = "/elsewhere/train.jsonl"
    assert files.train_files(cfg, work) == ("/elsewhere/train.jsonl", "")
    # an explicit val file with no train file: the corpus' train split, the user's val file
    cfg.data.train_file, cfg.data.val_file = "", "/elsewhere/val.jsonl"
    assert files.train_files(cfg, str(tmp_path / "fresh")) == (files.CORPUS_TRAIN, "/elsewhere/val.jsonl")
    cfg.sample.file = "/elsewhere/sample.jsonl"
    assert files.samples_file(cfg) == "/elsewhere/sample.jsonl"


def test_unknown_fallback_is_a_clear_error(tmp_path):
    cfg = config_lib.base_config()
    cfg.data.fallback = "corpse"
    with pytest.raises(ValueError, match=r"data.fallback must be one of \['corpus', 'sample'\], got 'corpse'"):
        files.train_files(cfg, str(tmp_path))


def test_only_the_shipped_files_themselves_count_as_synthetic(tmp_path):
    for path in (files.SAMPLE_TRAIN, files.SAMPLE_HELDOUT, files.CORPUS_TRAIN, files.CORPUS_VAL, files.CORPUS_TEST):
        assert files.is_shipped_synthetic(path), path
    assert files.is_shipped_synthetic(os.path.relpath(files.CORPUS_TRAIN))  # same file, other spelling
    copy = tmp_path / "train.jsonl"
    shutil.copy(files.CORPUS_TRAIN, copy)
    assert not files.is_shipped_synthetic(str(copy))
    assert not files.is_shipped_synthetic("")
    assert not files.is_shipped_synthetic(os.path.join(corpus.CORPUS_DIR, "pairs", "billing_question_reply.jsonl"))


def test_phi_gate_skips_the_corpus_and_scans_anything_else(tmp_path, monkeypatch):
    from trainer.deid import gate
    from trainer.train import sft

    calls = []
    monkeypatch.setattr(gate, "run_gate", lambda paths, *a, **k: calls.append(list(paths)))
    cfg = _load("gemma3_270m_lora.py")
    assert cfg.train.phi_gate.allow_synthetic is False
    sft.phi_gate_check(cfg, str(tmp_path / "w"))  # the corpus' train and val splits: skipped
    assert calls == []
    copy = tmp_path / "train.jsonl"
    shutil.copy(files.CORPUS_TRAIN, copy)
    cfg.data.train_file = str(copy)
    sft.phi_gate_check(cfg, str(tmp_path / "w"))  # a copy is an arbitrary file: scanned
    assert calls == [[str(copy)]]
    # a shipped train split with the user's own val file: both scanned
    own_val = tmp_path / "val.jsonl"
    shutil.copy(files.CORPUS_VAL, own_val)
    cfg.data.train_file, cfg.data.val_file = "", str(own_val)
    sft.phi_gate_check(cfg, str(tmp_path / "w"))
    assert calls[-1] == [files.CORPUS_TRAIN, str(own_val)]
