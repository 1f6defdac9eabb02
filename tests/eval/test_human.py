"""Blinded rating sheets, ingest with file/line/field errors, Krippendorff's alpha."""
import csv
import itertools

import numpy as np
import pytest

from trainer.data.records import RecordError
from trainer.eval import human as H

EXAMPLES = [
    {"id": f"ex{i}", "task": "appointment_reminder" if i % 2 else "lab_results_ready",
     "facts": {"preferred_name": name, "appointment_date": "2026-10-0" + str(i + 1), "language": "en",
               "channel": "sms"}}
    for i, name in enumerate(["Ana", "Ben", "Cleo", "Dev", "Eli", "Fay"])
]
OUTPUTS = {
    "finetuned": [f"Hi {e['facts']['preferred_name']},\nsee you on {e['facts']['appointment_date']}." for e in EXAMPLES],
    "baseline": [f"Hello. You have a visit (ref {i})." for i in range(len(EXAMPLES))],
}


def export(tmp_path, seed=0, n_examples=None):
    sheet, key = tmp_path / "rating_sheet.csv", tmp_path / "rating_key.csv"
    n = H.export_rating_sheet(EXAMPLES, OUTPUTS, str(sheet), str(key), seed=seed, n_examples=n_examples)
    return n, sheet, key


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def fill(sheet, out, score_fn, delimiter=",", bom=False):
    rows = read_csv(sheet)
    for row in rows:
        for d in H.DIMENSIONS:
            row[d] = score_fn(row, d)
    with open(out, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=delimiter)
        w.writeheader()
        w.writerows(rows)
    return rows


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers,
# 12 units, missing values; the paper reports these four alphas.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]


@pytest.mark.parametrize("level,expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849),
                                            ("ratio", 0.797)])
def test_krippendorff_alpha_matches_worked_example(level, expected):
    assert H.krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(expected, abs=5e-4)


