"""A prepared workdir as a versioned TensorFlow Datasets dataset, and back.

    python -m trainer.data.tfds_builder --workdir=DIR --data_dir=TFDS_DIR [--version=1.0.0] [--num_shards=N]
    # then train any run on it:  --config.data.source=tfds:carelora_messages --config.data.tfds_data_dir=TFDS_DIR

`CareloraMessages` (a `tfds.core.GeneratorBasedBuilder`) reads DIR/data/{train,val,test,
augmented}.jsonl from the manual dir (nothing is downloaded: no URL, `try_gcs=False`, manual
files only) and writes one split each as sharded TFRecord files under
TFDS_DIR/carelora_messages/VERSION/. Features: id, index (line number, so file order survives
TFDS's write-time shuffle), patient_key, task, facts (JSON string: key order and value types
kept), response, language, channel, and for augmented examples source_id, method, category.
The dataset card (description, metadata.json, CARD.md) holds the prepare report; the metadata
also keeps the de-identification manifests, so the PHI gate of a run reading the dataset knows
the surrogates.

Reading needs only the dataset directory (`tfds.builder_from_directory`), not this class:
data prepared once is shared between teams and runs. `load_split` reads a split's shards in
parallel (tf.data interleave) and returns the records exactly as they were written.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterator, Mapping

import numpy as np
import tensorflow_datasets as tfds

NAME = "carelora_messages"
DEFAULT_VERSION = "1.0.0"
SPLIT_FILES = ("train", "val", "test", "augmented")
TEXT_FIELDS = ("id", "patient_key", "task", "facts", "response", "language", "channel", "source_id", "method",
               "category")
_PROVENANCE = ("source_id", "method", "category")


def _features():
    return tfds.features.FeaturesDict({**{k: tfds.features.Text() for k in TEXT_FIELDS},
                                       "index": tfds.features.Scalar(dtype=np.int64)})


def _read_json(path: str) -> Any:
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def card_text(report: Mapping[str, Any] | None, split_counts: Mapping[str, int]) -> str:
    """The dataset card: what the data is and the prepare (+ augment) report that made it."""
    lines = ["carelora clean examples: de-identified clinic messages {id, patient_key, task, facts, response}",
             "from the carelora prepare stage (trainer/prepare), split by patient (no patient in two splits);",
             "the optional `augmented` split comes from the augment stage (trainer/augment) and carries provenance",
             "(source_id, method, category). `facts` is a JSON object string; `index` is the line in the source file.",
             "", "splits: " + ", ".join(f"{k}={v}" for k, v in split_counts.items())]
    if report:
        lines += ["", "prepare report:",
                  f"  records in {report.get('records_in')}, kept {report.get('kept')}, dropped {report.get('dropped')},"
                  f" rejected {report.get('rejected')}, accounting_ok {report.get('accounting_ok')}",
                  f"  patients in two splits: {report.get('patients_in_two_splits')}",
                  f"  patient key salt: {report.get('patient_salt')}"]
        aug = report.get("augment")
        if aug:
            lines += [f"  augment: {aug.get('candidates')} candidates, kept {aug.get('kept')}, rejected by reason "
                      f"{aug.get('rejected_by_reason')}"]
        lines += ["", "full report (JSON):", json.dumps(report, indent=1, ensure_ascii=False, sort_keys=True)]
    return "\n".join(lines)


# Run as `python -m trainer.data.tfds_builder`, this file is loaded twice (as __main__ and as
# trainer.data.tfds_builder); only the second copy registers the dataset name.
class CareloraMessages(tfds.core.GeneratorBasedBuilder, skip_registration=__name__ == "__main__"):
    """Prepared carelora clean examples (train/val/test, + augmented when present)."""

    VERSION = tfds.core.Version(DEFAULT_VERSION)
    RELEASE_NOTES = {DEFAULT_VERSION: "Clean examples of one prepared carelora workdir."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = ("Pass download_config=tfds.download.DownloadConfig(manual_dir=<workdir>/data): "
                                    "the prepare stage's output directory (train/val/test.jsonl).")

    def __init__(self, *, prepared_dir: str | None = None, **kwargs: Any):
        self._prepared_dir = prepared_dir  # before super(): _info reads the report from here
        super().__init__(**kwargs)

    def _files(self, base: str) -> dict[str, str]:
        return {s: os.path.join(base, f"{s}.jsonl") for s in SPLIT_FILES
                if os.path.exists(os.path.join(base, f"{s}.jsonl")) and os.path.getsize(os.path.join(base, f"{s}.jsonl"))}

    def _info(self):
        report, counts, manifests = None, {}, {}
        if self._prepared_dir:
            report = _read_json(os.path.join(self._prepared_dir, "prepare_report.json"))
            for s, p in self._files(self._prepared_dir).items():
                with open(p, encoding="utf-8") as f:
                    counts[s] = sum(1 for line in f if line.strip())
            for name in ("deid_manifest.json", "augment_manifest.json"):
                got = _read_json(os.path.join(self._prepared_dir, name))
                if got is not None:
                    manifests[name] = got
        return tfds.core.DatasetInfo(
            builder=self,
            description=card_text(report, counts),
            features=_features(),
            supervised_keys=None,
            metadata=tfds.core.MetadataDict(prepare_report=report or {}, split_counts=counts, manifests=manifests),
        )

    def _split_generators(self, dl_manager):
        base = os.fspath(dl_manager.manual_dir)
        files = self._files(base)
        if "train" not in files:
            raise FileNotFoundError(f"{base}/train.jsonl is missing or empty: build from a prepared workdir's data/")
        return {s: self._generate_examples(p) for s, p in files.items()}

    def _generate_examples(self, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        with open(path, encoding="utf-8") as f:
            for index, line in enumerate(f):
                if not line.strip():
                    continue
                rec = json.loads(line)
                facts = rec.get("facts") or {}
                yield rec["id"], {
                    "id": rec["id"], "index": index, "patient_key": rec.get("patient_key", ""), "task": rec["task"],
                    "facts": json.dumps(facts, ensure_ascii=False),
                    "response": rec["response"] if "response" in rec else rec["reference"],
                    "language": str(facts.get("language", "")), "channel": str(facts.get("channel", "")),
                    **{k: str(rec.get(k, "")) for k in _PROVENANCE},
                }


def _builder_class(version: str):
    if version == DEFAULT_VERSION:
        return CareloraMessages

    class Versioned(CareloraMessages, skip_registration=True):  # same name, another version
        name = NAME
        VERSION = tfds.core.Version(version)
        RELEASE_NOTES = {version: "Clean examples of one prepared carelora workdir."}

    return Versioned


def build(prepared_dir: str, data_dir: str, version: str = DEFAULT_VERSION, num_shards: int | None = None) -> str:
    """Writes the dataset; returns its directory (data_dir/carelora_messages/VERSION). Offline:
    the only input is `prepared_dir` (manual dir); TFDS never tries GCS or a download.

    By default TFDS sizes the shards (64 MiB to 1 GiB each), so a large set is written as many
    files. `num_shards` forces a count for every split (TFDS 4.9.10 ignores custom shard sizes:
    its ShardConfig reads the class defaults); it is capped at the smallest split's example count.
    """
    builder = _builder_class(version)(prepared_dir=prepared_dir, data_dir=data_dir)
    if num_shards:
        counts = []
        for p in builder._files(prepared_dir).values():
            with open(p, encoding="utf-8") as f:
                counts.append(sum(1 for line in f if line.strip()))
        num_shards = max(1, min([int(num_shards)] + counts))
    config = tfds.download.DownloadConfig(manual_dir=prepared_dir, try_download_gcs=False, num_shards=num_shards,
                                          download_mode=tfds.download.GenerateMode.REUSE_DATASET_IF_EXISTS)
    builder.download_and_prepare(download_config=config)
    out = os.fspath(builder.data_dir)
    with open(os.path.join(out, "CARD.md"), "w", encoding="utf-8") as f:
        f.write(f"# {NAME} {version}\n\n```\n{builder.info.description}\n```\n")
    return out


def parse_name(name: str) -> tuple[str, str | None]:
    """'carelora_messages' or 'carelora_messages:1.0.0' (also '/1.0.0') -> (name, version)."""
    for sep in (":", "/"):
        if sep in name:
            a, b = name.split(sep, 1)
            return a, b
    return name, None


def dataset_dir(name: str, data_dir: str) -> str:
    """data_dir/NAME/VERSION; without a version the newest one there."""
    base, version = parse_name(name)
    root = os.path.join(data_dir, base)
    if version is None:
        if not os.path.isdir(root):
            raise FileNotFoundError(f"no TFDS dataset {base!r} under {data_dir}: build it with "
                                    "python -m trainer.data.tfds_builder --workdir=DIR --data_dir=...")
        versions = [v for v in os.listdir(root) if _is_version(v) and
                    os.path.exists(os.path.join(root, v, "dataset_info.json"))]
        if not versions:
            raise FileNotFoundError(f"{root} holds no prepared version")
        version = max(versions, key=lambda v: tuple(int(x) for x in v.split(".")))
    return os.path.join(root, version)


def _is_version(v: str) -> bool:
    parts = v.split(".")
    return len(parts) == 3 and all(p.isdigit() for p in parts)


def load_builder(name: str, data_dir: str):
    """The dataset's reader from its files alone (no builder code, no download, no GCS)."""
    return tfds.builder_from_directory(dataset_dir(name, data_dir))


