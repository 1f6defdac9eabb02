"""The hand-written corpus (trainer/assets/corpus/): load it, check it, split it by patient.

A corpus pair is one line of `pairs/<task>.jsonl`:
`{"id", "patient", "task", "channel", "language", "recipient", "facts": {...}, "response"}`.
`fact_dictionary.json` documents every fact key: meaning, kind, role, how it must appear, and
whether it is a key fact (default: every stateable fact is; a key opts out with key_fact=false).

`check_corpus()` verifies every pair (see `check_pair` for the full list of rules) and returns
the violations, each naming file, line and field. `split_by_patient()` cuts the corpus into
train/val/test with no patient in two splits; `to_clean_example()` turns a pair into the clean
example of DESIGN.md §2 (language, channel and recipient become facts). Training and evaluation
read the shipped splits with `load_split("train" | "val" | "test")`.

Role check: trainer.facts.roles (`fact_in_role`, `check_roles`, ROLE_CUES) says whether a value
is stated *in its role* (paid vs owed, due vs visit date, provider vs insurer); eval uses the
same check with this dictionary. Its names are re-exported here for the check script and tests.
"""
from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import re
from typing import Any, Mapping, Sequence

import ml_collections

from trainer import tasks as task_registry
from trainer.data.records import CleanExample, parse_clean_example
from trainer.facts.amounts import find_amounts
from trainer.facts.checks import find_hallucinations
from trainer.facts.contacts import find_emails, find_phones, find_urls, phone_digits, strip_scheme
from trainer.facts.dates import find_dates
# Role names are re-exported: the check script and tests read them from here.
from trainer.facts.roles import (APPEARS, CLINICIAN_ROLES, KINDS, META_FACTS, ROLE_CUES, appears_of,  # noqa: F401
                                 check_roles, dictionary_config, fact_in_role, is_key_fact, kind_of, role_of,
                                 stated_as_documented, value_spans)
from trainer.facts.times import find_times
from trainer.util.jsonl import RecordError, iter_lines, write_jsonl
from trainer.util.language import english_or_spanish

CORPUS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "corpus")
PAIRS_SUBDIR = "pairs"
DICTIONARY_FILE = "fact_dictionary.json"
SPLITS = ("train", "val", "test")
DEFAULT_FRACTIONS = (0.7, 0.1, 0.2)
# Salt of the patient key in the shipped splits; the raw corpus patient id never leaves pairs/.
PATIENT_KEY_SALT = "carelora-corpus-v1"

CHANNELS = ("sms", "email", "portal")
LANGUAGES = ("en", "es")
RECIPIENTS = ("patient", "parent", "guardian", "caregiver", "spouse", "adult_child")
PAIR_FIELDS = ("id", "patient", "task", "channel", "language", "recipient", "facts", "response")

SMS_MAX_CHARS = 320
SENTENCES = (2, 6)
ALLOWED_URL_HOST = "example.org"

# --------------------------------------------------------------------------------------------
# Loading


@dataclasses.dataclass
class Pair:
    path: str
    line: int
    data: dict[str, Any]

    def __getattr__(self, name: str) -> Any:  # pair.task, pair.facts, ...
        try:
            return self.__dict__["data"][name]
        except KeyError as e:
            raise AttributeError(name) from e

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclasses.dataclass(frozen=True)
class Violation:
    path: str
    line: int
    field: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message} [{self.rule}]"


def load_dictionary(path: str | None = None) -> dict[str, dict[str, Any]]:
    """Fact key -> entry (meaning, kind, role, appears, key_fact, ...)."""
    path = path or os.path.join(CORPUS_DIR, DICTIONARY_FILE)
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return data["keys"] if "keys" in data else data


def pair_files(corpus_dir: str | None = None) -> list[str]:
    d = os.path.join(corpus_dir or CORPUS_DIR, PAIRS_SUBDIR)
    return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".jsonl"))


def read_pairs(paths: Sequence[str] | str | None = None) -> tuple[list[Pair], list[Violation]]:
    """Every pair of the given files (default: the shipped corpus), with JSON errors as violations."""
    if paths is None:
        paths = pair_files()
    elif isinstance(paths, str):
        paths = pair_files(paths) if os.path.isdir(paths) else [paths]
    pairs, bad = [], []
    for path in paths:
        try:
            for number, text in iter_lines(path):
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    bad.append(Violation(path, number, "<json>", f"not valid JSON ({e.msg})", "schema"))
                    continue
                pairs.append(Pair(path, number, obj))
        except RecordError as e:
            bad.append(Violation(path, e.line, e.field, e.message, "schema"))
    return pairs, bad