def test_alpha_is_one_for_perfect_agreement_and_undefined_without_variation():
    assert H.krippendorff_alpha([[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]) == 1.0
    assert H.krippendorff_alpha([[3, 3, 3], [3, 3, 3]]) is None
    assert H.krippendorff_alpha([[1, N], [N, 2]]) is None  # no unit rated twice


def test_alpha_does_not_depend_on_rater_or_unit_order():
    data = np.array(KRIPPENDORFF_2011, dtype=object)
    shuffled = data[::-1][:, [5, 2, 11, 0, 1, 3, 4, 6, 7, 8, 9, 10]]
    assert H.krippendorff_alpha(shuffled.tolist()) == pytest.approx(H.krippendorff_alpha(KRIPPENDORFF_2011))


# ---------------------------------------------------------------------------------------------
# Export

def test_sheet_is_blinded_and_key_maps_every_item(tmp_path):
    n, sheet, key = export(tmp_path)
    assert n == len(EXAMPLES) * 2
    rows = read_csv(sheet)
    text = sheet.read_text(encoding="utf-8")
    assert "finetuned" not in text and "baseline" not in text and "ex0" not in text
    assert list(rows[0]) == list(H.SHEET_COLUMNS)
    keyed = H.read_key(str(key))
    assert sorted(keyed) == sorted(r["item_id"] for r in rows)
    assert len(set(keyed)) == n
    assert {(k["example_id"], k["model"]) for k in keyed.values()} == set(
        itertools.product([e["id"] for e in EXAMPLES], OUTPUTS))
    # The item id says nothing about the model: ids are random tokens, not per-model patterns.
    assert all(r["item_id"].startswith("item-") and len(r["item_id"]) == 15 for r in rows)
    assert (tmp_path / "rating_instructions.txt").exists()


def test_order_is_random_but_seeded(tmp_path):
    _, s1, _ = export(tmp_path / "a", seed=7)
    _, s2, _ = export(tmp_path / "b", seed=7)
    _, s3, _ = export(tmp_path / "c", seed=8)
    assert s1.read_bytes() == s2.read_bytes()
    order = [r["message"] for r in read_csv(s1)]
    assert order != [r["message"] for r in read_csv(s3)]
    # Not grouped by model: both models appear in the first half.
    first_half = order[: len(order) // 2]
    assert any(m.startswith("Hi") for m in first_half) and any(m.startswith("Hello") for m in first_half)


def test_sample_of_examples(tmp_path):
    n, sheet, key = export(tmp_path, n_examples=2)
    assert n == 4
    assert len({k["example_id"] for k in H.read_key(str(key)).values()}) == 2


# ---------------------------------------------------------------------------------------------
# Ingest

def test_ingest_means_cis_and_alpha(tmp_path):
    _, sheet, key = export(tmp_path)
    keyed = H.read_key(str(key))
    (tmp_path / "human").mkdir()
    # Raters: finetuned gets 4-5, baseline 1-2; rater b is one point off on some items.
    def rater_a(row, d):
        return "5" if keyed[row["item_id"]]["model"] == "finetuned" else "2"

    def rater_b(row, d):
        base = 5 if keyed[row["item_id"]]["model"] == "finetuned" else 2
        return str(base - 1) if (int(row["item_id"][-1], 16) % 2 and d == "empathy") else str(base)

    rows_a = fill(sheet, tmp_path / "human" / "a.csv", rater_a)
    rows_b = fill(sheet, tmp_path / "human" / "b.csv", rater_b, delimiter=";", bom=True)  # Excel style
    out = H.ingest_ratings([str(tmp_path / "human" / "a.csv"), str(tmp_path / "human" / "b.csv")], str(key),
                           n_bootstrap=200, seed=0)
    assert out["raters"] == ["a", "b"] and out["n_items"] == 12
    assert out["models"]["finetuned"]["relevance"]["mean"] == 5.0
    assert out["models"]["baseline"]["accuracy"]["mean"] == 2.0
    # Empathy: per item, mean over raters, then mean over items.
    items = [r["item_id"] for r in rows_a if keyed[r["item_id"]]["model"] == "finetuned"]
    by_b = {r["item_id"]: int(r["empathy"]) for r in rows_b}
    expected = np.mean([(5 + by_b[i]) / 2 for i in items])
    entry = out["models"]["finetuned"]["empathy"]
    assert entry["mean"] == pytest.approx(expected) and entry["n_items"] == 6
    assert entry["ci"][0] <= entry["mean"] <= entry["ci"][1]
    # Alpha is Krippendorff's ordinal alpha over the raters x items matrix.
    all_items = sorted(keyed)
    matrix = [[int(r["empathy"]) for r in sorted(rows, key=lambda r: r["item_id"])] for rows in (rows_a, rows_b)]
    assert len(matrix[0]) == len(all_items)
    assert out["alpha"]["empathy"] == pytest.approx(H.krippendorff_alpha(matrix, "ordinal"))
    assert out["alpha"]["relevance"] == 1.0


def test_blank_cells_are_skipped_not_errors(tmp_path):
    _, sheet, key = export(tmp_path)
    fill(sheet, tmp_path / "r.csv", lambda row, d: "" if d == "personalization" else "3")
    out = H.ingest_ratings([str(tmp_path / "r.csv")], str(key), n_bootstrap=0)
    assert out["models"]["baseline"]["personalization"]["mean"] is None
    assert out["models"]["baseline"]["relevance"]["mean"] == 3.0
    assert out["alpha"]["relevance"] is None  # one rater: no agreement to measure


@pytest.mark.parametrize("bad,message", [
    ("7", "outside 1-5"), ("0", "outside 1-5"), ("good", "not a number"), ("3.5", "not a whole number"),
])
def test_bad_rating_names_file_line_and_field(tmp_path, bad, message):
    _, sheet, key = export(tmp_path)
    target = read_csv(sheet)[3]["item_id"]
    path = tmp_path / "rater.csv"
    fill(sheet, path, lambda row, d: bad if (row["item_id"] == target and d == "empathy") else "4")
    # Messages span two lines (a newline inside a quoted cell): count physical lines to the row.
    text = path.read_text(encoding="utf-8")
    line = text[: text.index(target)].count("\n") + 1
    with pytest.raises(RecordError) as err:
        H.ingest_ratings([str(path)], str(key))
    assert (err.value.path, err.value.line, err.value.field) == (str(path), line, "empathy")
    assert message in str(err.value) and f"{path}:{line}" in str(err.value)


def test_unknown_item_duplicate_and_edited_message_are_errors(tmp_path):
    _, sheet, key = export(tmp_path)
    rows = read_csv(sheet)

    def write(rows_, name):
        p = tmp_path / name
        with open(p, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows_[0]))
            w.writeheader()
            w.writerows(rows_)
        return str(p)

    unknown = [dict(rows[0], item_id="item-ffffffffff")] + rows[1:]
    with pytest.raises(RecordError, match="unknown item"):
        H.read_sheet(write(unknown, "u.csv"), H.read_key(str(key)))
    with pytest.raises(RecordError, match="rated twice"):
        H.read_sheet(write(rows + [rows[0]], "d.csv"), H.read_key(str(key)))
    edited = [dict(rows[0], message=rows[0]["message"] + " (edited)")] + rows[1:]
    with pytest.raises(RecordError) as err:
        H.read_sheet(write(edited, "e.csv"), H.read_key(str(key)))
    assert err.value.field == "message" and err.value.line == 2
    missing_col = [{k: v for k, v in r.items() if k != "accuracy"} for r in rows]
    with pytest.raises(RecordError, match="missing column"):
        H.read_sheet(write(missing_col, "m.csv"), H.read_key(str(key)))
