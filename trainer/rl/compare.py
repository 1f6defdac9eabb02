"""SFT vs RL on held-out facts: reward, fact recall, hallucination rate, length, with bootstrap CIs.

The numbers use the eval stage's bootstrap helpers (trainer/eval/metrics.py: the same resamples for
both adapters, sacrebleu's paired test). `publish` saves the table as the eval report's section
DIR/eval/sections/rl_comparison.json (trainer/eval/report.py), so it is spliced into the reports
already there and every later render of the report (--mode=eval, rerender) shows it again.
"""
from __future__ import annotations

import html
from typing import Any, Mapping, Sequence

import numpy as np

from trainer.eval import metrics as metrics_lib
from trainer.eval import report
from trainer.eval.report import fmt, round_floats

METRICS = (("reward", "reward (total)"), ("rm", "reward model score"), ("fact_recall", "fact recall"),
           ("hallucination_rate", "hallucination rate"), ("response_tokens", "response length (tokens)"),
           ("chars", "response length (chars)"))
SECTION = "rl_comparison"  # eval/sections/rl_comparison.json


def per_example(rewards: Sequence[float], terms: Mapping[str, Sequence[float]], scores: Sequence[Mapping[str, Any]],
                n_tokens: Sequence[int], texts: Sequence[str]) -> dict[str, list]:
    return {"reward": [float(r) for r in rewards], "rm": [float(x) for x in terms["rm"]],
            "fact_recall": [s["fact_recall"] for s in scores],
            "hallucination_rate": [1.0 if s["hallucinated"] else 0.0 for s in scores],
            "response_tokens": [float(n) for n in n_tokens], "chars": [float(len(t)) for t in texts]}


def compare(sft: Mapping[str, Sequence], rl: Mapping[str, Sequence], n_bootstrap: int = 1000, seed: int = 0,
            confidence: float = 0.95) -> dict[str, Any]:
    n = len(sft["reward"])
    counts = metrics_lib.bootstrap_counts(n, n_bootstrap, seed) if n_bootstrap > 0 and n > 1 else None
    out: dict[str, Any] = {"n": n, "metrics": {}}
    for name, _ in METRICS:
        a, b = metrics_lib.ratio_stat(rl[name]), metrics_lib.ratio_stat(sft[name])
        (va, vb), ci = (a.value(), b.value()), {}
        if counts is not None:
            _, ci_a = metrics_lib.summarize({"x": a}, counts, confidence)
            _, ci_b = metrics_lib.summarize({"x": b}, counts, confidence)
            ci = {"rl": ci_a["x"], "sft": ci_b["x"]}
            paired = metrics_lib.paired_bootstrap(a, b, counts)
        else:
            paired = {"delta": None if va is None or vb is None else va - vb, "p_value": None}
        out["metrics"][name] = {"sft": vb, "rl": va, "sft_ci": ci.get("sft"), "rl_ci": ci.get("rl"),
                                "delta": paired["delta"], "p_value": paired["p_value"]}
    m = out["metrics"]
    delta = lambda k: m[k]["delta"] or 0.0
    out["checks"] = {
        "reward_up": delta("reward") > 0,
        "fact_recall_not_down": delta("fact_recall") >= -0.02,
        "hallucination_rate_not_up": delta("hallucination_rate") <= 0.02,
        "length_not_exploding": (m["response_tokens"]["rl"] or 0.0) <= 1.5 * max(m["response_tokens"]["sft"] or 0.0, 1.0),
    }
    return round_floats(out)


def _ci(ci) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "n/a"


def render_html(comparison: Mapping[str, Any], notes: Sequence[str]) -> str:
    rows = ["<h2>Reward fine-tuning: SFT vs RL adapter</h2>"]
    rows += [f"<p><b>{html.escape(n)}</b></p>" for n in notes]
    rows.append(f"<p>Held-out examples: <span data-metric='{report.section_key(SECTION, 'n')}'>{fmt(comparison['n'])}"
                "</span>; greedy decoding, "
                "both adapters on the same base; 95% bootstrap CIs, paired bootstrap p-values.</p>")
    rows.append("<table id='rl_comparison'><tr><th>metric</th><th>SFT</th><th>SFT 95% CI</th><th>RL</th>"
                "<th>RL 95% CI</th><th>delta (RL - SFT)</th><th>p-value</th></tr>")
    for name, label in METRICS:
        m = comparison["metrics"][name]
        rows.append(f"<tr><th>{html.escape(label)}</th>"
                    + "".join(f'<td class="num" data-metric="{report.section_key(SECTION, "metrics", name, k)}">'
                              f'{html.escape(fmt(m[k]))}</td>'
                              if k not in ("sft_ci", "rl_ci") else f'<td class="num">{_ci(m[k])}</td>'
                              for k in ("sft", "sft_ci", "rl", "rl_ci", "delta", "p_value")) + "</tr>")
    rows.append("</table>")
    checks = comparison.get("checks") or {}
    rows.append("<ul>" + "".join(f"<li>{html.escape(k)}: {fmt(v)}</li>" for k, v in checks.items()) + "</ul>")
    return "\n".join(rows)


def render_markdown(comparison: Mapping[str, Any], notes: Sequence[str]) -> str:
    lines = ["## Reward fine-tuning: SFT vs RL adapter", ""] + [f"**{n}**\n" for n in notes]
    lines += [f"Held-out examples: {fmt(comparison['n'])}; greedy decoding; 95% bootstrap CIs.", "",
              "| metric | SFT | SFT 95% CI | RL | RL 95% CI | delta | p-value |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, label in METRICS:
        m = comparison["metrics"][name]
        lines.append(f"| {label} | {fmt(m['sft'])} | {_ci(m['sft_ci'])} | {fmt(m['rl'])} | {_ci(m['rl_ci'])} | "
                     f"{fmt(m['delta'])} | {fmt(m['p_value'])} |")
    lines += [""] + [f"- {k}: {fmt(v)}" for k, v in (comparison.get("checks") or {}).items()]
    return "\n".join(lines) + "\n"


def publish(eval_dir: str, comparison: Mapping[str, Any], notes: Sequence[str]) -> list[str]:
    """Saves the SFT-vs-RL section for every render of the eval report; returns the reports updated now."""
    return report.write_section(eval_dir, SECTION, render_html(comparison, notes), render_markdown(comparison, notes),
                                data=dict(comparison), order=100)


def mean_or_none(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None]
    return float(np.mean(v)) if v else None
