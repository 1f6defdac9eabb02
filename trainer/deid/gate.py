"""PHI gate: scan training examples for identifiers and refuse to train when too many remain.

The gate re-runs the de-identifier's scanner over each example's response (and fact values). In
surrogate mode, prepared data is full of natural-looking fake names, dates and phones that any
scanner flags, so the prepare stage records which surrogates it inserted per example
(`deid_manifest.json` beside the split files); spans that are exactly those surrogates are
ignored, everything else counts. Without a manifest every span counts. Reports name records by
id and span type only, never by the identifier text.

A second, independent check (`second_check.SecondCheck`: Presidio's stock recognizers and the
name lexicon) reads the same texts, so the gate does not rest on the de-identifier's blind spots
alone. What it finds beyond the de-identifier is reported; its precise kinds (phone, e-mail,
SSN, IP, card numbers: `second_check_blocking`) count against the gate like the first check's.

The gate agrees with the de-identifier on what is no identifier: organizations (the shipped list
`trainer/assets/deid/health_orgs.txt` and `config.prepare.deid.org_names`, which the scanner
already honours) and the values of the facts the de-identifier keeps as they are
(`fact_keep_keys`: the clinic's `location_name`, `medication`, ...), wherever they stand in the
response. Otherwise a clinic named like a person ("Gordon Ellery") would make the gate refuse
prepare's own output. Lines of a training file that cannot be read are the trainer's reader's
business (`data.on_error`: it stops or rejects them); the gate skips them and says how many.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import random
import re
from typing import Any, Iterable, Mapping, Sequence

import ml_collections

from trainer.data.records import RecordError, parse_clean_example, read_clean_examples
from trainer.deid.engine import Deidentifier
from trainer.deid.facts import occurrences
from trainer.deid.lexicon import read_list
from trainer.util.errors import UserError
from trainer.util.jsonl import decode_line, iter_raw_lines
from trainer.deid.second_check import BLOCKING_TYPES, SecondCheck

MANIFEST = "deid_manifest.json"
# Fact keys holding codes, not identifiers ("sms" alone on a line reads like a name to a scanner).
_CATEGORICAL = frozenset({"language", "channel", "task", "direction", "tone", "urgency"})


def default_config() -> ml_collections.ConfigDict:
    """Gate settings for the trainer (e.g. composed as config.train.phi_gate)."""
    c = ml_collections.ConfigDict()
    c.enabled = True
    c.max_rate = 0.0  # share of examples allowed to still hold an identifier
    c.allow_synthetic = False  # explicit override for data known to be synthetic
    c.max_examples = 0  # 0: scan every example; N: a seeded sample of N
    c.scan_facts = True
    c.second_check = True  # also scan with Presidio's stock recognizers and the name lexicon
    c.second_check_blocking = list(BLOCKING_TYPES)  # its kinds that count against the gate
    return c


class PhiGateError(UserError, RuntimeError):
    """Raised when identifiers remain above the allowed rate and no override was given (the
    data's fault, not a bug: the entry point prints the summary, ids and types only, and exits 2)."""

    def __init__(self, report: "PhiReport"):
        self.report = report
        super().__init__(report.summary())


@dataclasses.dataclass
class PhiReport:
    n_examples: int
    n_flagged: int
    max_rate: float
    by_type: dict[str, int]  # span type -> spans counted against the gate
    flagged: list[dict[str, Any]]  # [{"id": ..., "types": [...]}] in input order
    ignored_surrogates: int  # spans skipped because prepare inserted them
    allow_synthetic: bool = False
    n_total: int = 0  # examples given (n_examples were scanned)
    # The second check's findings beyond the first: {"by_type", "flagged": [{"id", "types"}],
    # "blocking_types"}; None when it did not run.
    second_check: dict[str, Any] | None = None
    ignored_kept: int = 0  # spans inside kept fact values (fact_keep_keys) or organization names
    skipped_lines: int = 0  # lines the trainer's reader refuses (data.on_error), not scanned

    @property
    def rate(self) -> float:
        return self.n_flagged / self.n_examples if self.n_examples else 0.0

    @property
    def passed(self) -> bool:
        return self.rate <= self.max_rate

    @property
    def overridden(self) -> bool:
        return not self.passed and self.allow_synthetic

    def summary(self, max_ids: int = 20) -> str:
        if self.passed:
            verdict = "PASS"
        else:
            verdict = "OVERRIDDEN (allow_synthetic=True)" if self.allow_synthetic else "REFUSED"
        sample = f" (a sample of {self.n_total})" if self.n_total > self.n_examples else ""
        lines = [f"PHI gate {verdict}: {self.n_flagged}/{self.n_examples} examples{sample} "
                 f"({self.rate:.2%}) still contain identifiers; allowed {self.max_rate:.2%}."]
        if self.skipped_lines:
            lines.append(f"  {self.skipped_lines} unreadable line(s) not scanned (the trainer's reader stops at or "
                         "rejects them per data.on_error)")
        if self.by_type:
            lines.append("  spans by type: " + ", ".join(f"{k}={v}" for k, v in sorted(self.by_type.items())))
        for row in self.flagged[:max_ids]:
            lines.append(f"  {row['id']}: {', '.join(row['types'])}")
        if len(self.flagged) > max_ids:
            lines.append(f"  ... and {len(self.flagged) - max_ids} more")
        if self.second_check is not None:
            sc = self.second_check
            found = ", ".join(f"{k}={v}" for k, v in sorted(sc["by_type"].items())) or "nothing"
            lines.append(f"  second check (Presidio stock recognizers + name lexicon), beyond the de-identifier: "
                         f"{len(sc['flagged'])} examples; {found}; blocking: {', '.join(sc['blocking_types'])}")
            for row in sc["flagged"][:max_ids]:
                lines.append(f"    {row['id']}: {', '.join(row['types'])}")
        if not self.passed and not self.allow_synthetic:
            lines.append("  Run the prepare stage (de-identification) on this data, or pass allow_synthetic=True "
                         "only if the data is known to be synthetic.")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(rate=round(self.rate, 6), passed=self.passed, overridden=self.overridden)
        return d


def _field(example: Any, name: str, default=None):
    if isinstance(example, Mapping):
        return example.get(name, default)
    return getattr(example, name, default)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.casefold())


