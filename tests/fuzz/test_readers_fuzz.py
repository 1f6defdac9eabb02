"""Fuzzing the raw readers (JSONL / CSV / TSV, plain or .gz): random bytes, encodings, quoting,
damaged archives and huge lines. In reject mode every input ends without an exception (a file
that cannot be read at all is one `unreadable_file` reject standing for all of it), every record
comes out exactly once as a RawRecord or a RawReject, and the count is exact; raise mode stops
with a RecordError only."""
import csv
import gzip
import io
import json
import os
import time
import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from trainer.prepare import readers
from trainer.util.errors import UserError

_field_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_obj = st.fixed_dictionaries(
    {"id": st.one_of(st.text(max_size=6), st.integers(), st.none()),
     "patient_id": st.one_of(st.text(max_size=6), st.none(), st.integers()),
     "text": st.one_of(_field_text, st.none(), st.integers(), st.lists(st.integers(), max_size=2))},
    optional={"facts": st.one_of(st.dictionaries(st.text(max_size=5), st.one_of(_field_text, st.integers(), st.none(),
                                                                                     st.lists(st.integers(), max_size=1)),
                                                 max_size=3), _field_text),
              "task": _field_text, "channel": _field_text})


def _jsonl_line(obj, style):
    text = json.dumps(obj, ensure_ascii=style == "ascii")
    if style == "cut":
        return text[: max(1, len(text) // 2)].encode("utf-8")
    if style == "array":
        return json.dumps([obj]).encode("utf-8")
    if style == "cp1252":
        return text.encode("cp1252", "replace")
    return text.encode("utf-8")


_jsonl_lines = st.lists(st.one_of(
    st.builds(_jsonl_line, _obj, st.sampled_from(["ascii", "utf8", "utf8", "cut", "array", "cp1252"])),
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from([b"", b"   ", b"\xef\xbb\xbf{}", b"\r", b"\x00\x00", b"\xff\xfe{\x00", "\u2028".encode()]),
), max_size=12)


def _csv_bytes(rows, delimiter, quoting):
    out = io.StringIO()
    w = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\n")
    w.writerow(["id", "patient_id", "text", "fact_x"])
    for r in rows:
        w.writerow(r)
    return out.getvalue().encode("utf-8")


_csv_row = st.lists(st.one_of(_field_text, st.sampled_from(['"', '""', ",", "\t", "\n", "a\"b", "\r\n"])),
                    min_size=0, max_size=5)


@st.composite
def _file(draw):
    kind = draw(st.sampled_from(["jsonl", "jsonl", "csv", "tsv", "random"]))
    if kind == "jsonl" or kind == "random":
        lines = draw(_jsonl_lines)
        data = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\r\n"]))
        if kind == "random":
            data = draw(st.binary(max_size=300))
        ext = "jsonl" if kind == "jsonl" else draw(st.sampled_from(["jsonl", "csv", "tsv"]))
    else:
        delimiter = "," if kind == "csv" else "\t"
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
        data = _csv_bytes(draw(st.lists(_csv_row, max_size=8)), delimiter, quoting)
        if draw(st.booleans()):  # damage: cut anywhere, or a stray byte
            cut = draw(st.integers(0, len(data)))
            data = data[:cut] + draw(st.sampled_from([b"", b'"', b"\xff", b"\n\"x"])) + data[cut:]
        ext = kind
    gz = draw(st.sampled_from(["no", "no", "ok", "cut", "garbage", "two_members"]))
    if gz == "ok":
        data = gzip.compress(data, mtime=0)
    elif gz == "cut":
        packed = gzip.compress(data, mtime=0)
        data = packed[: draw(st.integers(0, len(packed)))]
    elif gz == "garbage":
        data = draw(st.binary(max_size=64))
    elif gz == "two_members":
        half = len(data) // 2
        data = gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0)
    return ext + (".gz" if gz != "no" else ""), data


def _cfg(on_error, encoding="utf-8"):
    cfg = readers.default_config()
    cfg.on_error = on_error
    cfg.encoding = encoding
    return cfg


def _expected_jsonl_items(data: bytes) -> int:
    """An independent count: every line that is not UTF-8, or not blank once decoded."""
    n = 0
    for number, line in enumerate(data.split(b"\n"), start=1):
        if number == 1 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        try:
            n += bool(line.decode("utf-8").strip()) or False
        except UnicodeDecodeError:
            n += 1
    return n


def _read_all(path, cfg):
    t0 = time.time()
    items = list(readers.read_file(path, cfg, order0=readers.file_order_base(3)))
    assert time.time() - t0 < 20, "a small file took far too long (a hang?)"
    return items


@settings(max_examples=120)
@given(case=_file(), encoding=st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "cp1252", "latin-1"]))
def test_reject_mode_never_crashes_and_accounts_for_every_record(tmp_path, case, encoding):
    name, data = case
    path = os.path.join(tmp_path, "input." + name)
    with open(path, "wb") as f:
        f.write(data)
    items = _read_all(path, _cfg("reject", encoding))  # reject mode never raises for bad data
    with open(path, "rb") as f:
        assert f.read() == data  # inputs are never modified
    unreadable = [i for i in items if isinstance(i, readers.RawReject) and i.kind == readers.UNREADABLE_FILE]
    if unreadable:
        # A file that cannot be read at all (declared encoding, CSV header): one reject naming it.
        (only,) = items
        assert only is unreadable[0] and only.whole_file and only.line == 1 and only.source == path
        assert only.field in ("<file>", "<header>") and only.message and "\n" not in only.message
        assert only.order == readers.file_order_base(3)
        assert isinstance(only.to_error(), UserError) and str(only.to_error()).startswith(path + ":1: ")
        return
    orders = [i.order for i in items]
    assert orders == list(range(readers.file_order_base(3), readers.file_order_base(3) + len(items)))
    assert all(isinstance(i, (readers.RawRecord, readers.RawReject)) for i in items)
    assert all(i.line >= 1 and i.source == path for i in items)
    for r in items:
        if isinstance(r, readers.RawRecord):
            assert isinstance(r.fields["text"], str) and isinstance(r.fields["facts"], dict)
            assert isinstance(r.fields["patient_id"], str) and r.fields["patient_id"].strip()
        else:
            assert r.kind and r.field and r.message and "\n" not in r.message
            json.dumps(r.to_json())
    damaged = [i for i in items if isinstance(i, readers.RawReject) and i.kind == readers.TRUNCATED_ARCHIVE]
    assert len(damaged) <= 1 and (not damaged or items[-1] is damaged[0])
    if name.endswith(".gz"):
        content, problem, _ = readers.gunzip_tolerant(data)
        assert bool(problem) == bool(damaged)
    else:
        content = data
    if name.split(".")[0] == "jsonl" and encoding in ("utf-8", "utf-8-sig"):
        assert len(items) - len(damaged) == _expected_jsonl_items(content)


