"""Which clean-example files a stage reads: explicit config, else the workdir's prepared split,
else the shipped synthetic sample. Training, sampling and evaluation all ask here, so the
baseline's few-shot examples come from the very file the adapter trained on.
"""
from __future__ import annotations

import os

import ml_collections

_SAMPLE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "sample")
SAMPLE_TRAIN = os.path.join(_SAMPLE_DIR, "clean_train.jsonl")
SAMPLE_HELDOUT = os.path.join(_SAMPLE_DIR, "clean_heldout.jsonl")


def prepared_dir(workdir: str) -> str:
    """Where the prepare stage writes {train,val,test}.jsonl."""
    return os.path.join(workdir, "data")


def train_files(config: ml_collections.ConfigDict, workdir: str) -> tuple[str, str]:
    """(train, val) paths; val is "" when the trainer should hold out patients of train itself."""
    data = config.data
    train_file = data.train_file
    if not train_file:
        candidate = os.path.join(prepared_dir(workdir), "train.jsonl")
        train_file = candidate if os.path.exists(candidate) else SAMPLE_TRAIN
    val_file = data.val_file
    if not val_file and not data.train_file and train_file != SAMPLE_TRAIN:
        candidate = os.path.join(prepared_dir(workdir), "val.jsonl")
        val_file = candidate if os.path.exists(candidate) else ""
    return train_file, val_file


def heldout_file(workdir: str, explicit: str = "") -> str:
    """The held-out file for eval and samples: explicit, else the prepared test split, else the sample."""
    if explicit:
        return explicit
    prepared = os.path.join(prepared_dir(workdir), "test.jsonl")
    return prepared if os.path.exists(prepared) else SAMPLE_HELDOUT