def _is_surrogate(span_text: str, surrogate_words: set[str]) -> bool:
    """True when every word of the span is a word of the surrogates prepare inserted in this
    example (a scanner may join two of them, e.g. a fake name and a fake date on the next line)."""
    words = _words(span_text)
    return bool(words) and all(w in surrogate_words for w in words)


def _kept_values(facts: Mapping[str, Any], keep_keys: Sequence[str]) -> list[str]:
    """Fact values the de-identifier leaves as they are, in the facts and in the text (its rule:
    a string of at least 4 characters with a letter, under a `fact_keep_keys` key)."""
    keep = set(keep_keys)
    return [v for k, v in facts.items() if k in keep and isinstance(v, str) and len(v.strip()) >= 4
            and any(c.isalpha() for c in v)]


# The de-identifier's list of health organizations named after people and places.
_HEALTH_ORG_RE = re.compile(r"(?<![\w.])(?:" + "|".join(
    re.escape(n) for n in sorted(read_list("health_orgs.txt", lower=False), key=len, reverse=True))
    + r")(?:['’]s)?(?!\w)", re.I)


def _org_ranges(text: str, org_names: Sequence[str]) -> list[tuple[int, int]]:
    """Where `text` names a configured organization or one of the shipped health organizations."""
    out = [(m.start(), m.end()) for m in _HEALTH_ORG_RE.finditer(text)]
    for name in org_names:
        if name and name.strip():
            out += [(m.start(), m.end()) for m in re.finditer(r"(?<!\w)" + re.escape(name) + r"(?!\w)", text, re.I)]
    return out


def _deid_setting(deidentifier: Any, name: str) -> tuple:
    config = getattr(deidentifier, "config", None)
    try:
        return tuple(config[name]) if config is not None else ()
    except (KeyError, AttributeError, TypeError):
        return ()


