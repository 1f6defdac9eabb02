"""tools/eval_deid.py: scoring rules, table and predictions file."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("eval_deid", ROOT / "tools" / "eval_deid.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_score_counts_coverage_precision_and_false_alarms():
    ev = _tool()
    gold = [
        {"id": "a", "text": "hi maria lopez 555-1234", "spans": [
            {"start": 3, "end": 14, "type": "NAME"}, {"start": 15, "end": 23, "type": "PHONE"}]},
        {"id": "b", "text": "nothing here", "spans": []},
    ]
    preds = [
        # covers "maria lopez" in two pieces (the space needs no cover); phone half covered
        [{"start": 3, "end": 8, "type": "NAME"}, {"start": 9, "end": 14, "type": "NAME"},
         {"start": 15, "end": 18, "type": "PHONE"}],
        [{"start": 0, "end": 7, "type": "NAME"}],
    ]
    r = ev.score(gold, preds)
    assert r["recall"] == 0.5  # the name counts, the half-covered phone does not
    assert r["precision"] == 3 / 4
    assert r["per_type"] == {"NAME": (1.0, 1), "PHONE": (0.0, 1)}
    assert (r["empty_lines"], r["false_alarm_lines"]) == (1, 1)
    assert r["misses"] == [("a", "PHONE", "555-1234")]


def test_read_gold_names_file_and_line_on_bad_span(tmp_path):
    ev = _tool()
    bad = tmp_path / "g.jsonl"
    bad.write_text('{"id": "x", "text": "ab", "spans": []}\n{"id": "y", "text": "ab", "spans": [{"start": 1, "end": 9, "type": "NAME"}]}\n')
    try:
        ev.read_gold(str(bad))
    except SystemExit as e:
        assert f"{bad}:2" in str(e)
    else:
        raise AssertionError("bad span accepted")


def test_cli_prints_both_systems_and_writes_predictions(tmp_path):
    gold = tmp_path / "gold.jsonl"
    lines = [
        {"id": "1", "text": "this is faith, call me at 555 - 123  4567", "spans": [
            {"start": 8, "end": 13, "type": "NAME"}, {"start": 26, "end": 41, "type": "PHONE"}]},
        {"id": "2", "text": "took metformin 500 mg at 3:30 pm", "spans": []},
    ]
    gold.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "pred.jsonl"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "eval_deid.py"), "--gold", str(gold),
         "--predictions_out", str(out)], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    header = [l for l in proc.stdout.splitlines() if "ours" in l][0]
    assert "presidio" in header
    rows = {l.split("  ")[0]: l.split() for l in proc.stdout.splitlines()}
    assert rows["recall"][1] == "1.000"  # ours finds both
    assert any(l.startswith("lines/s") for l in proc.stdout.splitlines())
    assert any(l.startswith("recall PHONE") for l in proc.stdout.splitlines())
    assert "speed ratio ours/presidio" in proc.stdout
    preds = [json.loads(l) for l in out.read_text().splitlines()]
    assert [p["id"] for p in preds] == ["1", "2"]
    assert {(s["start"], s["end"], s["type"]) for s in preds[0]["spans"]} >= {(8, 13, "NAME"), (26, 41, "PHONE")}
    assert preds[1]["spans"] == []


def test_markup_becomes_gold_with_exact_offsets(tmp_path):
    ev = _tool()
    src = "@@ a\nhi [[NAME:Maria Lopez]], call [[PHONE:503-555-0142]]\n@@ b\nFAX\nTo: [[NAME:GARCIA, ANA M]]\n\n@@ c\nnothing here\n"
    gold = ev.parse_markup(src)
    assert [g["id"] for g in gold] == ["a", "b", "c"]
    assert gold[1]["text"] == "FAX\nTo: GARCIA, ANA M" and gold[2]["spans"] == []
    for g in gold:
        for s in g["spans"]:
            assert g["text"][s["start"]:s["end"]] == s["text"]
    assert [(s["type"], s["text"]) for s in gold[0]["spans"]] == [("NAME", "Maria Lopez"), ("PHONE", "503-555-0142")]
    path = tmp_path / "x.src"
    path.write_text(src)
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "eval_deid.py"), "--markup", str(path),
                           "--write_gold", str(tmp_path / "x.jsonl")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ev.read_gold(str(tmp_path / "x.jsonl")) == gold
    try:
        ev.parse_markup("@@ d\nan [[NAME:open mark\n")
    except SystemExit as e:
        assert "d" in str(e)
    else:
        raise AssertionError("unbalanced markup accepted")
