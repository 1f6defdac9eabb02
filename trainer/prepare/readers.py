"""Readers for raw clinic message logs (JSONL or CSV) with a configurable field mapping.

A clinic's export keeps its own column names; `field_map` maps ours to theirs, e.g.
`{"text": "message_body", "patient_id": "MRN"}`. Every input record comes out either as a
`RawRecord` or as a `RawReject` naming file, line, field and (for bad bytes) the byte offset, so
the prepare stage can account for each one. Files are opened read-only and never written.
"""
from __future__ import annotations

import bisect
import csv
import dataclasses
import zlib
import io
import json
import os
from typing import Any, Iterable, Iterator, Mapping

import ml_collections

from trainer.data.records import RecordError, json_problem

# Canonical raw fields (DESIGN §2). Only `text` and `patient_id` are required by default: without a
# patient there is no leak-free split.
FIELDS = ("id", "patient_id", "channel", "direction", "timestamp", "task", "facts", "text")

# Error kinds a reject can carry; the report counts rejects by these.
BAD_ENCODING = "bad_encoding"
BAD_JSON = "bad_json"
NOT_OBJECT = "not_object"
MISSING_FIELD = "missing_field"
BAD_TYPE = "bad_type"
BAD_FACTS = "bad_facts"
CSV_FIELD_COUNT = "csv_field_count"
CSV_QUOTING = "csv_quoting"
DUPLICATE_ID = "duplicate_id"
# A .gz file damaged, cut short or not gzip at all: the lines before the damage are kept.
TRUNCATED_ARCHIVE = "truncated_archive"
# A file that cannot be read as a whole (missing, a folder, no permission, unknown format,
# undecodable in the declared encoding, unreadable CSV header): one reject stands for all of it.
UNREADABLE_FILE = "unreadable_file"


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # Our field name -> the source's field/column name. Dotted names reach into nested JSON.
    c.field_map = ml_collections.ConfigDict({f: f for f in FIELDS})
    c.required_fields = ("text", "patient_id")
    c.format = "auto"  # auto (by extension) | jsonl | csv | tsv
    c.csv_delimiter = ","  # for format csv; tsv always uses a tab
    # Inputs must be UTF-8 (bad bytes are reported by file, line, byte offset). A clinic whose
    # export is known to be another encoding (an Excel "CSV" in cp1252) can declare it here.
    c.encoding = "utf-8"
    # CSV exports often flatten facts into columns; columns with this prefix become facts.
    c.facts_prefix = "fact_"
    # When a mapped name is absent, also try our own name, so files in both layouts can be mixed.
    c.fallback_to_canonical = True
    c.on_error = "reject"  # reject (write to rejects.jsonl, go on) | raise (stop at the first)
    return c


@dataclasses.dataclass
class RawRecord:
    source: str  # the input path as given
    line: int  # 1-based line where the record starts
    order: int  # global input order, for deterministic tie-breaks
    fields: dict[str, Any]  # canonical field name -> value (facts is a dict)

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


@dataclasses.dataclass
class RawReject:
    source: str
    line: int
    order: int
    field: str
    kind: str  # one of the error kinds above
    message: str
    byte_offset: int | None = None
    id: str | None = None  # the record's own id, when the line got far enough to show one

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def whole_file(self) -> bool:
        """True when nothing of the file could be read (this reject stands for all of it)."""
        return self.kind == UNREADABLE_FILE or (self.kind == TRUNCATED_ARCHIVE and self.line == 1)

    def to_error(self) -> RecordError:
        return RecordError(self.source, self.line, self.field, f"{self.kind}: {self.message}")

    def to_json(self) -> dict[str, Any]:
        row = {"file": self.source, "line": self.line, "field": self.field, "error": self.kind,
               "message": self.message}
        if self.byte_offset is not None:
            row["byte_offset"] = self.byte_offset
        if self.id is not None:
            row["id"] = self.id
        return row


def _raw_id(obj: Any, cfg: ml_collections.ConfigDict) -> str | None:
    """The id a rejected record carries, so its ledger row can be found by it."""
    if not isinstance(obj, dict):
        return None
    value = obj.get(dict(cfg.field_map).get("id", "id"))
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


