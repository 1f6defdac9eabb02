"""PHI gate: scan training examples for identifiers and refuse to train when too many remain.

The gate re-runs the de-identifier's scanner over each example's response (and fact values). In
surrogate mode, prepared data is full of natural-looking fake names, dates and phones that any
scanner flags, so the prepare stage records which surrogates it inserted per example
(`deid_manifest.json` beside the split files); spans that are exactly those surrogates are
ignored, everything else counts. Without a manifest every span counts. Reports name records by
id and span type only, never by the identifier text.
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

from trainer.data.records import read_clean_examples
from trainer.deid.engine import Deidentifier

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
    return c


class PhiGateError(RuntimeError):
    """Raised when identifiers remain above the allowed rate and no override was given."""

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
        if self.by_type:
            lines.append("  spans by type: " + ", ".join(f"{k}={v}" for k, v in sorted(self.by_type.items())))
        for row in self.flagged[:max_ids]:
            lines.append(f"  {row['id']}: {', '.join(row['types'])}")
        if len(self.flagged) > max_ids:
            lines.append(f"  ... and {len(self.flagged) - max_ids} more")
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
) -> PhiReport:
    """Scans examples (CleanExample or dicts) with `deidentifier.scan`.

    Raises PhiGateError when the share of examples with identifiers exceeds `max_rate`, unless
    `allow_synthetic=True` (then the report says it was overridden) or `raise_on_fail=False`.
    `max_examples` scans a seeded random sample instead of everything (the rate is then an
    estimate; the report says how many were scanned).
    """
    known_surrogates = known_surrogates or {}
    examples = list(examples)
    n_total = len(examples)
    if max_examples is not None and max_examples < n_total:
        picked = sorted(random.Random(seed).sample(range(n_total), max_examples))
        examples = [examples[i] for i in picked]
    by_type: collections.Counter = collections.Counter()
    flagged: list[dict[str, Any]] = []
    n = ignored = 0
    for ex in examples:
        n += 1
        ex_id = str(_field(ex, "id", f"#{n}"))
        texts = [_field(ex, "response") or _field(ex, "reference") or ""]
        if scan_facts:
            facts = _field(ex, "facts", {}) or {}
            # One scan for all fact values (one per line) costs a fraction of one scan per value.
            values = [" ".join(v.split()) for k, v in facts.items()
                      if k not in _CATEGORICAL and isinstance(v, str) and v.strip()]
            if values:
                texts.append("\n".join(values))
        surrogates = {w for s in known_surrogates.get(ex_id, ()) for w in _words(s)}
        types: list[str] = []
        for text in texts:
            for span in deidentifier.scan(text):
                if surrogates and _is_surrogate(span.text, surrogates):
                    ignored += 1
                    continue
                types.append(span.type)
        if types:
            by_type.update(types)
            flagged.append({"id": ex_id, "types": sorted(set(types))})
    report = PhiReport(n, len(flagged), float(max_rate), dict(by_type), flagged, ignored, allow_synthetic, n_total)
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


def check_phi_files(paths: Sequence[str], deidentifier: Any, max_rate: float, *, allow_synthetic: bool = False,
                    raise_on_fail: bool = True, max_examples: int | None = None, scan_facts: bool = True) -> PhiReport:
    """Reads clean-example files and gates them together, using the manifest beside each file."""
    examples: list[Any] = []
    known: dict[str, list[str]] = {}
    for path in paths:
        examples += read_clean_examples(path)
        known.update(load_known_surrogates(os.path.dirname(os.path.abspath(path))))
    return check_phi(examples, deidentifier, max_rate, allow_synthetic=allow_synthetic, known_surrogates=known,
                     raise_on_fail=raise_on_fail, max_examples=max_examples, scan_facts=scan_facts)


def run_gate(paths: Sequence[str], cfg: Any, deidentifier: Any = None, deid_config: Any = None) -> PhiReport | None:
    """The trainer's entry point: gate the files it is about to train on, per `default_config()`.
    Builds a Deidentifier from `deid_config` unless one is given. Returns None when disabled."""
    if not cfg.enabled:
        return None
    if deidentifier is None:
        deidentifier = Deidentifier(deid_config)
    report = check_phi_files(paths, deidentifier, cfg.max_rate, allow_synthetic=cfg.allow_synthetic,
                             max_examples=cfg.max_examples or None, scan_facts=cfg.scan_facts)
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