def decode(example: Mapping[str, Any]) -> dict[str, Any]:
    """A TFDS example (numpy) -> the clean-example record it was built from."""
    s = {k: (v.decode("utf-8") if isinstance(v, bytes) else str(v)) for k, v in example.items() if k in TEXT_FIELDS}
    rec = {"id": s["id"], "patient_key": s["patient_key"], "task": s["task"], "facts": json.loads(s["facts"]),
           "response": s["response"]}
    rec.update({k: s[k] for k in _PROVENANCE if s.get(k)})
    return rec


def as_dataset(name: str, data_dir: str, split: str, parallel_reads: int = 4):
    """tf.data over a split, reading its shards in parallel (interleave), in a fixed order."""
    import tensorflow as tf

    builder = load_builder(name, data_dir)
    read_config = tfds.ReadConfig(interleave_cycle_length=parallel_reads,
                                  num_parallel_calls_for_interleave_files=tf.data.AUTOTUNE,
                                  try_autocache=False, shuffle_seed=None)
    return builder.as_dataset(split=split, shuffle_files=False, read_config=read_config)


def load_split(name: str, data_dir: str, split: str, parallel_reads: int = 4) -> list[dict[str, Any]]:
    """Every record of a split, in the order of the file it was built from."""
    rows = [(int(ex["index"]), decode(ex)) for ex in tfds.as_numpy(as_dataset(name, data_dir, split, parallel_reads))]
    return [r for _, r in sorted(rows, key=lambda x: x[0])]


