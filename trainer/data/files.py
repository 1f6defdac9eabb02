"""Which clean-example files a stage reads: explicit config, else a TFDS source, else the
workdir's prepared split, else shipped data. Training, sampling and evaluation all ask here, so
the baseline's few-shot examples come from the very file the adapter trained on.

Shipped data (data.fallback): "corpus" (the default) is the hand-written corpus of
trainer/assets/corpus/ split by patient: train and val for training, val for samples, test for
eval. "sample" is the generated sample of trainer/assets/sample/ (the tiny configs keep it: fast
and what their tests assert on). Both are fictional by construction (is_shipped_synthetic).
"""
from __future__ import annotations

import os

import ml_collections

_ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")
SAMPLE_TRAIN = os.path.join(_ASSETS, "sample", "clean_train.jsonl")
SAMPLE_HELDOUT = os.path.join(_ASSETS, "sample", "clean_heldout.jsonl")
# Written by tools/check_corpus.py --write_splits (trainer/data/corpus.py); split by patient.
CORPUS_TRAIN = os.path.join(_ASSETS, "corpus", "train.jsonl")
CORPUS_VAL = os.path.join(_ASSETS, "corpus", "val.jsonl")
CORPUS_TEST = os.path.join(_ASSETS, "corpus", "test.jsonl")

# data.fallback -> (train, val, held-out for eval, held-out for samples); val "" = the trainer
# holds out data.val_fraction of train's patients itself.
SHIPPED = {
    "corpus": (CORPUS_TRAIN, CORPUS_VAL, CORPUS_TEST, CORPUS_VAL),
    "sample": (SAMPLE_TRAIN, "", SAMPLE_HELDOUT, SAMPLE_HELDOUT),
}
DEFAULT_FALLBACK = "corpus"


def fallback_of(config: ml_collections.ConfigDict | None) -> str:
    """data.fallback of the config ("corpus" when the config or the field is absent)."""
    data = config.get("data") if config is not None else None
    name = str((data.get("fallback", "") if data is not None else "") or DEFAULT_FALLBACK)
    if name not in SHIPPED:
        raise ValueError(f"config field data.fallback must be one of {sorted(SHIPPED)}, got {name!r}")
    return name


def is_shipped_synthetic(path: str) -> bool:
    """Whether `path` is one of the shipped fictional files (sample or corpus split) itself.

    A copy elsewhere is an arbitrary file: whoever copied it may have edited it, so the PHI gate
    scans it like any other.
    """
    if not path:
        return False
    real = os.path.realpath(path)
    return any(real == os.path.realpath(p) for files in SHIPPED.values() for p in files if p)


def prepared_dir(workdir: str) -> str:
    """Where the prepare stage writes {train,val,test}.jsonl."""
    return os.path.join(workdir, "data")


def train_files(config: ml_collections.ConfigDict, workdir: str) -> tuple[str, str]:
    """(train, val) paths; val is "" when the trainer should hold out patients of train itself.

    data.source="tfds:NAME" reads the splits from a TFDS dataset (trainer/data/tfds_builder.py);
    otherwise, with data.augmented_weight > 0 and the workdir's data/augmented.jsonl present, the
    train path is the prepared train split mixed with the augmented examples (mixed_train_file).
    With neither data.train_file nor a prepared split, the shipped data of data.fallback: the
    corpus' train and val splits by default (the generated sample is not mixed in).
    """
    data = config.data
    source = _source(config)
    if source:
        splits = _tfds_splits(config, workdir)
        train_file, val_file = splits["train"], splits.get("val", "")
        weight = float(data.get("augmented_weight", 0.0) or 0.0)
        if weight > 0 and splits.get("augmented"):
            train_file = mixed_train_file(train_file, splits["augmented"], weight, _mix_seed(config),
                                          os.path.join(os.path.dirname(train_file), "mixed"))
        return train_file, val_file
    train_file, val_file = data.train_file, data.val_file
    prepared = False
    if not train_file:
        candidate = os.path.join(prepared_dir(workdir), "train.jsonl")
        if os.path.exists(candidate):
            train_file, prepared = candidate, True
            if not val_file:
                candidate = os.path.join(prepared_dir(workdir), "val.jsonl")
                val_file = candidate if os.path.exists(candidate) else ""
        else:
            shipped_train, shipped_val = SHIPPED[fallback_of(config)][:2]
            train_file, val_file = shipped_train, val_file or shipped_val
    weight = float(data.get("augmented_weight", 0.0) or 0.0)
    augmented = os.path.join(prepared_dir(workdir), AUGMENTED)
    if weight > 0 and prepared and os.path.exists(augmented):
        train_file = mixed_train_file(train_file, augmented, weight, _mix_seed(config),
                                      os.path.join(prepared_dir(workdir), "mixed"))
    return train_file, val_file


def _source(config: ml_collections.ConfigDict) -> str:
    """The TFDS dataset name of data.source ("tfds:NAME"), or "" for JSONL files."""
    source = str(config.data.get("source", "") or "")
    if source.startswith("tfds:"):
        return source[len("tfds:"):]
    if source not in ("", "jsonl"):
        raise ValueError(f"data.source must be '', 'jsonl' or 'tfds:NAME', got {source!r}")
    return ""