def check_phi(
    examples: Iterable[Any],
    deidentifier: Any,
    max_rate: float,
    *,
    allow_synthetic: bool = False,
    known_surrogates: Mapping[str, Sequence[str]] | None = None,
    scan_facts: bool = True,
    raise_on_fail: bool = True,
    max_examples: int | None = None,
    seed: int = 0,
    second_check: SecondCheck | None = None,
    second_check_blocking: Sequence[str] = BLOCKING_TYPES,
    keep_fact_keys: Sequence[str] | None = None,
    org_names: Sequence[str] | None = None,
) -> PhiReport:
    """Scans examples (CleanExample or dicts) with `deidentifier.scan` (batched through
    `find_many` where the de-identifier has it), and with `second_check` when given.

    Raises PhiGateError when the share of examples with identifiers exceeds `max_rate`, unless
    `allow_synthetic=True` (then the report says it was overridden) or `raise_on_fail=False`.
    `max_examples` scans a seeded random sample instead of everything (the rate is then an
    estimate; the report says how many were scanned). The second check's findings that the
    de-identifier did not make are reported; those of `second_check_blocking` kinds count.
    `keep_fact_keys` and `org_names` default to the de-identifier's own config: spans inside
    those kept fact values or organization names are no finding, as they are none to it.
    """
    known_surrogates = known_surrogates or {}
    keep_keys = tuple(_deid_setting(deidentifier, "fact_keep_keys") if keep_fact_keys is None else keep_fact_keys)
    orgs = tuple(_deid_setting(deidentifier, "org_names") if org_names is None else org_names)
    examples = list(examples)
    n_total = len(examples)
    if max_examples is not None and max_examples < n_total:
        picked = sorted(random.Random(seed).sample(range(n_total), max_examples))
        examples = [examples[i] for i in picked]
    ids: list[str] = []
    texts: list[tuple[int, str]] = []  # (example index, text)
    kept: list[list[str]] = []  # per example: fact values the de-identifier keeps
    for n, ex in enumerate(examples, 1):
        ids.append(str(_field(ex, "id", f"#{n}")))
        facts = _field(ex, "facts", {}) or {}
        kept.append(_kept_values(facts, keep_keys) if isinstance(facts, Mapping) else [])
        texts.append((n - 1, _field(ex, "response") or _field(ex, "reference") or ""))
        if scan_facts and isinstance(facts, Mapping):
            # One scan for all fact values (one per line) costs a fraction of one scan per value.
            values = [" ".join(v.split()) for k, v in facts.items()
                      if k not in _CATEGORICAL and k not in keep_keys and isinstance(v, str) and v.strip()]
            if values:
                texts.append((n - 1, "\n".join(values)))
    plain = [t for _, t in texts]
    if hasattr(deidentifier, "find_many"):
        first = deidentifier.find_many(plain)
    else:
        first = [deidentifier.scan(t) for t in plain]
    second = second_check.scan_many(plain) if second_check is not None else None
    blocking = set(second_check_blocking)
    types: list[list[str]] = [[] for _ in examples]
    second_types: list[set[str]] = [set() for _ in examples]
    second_by_type: collections.Counter = collections.Counter()
    ignored = ignored_kept = 0
    for k, (i, text) in enumerate(texts):
        surrogates = {w for s in known_surrogates.get(ids[i], ()) for w in _words(s)}
        # What the de-identifier leaves in place: its kept fact values and organization names.
        safe = occurrences(text, kept[i]) + _org_ranges(text, orgs)

        def is_safe(span) -> bool:
            return any(a <= span.start and span.end <= b for a, b in safe)

        for span in first[k]:
            if surrogates and _is_surrogate(span.text, surrogates):
                ignored += 1
                continue
            if is_safe(span):
                ignored_kept += 1
                continue
            types[i].append(span.type)
        for span in (second[k] if second is not None else ()):
            if any(span.start < f.end and f.start < span.end for f in first[k]):
                continue  # the first check found it too
            if (surrogates and _is_surrogate(span.text, surrogates)) or is_safe(span):
                continue
            second_types[i].add(span.type)
            second_by_type[span.type] += 1
            if span.type in blocking:
                types[i].append(f"second_check:{span.type}")
    by_type: collections.Counter = collections.Counter()
    flagged: list[dict[str, Any]] = []
    for i, found in enumerate(types):
        if found:
            by_type.update(found)
            flagged.append({"id": ids[i], "types": sorted(set(found))})
    sc = None
    if second_check is not None:
        sc = {"by_type": dict(second_by_type), "blocking_types": sorted(blocking),
              "flagged": [{"id": ids[i], "types": sorted(t)} for i, t in enumerate(second_types) if t]}
    report = PhiReport(len(examples), len(flagged), float(max_rate), dict(by_type), flagged, ignored,
                       allow_synthetic, n_total, sc, ignored_kept)
    if not report.passed:
        if allow_synthetic:
            logging.warning("%s", report.summary())
        elif raise_on_fail:
            raise PhiGateError(report)
    return report


def load_known_surrogates(data_dir: str) -> dict[str, list[str]]:
    """Surrogates the prepare stage inserted, by example id ({} when there is no manifest)."""
    path = os.path.join(data_dir, MANIFEST)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return {k: list(v) for k, v in json.load(f).get("surrogates", {}).items()}


