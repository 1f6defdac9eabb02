"""Checks the hand-written corpus (trainer/assets/corpus/) and optionally writes its splits.

    python tools/check_corpus.py                         # table + every violation; exit 1 if any
    python tools/check_corpus.py --write_splits trainer/assets/corpus   # then train/val/test.jsonl
    python tools/check_corpus.py --corpus_dir DIR --quiet

Every violation names file:line:field and the rule it breaks (see trainer.data.corpus.check_pair).
Splits are written only when the check passes.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainer.data import corpus  # noqa: E402


def table(report: corpus.CorpusReport) -> str:
    rows = collections.OrderedDict()
    bad_at = collections.Counter((v.path, v.line) for v in report.violations)
    for p in report.pairs:
        name = os.path.basename(p.path)
        r = rows.setdefault(name, collections.Counter())
        d = p.data if isinstance(p.data, dict) else {}
        r["pairs"] += 1
        r[d.get("language", "?")] += 1
        r[d.get("channel", "?")] += 1
        r["non-patient"] += d.get("recipient") not in (None, "patient")
        r["failing"] += (p.path, p.line) in bad_at
    cols = ["pairs", "en", "es", "sms", "email", "portal", "non-patient", "failing"]
    lines = [f"{'file':34s}" + "".join(f"{c:>12s}" for c in cols)]
    total = collections.Counter()
    for name, r in rows.items():
        total.update(r)
        lines.append(f"{name:34s}" + "".join(f"{r[c]:12d}" for c in cols))
    lines.append(f"{'TOTAL':34s}" + "".join(f"{total[c]:12d}" for c in cols))
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus_dir", default=corpus.CORPUS_DIR)
    ap.add_argument("--dictionary", default=None, help="default: <corpus_dir>/fact_dictionary.json")
    ap.add_argument("--write_splits", default=None, metavar="DIR",
                    help="write train/val/test.jsonl clean examples here when the check passes")
    ap.add_argument("--quiet", action="store_true", help="only the summary line and violations")
    args = ap.parse_args(argv)

    report = corpus.check_corpus(args.corpus_dir, args.dictionary)
    stats = report.stats()
    if not args.quiet:
        print(table(report))
        print()
        for field in ("task", "channel", "language", "recipient"):
            print(f"{field:10s} " + ", ".join(f"{k}={v}" for k, v in stats[field].items()))
        print(f"patients   {stats['patients']}   distinct fact keys {stats['distinct_keys']}   "
              f"Spanish share {stats['spanish_share']:.1%}")
        used = {k for p in report.pairs if isinstance(p.data, dict) and isinstance(p.data.get("facts"), dict)
                for k in p.data["facts"]}
        unused = sorted(set(report.dictionary) - used)
        if unused:
            print(f"dictionary keys no pair uses: {', '.join(unused)}")
        print()
    for v in report.violations:
        print(v)
    by_rule = ", ".join(f"{k}={n}" for k, n in stats["violations_by_rule"].items()) or "none"
    print(f"{'FAIL' if report.violations else 'OK'}: {stats['pairs']} pairs, "
          f"{len(report.violations)} violations ({by_rule})")
    if report.violations:
        return 1
    if args.write_splits:
        counts = corpus.write_splits(report.pairs, args.write_splits)
        print("splits: " + ", ".join(f"{k}={n}" for k, n in counts.items()) + f" -> {args.write_splits}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