# --------------------------------------------------------------------------------------------
# Checking


def checker_config(dictionary: Mapping[str, Mapping[str, Any]]) -> ml_collections.ConfigDict:
    """trainer.facts settings that read each key's kind from the dictionary."""
    return dictionary_config(dictionary)


def fictional_phone(digits: str) -> bool:
    """555-01xx: 555-0100..555-0199 as the local part (any area code), or (555) 010-01xx."""
    d = phone_digits(digits)
    if len(d) == 7:
        return d.startswith("55501")
    return len(d) == 10 and (d[3:8] == "55501" or (d.startswith("555010") and d[6:8] == "01"))


def url_host_ok(url: str) -> bool:
    host = strip_scheme(url).split("/")[0].split("?")[0].lower().rstrip(".")
    return host == ALLOWED_URL_HOST or host.endswith("." + ALLOWED_URL_HOST)


_GREETING = re.compile(r"(?i)^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|greetings|hola|"
                       r"estimad[oa]s?|querid[oa]s?|buen[oa]s (d[ií]as|tardes|noches)|saludos)\b")
_CLOSING = re.compile(r"(?i)^\s*(warmly|warm regards|best|best wishes|sincerely|thank you|thanks|take care|"
                      r"kind regards|regards|with care|all the best|see you( soon| then| there)?|be well|talk soon|"
                      r"atentamente|saludos|saludos cordiales|cordialmente|con cari[ñn]o|gracias|muchas gracias|"
                      r"cu[ií]dese|cu[ií]dense|un saludo|un abrazo|que est[eé] bien|hasta pronto|hasta luego|nos vemos|con gusto)"
                      r"\b[^\n]*$")
_ABBREV = re.compile(r"(?i)\b(dr|dra|mr|mrs|ms|sr|sra|srta|st|ave|no|apt|ste|lic|etc|approx|aprox|vs)\.")
_AMPM = re.compile(r"(?i)\b([ap])\.\s?m\.")


def count_sentences(body: str) -> int:
    """Sentences of a message body: ., ! or ? closes one; a run of list lines is one sentence."""
    text = _AMPM.sub(r"\1m", _ABBREV.sub(r"\1", body))
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    count, in_list = 0, False
    for ln in lines:
        if re.match(r"^([-•*]|\d+[.)])\s", ln):
            if not in_list:
                count += 1
            in_list = True
            continue
        in_list = False
        n = len(re.findall(r"[.!?]+(?=\s|$|[\"'”)])", ln))
        count += n if n else 1
    return count


def _closing_line(line: str) -> bool:
    """A closing ("Warmly," "Gracias,"): a known closing phrase, or a short line ending in a comma or "!"."""
    s = line.strip()
    return len(s) <= 40 and (bool(_CLOSING.match(s)) or (len(s) <= 30 and s[-1:] in (",", "!")))


def message_parts(text: str) -> tuple[str | None, str, str | None]:
    """(greeting line, body, sign-off) of an e-mail or portal message; None where missing."""
    lines = [ln for ln in text.strip().split("\n")]
    nonempty = [i for i, ln in enumerate(lines) if ln.strip()]
    if not nonempty:
        return None, "", None
    first = nonempty[0]
    greeting = lines[first] if _GREETING.match(lines[first]) and len(lines[first]) <= 80 else None
    start = first + 1 if greeting is not None else first
    sign = None
    last = nonempty[-1]
    if re.match(r"^\s*(—|--|-)\s*\S", lines[last]) and len(lines[last]) <= 80:
        sign, end = lines[last], last
        if len(nonempty) >= 2 and _closing_line(lines[nonempty[-2]]):
            sign, end = "\n".join(lines[nonempty[-2]:]), nonempty[-2]
    elif len(nonempty) >= 2 and _closing_line(lines[nonempty[-2]]) \
            and len(lines[last]) <= 80:
        sign, end = "\n".join(lines[nonempty[-2]:]), nonempty[-2]
    else:
        end = last + 1
    if greeting is not None and start > end:
        return greeting, "", sign
    return greeting, "\n".join(lines[start:end]), sign


