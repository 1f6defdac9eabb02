"""The prepare stage as an Apache Beam pipeline (optional extra: `pip install carelora[beam]`).

Same functions as `stage.run`, laid out for parallel runners: files are read in
parallel, each record is normalized, filtered, de-identified, typo-fixed, scored and fingerprinted
in a DoFn (the costly part), and only the corpus-wide steps (dedup, selection, split, report)
gather everything in one place. Outputs are the same files as the plain stage.

    python -m trainer.prepare.beam --config=configs/X.py --workdir=runs/x \\
        [--runner=DirectRunner] [--beam_option=--direct_num_workers=2] [--config.prepare.inputs=...]

`--runner=DirectRunner` (the default) runs in-process on Beam's FnApiRunner: Beam's own
DirectRunner would first try to download the Prism runner binary. Add
`--beam_option=--direct_num_workers=N --beam_option=--direct_running_mode=multi_processing` for N
worker processes. Other runners get the pipeline as is, through Beam's portable Job API:
`--runner=PortableRunner --beam_option=--job_endpoint=HOST:8099` (a Flink or Spark job server),
`FlinkRunner`, `SparkRunner` or `DataflowRunner` (README, "Scaling out", has the commands). Their
workers need this package (`--beam_option=--setup_file=./setup.py`, or a container that has it).
Inputs and the workdir may be gs:// or other Beam filesystem paths: the final step writes its
files locally and copies them there. tests/prepare/test_beam_portable.py runs the PortableRunner
path (embedded job service, LOOPBACK workers) and the multi-process DirectRunner offline.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from typing import Any, Sequence

import apache_beam as beam
import ml_collections
from apache_beam.options.pipeline_options import PipelineOptions

from trainer.prepare import stage
from trainer.prepare import ledger, readers, split, typos
from trainer.util.errors import UserError


def _cfg(cfg_dict: dict) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(cfg_dict)


class _ReadFile(beam.DoFn):
    def __init__(self, cfg_dict: dict):
        self.cfg_dict = cfg_dict

    def process(self, indexed_path):  # (file index, path); no hints: Beam would parse them
        from apache_beam.io.filesystems import FileSystems

        i, path = indexed_path
        with FileSystems.open(path, compression_type="uncompressed") as f:  # gs://, s3://, local
            data = f.read()
        yield from readers.read_file(path, _cfg(self.cfg_dict).reader, readers.file_order_base(i), data=data)


class _Stage1(beam.DoFn):
    """Normalize, filter, de-identify; the de-identifier is built once per worker."""

    def __init__(self, cfg_dict: dict):
        self.cfg_dict = cfg_dict
        self.proc: stage.RecordProcessor | None = None

    def setup(self) -> None:
        self.proc = stage.RecordProcessor(_cfg(self.cfg_dict))

    def process(self, rec):
        yield self.proc.stage1(rec)


class _Stage2(beam.DoFn):
    def __init__(self, cfg_dict: dict):
        self.cfg_dict = cfg_dict
        self.proc: stage.RecordProcessor | None = None

    def setup(self) -> None:
        self.proc = stage.RecordProcessor(_cfg(self.cfg_dict))

    def process(self, cand, corpus_words):
        yield self.proc.stage2(cand, corpus_words)


def _resolve_ids(keyed, cfg_dict):
    """(id, records sharing it) -> the earliest record and a reject for each repeat."""
    _, records = keyed
    records = sorted(records, key=lambda r: r.order)
    yield records[0]
    for rej in readers.duplicate_id_rejects(records, _cfg(cfg_dict).reader):
        if _cfg(cfg_dict).reader.on_error == "raise":
            raise rej.to_error()
        yield rej


def _finish(scored: list[dict], other_rows: list[dict], n_read: int, paths: Sequence[str], cfg_dict: dict,
            data_dir: str, t0: float) -> dict:
    cfg = _cfg(cfg_dict)
    by_split, final_rows, dd_stats = stage.finalize(scored, cfg)
    outcomes = list(other_rows) + final_rows
    salt_source = split.resolve_salt(cfg.split)[1]
    report = ledger.build_report(paths, outcomes, scored, by_split, dd_stats, cfg, salt_source,
                                  time.time() - t0, n_read)
    if not report["accounting_ok"]:
        raise AssertionError(f"beam prepare lost track of records: {report['records_in']} in, "
                             f"{report['kept']}+{report['dropped']}+{report['rejected']} out")
    if _remote(data_dir):
        # A cluster worker's local disk is gone after the job: write here, then copy through
        # Beam's filesystems (gs://, s3://, hdfs://) to the workdir.
        with tempfile.TemporaryDirectory(prefix="carelora-prepare-") as local:
            stage.write_outputs(local, by_split, outcomes, scored, report, cfg)
            copy_tree(local, data_dir)
    else:
        stage.write_outputs(data_dir, by_split, outcomes, scored, report, cfg)
    return report


def _remote(path: str) -> bool:
    return "://" in path


def copy_tree(src: str, dst: str) -> list[str]:
    """Copies the files under local `src` to `dst` (any Beam filesystem path); returns them."""
    from apache_beam.io.filesystems import FileSystems

    copied = []
    for root, _, names in os.walk(src):
        for name in sorted(names):
            rel = os.path.relpath(os.path.join(root, name), src)
            target = FileSystems.join(dst, *rel.split(os.sep))
            if not _remote(target):
                os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(os.path.join(root, name), "rb") as f, FileSystems.create(target) as out:
                shutil.copyfileobj(f, out)
            copied.append(target)
    return copied


def build(p: beam.Pipeline, paths: Sequence[str], cfg_dict: dict, data_dir: str, t0: float):
    """Adds the prepare stage to pipeline `p`; returns the PCollection holding the report."""
    reader_raise = cfg_dict["reader"]["on_error"] == "raise"
    items = (p | "Paths" >> beam.Create(list(enumerate(paths)))
             | "Read" >> beam.ParDo(_ReadFile(cfg_dict)))
    if reader_raise:
        items = items | "RaiseOnReject" >> beam.Map(_raise_if_reject)
    n_read = items | "CountRead" >> beam.combiners.Count.Globally()
    parts = items | "SplitIds" >> beam.Partition(
        lambda it, _: 0 if isinstance(it, readers.RawReject) else (1 if it.fields.get("id") else 2), 3)
    rejects, with_id, without_id = parts
    resolved = (with_id | "KeyById" >> beam.Map(lambda r: (r.fields["id"], r))
                | "GroupById" >> beam.GroupByKey()
                | "DuplicateIds" >> beam.FlatMap(_resolve_ids, cfg_dict))
    all_items = (rejects, resolved, without_id) | "Merge" >> beam.Flatten()
    parts2 = all_items | "RejectsApart" >> beam.Partition(lambda it, _: 0 if isinstance(it, readers.RawReject) else 1, 2)
    reject_rows = parts2[0] | "RejectRows" >> beam.Map(ledger.reject_row)
    stage1 = parts2[1] | "Stage1" >> beam.ParDo(_Stage1(cfg_dict))
    s1 = stage1 | "CandidatesApart" >> beam.Partition(lambda r, _: 0 if r.get("kind") == "candidate" else 1, 2)
    cands, dropped_rows = s1[0], s1[1]
    min_docs = cfg_dict["clean"]["typo"]["corpus_min_docs"]
    corpus_words = (cands
                    | "Words" >> beam.FlatMap(lambda c: sorted(typos.corpus_word_counts([c["text"]])))
                    | "CountWords" >> beam.combiners.Count.PerElement()
                    | "Frequent" >> beam.Filter(lambda kv: kv[1] >= min_docs)
                    | "WordOnly" >> beam.Keys()
                    | "WordList" >> beam.combiners.ToList()
                    | "Sorted" >> beam.Map(sorted))
    scored = cands | "Stage2" >> beam.ParDo(_Stage2(cfg_dict), beam.pvalue.AsSingleton(corpus_words))
    other_rows = (reject_rows, dropped_rows) | "OtherRows" >> beam.Flatten()
    report = (p | "Start" >> beam.Create([None])
              | "Finish" >> beam.Map(
                  lambda _, sc, other, n: _finish(sc, other, n, paths, cfg_dict, data_dir, t0),
                  beam.pvalue.AsList(scored), beam.pvalue.AsList(other_rows), beam.pvalue.AsSingleton(n_read)))
    return report


def _expand(inputs: Any) -> list[str]:
    """Like stage.expand_inputs, through Beam's filesystems so remote paths work too."""
    from apache_beam.io.filesystems import FileSystems

    if isinstance(inputs, str):
        inputs = [p for p in inputs.split(",") if p.strip()]
    paths: list[str] = []
    for item in inputs or ():
        item = str(item).strip()
        if "://" not in item:
            paths += [p for p in stage.expand_inputs([item]) if p not in paths]
            continue
        found = sorted(m.path for r in FileSystems.match([item]) for m in r.metadata_list)
        if not found:
            raise stage.MissingInput(f"prepare.inputs: no file matches {item!r}")
        paths += [p for p in found if p not in paths]
    if not paths:
        raise stage.EmptyInputs("prepare.inputs is empty: give the raw log files (JSONL, CSV or TSV, optionally .gz)")
    return paths