def read_examples_for_gate(path: str, on_error: str = "reject") -> tuple[list[Any], int]:
    """(examples, lines skipped) of a clean-example file. on_error="raise" stops at the first bad
    line with the reader's file:line error; "reject" skips bad lines (the trainer's own reader
    writes them to its rejects file) and never writes anything itself."""
    if on_error == "raise":
        return list(read_clean_examples(path)), 0
    if on_error != "reject":
        raise ValueError(f"on_error must be 'raise' or 'reject', got {on_error!r}")
    examples, skipped = [], 0
    for number, raw in iter_raw_lines(path):
        try:
            examples.append(parse_clean_example(json.loads(decode_line(path, number, raw)), path, number))
        except (RecordError, ValueError):  # ValueError: not JSON
            skipped += 1
    return examples, skipped


def check_phi_files(paths: Sequence[str], deidentifier: Any, max_rate: float, *, allow_synthetic: bool = False,
                    raise_on_fail: bool = True, max_examples: int | None = None, scan_facts: bool = True,
                    second_check: SecondCheck | None = None,
                    second_check_blocking: Sequence[str] = BLOCKING_TYPES, on_error: str = "reject") -> PhiReport:
    """Reads clean-example files and gates them together, using the manifest beside each file.
    `on_error` as the trainer's `data.on_error`: "reject" skips unreadable lines (counted in the
    report), "raise" stops at the first with its file:line error."""
    examples: list[Any] = []
    known: dict[str, list[str]] = {}
    skipped = 0
    for path in paths:
        found, bad = read_examples_for_gate(path, on_error)
        examples += found
        skipped += bad
        known.update(load_known_surrogates(os.path.dirname(os.path.abspath(path))))
    # Refusing must not wait for the count of skipped lines: raise only after it is recorded.
    report = check_phi(examples, deidentifier, max_rate, allow_synthetic=allow_synthetic, known_surrogates=known,
                       raise_on_fail=False, max_examples=max_examples, scan_facts=scan_facts,
                       second_check=second_check, second_check_blocking=second_check_blocking)
    report.skipped_lines = skipped
    if not report.passed and not allow_synthetic and raise_on_fail:
        raise PhiGateError(report)
    return report


def second_check_for(deidentifier: Any) -> SecondCheck:
    """The gate's second check, on the same spaCy model, lexicon and clinicians as `deidentifier`."""
    return SecondCheck(deidentifier.config.spacy_model, deidentifier.lexicon,
                       clinician_names=list(deidentifier.config.clinician_names))


def run_gate(paths: Sequence[str], cfg: Any, deidentifier: Any = None, deid_config: Any = None,
             on_error: str = "reject") -> PhiReport | None:
    """The trainer's entry point: gate the files it is about to train on, per `default_config()`.
    Builds a Deidentifier from `deid_config` unless one is given. Returns None when disabled.
    `on_error` is the trainer's `data.on_error`; with the default a bad line never stops the
    gate (the trainer's reader, which runs next, stops at it or rejects it as configured)."""
    if not cfg.enabled:
        return None
    if deidentifier is None:
        deidentifier = Deidentifier(deid_config)
    second = second_check_for(deidentifier) if cfg.get("second_check", True) else None
    report = check_phi_files(paths, deidentifier, cfg.max_rate, allow_synthetic=cfg.allow_synthetic,
                             max_examples=cfg.max_examples or None, scan_facts=cfg.scan_facts,
                             second_check=second,
                             second_check_blocking=tuple(cfg.get("second_check_blocking", BLOCKING_TYPES)),
                             on_error=on_error)
    logging.info("%s", report.summary())
    return report


def inserted_surrogates(original: str, spans: Sequence[Any], new_text: str) -> list[str]:
    """The strings that replaced `spans` of `original` in `new_text` (what a de-identifier wrote).

    The text between spans is unchanged, so one regex with a group per span recovers each
    replacement; returns [] if the texts do not line up that way.
    """
    spans = sorted(spans, key=lambda s: s.start)
    if not spans:
        return []
    parts, pos = [], 0
    for s in spans:
        parts.append(re.escape(original[pos:s.start]))
        pos = s.end
    parts.append(re.escape(original[pos:]))
    m = re.fullmatch("(.*?)".join(parts), new_text, flags=re.S)
    if not m:
        return []
    return [g for g in m.groups() if g and g.strip()]