def _numbers_invented(text: str, facts: Mapping[str, Any], lang: str) -> list[str]:
    """Digit runs in `text` outside dates, times, phones, amounts, URLs and e-mails that no fact value holds."""
    covered = [(m.start, m.start + len(m.text)) for m in find_dates(text, lang)]
    covered += [(m.start, m.start + len(m.text)) for m in find_times(text)]
    covered += [(m.start, m.start + len(m.text)) for m in find_phones(text)]
    covered += [(m.start, m.start + len(m.text)) for m in find_amounts(text, include_bare=True)]
    covered += [(m.start, m.start + len(m.text)) for m in find_urls(text) + find_emails(text)]
    known = set()
    for v in facts.values():
        known |= set(re.findall(r"\d+", str(v)))
    bad = []
    for m in re.finditer(r"\d+", text):
        if any(a <= m.start() and m.end() <= b for a, b in covered):
            continue
        if m[0] not in known:
            bad.append(m[0])
    return bad


def check_pair(pair: Pair, dictionary: Mapping[str, Mapping[str, Any]],
               cfg: ml_collections.ConfigDict | None = None) -> list[Violation]:
    """Every rule for one pair. Rules (the name in brackets in a violation):

    schema     fields present and typed; task registered; channel, language, recipient known;
               facts flat (string/number values) and without language/channel/recipient
    dictionary every fact key documented in the fact dictionary
    key_fact   every key fact (dictionary) stated as its `appears` says (trainer.facts.fact_stated)
    role       every key fact with a checked role stated in that role (fact_in_role)
    invented   no date, time, phone, amount, URL, e-mail or name the facts do not hold
               (trainer.facts.find_hallucinations), and no other number the facts do not hold
    language   the message is in the pair's language (trainer.util.language.english_or_spanish)
    length     SMS at most 320 characters
    shape      e-mail and portal: a greeting, 2-6 sentences, a sign-off
    fictional  every phone (facts and message) is 555-01xx; every URL and e-mail is on example.org
    """
    path, line, d = pair.path, pair.line, pair.data
    out: list[Violation] = []

    def bad(field: str, message: str, rule: str) -> None:
        out.append(Violation(path, line, field, message, rule))

    if not isinstance(d, dict):
        bad("<record>", "expected a JSON object", "schema")
        return out
    for f in PAIR_FIELDS:
        if f not in d:
            bad(f, "missing", "schema")
    if out:
        return out
    for f in ("id", "patient", "task", "channel", "language", "recipient", "response"):
        if not isinstance(d[f], str) or not d[f].strip():
            bad(f, "expected a non-empty string", "schema")
    if out:
        return out
    extra = set(d) - set(PAIR_FIELDS)
    if extra:
        bad(sorted(extra)[0], f"unknown field(s) {sorted(extra)}", "schema")
    if d["task"] not in task_registry.TASKS:
        bad("task", f"unknown task {d['task']!r}", "schema")
    if d["channel"] not in CHANNELS:
        bad("channel", f"{d['channel']!r} not one of {CHANNELS}", "schema")
    if d["language"] not in LANGUAGES:
        bad("language", f"{d['language']!r} not one of {LANGUAGES}", "schema")
    if d["recipient"] not in RECIPIENTS:
        bad("recipient", f"{d['recipient']!r} not one of {RECIPIENTS}", "schema")
    facts = d["facts"]
    if not isinstance(facts, dict) or not facts:
        bad("facts", "expected a non-empty object", "schema")
        return out
    for k, v in facts.items():
        if isinstance(v, (dict, list)) or v is None or isinstance(v, bool):
            bad(f"facts.{k}", "expected a string or number", "schema")
        if k in META_FACTS:
            bad(f"facts.{k}", f"{k} is a pair field, not a fact", "schema")
    if out:
        return out
    text, lang, task = d["response"], d["language"], d["task"]
    cfg = cfg or checker_config(dictionary)
    full = {**facts, "language": lang, "channel": d["channel"]}

    undocumented = [k for k in facts if k not in dictionary]
    for k in undocumented:
        bad(f"facts.{k}", "key not in the fact dictionary", "dictionary")

    # key facts stated, in their role (trainer.facts.roles, the check eval also runs)
    roles = check_roles(text, task, facts, dictionary, cfg, lang)
    for k, v in facts.items():
        if k in roles.missing:
            bad(f"facts.{k}", f"key fact {v!r} not stated ({appears_of(dictionary[k])})", "key_fact")
        elif k in roles.wrong_role:
            bad(f"facts.{k}", f"{v!r} not stated in its role {role_of(dictionary[k], task)!r}", "role")

    # nothing invented
    for h in find_hallucinations(text, full, cfg):
        bad("response", f"invented {h.kind}: {h.text!r}", "invented")
    for n in _numbers_invented(text, full, lang):
        bad("response", f"invented number: {n!r}", "invented")

    detected = english_or_spanish(text)
    if detected != lang:
        bad("response", f"language is {detected!r}, pair says {lang!r}", "language")

    if d["channel"] == "sms":
        if len(text) > SMS_MAX_CHARS:
            bad("response", f"SMS is {len(text)} characters (max {SMS_MAX_CHARS})", "length")
    else:
        greeting, body, sign = message_parts(text)
        if greeting is None:
            bad("response", f"{d['channel']} without a greeting line", "shape")
        if sign is None:
            bad("response", f"{d['channel']} without a sign-off", "shape")
        n = count_sentences(body)
        if not SENTENCES[0] <= n <= SENTENCES[1]:
            bad("response", f"{d['channel']} body has {n} sentences (want {SENTENCES[0]}-{SENTENCES[1]})",
                "shape")

    for k, v in facts.items():
        s = str(v)
        for p in find_phones(s):
            if not fictional_phone(p.value):
                bad(f"facts.{k}", f"phone {p.text!r} is not 555-01xx", "fictional")
        if kind_of(k, dictionary) == "phone" and not fictional_phone(s):
            bad(f"facts.{k}", f"phone {s!r} is not 555-01xx", "fictional")
        for u in find_urls(s):
            if not url_host_ok(u.value):
                bad(f"facts.{k}", f"URL {u.text!r} is not on {ALLOWED_URL_HOST}", "fictional")
        for e in find_emails(s):
            if not e.value.endswith("@" + ALLOWED_URL_HOST):
                bad(f"facts.{k}", f"e-mail {e.text!r} is not on {ALLOWED_URL_HOST}", "fictional")
    for p in find_phones(text):
        if not fictional_phone(p.value):
            bad("response", f"phone {p.text!r} is not 555-01xx", "fictional")
    for u in find_urls(text):
        if not url_host_ok(u.value):
            bad("response", f"URL {u.text!r} is not on {ALLOWED_URL_HOST}", "fictional")
    return out


