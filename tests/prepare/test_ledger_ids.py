"""Rejected ledger rows keep the record's id when the line showed one."""
import json

from trainer.prepare import ledger, readers


def _reject_rows(path):
    items = list(readers.read_raw([str(path)], readers.default_config()))
    return {r["line"]: r for r in (ledger.reject_row(i) for i in items if isinstance(i, readers.RawReject))}


def test_rejected_jsonl_rows_keep_their_id_and_duplicates_name_theirs(tmp_path):
    raw = tmp_path / "raw.jsonl"
    raw.write_text("\n".join([
        json.dumps({"id": "m-1", "patient_id": "p1", "text": "Hi Ana, your visit is on Tuesday at 9:30.", "facts": "not an object"}),
        json.dumps({"id": "m-2", "patient_id": "p2", "text": "Your refill of metformin is ready for pickup at the front desk."}),
        json.dumps({"id": "m-2", "patient_id": "p2", "text": "Your lab results are ready in the patient portal today."}),
        '{"id": "m-4", "text": "cut off',
    ]) + "\n", encoding="utf-8")
    rows = _reject_rows(raw)
    assert rows[1]["id"] == "m-1" and rows[1]["outcome"] == "rejected"
    assert rows[3]["id"] == "m-2" and rows[3]["error"] == readers.DUPLICATE_ID
    assert rows[4]["id"] is None  # a cut-off line shows no id
    assert 2 not in rows


def test_rejected_csv_row_keeps_its_id(tmp_path):
    raw = tmp_path / "raw.csv"
    raw.write_text('id,patient_id,text,facts\nc-1,p1,"Your visit is Tuesday at 9:30.","[1, 2]"\n'
                   'c-2,p2,"Your refill is ready.",\n', encoding="utf-8")
    rows = _reject_rows(raw)
    assert [r["id"] for r in rows.values()] == ["c-1"]
