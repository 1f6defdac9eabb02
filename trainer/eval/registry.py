"""The metrics of an evaluation, each defined once: what it measures, how, and how it is shown.

The scorer (evaluate.score_model) computes every registered metric and the report renders every
registered metric, in registration order; neither keeps a list of its own. Adding a metric is one
call:

    registry.register(registry.example_metric(
        "exclamation_rate", "Messages with an exclamation mark",
        value=lambda row: float("!" in row.output), plot_scale="0-1"))

Two kinds: a corpus metric scores the outputs against the references as a whole (BLEU, chrF,
ROUGE: sufficient statistics per example, reduced over the sum); an example metric is a ratio of
per-example values (fact recall, hallucination rate), usually read from the fact checker's
per-example scores (trainer.facts.score_output).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Mapping, Sequence

from trainer.eval import metrics as metrics_lib

CORPUS = "corpus"
EXAMPLE = "example"


@dataclasses.dataclass(frozen=True)
class Row:
    """One example as an example metric sees it: the model's output and the fact checker's scores."""

    output: str
    example: Mapping[str, Any]  # id, task, facts, reference
    score: Mapping[str, Any]  # trainer.facts.score_output(...) of this output


@dataclasses.dataclass
class Batch:
    """One model's outputs on the eval set, with what metrics need; shared work is done once."""

    outputs: Sequence[str]
    examples: Sequence[Mapping[str, Any]]
    scores: Sequence[Mapping[str, Any]]
    bleu_tokenize: str = "13a"
    chrf_word_order: int = 0

    @property
    def references(self) -> list[str]:
        return [e["reference"] for e in self.examples]

    @property
    def rows(self) -> list[Row]:
        return [Row(o, e, s) for o, e, s in zip(self.outputs, self.examples, self.scores)]

    @functools.cached_property
    def text_metrics(self) -> tuple[dict[str, metrics_lib.Stat], dict[str, str], dict[str, list[float]]]:
        """BLEU, chrF and ROUGE in one pass (metrics_lib.text_metric_stats): Stats, signatures, per example."""
        return metrics_lib.text_metric_stats(self.outputs, self.references, self.bleu_tokenize, self.chrf_word_order)

    def signatures(self) -> dict[str, str]:
        """Signatures of the text metrics, when a registered metric computed them."""
        return dict(self.text_metrics[1]) if "text_metrics" in self.__dict__ else {}


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str  # key in metrics.json and in per-task results
    label: str  # row name in the report's overall table
    kind: str  # CORPUS or EXAMPLE
    stat: Callable[[Batch], metrics_lib.Stat]  # sufficient statistics: value, bootstrap CI, paired test
    higher_is_better: bool | None = True  # None: neither (reading grade), for whoever ranks models
    per_task: bool = False  # also a column of the per-task table and a panel of the per-task plot
    # Panel of the overall plot, by value range ("0-100", "0-1"); None keeps it out of the plot.
    plot_scale: str | None = None
    # Per-example values stored with each prediction's scores (for example tables and ordering).
    per_example: Callable[[Batch], list[float | None]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in (CORPUS, EXAMPLE):
            raise ValueError(f"metric {self.name!r}: kind must be {CORPUS!r} or {EXAMPLE!r}, got {self.kind!r}")


_METRICS: dict[str, Metric] = {}
# Keys a model's results (and each per-task group) already hold beside the metric values.
RESERVED_NAMES = frozenset({"ci", "n", "per_task", "per_language", "recall_by_fact", "hallucinations_by_kind", "n_hallucinations"})


def register(metric: Metric) -> Metric:
    """Adds a metric (a metric of the same name is replaced in place)."""
    if metric.name in RESERVED_NAMES:
        raise ValueError(f"metric name {metric.name!r} is taken by the results layout: {sorted(RESERVED_NAMES)}")
    _METRICS[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    _METRICS.pop(name, None)


def all_metrics() -> tuple[Metric, ...]:
    return tuple(_METRICS.values())


def get(name: str) -> Metric:
    return _METRICS[name]


def names() -> tuple[str, ...]:
    return tuple(_METRICS)


def labels() -> dict[str, str]:
    return {m.name: m.label for m in _METRICS.values()}


def per_task_names() -> tuple[str, ...]:
    return tuple(m.name for m in _METRICS.values() if m.per_task)


def plot_panels() -> dict[str, tuple[str, ...]]:
    """Value range -> metric names of the overall plot, panels in order of first registration."""
    panels: dict[str, list[str]] = {}
    for m in _METRICS.values():
        if m.plot_scale:
            panels.setdefault(m.plot_scale, []).append(m.name)
    return {scale: tuple(ns) for scale, ns in panels.items()}


# --------------------------------------------------------------------------------------------
# Ways to define a metric

def text_metric(name: str, label: str, *, keep_per_example: bool = False, **kwargs: Any) -> Metric:
    """One of the metrics that metrics_lib.text_metric_stats computes (bleu, chrf, rouge1/2/L/Lsum)."""
    per_example = (lambda b: list(b.text_metrics[2][name])) if keep_per_example else None
    return Metric(name, label, CORPUS, lambda b: b.text_metrics[0][name], per_example=per_example, **kwargs)


def example_metric(name: str, label: str, value: Callable[[Row], float | None],
                   weight: Callable[[Row], float] | None = None, *, keep_per_example: bool = False,
                   **kwargs: Any) -> Metric:
    """sum(value) / sum(weight) over examples (weight 1: the mean); a None value leaves the example out."""
    def stat(batch: Batch) -> metrics_lib.Stat:
        rows = batch.rows
        return metrics_lib.ratio_stat([value(r) for r in rows], None if weight is None else [weight(r) for r in rows])

    per_example = (lambda b: [value(r) for r in b.rows]) if keep_per_example else None
    return Metric(name, label, EXAMPLE, stat, per_example=per_example, **kwargs)


def score_field(field: str) -> Callable[[Row], float | None]:
    """Reads one field of the fact checker's per-example scores as a number (None stays None)."""
    def value(row: Row) -> float | None:
        v = row.score[field]
        return None if v is None else float(v)
    return value


def _stated_count(row: Row) -> float | None:
    return len(row.score["facts_stated"]) if row.score["key_facts"] else None


def _key_fact_count(row: Row) -> float:
    return row.score["key_facts"]


def _in_role_count(row: Row) -> float | None:
    # role_fields (evaluate.py): the dictionary's role check, or the key-fact check as fallback
    return row.score["key_facts_in_role"] if row.score["role_key_facts"] else None


def _role_key_fact_count(row: Row) -> float:
    return row.score["role_key_facts"]


# --------------------------------------------------------------------------------------------
# The built-in metrics, in report order

for _metric in (
    text_metric("bleu", "BLEU (0-100)", plot_scale="0-100"),
    text_metric("chrf", "chrF (0-100)", per_task=True, plot_scale="0-100", keep_per_example=True),
    text_metric("rouge1", "ROUGE-1 F1", plot_scale="0-1"),
    text_metric("rouge2", "ROUGE-2 F1", plot_scale="0-1"),
    text_metric("rougeL", "ROUGE-L F1", per_task=True, plot_scale="0-1", keep_per_example=True),
    text_metric("rougeLsum", "ROUGE-Lsum F1", plot_scale="0-1"),
    example_metric("fact_recall", "Fact recall (key facts stated)", _stated_count, _key_fact_count,
                   per_task=True, plot_scale="0-1"),
    # Key facts of the fact dictionary (every stateable fact unless a key opts out), each stated
    # next to the words of its role (paid vs owed, due vs visit date, provider vs insurer);
    # examples with keys the dictionary does not document count their stated key facts.
    example_metric("facts_in_role", "Key facts stated in their role", _in_role_count, _role_key_fact_count,
                   per_task=True, plot_scale="0-1"),
    example_metric("fact_accuracy", "Fully faithful (all key facts, nothing invented)", score_field("faithful"),
                   plot_scale="0-1"),
    example_metric("hallucination_rate", "Hallucination rate (messages with an invented detail)",
                   score_field("hallucinated"), higher_is_better=False, per_task=True, plot_scale="0-1"),
    example_metric("sms_length_ok", "SMS within length limit", score_field("sms_length_ok"), plot_scale="0-1"),
    # Not plotted: a school grade is on neither scale.
    example_metric("reading_grade", "Reading grade (US school grade)", score_field("reading_grade"),
                   higher_is_better=None),
    example_metric("language_match", "Written in the requested language", score_field("language_match"),
                   plot_scale="0-1"),
):
    register(_metric)
