"""tools/make_sample_data.py: determinism, gold offsets, file formats, variety."""
import csv
import json
import subprocess
import sys
from pathlib import Path

from trainer.deid.types import PHI_TYPES

ROOT = Path(__file__).resolve().parent.parent.parent
TOOL = ROOT / "tools" / "make_sample_data.py"


def _make(out, n=300, seed=5):
    proc = subprocess.run([sys.executable, str(TOOL), "--out_dir", str(out), "--n", str(n),
                           "--seed", str(seed)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def _lines(path):
    return [json.loads(l) for l in Path(path).read_text(encoding="utf-8").splitlines()]


def test_same_seed_gives_byte_identical_files_and_other_seed_differs(tmp_path):
    a, b, c = _make(tmp_path / "a"), _make(tmp_path / "b"), _make(tmp_path / "c", seed=6)
    for name in ("raw.jsonl", "raw.csv", "gold.jsonl", "clinic.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / "raw.jsonl").read_bytes() != (c / "raw.jsonl").read_bytes()


def test_gold_spans_are_valid_and_match_raw(tmp_path):
    out = _make(tmp_path / "s")
    raw, gold = _lines(out / "raw.jsonl"), _lines(out / "gold.jsonl")
    assert len(raw) == len(gold) == 300
    kinds = set()
    for r, g in zip(raw, gold):
        assert r["id"] == g["id"] and r["text"] == g["text"]
        assert set(r) == {"id", "patient_id", "channel", "direction", "timestamp", "task", "facts", "text"}
        end = -1
        for s in g["spans"]:
            assert end <= s["start"] < s["end"] <= len(g["text"])
            assert s["type"] in PHI_TYPES
            piece = g["text"][s["start"]:s["end"]]
            assert piece == piece.strip() and piece
            end = s["end"]
            kinds.add(s["type"])
    assert kinds >= {"NAME", "DATE", "PHONE", "EMAIL", "ADDRESS", "CITY", "ZIP", "MRN", "AGE",
                     "HEALTH_PLAN", "ACCOUNT", "URL", "SSN"}


def test_messages_are_varied_real_world_shaped(tmp_path):
    out = _make(tmp_path / "v", n=400)
    raw = _lines(out / "raw.jsonl")
    texts = [r["text"] for r in raw]
    assert {r["channel"] for r in raw} >= {"sms", "email", "portal", "staff_note", "voicemail"}
    assert any(t.strip().upper() == "STOP" for t in texts)
    assert any("out of" in t.lower() and "office" in t.lower() for t in texts)  # auto-replies
    assert any(t.isupper() and len(t) > 30 for t in texts)  # all caps
    assert any(("hola" in t.lower() or "cita" in t) for t in texts)  # Spanish
    assert len(set(texts)) < len(texts)  # exact duplicates
    assert len(set(texts)) > 0.6 * len(texts)
    assert any(ord(c) > 0x1F000 for t in texts for c in t)  # emoji
    # outbound clinic messages carry facts that the text states
    outbound = [r for r in raw if r["direction"] == "outbound"]
    assert outbound and all(r["facts"]["preferred_name"] in r["text"] for r in outbound)
    assert all(r["task"] for r in outbound)


def test_csv_variant_reads_back(tmp_path):
    out = _make(tmp_path / "c")
    raw = {r["id"]: r for r in _lines(out / "raw.jsonl")}
    with open(out / "raw.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert 0 < len(rows) < len(raw)
    for row in rows:
        assert row["text"] == raw[row["id"]]["text"]
        assert json.loads(row["facts"]) == raw[row["id"]]["facts"]
    clinic = json.loads((out / "clinic.json").read_text())
    assert clinic["clinician_names"] and clinic["org_names"]