def check_dictionary(dictionary: Mapping[str, Mapping[str, Any]], path: str) -> list[Violation]:
    out = []
    for k, e in dictionary.items():
        for f in ("meaning", "kind", "role"):
            if not e.get(f):
                out.append(Violation(path, 0, f"keys.{k}.{f}", "missing", "dictionary"))
        if e.get("kind") not in KINDS:
            out.append(Violation(path, 0, f"keys.{k}.kind", f"{e.get('kind')!r} not one of {KINDS}", "dictionary"))
        if appears_of(e) not in APPEARS:
            out.append(Violation(path, 0, f"keys.{k}.appears", f"{appears_of(e)!r} not one of {APPEARS}",
                                 "dictionary"))
    return out


@dataclasses.dataclass
class CorpusReport:
    pairs: list[Pair]
    violations: list[Violation]
    dictionary: dict[str, dict[str, Any]]

    @property
    def ok(self) -> bool:
        return not self.violations

    def stats(self) -> dict[str, Any]:
        c = collections.Counter
        keys = {k for p in self.pairs if isinstance(p.data.get("facts"), dict) for k in p.data["facts"]}
        n = len(self.pairs)
        es = sum(p.data.get("language") == "es" for p in self.pairs)
        return {
            "pairs": n,
            "patients": len({p.data.get("patient") for p in self.pairs}),
            "spanish_share": es / n if n else 0.0,
            "distinct_keys": len(keys),
            "task": dict(sorted(c(p.data.get("task") for p in self.pairs).items())),
            "channel": dict(sorted(c(p.data.get("channel") for p in self.pairs).items())),
            "language": dict(sorted(c(p.data.get("language") for p in self.pairs).items())),
            "recipient": dict(sorted(c(p.data.get("recipient") for p in self.pairs).items())),
            "violations_by_rule": dict(sorted(c(v.rule for v in self.violations).items())),
        }