def _tfds_splits(config: ml_collections.ConfigDict, workdir: str) -> dict[str, str]:
    """{split: JSONL path} of the data.source TFDS dataset, materialized once under the workdir."""
    from trainer.data import tfds_builder  # TensorFlow Datasets loads only when asked for

    data = config.data
    return tfds_builder.materialize(_source(config), data.get("tfds_data_dir", "") or os.path.join(workdir, "tfds"),
                                    os.path.join(workdir, "data_tfds"))


AUGMENTED = "augmented.jsonl"  # written by --mode=augment (trainer/augment/stage.py)


def _mix_seed(config: ml_collections.ConfigDict) -> int:
    return int(config.train.seed) if "train" in config and "seed" in config.train else 0


def _sha256(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def mixed_train_file(train_file: str, augmented_file: str, weight: float, seed: int, out_dir: str) -> str:
    """originals + augmented examples, `weight` copies of each augmented one (a seeded share for
    the fraction: 0.5 = half of them once, 2 = each twice), written once to out_dir/train.jsonl.

    Rebuilt only when an input or the weight changes (mix.json holds their digests). Beside it a
    deid_manifest.json joins prepare's surrogates with augment's, so the PHI gate, which reads the
    manifest next to the file it scans, knows the fake values of both.
    """
    import json
    import random

    from trainer.util import files as util_files

    stamp = {"train": _sha256(train_file), "augmented": _sha256(augmented_file), "weight": weight, "seed": seed,
             **{name: _sha256(p) for name, p in (("deid_manifest", os.path.join(os.path.dirname(train_file), "deid_manifest.json")),
                                                 ("augment_manifest", os.path.join(os.path.dirname(augmented_file), "augment_manifest.json")))
                if os.path.exists(p)}}
    out = os.path.join(out_dir, "train.jsonl")
    stamp_path = os.path.join(out_dir, "mix.json")
    if os.path.exists(out) and os.path.exists(stamp_path):
        with open(stamp_path, encoding="utf-8") as f:
            if json.load(f) == stamp:
                return out
    with open(augmented_file, encoding="utf-8") as f:
        aug = [json.loads(line) for line in f if line.strip()]
    whole, frac = int(weight), weight - int(weight)
    rng = random.Random(f"mix:{seed}")
    extra = set(rng.sample(range(len(aug)), round(frac * len(aug)))) if aug and frac > 0 else set()
    rows = []
    for copy in range(whole + 1):
        for i, rec in enumerate(aug):
            if copy < whole or i in extra:
                rows.append(rec if copy == 0 else dict(rec, id=f"{rec['id']}#{copy + 1}"))
    with open(train_file, encoding="utf-8") as f:
        originals = f.read()
    os.makedirs(out_dir, exist_ok=True)
    body = originals + ("" if not originals or originals.endswith("\n") else "\n")
    body += "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    util_files.write_text(out, body)
    manifest: dict = {"surrogates": {}}
    for src_dir, name in ((os.path.dirname(train_file), "deid_manifest.json"),
                          (os.path.dirname(augmented_file), "augment_manifest.json")):
        path = os.path.join(src_dir, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                got = json.load(f)
            for key, value in got.items():
                if key == "surrogates":
                    manifest["surrogates"].update(value)
                else:
                    manifest.setdefault(key, value)
    for rec in rows:  # copies carry their original's surrogates
        base = rec["id"].split("#")[0]
        if base in manifest["surrogates"]:
            manifest["surrogates"][rec["id"]] = manifest["surrogates"][base]
    util_files.write_json(os.path.join(out_dir, "deid_manifest.json"), manifest, indent=1, sort_keys=True)
    util_files.write_json(stamp_path, stamp, indent=1)
    return out


def heldout_file(workdir: str, explicit: str = "", config: ml_collections.ConfigDict | None = None) -> str:
    """The held-out file for eval: explicit, else the test split of a data.source TFDS dataset,
    else the workdir's prepared test split, else the shipped one (data.fallback; the corpus' test
    split without a config)."""
    if explicit:
        return explicit
    if config is not None and _source(config):
        splits = _tfds_splits(config, workdir)
        if "test" not in splits:
            raise ValueError(f"data.source={config.data.source!r} has no test split (splits: {sorted(splits)}): "
                             "give eval.file")
        return splits["test"]
    prepared = os.path.join(prepared_dir(workdir), "test.jsonl")
    return prepared if os.path.exists(prepared) else SHIPPED[fallback_of(config)][2]


def samples_file(config: ml_collections.ConfigDict) -> str:
    """What --mode=sample prints messages for: sample.file, else shipped held-out data that is not
    the eval set (the corpus' val split: test is kept for eval)."""
    sample = config.get("sample")
    explicit = str(sample.get("file", "") or "") if sample is not None else ""
    return explicit or SHIPPED[fallback_of(config)][3]