def materialize(name: str, data_dir: str, out_root: str) -> dict[str, str]:
    """Writes the dataset's splits as clean-example JSONL under out_root/NAME/VERSION/ (once per
    version) with its de-identification manifests; returns {split: path}. Every stage reads JSONL,
    so a TFDS-sourced run trains, samples and evaluates exactly like a prepared one."""
    from trainer.data.records import write_jsonl
    from trainer.util import files as util_files

    src = dataset_dir(name, data_dir)
    builder = tfds.builder_from_directory(src)
    out_dir = os.path.join(out_root, os.path.basename(os.path.dirname(src)), os.path.basename(src))
    paths = {s: os.path.join(out_dir, f"{s}.jsonl") for s in builder.info.splits}
    stamp = os.path.join(out_dir, "source.json")
    info_digest = os.path.getmtime(os.path.join(src, "dataset_info.json"))
    if _read_json(stamp) == {"dataset": src, "mtime": info_digest} and all(os.path.exists(p) for p in paths.values()):
        return paths
    for s, p in paths.items():
        write_jsonl(p, load_split(name, data_dir, s))
    manifests = dict(builder.info.metadata or {}).get("manifests") or {}
    for fname, content in manifests.items():
        util_files.write_json(os.path.join(out_dir, fname), content, indent=1, sort_keys=True)
    util_files.write_json(stamp, {"dataset": src, "mtime": info_digest})
    return paths


def main(argv: list[str] | None = None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", required=True, help="a workdir after --mode=prepare (and optionally augment)")
    ap.add_argument("--data_dir", required=True, help="TFDS data dir to write into")
    ap.add_argument("--version", default=DEFAULT_VERSION)
    ap.add_argument("--num_shards", type=int, default=None, help="shards per split (default: TFDS sizes them)")
    args = ap.parse_args(argv)
    from trainer.data.tfds_builder import build  # the registered class, not a copy in __main__

    out = build(os.path.join(args.workdir, "data"), args.data_dir, args.version, args.num_shards)
    print(out)


if __name__ == "__main__":
    main()
