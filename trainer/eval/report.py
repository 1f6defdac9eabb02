"""Renders metrics.json + predictions into report.html, report.md and matplotlib PNGs.

Every number in the report is printed from the (already rounded) metrics dict with one
formatter, and each HTML cell carries `data-metric="<dotted path>"`, so a test can check the
page against metrics.json cell by cell.

Other stages add sections without this module knowing them (eval sits below them): a stage writes
eval/sections/<name>.json (`write_section`: its rendered HTML and Markdown plus the numbers they
show), and every render of the report, including a later --mode=eval or rerender, reads them all.
A section's cells carry `data-metric="sections.<name>.<path in its data>"`.
"""
from __future__ import annotations

import glob
import html
import json
import os
import re
from typing import Any, Mapping, Sequence

from trainer.eval import registry
from trainer.util.files import atomic_open, write_text

DIGITS = 4


def fmt(value: Any) -> str:
    """The one number formatter of the report (metrics are rounded to DIGITS before)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{DIGITS}f}"
    return str(value)


def round_floats(obj: Any, digits: int = DIGITS) -> Any:
    """Rounds every float in a nested structure (NaN becomes None)."""
    if isinstance(obj, float):
        return None if obj != obj else round(obj, digits)
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [round_floats(v, digits) for v in obj]
    return obj


def _get(d: Mapping[str, Any], *path: Any) -> Any:
    for p in path:
        if isinstance(d, Mapping):
            d = d.get(p)
        elif isinstance(d, list) and isinstance(p, int) and p < len(d):
            d = d[p]
        else:
            return None
        if d is None:
            return None
    return d


def _cell(metrics: Mapping[str, Any], *path: Any) -> str:
    value = _get(metrics, *path)
    key = ".".join(str(p) for p in path)
    return f'<td class="num" data-metric="{html.escape(key)}">{html.escape(fmt(value))}</td>'


def _ci_cell(metrics: Mapping[str, Any], *path: Any) -> str:
    ci = _get(metrics, *path)
    key = ".".join(str(p) for p in path)
    if not ci:
        return '<td class="num">n/a</td>'
    return (f'<td class="num">[<span data-metric="{key}.0">{fmt(ci[0])}</span>, '
            f'<span data-metric="{key}.1">{fmt(ci[1])}</span>]</td>')


def models_of(metrics: Mapping[str, Any]) -> list[str]:
    return list(metrics.get("models") or [])


# --------------------------------------------------------------------------------------------
# Plots

def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _bars(ax, groups: Sequence[str], series: Mapping[str, Sequence[float | None]],
          errors: Mapping[str, Sequence[Sequence[float] | None]] | None = None) -> None:
    import numpy as np
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, (name, vals) in enumerate(series.items()):
        v = np.array([np.nan if a is None else a for a in vals], dtype=float)
        yerr = None
        if errors and errors.get(name):
            lo = [0.0 if (c is None or a is None) else max(0.0, a - c[0]) for a, c in zip(vals, errors[name])]
            hi = [0.0 if (c is None or a is None) else max(0.0, c[1] - a) for a, c in zip(vals, errors[name])]
            yerr = np.array([lo, hi])
        ax.bar(x + (i - (len(series) - 1) / 2) * width, np.nan_to_num(v), width, yerr=yerr, capsize=3, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(groups, rotation=30, ha="right", fontsize=8)
    top = max([0.0] + [float(np.nanmax(np.array([np.nan if a is None else a for a in vals] + [0.0], dtype=float)))
                       for vals in series.values()])
    if errors:
        top = max([top] + [c[1] for errs in errors.values() if errs for c in errs if c])
    ax.set_ylim(0, (top or 1.0) * 1.25)  # headroom so the legend does not hide bars
    ax.legend(fontsize=8, ncol=max(1, len(series)), loc="upper right")


def _save(fig, path: str) -> None:
    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=90)


def make_plots(metrics: Mapping[str, Any], out_dir: str) -> dict[str, str]:
    """Writes the PNGs; returns {name: file name}."""
    plt = _plt()
    models = models_of(metrics)
    files: dict[str, str] = {}

    panels = registry.plot_panels()
    if panels:
        # About three bars' worth of width per unit, so a panel of two metrics stays narrow.
        ratios = [max(1, round(len(names) / 3)) for names in panels.values()]
        fig, axes = plt.subplots(1, len(panels), figsize=(12, 4), gridspec_kw={"width_ratios": ratios},
                                 squeeze=False)
        for ax, (title, names) in zip(axes[0], panels.items()):
            _bars(ax, names, {m: [_get(metrics, m, n) for n in names] for m in models},
                  {m: [_get(metrics, m, "ci", n) for n in names] for m in models})
            ax.set_title(f"Overall ({title}), 95% bootstrap CI")
        fig.tight_layout()
        files["overall"] = "overall.png"
        _save(fig, os.path.join(out_dir, files["overall"]))
        plt.close(fig)

    tasks = sorted({t for m in models for t in (_get(metrics, m, "per_task") or {})})
    task_metrics = registry.per_task_names()
    if task_metrics:
        fig, axes = plt.subplots(1, len(task_metrics), figsize=(5 * len(task_metrics), 4), squeeze=False)
        for ax, name in zip(axes[0], task_metrics):
            _bars(ax, tasks, {m: [_get(metrics, m, "per_task", t, name) for t in tasks] for m in models},
                  {m: [_get(metrics, m, "per_task", t, "ci", name) for t in tasks] for m in models})
            ax.set_title(f"{name} by task")
        fig.tight_layout()
        files["per_task"] = "per_task.png"
        _save(fig, os.path.join(out_dir, files["per_task"]))
        plt.close(fig)

    keys = sorted({k for m in models for k in (_get(metrics, m, "recall_by_fact") or {})})
    kinds = sorted({k for m in models for k in (_get(metrics, m, "hallucinations_by_kind") or {})})
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    _bars(axes[0], keys, {m: [_get(metrics, m, "recall_by_fact", k, "recall") for k in keys] for m in models})
    axes[0].set_title("Fact recall by fact")
    _bars(axes[1], kinds or ["none"], {m: [_get(metrics, m, "hallucinations_by_kind", k) or 0 for k in kinds or ["none"]]
                                       for m in models})
    axes[1].set_title("Invented details by kind (count)")
    fig.tight_layout()
    files["facts"] = "facts.png"
    _save(fig, os.path.join(out_dir, files["facts"]))
    plt.close(fig)

    human = metrics.get("human")
    if human and human.get("models"):
        dims = human["dimensions"]
        hm = sorted(human["models"])
        fig, ax = plt.subplots(figsize=(8, 4))
        _bars(ax, dims, {m: [_get(human, "models", m, d, "mean") for d in dims] for m in hm},
              {m: [_get(human, "models", m, d, "ci") for d in dims] for m in hm})
        ax.set_title("Human ratings (1-5), 95% bootstrap CI")
        fig.tight_layout()
        files["human"] = "human.png"
        _save(fig, os.path.join(out_dir, files["human"]))
        plt.close(fig)
    return files


# --------------------------------------------------------------------------------------------
# Example ordering

def worst_first(predictions: Sequence[Mapping[str, Any]], model: str) -> list[Mapping[str, Any]]:
    """Unfaithful before faithful, then low fact recall, many inventions, low chrF."""
    def key(p):
        s = (p.get("scores") or {}).get(model) or {}
        recall = s.get("fact_recall")
        return (bool(s.get("faithful")), 1.0 if recall is None else recall,
                -len(s.get("hallucinations") or []), s.get("chrf") or 0.0, p.get("id", ""))
    return sorted(predictions, key=key)


def _facts_text(facts: Mapping[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in sorted(facts.items()))


def _score_text(s: Mapping[str, Any]) -> str:
    parts = [f"fact recall {fmt(s.get('fact_recall'))}"]
    if s.get("facts_missing"):
        parts.append("missing: " + ", ".join(s["facts_missing"]))
    if s.get("hallucinations"):
        parts.append("invented: " + "; ".join(f"{h['kind']} '{h['text']}'" for h in s["hallucinations"]))
    if s.get("sms_length_ok") is False:
        parts.append(f"SMS too long ({s.get('chars')} chars)")
    if s.get("language_match") is False:
        parts.append(f"language detected: {s.get('language')}")
    parts.append(f"chrF {fmt(s.get('chrf'))}")
    return " | ".join(parts)


# --------------------------------------------------------------------------------------------
# HTML and Markdown

_CSS = """body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top}td.num{text-align:right;font-family:monospace}
pre{white-space:pre-wrap;margin:0;font-size:90%}th{background:#f0f0f0}img{max-width:100%}.sig{font-size:80%;color:#555}"""


def _html_overall(metrics: Mapping[str, Any], models: list[str]) -> list[str]:
    comp = metrics.get("comparison") or {}
    head = "".join(f"<th>{html.escape(m)}</th><th>{html.escape(m)} 95% CI</th>" for m in models)
    if comp.get("metrics"):
        a, b = comp["models"]
        head += f"<th>delta ({html.escape(a)} - {html.escape(b)})</th><th>p-value (paired bootstrap)</th>"
    rows = [f"<table id='overall'><tr><th>metric</th>{head}</tr>"]
    labels = registry.labels()
    for name in registry.names():
        cells = "".join(_cell(metrics, m, name) + _ci_cell(metrics, m, "ci", name) for m in models)
        if comp.get("metrics"):
            cells += _cell(metrics, "comparison", "metrics", name, "delta")
            cells += _cell(metrics, "comparison", "metrics", name, "p_value")
        rows.append(f"<tr><th>{html.escape(labels[name])}</th>{cells}</tr>")
    rows.append("</table>")
    return rows


def _html_per_group(metrics: Mapping[str, Any], models: list[str], key: str = "per_task", label: str = "task") -> list[str]:
    groups = sorted({t for m in models for t in (_get(metrics, m, key) or {})})
    task_metrics = registry.per_task_names()
    head = "".join(f"<th>{html.escape(m)} {n}</th>" for n in task_metrics for m in models)
    rows = [f"<table id='{key}'><tr><th>{label}</th><th>n</th>{head}</tr>"]
    for t in groups:
        cells = _cell(metrics, models[0], key, t, "n")
        cells += "".join(_cell(metrics, m, key, t, n) for n in task_metrics for m in models)
        rows.append(f"<tr><th>{html.escape(t)}</th>{cells}</tr>")
    rows.append("</table>")
    return rows


def _html_facts(metrics: Mapping[str, Any], models: list[str]) -> list[str]:
    keys = sorted({k for m in models for k in (_get(metrics, m, "recall_by_fact") or {})})
    rows = ["<table id='recall_by_fact'><tr><th>fact</th>"
            + "".join(f"<th>{html.escape(m)} recall</th><th>{html.escape(m)} n</th>" for m in models) + "</tr>"]
    for k in keys:
        rows.append(f"<tr><th>{html.escape(k)}</th>" + "".join(
            _cell(metrics, m, "recall_by_fact", k, "recall") + _cell(metrics, m, "recall_by_fact", k, "n")
            for m in models) + "</tr>")
    rows.append("</table>")
    kinds = sorted({k for m in models for k in (_get(metrics, m, "hallucinations_by_kind") or {})})
    rows.append("<table id='hallucinations_by_kind'><tr><th>invented detail</th>"
                + "".join(f"<th>{html.escape(m)}</th>" for m in models) + "</tr>")
    for k in kinds:
        rows.append(f"<tr><th>{html.escape(k)}</th>"
                    + "".join(_cell(metrics, m, "hallucinations_by_kind", k) for m in models) + "</tr>")
    rows.append("</table>")
    return rows


def _html_human(metrics: Mapping[str, Any]) -> list[str]:
    human = metrics.get("human")
    if not human:
        return ["<h2>Human ratings</h2><p>No filled rating sheets yet: put each rater's copy of "
                "<code>rating_sheet.csv</code> in <code>eval/human/</code> and re-render.</p>"]
    hm = sorted(human.get("models") or {})
    rows = ["<h2>Human ratings</h2>",
            f"<p>Raters: {html.escape(', '.join(human['raters']))}; items rated: "
            f"<span data-metric='human.n_items'>{fmt(human['n_items'])}</span>; ratings: "
            f"<span data-metric='human.n_ratings'>{fmt(human['n_ratings'])}</span>.</p>",
            "<table id='human'><tr><th>dimension</th>"
            + "".join(f"<th>{html.escape(m)} mean</th><th>{html.escape(m)} 95% CI</th><th>{html.escape(m)} items</th>"
                      for m in hm) + "<th>Krippendorff's alpha (ordinal)</th></tr>"]
    for d in human["dimensions"]:
        cells = "".join(_cell(metrics, "human", "models", m, d, "mean") + _ci_cell(metrics, "human", "models", m, d, "ci")
                        + _cell(metrics, "human", "models", m, d, "n_items") for m in hm)
        rows.append(f"<tr><th>{html.escape(d)}</th>{cells}{_cell(metrics, 'human', 'alpha', d)}</tr>")
    rows.append("</table>")
    return rows


def _html_examples(predictions: Sequence[Mapping[str, Any]], models: list[str], limit: int) -> list[str]:
    if not predictions:
        return []
    ordered = worst_first(predictions, models[0])[:limit]
    rows = [f"<h2>Examples, worst first (by {html.escape(models[0])}; {len(ordered)} of {len(predictions)})</h2>",
            "<table id='examples'><tr><th>id / task</th><th>facts</th><th>reference</th>"
            + "".join(f"<th>{html.escape(m)}</th>" for m in models) + "</tr>"]
    for p in ordered:
        cells = [f"<td>{html.escape(str(p.get('id')))}<br>{html.escape(str(p.get('task')))}</td>",
                 f"<td><pre>{html.escape(_facts_text(p.get('facts') or {}))}</pre></td>",
                 f"<td><pre>{html.escape(str(p.get('reference', '')))}</pre></td>"]
        for m in models:
            out = (p.get("outputs") or {}).get(m, "")
            score = (p.get("scores") or {}).get(m) or {}
            cells.append(f"<td><pre>{html.escape(out)}</pre><p class='sig'>{html.escape(_score_text(score))}</p></td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return rows


def render_html(metrics: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]], images: Mapping[str, str],
                max_examples: int = 100, sections: Sequence[Mapping[str, Any]] = ()) -> str:
    models = models_of(metrics)
    comp = metrics.get("comparison") or {}
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>carelora evaluation</title>",
             f"<style>{_CSS}</style></head><body>", "<h1>carelora evaluation</h1>",
             f"<p>Examples: <span data-metric='n'>{fmt(metrics.get('n'))}</span>; models: "
             f"{html.escape(', '.join(models))}.</p>"]
    if comp.get("metrics"):
        parts.append(f"<p>Comparison: {html.escape(comp['models'][0])} vs {html.escape(comp['models'][1])}, "
                     "paired bootstrap on the same resamples (sacrebleu's test); p is the chance of a "
                     "difference this large if the two were equal.</p>")
    parts.append("<h2>Overall</h2>")
    parts += _html_overall(metrics, models)
    if "overall" in images:
        parts.append(f"<img src='{images['overall']}' alt='overall metrics'>")
    parts.append("<h2>By task</h2>")
    parts += _html_per_group(metrics, models)
    if "per_task" in images:
        parts.append(f"<img src='{images['per_task']}' alt='per-task metrics'>")
    if any(_get(metrics, m, "per_language") for m in models):
        parts.append("<h2>By language</h2>")
        parts += _html_per_group(metrics, models, "per_language", "language")
    parts.append("<h2>Fact accuracy and invented details</h2>")
    parts += _html_facts(metrics, models)
    if "facts" in images:
        parts.append(f"<img src='{images['facts']}' alt='fact recall and hallucinations'>")
    parts += _html_human(metrics)
    if "human" in images:
        parts.append(f"<img src='{images['human']}' alt='human ratings'>")
    parts += _html_examples(predictions, models, max_examples)
    parts += [_section_block(sec, "html") for sec in sections]
    sigs = metrics.get("signatures") or {}
    parts.append("<h2>Signatures</h2><ul class='sig'>"
                 + "".join(f"<li>{html.escape(k)}: <code>{html.escape(str(v))}</code></li>" for k, v in sigs.items())
                 + "</ul></body></html>")
    return "\n".join(parts)


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|").replace("\n", "<br>") for c in cells) + " |"


