"""The Beam pipeline (DirectRunner) gives the same outputs as the plain prepare stage."""
import json
import os

import pytest

pytest.importorskip("apache_beam")

import ml_collections  # noqa: E402

from trainer.prepare import beam  # noqa: E402
from trainer.prepare import stage  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
INPUTS = [os.path.join(DATA, n) for n in ("raw_messy.jsonl", "raw_messy_cp1252.jsonl", "raw_messy.csv")]
CLINIC_MAP = {"id": "msg_id", "patient_id": "MRN", "channel": "medium", "direction": "dir",
              "timestamp": "sent_at", "task": "message_type", "text": "message_body", "facts": "facts_json"}


def messy_config():
    config = ml_collections.ConfigDict()
    config.prepare = stage.default_config()
    config.prepare.inputs = ",".join(INPUTS)
    config.prepare.reader.field_map.update(CLINIC_MAP)
    config.prepare.split.salt = "test-salt"
    return config


def _read(workdir, name):
    with open(os.path.join(workdir, "data", name), encoding="utf-8") as f:
        return f.read()


def test_direct_runner_matches_plain_prepare(tmp_path):
    config = messy_config()
    plain = stage.run(config, str(tmp_path / "plain"))
    beamed = beam.run_beam_prepare(config, str(tmp_path / "beam"), runner="DirectRunner")
    kept = {}
    for workdir in ("plain", "beam"):
        rows = [json.loads(line) for line in _read(tmp_path / workdir, "ledger.jsonl").splitlines()]
        kept[workdir] = {r["id"]: r["split"] for r in rows if r["outcome"] == "kept"}
    assert kept["beam"] == kept["plain"] and len(kept["plain"]) == plain["kept"] > 10
    for name in ("train.jsonl", "val.jsonl", "test.jsonl", "rejects.jsonl", "ledger.jsonl", "deid_manifest.json"):
        assert _read(tmp_path / "beam", name) == _read(tmp_path / "plain", name), name
    for key in ("records_in", "kept", "dropped", "rejected", "dropped_by_reason", "rejected_by_error",
                "identifiers_found", "typos_fixed", "duplicates_removed", "splits"):
        assert beamed[key] == plain[key], key


def test_missing_or_empty_inputs_are_user_errors_before_the_pipeline_starts(tmp_path):
    from trainer.util.errors import UserError

    missing = str(tmp_path / "nope.jsonl")
    with pytest.raises(UserError, match=r"prepare.inputs: '.*nope.jsonl' is not a file"):
        beam._expand(missing)
    with pytest.raises(UserError, match="no file matches"):
        beam._expand(str(tmp_path / "*.csv"))
    with pytest.raises(UserError, match="prepare.inputs is empty"):
        beam._expand("")
    # the local expansion raises the same kind, so the CLI prints one line for both
    with pytest.raises(stage.MissingInput):
        stage.expand_inputs([missing])