class _Unreadable(Exception):
    """The file as a whole cannot be read; raised before any of its records is yielded."""

    def __init__(self, message: str, line: int = 1, field: str = "<file>", byte_offset: int | None = None):
        super().__init__(message)
        self.message, self.line, self.field, self.byte_offset = message, line, field, byte_offset


class _Invalid(Exception):
    """A field-level problem found while mapping one record."""

    def __init__(self, field: str, kind: str, message: str, byte_offset: int | None = None):
        super().__init__(message)
        self.field, self.kind, self.message, self.byte_offset = field, kind, message, byte_offset


def detect_format(path: str, fmt: str = "auto") -> str:
    if fmt != "auto":
        return fmt
    name = path[:-3] if path.endswith(".gz") else path
    ext = os.path.splitext(name)[1].lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    if ext in (".tsv", ".tab"):
        return "tsv"
    raise ValueError(f"{path}: cannot tell the format from extension {ext!r}; set prepare.reader.format")


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as f:  # read-only: inputs are never modified
        return f.read()


def _os_problem(path: str, error: OSError) -> str:
    """What a failed open/read means to the user; never the file's content."""
    if isinstance(error, IsADirectoryError) or os.path.isdir(path):
        return "is a folder, not a file (name its files, or a glob such as DIR/*.jsonl)"
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, PermissionError):
        return "permission denied (the user running carelora cannot read it)"
    return f"cannot be read ({error.strerror or type(error).__name__})"


def _load(path: str, cfg: ml_collections.ConfigDict, data: bytes | None
          ) -> tuple[str, bytes, tuple[str, int] | None]:
    """(format, UTF-8 bytes, gzip damage or None); _Unreadable when nothing of it can be read."""
    if data is None:  # before the name: a missing x.csv is missing, a folder named x.jsonl is a folder
        try:
            if os.path.isdir(path) or not os.path.exists(path):
                os.stat(path)  # the real reason (missing, no permission on a parent) as an OSError
                raise IsADirectoryError(path)
        except OSError as e:
            raise _Unreadable(_os_problem(path, e)) from None
    try:
        fmt = detect_format(path, cfg.format)
    except ValueError:
        ext = os.path.splitext(path[:-3] if path.endswith(".gz") else path)[1]
        raise _Unreadable(f"not JSONL, CSV or TSV by its name (extension {ext!r}); rename it or set "
                          "prepare.reader.format") from None
    if fmt not in ("jsonl", "csv", "tsv"):
        raise _Unreadable(f"unknown prepare.reader.format {fmt!r} (jsonl, csv or tsv)")
    if data is None:
        try:
            data = _read_bytes(path)
        except OSError as e:
            raise _Unreadable(_os_problem(path, e)) from None
    damage = None
    if path.endswith(".gz"):
        data, problem, offset = gunzip_tolerant(data)
        if problem:
            damage = (problem, offset)
    if cfg.encoding.replace("-", "").lower() not in ("utf8", "utf8sig"):
        try:
            data = data.decode(cfg.encoding).encode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise _Unreadable(f"not {cfg.encoding}: byte {data[e.start:e.start + 1]!r} at byte offset {e.start} "
                              f"(line {line}); set prepare.reader.encoding to the export's encoding",
                              byte_offset=e.start) from None
        except LookupError:
            raise _Unreadable(f"unknown prepare.reader.encoding {cfg.encoding!r}") from None
    return fmt, data, damage