def _md_ci(ci: Any) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "n/a"


def render_markdown(metrics: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]],
                    images: Mapping[str, str], max_examples: int = 20, sections: Sequence[Mapping[str, Any]] = ()) -> str:
    models = models_of(metrics)
    comp = metrics.get("comparison") or {}
    lines = ["# carelora evaluation", "", f"Examples: {fmt(metrics.get('n'))}; models: {', '.join(models)}.", "",
             "## Overall", ""]
    head = ["metric"] + [h for m in models for h in (m, f"{m} 95% CI")]
    if comp.get("metrics"):
        head += ["delta", "p-value"]
    lines += [_md_row(head), _md_row(["---"] * len(head))]
    labels = registry.labels()
    for name in registry.names():
        row = [labels[name]] + [c for m in models for c in (fmt(_get(metrics, m, name)), _md_ci(_get(metrics, m, "ci", name)))]
        if comp.get("metrics"):
            row += [fmt(_get(comp, "metrics", name, "delta")), fmt(_get(comp, "metrics", name, "p_value"))]
        lines.append(_md_row(row))
    if "overall" in images:
        lines += ["", f"![overall]({images['overall']})"]
    task_metrics = registry.per_task_names()
    for key, label, title in (("per_task", "task", "By task"), ("per_language", "language", "By language")):
        groups = sorted({t for m in models for t in (_get(metrics, m, key) or {})})
        if not groups and key != "per_task":
            continue
        head = [label, "n"] + [f"{m} {n}" for n in task_metrics for m in models]
        lines += ["", f"## {title}", "", _md_row(head), _md_row(["---"] * len(head))]
        for t in groups:
            lines.append(_md_row([t, fmt(_get(metrics, models[0], key, t, "n"))]
                                 + [fmt(_get(metrics, m, key, t, n)) for n in task_metrics for m in models]))
        if key == "per_task" and "per_task" in images:
            lines += ["", f"![per task]({images['per_task']})"]
    lines += ["", "## Fact accuracy and invented details", ""]
    keys = sorted({k for m in models for k in (_get(metrics, m, "recall_by_fact") or {})})
    head = ["fact"] + [f"{m} recall" for m in models]
    lines += [_md_row(head), _md_row(["---"] * len(head))]
    lines += [_md_row([k] + [fmt(_get(metrics, m, "recall_by_fact", k, "recall")) for m in models]) for k in keys]
    kinds = sorted({k for m in models for k in (_get(metrics, m, "hallucinations_by_kind") or {})})
    if kinds:
        lines += ["", _md_row(["invented detail"] + models), _md_row(["---"] * (len(models) + 1))]
        lines += [_md_row([k] + [fmt(_get(metrics, m, "hallucinations_by_kind", k)) for m in models]) for k in kinds]
    if "facts" in images:
        lines += ["", f"![facts]({images['facts']})"]
    human = metrics.get("human")
    lines += ["", "## Human ratings", ""]
    if human:
        hm = sorted(human.get("models") or {})
        lines.append(f"Raters: {', '.join(human['raters'])}; items rated: {fmt(human['n_items'])}.")
        head = ["dimension"] + [h for m in hm for h in (f"{m} mean", f"{m} 95% CI")] + ["alpha (ordinal)"]
        lines += ["", _md_row(head), _md_row(["---"] * len(head))]
        for d in human["dimensions"]:
            lines.append(_md_row([d] + [c for m in hm for c in (fmt(_get(human, "models", m, d, "mean")),
                                                                 _md_ci(_get(human, "models", m, d, "ci")))]
                                 + [fmt(_get(human, "alpha", d))]))
        if "human" in images:
            lines += ["", f"![human]({images['human']})"]
    else:
        lines.append("No filled rating sheets yet (eval/human/*.csv).")
    if predictions and models:
        ordered = worst_first(predictions, models[0])[:max_examples]
        lines += ["", f"## Examples, worst first ({len(ordered)} of {len(predictions)})", ""]
        for p in ordered:
            lines += [f"### {p.get('id')} ({p.get('task')})", "", "Facts: " + "; ".join(
                f"{k}={v}" for k, v in sorted((p.get('facts') or {}).items())), "",
                "Reference:", "", "> " + str(p.get("reference", "")).replace("\n", "\n> "), ""]
            for m in models:
                s = (p.get("scores") or {}).get(m) or {}
                out = (p.get("outputs") or {}).get(m, "")
                lines += [f"{m}:", "", "> " + out.replace("\n", "\n> "), "", f"*{_score_text(s)}*", ""]
    lines += [x for sec in sections for x in ("", _section_block(sec, "markdown"))]
    sigs = metrics.get("signatures") or {}
    lines += ["", "## Signatures", ""] + [f"- {k}: `{v}`" for k, v in sigs.items()]
    return "\n".join(lines) + "\n"


