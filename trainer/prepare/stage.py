"""The prepare stage: raw clinic logs -> de-identified, cleaned train/val/test examples.

read -> normalize -> relevance filter -> de-identify -> typo fix -> quality score -> dedup ->
select -> split. Every input record ends as exactly one of kept | dropped(reason) |
rejected(error); `prepare_report.json` checks that identity and `ledger.jsonl` lists each record.

The per-record steps (`RecordProcessor.stage1/stage2`) and the whole-corpus steps
(`corpus_protected_words`, `finalize`) are plain functions over dicts so the Beam pipeline
(`beam.py`) runs the very same code.
"""
from __future__ import annotations

import collections
import glob
import hashlib
import logging
import os
import time
from typing import Any, Iterable, Mapping, Sequence

import ml_collections

from trainer.data.records import CleanExample, RecordError, write_jsonl
from trainer.deid import config as deid_config
from trainer.deid import gate
from trainer.deid.engine import Deidentifier
from trainer.deid.types import DeidSetupError
from trainer.prepare import dedup, filters, ledger, normalize, quality, readers, split, typos
from trainer.util import files
from trainer.util.errors import UserError

DEID_ERROR = "deid_error"


class NoUsableRecords(UserError):
    """The inputs were read to the end but none of their records can be trained on."""


class UnreadableInputs(UserError):
    """Some input files could not be read at all; the ledger and report account for them."""


class EmptyInputs(UserError, ValueError):
    """prepare.inputs names no file."""


class MissingInput(UserError, FileNotFoundError):
    """A prepare.inputs path or glob that names no file (a runner that reads the files itself
    cannot account for them in the ledger, so it stops before reading anything)."""


def default_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # Raw log paths or globs (JSONL / CSV / TSV, optionally .gz), comma-separated: a string so
    # that --config.prepare.inputs=a.jsonl,b.csv works on the command line.
    c.inputs = ""
    c.reader = readers.default_config()
    c.clean = normalize.default_config()
    c.filters = filters.default_config()
    c.deid = deid_config.default_config()
    c.dedup = dedup.default_config()
    c.quality = quality.default_config()
    c.split = split.default_config()
    c.add_channel_fact = True  # copy the record's channel into facts when facts lack it
    c.add_language_fact = True  # detected language into facts when facts lack it
    c.write_ledger = True  # data/ledger.jsonl: one line per input record with its outcome
    # Drop a record when de-identification made a key fact the raw text stated no longer match
    # (text and facts got different surrogates, or a fact kept its real value).
    c.drop_deid_inconsistent = True
    return c


