"""The TFDS builder round-trips a prepared workdir exactly, offline; the trainer reads from it."""
import glob
import json
import os

import ml_collections
import pytest

from tests.augment.helpers import TEST as TEST1, TRAIN, VAL as VAL1, write_prepared
from trainer.data import files, tfds_builder

VAL = VAL1 + [dict(VAL1[0], id="v2", patient_key="p21", response=VAL1[0]["response"].replace("Deborah", "Dana"),
                    facts=dict(VAL1[0]["facts"], preferred_name="Dana"))]
TEST = TEST1 + [dict(TEST1[0], id="s2", patient_key="p31")]
AUGMENTED = [dict(TRAIN[0], id="aug-edge_case-1", response=TRAIN[0]["response"].replace("Lucía", "Ana-Sofía"),
                  facts=dict(TRAIN[0]["facts"], preferred_name="Ana-Sofía"), source_id="t1", method="edge_case",
                  category="hyphenated_name")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import tensorflow_datasets as tfds

    work = str(tmp_path_factory.mktemp("tfds_work"))
    write_prepared(work, val=VAL, test=TEST, augmented=AUGMENTED + [dict(AUGMENTED[0], id="aug-edge_case-2")])
    data_dir = str(tmp_path_factory.mktemp("tfds_data"))
    # Nothing may reach the network: GCS off for the whole build and read.
    assert tfds.core.utils.gcs_utils._is_gcs_disabled
    out = tfds_builder.build(os.path.join(work, "data"), data_dir, num_shards=2)
    return work, data_dir, out


def test_every_split_round_trips_exactly(built):
    _, data_dir, _ = built
    for split, rows in (("train", TRAIN), ("val", VAL), ("test", TEST),
                        ("augmented", AUGMENTED + [dict(AUGMENTED[0], id="aug-edge_case-2")])):
        got = tfds_builder.load_split(tfds_builder.NAME, data_dir, split)
        assert got == rows, split  # same records, same order, facts with their types and key order
        assert [list(r["facts"]) for r in got] == [list(r["facts"]) for r in rows]


def test_tfds_load_by_name_offline(built):
    import tensorflow_datasets as tfds

    _, data_dir, _ = built
    ds = tfds.load(tfds_builder.NAME, split="train", data_dir=data_dir, try_gcs=False, download=False,
                   shuffle_files=False)
    got = sorted((tfds_builder.decode(ex) for ex in tfds.as_numpy(ds)), key=lambda r: r["id"])
    assert got == sorted(TRAIN, key=lambda r: r["id"])


def test_sharded_versioned_with_a_card(built):
    _, data_dir, out = built
    assert out.endswith(os.path.join(tfds_builder.NAME, tfds_builder.DEFAULT_VERSION))
    for split in ("train", "val", "test", "augmented"):  # read back in parallel by load_split (interleave)
        assert builder_shards(out, split) == 2
    builder = tfds_builder.load_builder(tfds_builder.NAME, data_dir)
    assert builder.info.splits["train"].num_examples == len(TRAIN)
    assert "prepare report" in builder.info.description and "accounting_ok" in builder.info.description
    assert builder.info.metadata["prepare_report"]["records_in"] == 12
    assert "deid_manifest.json" in builder.info.metadata["manifests"]
    assert os.path.exists(os.path.join(out, "CARD.md"))
    # a second version sits beside the first; a name without a version reads the newest
    out2 = tfds_builder.build(os.path.join(built[0], "data"), data_dir, version="1.1.0")
    assert tfds_builder.dataset_dir(tfds_builder.NAME, data_dir) == out2
    assert tfds_builder.dataset_dir(f"{tfds_builder.NAME}:1.0.0", data_dir) == out


def builder_shards(out, split):
    return len(glob.glob(os.path.join(out, f"*-{split}.tfrecord-*")))


def _config(source, data_dir, weight):
    c = ml_collections.ConfigDict()
    c.data = ml_collections.ConfigDict(dict(train_file="", val_file="", source=source, tfds_data_dir=data_dir,
                                            augmented_weight=weight))
    c.train = ml_collections.ConfigDict(dict(seed=0))
    return c


def test_trainer_reads_its_input_from_tfds(built, tmp_path):
    _, data_dir, _ = built
    run_dir = str(tmp_path / "run")
    train, val = files.train_files(_config(f"tfds:{tfds_builder.NAME}:1.0.0", data_dir, 0.0), run_dir)
    assert [json.loads(line) for line in open(train, encoding="utf-8")] == TRAIN
    assert [json.loads(line) for line in open(val, encoding="utf-8")] == VAL
    # with the augmented weight, originals + augmented, and the PHI manifest beside the mix
    mixed, _ = files.train_files(_config(f"tfds:{tfds_builder.NAME}:1.0.0", data_dir, 2.0), run_dir)
    rows = [json.loads(line) for line in open(mixed, encoding="utf-8")]
    assert rows[: len(TRAIN)] == TRAIN and len(rows) == len(TRAIN) + 4
    assert {r["id"] for r in rows[len(TRAIN):]} == {"aug-edge_case-1", "aug-edge_case-1#2", "aug-edge_case-2",
                                                    "aug-edge_case-2#2"}
    manifest = json.load(open(os.path.join(os.path.dirname(mixed), "deid_manifest.json")))
    assert manifest["surrogates"]["t1"] == ["Lucía"]


def test_eval_reads_the_test_split_of_a_tfds_source(built, tmp_path):
    _, data_dir, _ = built
    run_dir = str(tmp_path / "run")
    cfg = _config(f"tfds:{tfds_builder.NAME}:1.0.0", data_dir, 0.0)
    os.makedirs(os.path.join(run_dir, "data"))
    open(os.path.join(run_dir, "data", "test.jsonl"), "w").close()  # a prepared split does not win over the source
    heldout = files.heldout_file(run_dir, "", cfg)
    assert heldout.startswith(os.path.join(run_dir, "data_tfds")) and heldout.endswith("test.jsonl")
    assert [json.loads(line) for line in open(heldout, encoding="utf-8")] == TEST
    assert files.heldout_file(run_dir, "mine.jsonl", cfg) == "mine.jsonl"