@settings(max_examples=60)
@given(case=_file())
def test_raise_mode_stops_with_one_clear_error_or_yields_only_records(tmp_path, case):
    name, data = case
    path = os.path.join(tmp_path, "input." + name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        items = _read_all(path, _cfg("raise"))
    except readers.RecordError as e:
        assert str(e).startswith(path + ":") and "\n" not in str(e) and e.field
    else:
        assert all(isinstance(i, readers.RawRecord) for i in items)


@settings(max_examples=40)
@given(rows=st.lists(st.tuples(st.text(alphabet="abcXYZ019 -", max_size=8), st.text(alphabet="abcP-0123", min_size=1, max_size=5),
                               st.text(alphabet="Hello there, how are you? ñé", max_size=30)), max_size=10),
       delimiter=st.sampled_from([",", "\t"]))
def test_well_formed_csv_gives_one_item_per_row_with_its_fields(tmp_path, rows, delimiter):
    ext = "csv" if delimiter == "," else "tsv"
    path = os.path.join(tmp_path, "input." + ext)
    with open(path, "wb") as f:
        f.write(_csv_bytes([list(r) + [""] for r in rows], delimiter, csv.QUOTE_MINIMAL))
    items = _read_all(path, _cfg("reject"))
    expected = [r for r in rows if any(c.strip() for c in r)]
    assert len(items) == len(expected)
    for item, (rid, pid, text) in zip(items, expected):
        if isinstance(item, readers.RawRecord):
            assert item.fields["text"] == text and item.fields["patient_id"] == pid
        else:
            assert item.kind == readers.MISSING_FIELD  # an empty patient id


def test_huge_lines_are_read_fast_and_kept_whole_for_the_length_filter(tmp_path):
    path = os.path.join(tmp_path, "huge.jsonl.gz")
    big = json.dumps({"id": "h", "patient_id": "p", "text": "x" * 3_000_000})
    with open(path, "wb") as f:
        f.write(gzip.compress((big + "\n" + "\xff" * 10 + "\n").encode("utf-8", "surrogateescape"), mtime=0))
    t0 = time.time()
    items = list(readers.read_file(path, _cfg("reject")))
    assert time.time() - t0 < 10
    assert len(items[0].fields["text"]) == 3_000_000 and len(items) == 2


def test_cut_gzip_keeps_whole_lines_and_says_where(tmp_path):
    lines = [json.dumps({"id": f"m{i}", "patient_id": "p", "text": f"message {i} " * 20}) for i in range(200)]
    packed = gzip.compress(("\n".join(lines) + "\n").encode(), mtime=0)
    path = os.path.join(tmp_path, "cut.jsonl.gz")
    with open(path, "wb") as f:
        f.write(packed[: len(packed) // 2])
    items = list(readers.read_file(path, _cfg("reject")))
    records = [i for i in items if isinstance(i, readers.RawRecord)]
    assert 0 < len(records) < 200 and [r.fields["id"] for r in records] == [f"m{i}" for i in range(len(records))]
    assert items[-1].kind == readers.TRUNCATED_ARCHIVE and "compressed byte" in items[-1].message
    assert zlib  # (imported for the strategies' damage)
