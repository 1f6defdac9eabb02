"""The Beam prepare pipeline on runners that run it the way a cluster does, offline.

- PortableRunner with an embedded job service and LOOPBACK workers: the Job API path a Flink,
  Spark or Dataflow submission takes (pipeline proto, job service, Fn API SDK harness), with the
  job server in-process instead of a Flink/Spark cluster (no job server jar, nothing downloaded).
- The multi-process DirectRunner (direct_num_workers=2, direct_running_mode=multi_processing):
  every DoFn runs in two separate SDK worker processes, as on a cluster's workers.

Both must give the plain stage's ledger counts and byte-identical output files.
"""
import json
import os

import pytest

pytest.importorskip("apache_beam")

from tests.prepare.test_beam import _read, messy_config  # noqa: E402
from trainer.prepare import beam  # noqa: E402
from trainer.prepare import stage  # noqa: E402

FILES = ("train.jsonl", "val.jsonl", "test.jsonl", "rejects.jsonl", "ledger.jsonl", "deid_manifest.json")
COUNTS = ("records_in", "kept", "dropped", "rejected", "dropped_by_reason", "rejected_by_error",
          "identifiers_found", "typos_fixed", "duplicates_removed", "splits")


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("plain")
    return str(workdir), stage.run(messy_config(), str(workdir))


def _same_as_plain(plain, workdir, report):
    plain_dir, plain_report = plain
    for name in FILES:
        assert _read(workdir, name) == _read(plain_dir, name), name
    for key in COUNTS:
        assert report[key] == plain_report[key], key
    assert plain_report["kept"] > 10 and report["accounting_ok"]


def test_portable_runner_job_service_with_loopback_workers(tmp_path, plain):
    report = beam.run_beam_prepare(messy_config(), str(tmp_path), runner="PortableRunner",
                                   pipeline_args=["--job_endpoint=embed", "--environment_type=LOOPBACK"])
    _same_as_plain(plain, str(tmp_path), report)


def test_multi_process_direct_runner_matches_plain_prepare(tmp_path, plain):
    report = beam.run_beam_prepare(messy_config(), str(tmp_path), runner="DirectRunner",
                                   pipeline_args=["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    _same_as_plain(plain, str(tmp_path), report)
    with open(os.path.join(tmp_path, "data", "prepare_report.json"), encoding="utf-8") as f:
        assert json.load(f)["kept"] == report["kept"]


def test_outputs_reach_a_workdir_through_beam_filesystems(tmp_path):
    """The last step on a cluster worker writes locally, then copies to gs:// etc.; here to a local path."""
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "train.jsonl").write_bytes(b'{"id": "a"}\n\xc3\xa9\n')
    (src / "sub" / "x.json").write_bytes(b"{}")
    copied = beam.copy_tree(str(src), str(tmp_path / "dst" / "data"))
    assert len(copied) == 2
    assert (tmp_path / "dst" / "data" / "train.jsonl").read_bytes() == b'{"id": "a"}\n\xc3\xa9\n'
    assert (tmp_path / "dst" / "data" / "sub" / "x.json").read_bytes() == b"{}"
    assert beam._remote("gs://bucket/run/data") and not beam._remote(str(tmp_path))