def gunzip_tolerant(data: bytes) -> tuple[bytes, str | None, int | None]:
    """(whole lines decompressed, what went wrong or None, compressed byte offset of the damage).

    A damaged or cut-off archive keeps every complete line before the damage instead of losing
    the whole file to one exception; multi-member files (concatenated .gz) are read through.
    """
    out: list[bytes] = []
    d = zlib.decompressobj(wbits=31)
    pos, member_start, problem = 0, 0, None
    while pos < len(data):
        chunk = data[pos:pos + (1 << 16)]
        before = d.copy()
        try:
            out.append(d.decompress(chunk))
        except zlib.error as e:
            # Replay the chunk byte by byte to find where the damage is (and keep what precedes it).
            d = before
            for i in range(len(chunk)):
                try:
                    out.append(d.decompress(chunk[i:i + 1]))
                except zlib.error:
                    pos += i
                    break
            at_header = pos - member_start < 10 and data[member_start:member_start + 2] != b"\x1f\x8b"
            problem = "is not a gzip file" if at_header and member_start == 0 else f"is damaged ({e})"
            break
        pos += len(chunk)
        if d.eof and d.unused_data:
            pos -= len(d.unused_data)
            member_start = pos
            d = zlib.decompressobj(wbits=31)
    if problem is None and not d.eof:
        problem = "ends before its end marker (cut short)" if pos > member_start else "is empty"
    text = b"".join(out)
    if problem is None:
        return text, None, None
    cut = text.rfind(b"\n") + 1  # a line cut by the damage is not trusted
    return text[:cut], problem, pos


