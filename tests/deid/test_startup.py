"""No silent degradation: a de-identifier that cannot work as measured stops at start-up, and the
prepare stage stops with that error instead of rejecting every record and exiting 0."""
import os

import ml_collections
import pytest

from trainer.deid import lexicon
from trainer.deid.config import default_config
from trainer.deid.engine import Deidentifier
from trainer.deid.recognizers import contact, register, unregister
from trainer.deid.types import DeidSetupError
from trainer.prepare import stage

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")


def test_a_missing_spacy_model_is_a_start_up_error_without_a_download():
    cfg = default_config()
    cfg.spacy_model = "en_core_web_not_installed"
    with pytest.raises(DeidSetupError, match="en_core_web_not_installed.*not installed"):
        Deidentifier(cfg)


def test_a_missing_or_empty_word_list_is_an_error_not_a_shorter_list(monkeypatch, tmp_path):
    monkeypatch.setattr(lexicon, "ASSETS", tmp_path)
    with pytest.raises(DeidSetupError, match="drugs.txt"):
        lexicon.read_list("drugs.txt")
    (tmp_path / "drugs.txt").write_text("# only a comment\n")
    with pytest.raises(DeidSetupError, match="empty"):
        lexicon.read_list("drugs.txt")


def test_a_de_identifier_that_lost_a_recognizer_fails_its_self_check():
    unregister("phone")
    try:
        with pytest.raises(DeidSetupError, match="self-check failed.*PHONE"):
            Deidentifier()
        cfg = default_config()
        cfg.types = [t for t in cfg.types if t not in ("PHONE", "FAX")]
        Deidentifier(cfg)  # a configuration without phones expects none
    finally:
        register(contact.PhoneRecognizer)


def _config(tmp_inputs):
    config = ml_collections.ConfigDict()
    config.prepare = stage.default_config()
    config.prepare.inputs = tmp_inputs
    config.prepare.filters.check_language_match = False
    return config


def test_prepare_stops_at_once_when_the_de_identifier_cannot_start(tmp_path):
    config = _config(os.path.join(DATA, "raw_messy.jsonl"))
    config.prepare.deid.spacy_model = "en_core_web_not_installed"
    with pytest.raises(DeidSetupError):
        stage.run(config, str(tmp_path))
    assert not (tmp_path / "data" / "train.jsonl").exists()


class _Broken:
    """A de-identifier that starts but fails on every record (a bug, a corrupt model)."""

    def deidentify(self, text, facts=None, record_key=""):
        raise RuntimeError("boom")


def test_prepare_stops_when_most_records_fail_de_identification(tmp_path):
    config = _config(os.path.join(DATA, "raw_messy.jsonl"))
    with pytest.raises(DeidSetupError, match="failed on 10 of 10 records.*RuntimeError"):
        stage.run(config, str(tmp_path), deidentifier=_Broken())