def check_corpus(corpus_dir: str | None = None, dictionary_path: str | None = None,
                 paths: Sequence[str] | None = None) -> CorpusReport:
    """Checks every pair of the corpus (and the dictionary, and id uniqueness)."""
    corpus_dir = corpus_dir or CORPUS_DIR
    dictionary_path = dictionary_path or os.path.join(corpus_dir, DICTIONARY_FILE)
    dictionary = load_dictionary(dictionary_path)
    cfg = checker_config(dictionary)
    pairs, violations = read_pairs(list(paths) if paths is not None else pair_files(corpus_dir))
    violations += check_dictionary(dictionary, dictionary_path)
    seen: dict[str, str] = {}
    for p in pairs:
        violations += check_pair(p, dictionary, cfg)
        pid = p.data.get("id") if isinstance(p.data, dict) else None
        if isinstance(pid, str):
            if pid in seen:
                violations.append(Violation(p.path, p.line, "id", f"duplicate id {pid!r} (first at {seen[pid]})",
                                            "schema"))
            else:
                seen[pid] = p.where
    return CorpusReport(pairs, violations, dictionary)


# --------------------------------------------------------------------------------------------
# Splits and clean examples


def patient_key(patient: str, salt: str = PATIENT_KEY_SALT) -> str:
    return hashlib.sha256(f"{salt}:{patient}".encode()).hexdigest()


def to_clean_example(pair: Pair | Mapping[str, Any]) -> dict[str, Any]:
    """The clean example of DESIGN.md §2: language, channel and recipient become facts."""
    d = pair.data if isinstance(pair, Pair) else pair
    facts = {**d["facts"], "language": d["language"], "channel": d["channel"], "recipient": d["recipient"]}
    return {"id": f"corpus-{d['id']}", "patient_key": patient_key(d["patient"]), "task": d["task"],
            "facts": facts, "response": d["response"]}


def split_by_patient(pairs: Sequence[Pair | Mapping[str, Any]],
                     fractions: Sequence[float] = DEFAULT_FRACTIONS,
                     salt: str = PATIENT_KEY_SALT) -> dict[str, list[Any]]:
    """Deterministic train/val/test split with every patient in exactly one split.

    Patients are grouped into strata by (their most frequent task, their language); within a
    stratum they are ordered by a salted hash and dealt out so each split's share of the
    stratum's messages follows `fractions` as closely as whole patients allow (largest
    remaining deficit first). Same pairs and salt, same split.
    """
    if len(fractions) != len(SPLITS) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be {len(SPLITS)} numbers summing to 1, got {fractions}")
    data = [(p.data if isinstance(p, Pair) else p, p) for p in pairs]
    by_patient: dict[str, list[Any]] = collections.defaultdict(list)
    for d, p in data:
        by_patient[d["patient"]].append((d, p))
    strata: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for pid, items in by_patient.items():
        task = collections.Counter(d["task"] for d, _ in items).most_common(1)[0][0]
        lang = collections.Counter(d["language"] for d, _ in items).most_common(1)[0][0]
        strata[(task, lang)].append(pid)
    out: dict[str, list[Any]] = {s: [] for s in SPLITS}
    for stratum in sorted(strata):
        pids = sorted(strata[stratum], key=lambda pid: hashlib.sha256(f"{salt}:{pid}".encode()).hexdigest())
        counts = [0] * len(SPLITS)
        for pid in pids:
            n = len(by_patient[pid])
            total = sum(counts) + n
            deficits = [fractions[i] * total - counts[i] for i in range(len(SPLITS))]
            i = max(range(len(SPLITS)), key=lambda j: (deficits[j], -j))
            counts[i] += n
            out[SPLITS[i]] += [p for _, p in by_patient[pid]]
    for s in SPLITS:
        out[s].sort(key=lambda p: (p.data if isinstance(p, Pair) else p)["id"])
    return out


def write_splits(pairs: Sequence[Pair], out_dir: str,
                 fractions: Sequence[float] = DEFAULT_FRACTIONS) -> dict[str, int]:
    """Writes {train,val,test}.jsonl clean examples; returns the count per split."""
    os.makedirs(out_dir, exist_ok=True)
    counts = {}
    for name, items in split_by_patient(pairs, fractions).items():
        rows = [to_clean_example(p) for p in items]
        for i, row in enumerate(rows, 1):
            parse_clean_example(row, name, i, task_registry.task_names())
        counts[name] = write_jsonl(os.path.join(out_dir, f"{name}.jsonl"), rows)
    return counts


def split_path(name: str, corpus_dir: str | None = None) -> str:
    if name not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
    return os.path.join(corpus_dir or CORPUS_DIR, f"{name}.jsonl")


def load_split(name: str, corpus_dir: str | None = None) -> list[CleanExample]:
    """The shipped clean examples of one split (train, val or test)."""
    from trainer.data.records import read_clean_examples
    return read_clean_examples(split_path(name, corpus_dir), tasks=task_registry.task_names())