def _lookup(obj: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    """Finds `name` in obj, first as a literal key, then as a dotted path into nested objects."""
    if name in obj:
        return True, obj[name]
    cur: Any = obj
    for part in name.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _scalar_str(value: Any, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _Invalid(field, BAD_TYPE, f"expected a string, got {type(value).__name__}")
    return value if isinstance(value, str) else str(value)


def _parse_facts(value: Any, field: str) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise _Invalid(field, BAD_FACTS, f"not valid JSON: {e.msg} (column {e.colno})") from e
    if not isinstance(value, dict):
        raise _Invalid(field, BAD_FACTS, f"expected an object, got {type(value).__name__}")
    facts: dict[str, Any] = {}
    for key, v in value.items():
        if v is None:
            continue  # an empty fact is no fact
        if not isinstance(v, (str, int, float, bool)):
            raise _Invalid(f"{field}.{key}", BAD_FACTS, f"expected a string, number or bool, got {type(v).__name__}")
        facts[str(key)] = v.strip() if isinstance(v, str) else v
    return facts


def map_fields(obj: Mapping[str, Any], cfg: ml_collections.ConfigDict) -> dict[str, Any]:
    """Source object -> canonical fields; raises _Invalid naming the source field."""
    fmap = dict(cfg.field_map)
    out: dict[str, Any] = {}
    for field in FIELDS:
        src = fmap.get(field, field)
        found, value = _lookup(obj, src)
        if not found and src != field and cfg.fallback_to_canonical:
            found, value = _lookup(obj, field)
            src = field if found else src
        if field == "facts":
            out["facts"] = _parse_facts(value if found else None, src)
            continue
        if not found or value is None:
            if field in cfg.required_fields:
                raise _Invalid(src, MISSING_FIELD, "missing" if not found else "empty")
            out[field] = None
            continue
        out[field] = _scalar_str(value, src)
    prefix = cfg.facts_prefix
    if prefix:
        for key, value in obj.items():
            if isinstance(key, str) and key.startswith(prefix) and key[len(prefix):]:
                if value is None or (isinstance(value, str) and not value.strip()):
                    continue
                if not isinstance(value, (str, int, float, bool)):
                    raise _Invalid(key, BAD_FACTS, f"expected a string, number or bool, got {type(value).__name__}")
                out["facts"].setdefault(key[len(prefix):], value.strip() if isinstance(value, str) else value)
    if "patient_id" in cfg.required_fields and out.get("patient_id") is not None and not out["patient_id"].strip():
        raise _Invalid(fmap.get("patient_id", "patient_id"), MISSING_FIELD, "empty")
    return out


def _iter_jsonl(path: str, data: bytes, cfg, order0: int) -> Iterator[RawRecord | RawReject]:
    offset = 0
    order = order0
    # Split on "\n" only, so line numbers match what an editor or `wc -l` shows.
    for number, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw + b"\n"
        if raw == b"\n" and offset >= len(data):
            break
        line_start, offset = offset, offset + len(raw)
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw, line_start = raw[3:], line_start + 3
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bad = raw[e.start:e.start + 4]
            yield RawReject(path, number, order, "<line>", BAD_ENCODING,
                            f"not UTF-8: byte {bad[:1]!r} at byte offset {line_start + e.start} "
                            f"(column {e.start + 1} of the line)", line_start + e.start)
            order += 1
            continue
        if not text.strip():
            continue
        obj = None
        try:
            try:
                obj = json.loads(text.rstrip("\r\n"))  # the newline would read as a control character
            except json.JSONDecodeError as e:
                raise _Invalid("<json>", BAD_JSON, f"not valid JSON: {json_problem(e, text)}") from e
            if not isinstance(obj, dict):
                raise _Invalid("<json>", NOT_OBJECT, f"expected a JSON object, got {type(obj).__name__}")
            yield RawRecord(path, number, order, map_fields(obj, cfg))
        except _Invalid as e:
            yield RawReject(path, number, order, e.field, e.kind, e.message, id=_raw_id(obj, cfg))
        order += 1


def _bad_utf8_offsets(data: bytes) -> list[int]:
    """Byte offsets of every byte that is not part of valid UTF-8."""
    bad: list[int] = []
    pos = 0
    while pos < len(data):
        try:
            data[pos:].decode("utf-8")
            break
        except UnicodeDecodeError as e:
            bad.extend(range(pos + e.start, pos + e.end))
            pos += e.end
    return bad


def _iter_csv(path: str, data: bytes, cfg, order0: int, delimiter: str) -> Iterator[RawRecord | RawReject]:
    """Checks the header now (_Unreadable if it cannot be used) and returns an iterator of rows."""
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    bad = _bad_utf8_offsets(data)
    # surrogateescape keeps one char per undecodable byte, so a bad byte stays findable in its field.
    text = data[bom:].decode("utf-8", errors="surrogateescape")
    line_starts = [0] + [i + 1 for i, b in enumerate(data) if b == 0x0A]

    def line_of(byte_offset: int) -> int:
        return bisect.bisect_right(line_starts, byte_offset)

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        header = next(reader)
    except StopIteration:
        return iter(())
    except csv.Error as e:
        raise _Unreadable(f"unreadable CSV header ({e})", field="<header>") from None
    header = [h.strip() for h in header]
    if any("\udc80" <= ch <= "\udcff" for h in header for ch in h):
        raise _Unreadable(f"not UTF-8: the CSV header has undecodable bytes at byte offset {bad[0]}; set "
                          "prepare.reader.encoding to the export's encoding", field="<header>", byte_offset=bad[0])
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise _Unreadable(f"duplicate column names {dupes} in the CSV header", field="<header>")

    def rows() -> Iterator[RawRecord | RawReject]:
        n_lines = len(data.splitlines())
        order = order0
        prev_end = reader.line_num
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                start = prev_end + 1
                yield RawReject(path, start, order, "<row>", CSV_QUOTING, str(e))
                order += 1
                prev_end = reader.line_num
                continue
            start, end = prev_end + 1, reader.line_num
            prev_end = end
            if not row or all(not c.strip() for c in row):
                continue
            obj = dict(zip(header, row)) if len(row) == len(header) else None
            try:
                bad_here = [b for b in bad if start <= line_of(b) <= end]
                if bad_here:
                    col = next((i for i, c in enumerate(row) if any("\udc80" <= ch <= "\udcff" for ch in c)), None)
                    name = header[col] if col is not None and col < len(header) else "<row>"
                    raise _Invalid(name, BAD_ENCODING,
                                   f"not UTF-8: byte {data[bad_here[0]:bad_here[0] + 1]!r} at byte offset "
                                   f"{bad_here[0]} (line {line_of(bad_here[0])})", bad_here[0])
                if end >= n_lines and end > start and data[line_starts[start - 1]:].count(b'"') % 2 == 1:
                    # Non-strict csv swallows everything after an unclosed quote into one field.
                    raise _Invalid("<row>", CSV_QUOTING, f"unterminated quote: the field starting on line {start} "
                                   f"runs to the end of the file (line {end})")
                if len(row) != len(header):
                    raise _Invalid("<row>", CSV_FIELD_COUNT, f"expected {len(header)} fields, got {len(row)} "
                                   "(an unquoted delimiter inside a field?)")
                obj = dict(zip(header, row))
                # An empty CSV cell means "no value" for optional fields, but keep empty text as text:
                # the filter drops it with a reason.
                text_col = dict(cfg.field_map).get("text", "text")
                obj = {k: (v if v.strip() or k == text_col else None) for k, v in obj.items()}
                yield RawRecord(path, start, order, map_fields(obj, cfg))
            except _Invalid as e:
                yield RawReject(path, start, order, e.field, e.kind, e.message, e.byte_offset, id=_raw_id(obj, cfg))
            order += 1

    return rows()


def read_file(path: str, cfg: ml_collections.ConfigDict, order0: int = 0,
              data: bytes | None = None) -> Iterator[RawRecord | RawReject]:
    """Yields every record of one file; RecordError when cfg.on_error == "raise".

    A file that cannot be read as a whole (missing, a folder, unreadable, an unknown format, not
    in the declared encoding, a bad CSV header) is one UNREADABLE_FILE reject, so the run can still
    account for it. `data` may hold the file's bytes already (a Beam worker reads remote files itself)."""
    damage = None
    try:
        fmt, data, damage = _load(path, cfg, data)
        if fmt == "jsonl":
            items = _iter_jsonl(path, data, cfg, order0)
        else:
            items = _iter_csv(path, data, cfg, order0, cfg.csv_delimiter if fmt == "csv" else "\t")
    except _Unreadable as e:
        message = e.message
        if damage:  # one reject stands for the whole file, so it carries the archive's damage too
            message += f"; the gzip stream also {damage[0]} at compressed byte {damage[1]}"
        reject = RawReject(path, e.line, order0, e.field, UNREADABLE_FILE, message, e.byte_offset)
        if cfg.on_error == "raise":
            raise reject.to_error() from None
        yield reject
        return
    order, lines = order0, data.count(b"\n")
    for item in items:
        if isinstance(item, RawReject) and cfg.on_error == "raise":
            raise item.to_error()
        order = item.order + 1
        yield item
    if damage:
        kept = f"kept the {lines} whole lines before it" if lines else "no whole line came before it"
        reject = RawReject(path, lines + 1, order, "<file>", TRUNCATED_ARCHIVE,
                           f"the gzip stream {damage[0]} at compressed byte {damage[1]}: {kept}, the rest of "
                           "the file is not read", damage[1])
        if cfg.on_error == "raise":
            raise reject.to_error()
        yield reject


def file_order_base(file_index: int) -> int:
    """Records of file i are numbered from i << 32, so order is global and files can be read apart."""
    return file_index << 32


def duplicate_id_rejects(records: Iterable[RawRecord], cfg: ml_collections.ConfigDict) -> list[RawReject]:
    """Records sharing one id, all but the earliest (by input order) as rejects."""
    ordered = sorted(records, key=lambda r: r.order)
    first = ordered[0]
    id_field = dict(cfg.field_map).get("id", "id")
    return [RawReject(r.source, r.line, r.order, id_field, DUPLICATE_ID,
                      f"duplicate id {r.fields['id']!r} (first at {first.where})", id=str(r.fields["id"]))
            for r in ordered[1:]]


def read_raw(paths: Iterable[str], cfg: ml_collections.ConfigDict) -> Iterator[RawRecord | RawReject]:
    """Reads all inputs in order; ids must be unique across them (later repeats are rejected)."""
    if cfg.on_error not in ("raise", "reject"):
        raise ValueError(f"prepare.reader.on_error must be 'raise' or 'reject', got {cfg.on_error!r}")
    seen: dict[str, RawRecord] = {}
    for i, path in enumerate(paths):
        for item in read_file(path, cfg, file_order_base(i)):
            if isinstance(item, RawRecord) and item.fields.get("id"):
                rid = item.fields["id"]
                if rid in seen:
                    item = duplicate_id_rejects([seen[rid], item], cfg)[0]
                    if cfg.on_error == "raise":
                        raise item.to_error()
                else:
                    seen[rid] = item
            yield item