def write_report(metrics: Mapping[str, Any], predictions: Sequence[Mapping[str, Any]], out_dir: str,
                 max_examples: int = 100) -> dict[str, str]:
    """Writes report.html, report.md and PNGs into out_dir; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    images = make_plots(metrics, out_dir)
    sections = read_sections(out_dir)
    paths = {"html": os.path.join(out_dir, "report.html"), "md": os.path.join(out_dir, "report.md")}
    write_text(paths["html"], render_html(metrics, predictions, images, max_examples, sections))
    write_text(paths["md"], render_markdown(metrics, predictions, images, min(max_examples, 20), sections))
    paths.update({k: os.path.join(out_dir, v) for k, v in images.items()})
    return paths


# --------------------------------------------------------------------------------------------
# Sections other stages add (eval/sections/<name>.json)

SECTIONS_DIR = "sections"
_SECTION_NAME = re.compile(r"^[a-z0-9_]+$")
# Where a section goes in a report rendered before it existed: just above the signatures.
_ANCHORS = {"html": "<h2>Signatures</h2>", "markdown": "## Signatures"}
_REPORT_FILES = {"html": "report.html", "markdown": "report.md"}


def section_key(name: str, *path: Any) -> str:
    """The data-metric key of a number in section `name` at `path` inside its data."""
    return ".".join(["sections", name] + [str(p) for p in path])


def _markers(name: str, kind: str) -> tuple[str, str]:
    return f"<!-- carelora-section:{name}:{kind}:begin -->", f"<!-- carelora-section:{name}:{kind}:end -->"


def _section_block(section: Mapping[str, Any], kind: str) -> str:
    begin, end = _markers(section["name"], kind)
    return f"{begin}\n{section[kind]}\n{end}"


def read_sections(out_dir: str) -> list[dict[str, Any]]:
    """Every out_dir/sections/*.json, ordered by (order, name); a malformed file is an error naming it."""
    found = []
    for path in sorted(glob.glob(os.path.join(out_dir, SECTIONS_DIR, "*.json"))):
        try:
            with open(path, encoding="utf-8") as f:
                section = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{e.lineno}: report section is not valid JSON ({e.msg})") from e
        if not isinstance(section, dict):
            raise ValueError(f"{path}: report section must be a JSON object, got {type(section).__name__}")
        for field in ("name", "html", "markdown"):
            if not isinstance(section.get(field), str):
                raise ValueError(f"{path}: report section field {field!r} must be a string")
        if section["name"] != os.path.basename(path)[: -len(".json")]:
            raise ValueError(f"{path}: report section field 'name' is {section['name']!r}, not the file's name")
        if not isinstance(section.get("order", 0), int):
            raise ValueError(f"{path}: report section field 'order' must be an integer")
        found.append(section)
    return sorted(found, key=lambda s: (s.get("order", 0), s["name"]))


def write_section(out_dir: str, name: str, html_text: str, markdown: str, data: Any = None,
                  order: int = 0) -> list[str]:
    """Saves section `name` for every later render and splices it into the reports already there.

    `html_text` and `markdown` are trusted, already escaped fragments; `data` holds the numbers
    their `section_key(name, ...)` cells show. Returns the report files updated in place.
    """
    if not _SECTION_NAME.match(name):
        raise ValueError(f"report section name {name!r} must be lowercase letters, digits and _")
    section = {"name": name, "order": int(order), "html": html_text, "markdown": markdown, "data": data}
    directory = os.path.join(out_dir, SECTIONS_DIR)
    os.makedirs(directory, exist_ok=True)
    write_text(os.path.join(directory, f"{name}.json"), json.dumps(section, indent=2, ensure_ascii=False) + "\n")
    updated = []
    for kind, file_name in _REPORT_FILES.items():
        path = os.path.join(out_dir, file_name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            write_text(path, _splice(text, section, kind))
            updated.append(path)
    return updated


def _splice(text: str, section: Mapping[str, Any], kind: str) -> str:
    """Replaces the section's marked block, or puts it above the signatures (the end if none)."""
    begin, end = _markers(section["name"], kind)
    block = _section_block(section, kind)
    if begin in text and end in text:
        return re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    at = text.find(_ANCHORS[kind])
    return text[:at] + block + "\n" + text[at:] if at >= 0 else text + "\n" + block + "\n"
