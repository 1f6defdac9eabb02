"""Atomic writes: the final name holds either the old or the whole new content, never a part."""
import json
import os

import pytest

from trainer.util import files, jsonl


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = str(tmp_path / "out.json")
    files.write_json(path, {"a": 1})
    with pytest.raises(RuntimeError):
        with files.atomic_open(path) as f:
            f.write('{"half":')
            raise RuntimeError("crash mid-write")
    assert json.load(open(path)) == {"a": 1}
    assert os.listdir(tmp_path) == ["out.json"]


def test_jsonl_round_trip_keeps_unicode(tmp_path):
    path = str(tmp_path / "d" / "rows.jsonl")
    assert jsonl.write_jsonl(path, [{"t": "Señora López"}, {"t": "2"}]) == 2
    assert "López" in open(path, encoding="utf-8").read()
    assert jsonl.read_jsonl(path) == [{"t": "Señora López"}, {"t": "2"}]
    assert jsonl.append_jsonl(path, [{"t": "3"}]) == 1
    assert [r["t"] for r in jsonl.read_jsonl(path)] == ["Señora López", "2", "3"]


def test_bad_line_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"ok": 1}\n\n{"broken": \n')
    with pytest.raises(jsonl.RecordError, match=r"bad.jsonl:3: field '<json>'"):
        jsonl.read_jsonl(str(path))
    path.write_bytes(b'{"ok": 1}\n\xff\xfe\n')
    with pytest.raises(jsonl.RecordError, match=r"bad.jsonl:2: field '<line>': not UTF-8"):
        jsonl.read_jsonl(str(path))