def prepare_section(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    return config.prepare if "prepare" in config else config


def expand_inputs(inputs: Any, missing_ok: bool = False) -> list[str]:
    """Paths and globs (a list, tuple or comma-separated string) -> existing files, in order.

    With `missing_ok` a path that is missing or not a file, and a glob that matches nothing,
    stay in the list as given: the reader turns each into one reject naming it, so the ledger
    accounts for it instead of the run dying before it writes anything."""
    if isinstance(inputs, str):
        inputs = [inputs]
    items: list[str] = []
    for item in inputs or ():
        item = os.path.expanduser(str(item).strip())
        # --config.prepare.inputs=a.jsonl,b.csv arrives as one string.
        items += [item] if os.path.exists(item) else [p.strip() for p in item.split(",") if p.strip()]
    paths: list[str] = []
    for item in items:
        matches = sorted(glob.glob(item)) if any(ch in item for ch in "*?[") else [item]
        if not matches:
            if not missing_ok:
                raise MissingInput(f"prepare.inputs: no file matches {item!r}")
            matches = [item]
        for p in matches:
            if not os.path.isfile(p) and not missing_ok:
                raise MissingInput(f"prepare.inputs: {p!r} is not a file")
            if p not in paths:
                paths.append(p)
    if not paths:
        raise EmptyInputs("prepare.inputs is empty: give the raw log files (JSONL, CSV or TSV, optionally .gz)")
    return paths


class RecordProcessor:
    """Per-record work. Heavy tools (de-identifier, spelling dictionaries) load on first use."""

    def __init__(self, cfg: ml_collections.ConfigDict, deidentifier: Any = None):
        self.cfg = cfg
        self._deid = deidentifier
        self._fixer: tuple[Sequence[str], typos.TypoFixer] | None = None
        self.salt, self.salt_source = split.resolve_salt(cfg.split)
        self._deid_ok = self._deid_failed = 0

    @property
    def deidentifier(self):
        if self._deid is None:
            self._deid = Deidentifier(self.cfg.deid)
        return self._deid

    def fixer(self, corpus_words: Sequence[str]) -> typos.TypoFixer:
        # One fixer per corpus word list (the same list object for every record of a run).
        if self._fixer is None or self._fixer[0] is not corpus_words:
            self._fixer = (corpus_words, typos.TypoFixer(self.cfg.clean.typo, corpus_words))
        return self._fixer[1]

    def stage1(self, rec: readers.RawRecord) -> dict[str, Any]:
        """Normalize, filter, de-identify. Returns an outcome row (dropped/rejected) or a candidate."""
        cfg = self.cfg
        f = rec.fields
        # Records without an id get one from where they are: "raw.csv@0:14" (file index 0, line 14).
        rid = f.get("id") or f"{os.path.basename(rec.source)}@{rec.order >> 32}:{rec.line}"
        base = {"source": rec.source, "line": rec.line, "order": rec.order, "id": rid}
        raw_text = f.get("text") or ""
        if len(raw_text) > cfg.filters.max_raw_chars:
            return ledger.outcome_row(base, ledger.DROPPED, filters.TOO_LONG,
                                      f"{len(raw_text)} characters before normalization (max_raw_chars {cfg.filters.max_raw_chars})")
        norm = normalize.normalize_text(raw_text, cfg.clean)
        facts = dict(f.get("facts") or {})
        verdict = filters.check_message(norm.text, f, facts, cfg.filters)
        if verdict.reason:
            return ledger.outcome_row(base, ledger.DROPPED, verdict.reason, verdict.detail, stripped=norm.stripped)
        pkey = split.patient_key(f.get("patient_id") or rid, self.salt)
        channel = filters.normalize_channel(f.get("channel"))
        if cfg.add_channel_fact and channel and "channel" not in facts:
            facts["channel"] = channel
        if cfg.add_language_fact and verdict.language != "unknown" and "language" not in facts:
            facts["language"] = verdict.language
        deidentifier = self.deidentifier  # a de-identifier that cannot start stops the stage here
        try:
            # Seeding surrogates by patient keeps one patient's fake name and date shift stable.
            result = deidentifier.deidentify(norm.text, facts, record_key=pkey)
            self._deid_ok += 1
        except DeidSetupError:
            raise
        except Exception as e:  # a de-identifier failure must never let the raw text through
            if cfg.reader.on_error == "raise":
                raise RecordError(rec.source, rec.line, "text", f"de-identification failed: {e}") from e
            self._deid_failed += 1
            if self._deid_failed >= 10 and self._deid_failed > self._deid_ok:
                # Most records failing is a broken de-identifier, not bad records: stop, do not
                # turn the whole input into rejects and exit 0.
                raise DeidSetupError(f"de-identification failed on {self._deid_failed} of "
                                     f"{self._deid_failed + self._deid_ok} records (last: {type(e).__name__}); "
                                     "the de-identifier is broken") from e
            # The exception text may quote the message; the ledger gets the type only.
            return ledger.outcome_row(base, ledger.REJECTED, DEID_ERROR, type(e).__name__, field="text")
        task = filters.normalize_task(f.get("task"), cfg.filters)
        if cfg.drop_deid_inconsistent:
            broken = _facts_broken_by_deid(norm.text, facts, result.text, result.facts, task)
            if broken:
                return ledger.outcome_row(base, ledger.DROPPED, "deid_inconsistent",
                                f"key facts stated before de-identification but not after: {broken}")
        surrogates = gate.inserted_surrogates(norm.text, result.spans, result.text)
        surrogates += [str(v) for k, v in result.facts.items() if facts.get(k) != v and isinstance(v, str)]
        lang = str(result.facts.get("language") or verdict.language)
        return dict(base, kind="candidate", patient_key=pkey, task=task, facts=result.facts, text=result.text,
                    lang=lang[:2].casefold(), surrogates=sorted(set(surrogates)),
                    # Fingerprint of the text before surrogates, so copies sent to two patients match.
                    fingerprint=dedup.fingerprint(norm.text, cfg.dedup),
                    identifiers=dict(collections.Counter(s.type for s in result.spans)), stripped=norm.stripped)

    def stage2(self, cand: Mapping[str, Any], corpus_words: Sequence[str]) -> dict[str, Any]:
        """Typo fix (protecting facts and surrogates) and quality score."""
        fixer = self.fixer(corpus_words)
        protect = typos.protected_words(cand["facts"], cand["surrogates"])
        fix = fixer.fix(cand["text"], cand["lang"], protect)
        q = quality.score_message(fix.text, cand["task"], cand["facts"], cand["lang"], fix.n_checked, fix.n_unknown,
                                  self.cfg.quality)
        return dict(cand, text=fix.text, typo_changes=fix.changes, quality=q.to_json(),
                    quality_reason=q.reason, quality_detail=q.detail)


def _facts_broken_by_deid(text: str, facts: Mapping[str, Any], new_text: str, new_facts: Mapping[str, Any],
                          task: str) -> list[str]:
    before = quality.fact_coverage(text, task, facts)[1]
    after = quality.fact_coverage(new_text, task, new_facts)[1]
    return sorted(set(after) - set(before))


def corpus_texts_words(cands: Iterable[Mapping[str, Any]], min_docs: int) -> list[str]:
    """Words frequent enough across records to count as domain vocabulary."""
    counts = typos.corpus_word_counts(c["text"] for c in cands)
    return sorted(typos.frequent_corpus_words(counts, min_docs))


def finalize(scored: Sequence[Mapping[str, Any]], cfg: ml_collections.ConfigDict
             ) -> tuple[dict[str, list[dict]], list[dict], dict]:
    """Dedup, select, split. Returns ({split: [example]}, outcome rows, stats)."""
    # Best twin first: higher quality, then input order.
    ordered = sorted(scored, key=lambda c: (-c["quality"]["score"], c["order"]))
    dd = dedup.deduplicate([(c["id"], c["fingerprint"]) for c in ordered], cfg.dedup)
    outcomes: list[dict] = []
    selected: list[Mapping[str, Any]] = []
    for c in scored:
        extra = {"score": c["quality"]["score"], "quality": c["quality"]}
        if c["id"] in dd.exact:
            outcomes.append(ledger.outcome_row(c, ledger.DROPPED, "exact_duplicate", f"same text as {dd.exact[c['id']]}", **extra))
        elif c["id"] in dd.near:
            twin, j = dd.near[c["id"]]
            outcomes.append(ledger.outcome_row(c, ledger.DROPPED, "near_duplicate", f"Jaccard {j} with {twin}", **extra))
        elif c["quality_reason"]:
            outcomes.append(ledger.outcome_row(c, ledger.DROPPED, c["quality_reason"], c["quality_detail"], **extra))
        else:
            selected.append(c)
    assignment = split.assign_splits([(c["patient_key"], c["task"]) for c in selected],
                                     dict(cfg.split.ratios), cfg.split.seed)
    by_split: dict[str, list[dict]] = {s: [] for s in split.SPLITS}
    for c in sorted(selected, key=lambda c: c["order"]):
        s = assignment[c["patient_key"]]
        by_split.setdefault(s, []).append(
            CleanExample(id=c["id"], patient_key=c["patient_key"], task=c["task"], facts=c["facts"],
                         response=c["text"]).to_json())
        outcomes.append(ledger.outcome_row(c, ledger.KEPT, split=s, score=c["quality"]["score"], quality=c["quality"]))
    stats = {"exact": len(dd.exact), "near": len(dd.near),
             "near_pairs": [{"id": k, "kept": v[0], "jaccard": v[1]} for k, v in list(dd.near.items())[:20]]}
    return by_split, outcomes, stats


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_outputs(data_dir: str, by_split: Mapping[str, list], outcomes: Sequence[Mapping[str, Any]],
                  scored: Sequence[Mapping[str, Any]], report: dict, cfg: ml_collections.ConfigDict) -> dict:
    os.makedirs(data_dir, exist_ok=True)
    for s in split.SPLITS:
        write_jsonl(os.path.join(data_dir, f"{s}.jsonl"), by_split.get(s, []))
    ordered = sorted(outcomes, key=lambda o: o["order"])
    write_jsonl(os.path.join(data_dir, "rejects.jsonl"),
                ({"file": o["source"], "line": o["line"], "field": o.get("field", ""), "error": o["error"],
                  "message": o.get("detail", ""), **({"byte_offset": o["byte_offset"]} if "byte_offset" in o else {})}
                 for o in ordered if o["outcome"] == ledger.REJECTED))
    if cfg.write_ledger:
        write_jsonl(os.path.join(data_dir, "ledger.jsonl"),
                    ({k: v for k, v in o.items() if k not in ("order", "stripped")} for o in ordered))
    kept_ids = {o["id"] for o in outcomes if o["outcome"] == ledger.KEPT}
    manifest = {
        "deid_mode": cfg.deid.mode,
        "files": {s: {"sha256": _sha256(os.path.join(data_dir, f"{s}.jsonl")), "examples": len(by_split.get(s, []))}
                  for s in split.SPLITS},
        # Fake values prepare inserted, so the PHI gate can tell them from identifiers that remain.
        "surrogates": {c["id"]: c["surrogates"] for c in scored if c["id"] in kept_ids and c["surrogates"]},
    }
    files.write_json(os.path.join(data_dir, gate.MANIFEST), manifest, indent=1, sort_keys=True)
    files.write_json(os.path.join(data_dir, "prepare_report.json"), report, indent=2)
    files.write_text(os.path.join(data_dir, "prepare_summary.txt"), ledger.format_summary(report))
    return report


def run(config: ml_collections.ConfigDict, workdir: str, deidentifier: Any = None) -> dict:
    """Runs the stage; writes workdir/data/{train,val,test}.jsonl, rejects.jsonl, ledger.jsonl,
    deid_manifest.json, prepare_report.json and prepare_summary.txt. Returns the report."""
    t0 = time.time()
    cfg = prepare_section(config)
    paths = expand_inputs(cfg.inputs, missing_ok=True)
    proc = RecordProcessor(cfg, deidentifier)
    proc.deidentifier  # noqa: B018 -- start it before reading: a broken one stops the stage at once
    outcomes: list[dict] = []
    cands: list[dict] = []
    n_read = 0
    for item in readers.read_raw(paths, cfg.reader):
        n_read += 1
        if isinstance(item, readers.RawReject):
            outcomes.append(ledger.reject_row(item))
            if item.kind == readers.TRUNCATED_ARCHIVE and not item.whole_file:
                # Records before the damage are kept; say so now, not only in the report.
                logging.warning("prepare: %s: %s", item.source, item.message)
            continue
        row = proc.stage1(item)
        (cands if row.get("kind") == "candidate" else outcomes).append(row)
    words = corpus_texts_words(cands, cfg.clean.typo.corpus_min_docs)
    scored = [proc.stage2(c, words) for c in cands]
    by_split, final_rows, dd_stats = finalize(scored, cfg)
    outcomes += final_rows
    report = ledger.build_report(paths, outcomes, scored, by_split, dd_stats, cfg, proc.salt_source, time.time() - t0,
                          n_read)
    if not report["accounting_ok"]:
        raise AssertionError(f"prepare lost track of records: {report['records_in']} in, "
                             f"{report[ledger.KEPT]}+{report[ledger.DROPPED]}+{report[ledger.REJECTED]} out")
    write_outputs(os.path.join(workdir, "data"), by_split, outcomes, scored, report, cfg)
    logging.info("prepare: %s", ledger.format_summary(report))
    ledger_path = os.path.join(workdir, "data", "ledger.jsonl")
    if report["unreadable_inputs"]:
        raise UnreadableInputs(_unreadable_message(report, ledger_path))
    if not report[ledger.KEPT]:
        reasons = {**report["dropped_by_reason"], **report["rejected_by_error"]}
        top = ", ".join(f"{k} {v}" for k, v in list(reasons.items())[:4]) or "no records at all"
        raise NoUsableRecords(f"no usable record in {len(paths)} input file(s) ({report['records_in']} read: {top}); "
                              f"every record's outcome is in {ledger_path}")
    return report


def _unreadable_message(report: Mapping[str, Any], ledger_path: str) -> str:
    """One line: which files could not be read and why, what the others gave, what to do."""
    bad = report["unreadable_inputs"]
    first = bad[0]
    more = f" and {len(bad) - 1} more input file(s)" if len(bad) > 1 else ""
    others = len(report["inputs"]) - len(bad)
    return (f"could not read input {first['path']} ({first['detail']}){more}; "
            f"{others} other input file(s) gave {report[ledger.KEPT]} usable record(s) "
            f"({report['records_in']} in = {report[ledger.KEPT]} kept + {report[ledger.DROPPED]} dropped + "
            f"{report[ledger.REJECTED]} rejected). Fix or remove it in prepare.inputs and rerun; "
            f"every input's outcome is in {ledger_path}")