def _raise_if_reject(item):
    if isinstance(item, readers.RawReject):
        raise item.to_error()
    return item


def run_beam_prepare(config: ml_collections.ConfigDict, workdir: str, runner: str = "DirectRunner",
                     pipeline_args: Sequence[str] = ()) -> dict:
    """Runs the Beam pipeline and returns the report (read back from workdir/data)."""
    import json

    t0 = time.time()
    cfg = stage.prepare_section(config)
    paths = _expand(cfg.inputs)
    if _remote(workdir):
        from apache_beam.io.filesystems import FileSystems

        data_dir = FileSystems.join(workdir, "data")
    else:
        data_dir = os.path.abspath(os.path.join(workdir, "data"))
    if runner in ("DirectRunner", "FnApiRunner"):
        # Beam's own DirectRunner first tries PrismRunner, which downloads a binary from GitHub;
        # the in-process FnApiRunner runs the same pipeline with no network.
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        options = PipelineOptions(list(pipeline_args))
        pipeline = beam.Pipeline(runner=FnApiRunner(), options=options)
    else:
        pipeline = beam.Pipeline(options=PipelineOptions([f"--runner={runner}", *pipeline_args]))
    with pipeline as p:
        build(p, paths, cfg.to_dict(), data_dir, t0)
    if _remote(data_dir):
        from apache_beam.io.filesystems import FileSystems

        with FileSystems.open(FileSystems.join(data_dir, "prepare_report.json")) as f:
            return json.loads(f.read().decode("utf-8"))
    with open(os.path.join(data_dir, "prepare_report.json"), encoding="utf-8") as f:
        return json.load(f)


def _main() -> None:
    from absl import app, flags
    from ml_collections import config_flags

    config_flag = config_flags.DEFINE_config_file("config", None, "Path to a configs/*.py file.")
    workdir = flags.DEFINE_string("workdir", None, "Output directory (data/ is written inside).", required=True)
    runner = flags.DEFINE_string("runner", "DirectRunner", "Beam runner: DirectRunner, DataflowRunner, FlinkRunner...")
    beam_option = flags.DEFINE_multi_string("beam_option", [], "Extra Beam pipeline option, e.g. --project=x.")

    def main(argv):
        del argv
        report = run_beam_prepare(config_flag.value, workdir.value, runner.value, beam_option.value)
        print(ledger.format_summary(report))

    try:
        app.run(main)
    except UserError as e:
        # Bad input: one line that says what to do, as trainer.main prints it.
        print(f"carelora: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    _main()
