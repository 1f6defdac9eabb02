"""Candidate generators: edge cases from a spec, LM paraphrase, LM back-translation.

Every candidate comes from one training message (its source) and keeps the source's patient
key, so a candidate can never carry a val/test patient into training.

Edge cases recombine the training data itself: a source message keeps its wording while facts of
another training record of the same task and language (its donor) replace the source's facts at
the exact spans where the source states them (trainer/augment/masking.substitute renders a date
the way the source rendered it, a time in the source's clock style, a phone in its format); each
category then adds its own twist (a long, hyphenated or accented name from the training names,
noon, a date across a year end, an optional fact dropped with its sentence, ...). Nothing here is
a template: a category with no fitting source in the data yields nothing and says so.

Paraphrase and back-translation prompt the base LM few-shot. Its shots are training messages of
the same task (and language) with their facts masked to `{key}` placeholders; two such messages
of one task are close to paraphrases of each other, an English and a Spanish one close to
translations. The source is masked the same way and its facts are restored byte for byte after.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import hashlib
import random
import re
from typing import Any, Callable, Iterable, Mapping, Sequence

import ml_collections

from trainer.augment import masking
from trainer.data.records import CleanExample
from trainer.facts.dates import parse_iso_date
from trainer.facts.kinds import fact_kind
from trainer.facts.times import parse_time
from trainer.util.language import english_or_spanish

EDGE, PARAPHRASE, BACKTRANSLATION = "edge_case", "paraphrase", "backtranslation"
# Fact kinds a donor may replace; amounts, URLs and e-mails stay with their message.
SUBSTITUTABLE = ("date", "time", "person", "phone", "text", "number")
_STOP_MARKERS = ("\nMessage:", "\nRewrite:", "\nEnglish:", "\nSpanish:", "\nInglés:", "\nEspañol:", "\n###")


@dataclasses.dataclass
class Candidate:
    id: str
    source_id: str
    method: str  # edge_case | paraphrase | backtranslation
    category: str  # edge-case category, "paraphrase", or "en>es>en" / "es>en>es"
    patient_key: str
    task: str
    facts: dict[str, Any]
    response: str
    source_response: str
    language: str  # what the candidate must be written in
    error: str = ""  # generation_failed | placeholder_lost, set by the generator
    detail: str = ""

    def record(self) -> dict[str, Any]:
        """The augmented clean example, with provenance."""
        return {**CleanExample(self.id, self.patient_key, self.task, self.facts, self.response).to_json(),
                "source_id": self.source_id, "method": self.method, "category": self.category}


def candidate_id(method: str, source_id: str, *parts: Any) -> str:
    h = hashlib.sha1("|".join([method, source_id, *map(str, parts)]).encode("utf-8")).hexdigest()[:12]
    return f"aug-{method}-{h}"


def language_of(e: CleanExample) -> str:
    lang = str(e.facts.get("language") or "")[:2].lower()
    return lang if lang in ("en", "es") else english_or_spanish(e.response)


# --------------------------------------------------------------------------------------------
# Edge cases

@dataclasses.dataclass
class _Ctx:
    train: list[CleanExample]
    cfg: ml_collections.ConfigDict  # config.augment.edge_cases
    facts_cfg: ml_collections.ConfigDict
    sms_max: int
    rng: random.Random
    seed: int

    def __post_init__(self):
        self.by_group: dict[tuple[str, str], list[CleanExample]] = collections.defaultdict(list)
        for e in self.train:
            self.by_group[(e.task, language_of(e))].append(e)
        self.names = sorted({str(e.facts["preferred_name"]).strip() for e in self.train
                             if isinstance(e.facts.get("preferred_name"), str) and e.facts["preferred_name"].strip()})
        surnames = set()
        for e in self.train:
            for k, v in e.facts.items():
                if isinstance(v, str) and fact_kind(k, v, self.facts_cfg.get("kind_overrides")) == "person" \
                        and k != "preferred_name":
                    forms = masking._person_forms(v)
                    tokens = forms[1].split() if len(forms) > 1 else v.split()
                    if len(tokens) > 1:
                        surnames.add(tokens[-1])
        self.surnames = sorted(surnames)
        self._spans: dict[str, list[masking.FactSpan]] = {}

    def spans(self, e: CleanExample) -> list[masking.FactSpan]:
        if e.id not in self._spans:
            self._spans[e.id] = masking.fact_spans(e.response, e.facts, language_of(e), self.facts_cfg)
        return self._spans[e.id]

    def stated(self, e: CleanExample) -> set[str]:
        return {sp.key for sp in self.spans(e)}

    def kind(self, key: str, value: Any) -> str:
        return fact_kind(key, value, self.facts_cfg.get("kind_overrides"))

    def donors(self, e: CleanExample) -> list[CleanExample]:
        pool = [d for d in self.by_group[(e.task, language_of(e))] if d.id != e.id]
        self.rng.shuffle(pool)
        return pool

    def donor_changes(self, e: CleanExample, d: CleanExample) -> dict[str, Any]:
        """Facts of donor `d` that may replace the source's (same key, substitutable kind): a seeded
        half of them, so the result mixes two records instead of re-creating the donor when both
        messages share a wording."""
        out = {}
        for k, v in e.facts.items():
            if k in masking.STEERING or k not in d.facts or d.facts[k] == v:
                continue
            if self.kind(k, v) in SUBSTITUTABLE and self.kind(k, d.facts[k]) == self.kind(k, v):
                out[k] = d.facts[k]
        keys = sorted(out)
        if len(keys) > 1:
            self.rng.shuffle(keys)
            keys = keys[: max(1, (len(keys) + 1) // 2)]
        return {k: out[k] for k in keys}

    def recombine(self, e: CleanExample, extra: Mapping[str, Any] | None = None, noon_word: bool = False,
                  tries: int = 6) -> tuple[str, dict[str, Any], str] | None:
        """Source `e` with a donor's facts (and `extra` on top), or None when nothing renders."""
        lang = language_of(e)
        donors = self.donors(e)[:tries] or [None]
        for d in donors:
            changes = self.donor_changes(e, d) if d is not None else {}
            changes.update(extra or {})
            if not changes:
                continue
            out = masking.substitute(e.response, e.facts, changes, lang, self.facts_cfg, noon_word)
            if out is None and extra:  # the donor's facts would not render: the twist alone
                out = masking.substitute(e.response, e.facts, dict(extra), lang, self.facts_cfg, noon_word)
                d = None
            if out is not None and out[0] != e.response:
                return out[0], out[1], f"donor {d.id}" if d is not None else "no donor"
        return None


def _pick(ctx: _Ctx, sources: Sequence[CleanExample], n: int, make: Callable[[CleanExample, int], Any]
          ) -> list[tuple[CleanExample, str, dict, str]]:
    """Up to n results of make(source, i) over the sources, round robin, seeded."""
    sources = list(sources)
    ctx.rng.shuffle(sources)
    out: list[tuple[CleanExample, str, dict, str]] = []
    attempts = 0
    while sources and len(out) < n and attempts < 4 * n + len(sources):
        src = sources[attempts % len(sources)]
        res = make(src, attempts)
        attempts += 1
        if res is not None:
            out.append((src,) + tuple(res))
        if attempts >= len(sources) and not out:
            break
    return out


def _rare_task(ctx: _Ctx, n: int):
    counts = collections.Counter(e.task for e in ctx.train)
    total = max(sum(counts.values()), 1)
    rare = {t for t, c in counts.items() if c / total < ctx.cfg.rare_task_share}
    return _pick(ctx, [e for e in ctx.train if e.task in rare], n, lambda e, i: ctx.recombine(e))


def _spanish(ctx: _Ctx, n: int):
    return _pick(ctx, [e for e in ctx.train if language_of(e) == "es"], n, lambda e, i: ctx.recombine(e))


def _missing_optional(ctx: _Ctx, n: int):
    def make(e: CleanExample, i: int):
        keys = masking.key_facts_of(e.task, e.facts, ctx.facts_cfg)
        optional = sorted(k for k in ctx.stated(e) if k not in keys and k not in masking.STEERING)
        ctx.rng.shuffle(optional)
        for k in optional:
            out = masking.drop_sentence_of(e.response, e.facts, k, keys, language_of(e), ctx.facts_cfg)
            if out is not None:
                return out[0], out[1], f"dropped optional fact {k}"
        return None

    return _pick(ctx, ctx.train, n, make)


def _name_category(predicate: Callable[[str], bool], compose: Callable[[_Ctx, int], str | None]):
    def category(ctx: _Ctx, n: int):
        pool = [x for x in ctx.names if predicate(x)]

        def make(e: CleanExample, i: int):
            if "preferred_name" not in ctx.stated(e):
                return None
            name = pool[i % len(pool)] if pool else compose(ctx, i)
            if not name or name == e.facts.get("preferred_name"):
                return None
            out = ctx.recombine(e, {"preferred_name": name})
            return (out[0], out[1], f"{out[2]}; name {'from train' if pool else 'composed from train names'}") \
                if out else None

        return _pick(ctx, ctx.train, n, make)

    return category


def _compose_long(ctx: _Ctx, i: int) -> str | None:
    firsts = [x for x in ctx.names if " " not in x]
    combos = [f"{a} {b}" for a in firsts for b in ctx.surnames if len(a) + 1 + len(b) >= ctx.cfg.long_name_chars]
    combos += [f"{a} {b}" for a in firsts for b in firsts if a != b and len(a) + 1 + len(b) >= ctx.cfg.long_name_chars]
    return combos[(i * 7919 + ctx.seed) % len(combos)] if combos else None


def _compose_hyphen(ctx: _Ctx, i: int) -> str | None:
    firsts = [x for x in ctx.names if re.fullmatch(r"[^\W\d_]+", x)]
    pairs = [f"{a}-{b}" for a in firsts for b in firsts if a != b]
    return pairs[(i * 104729 + ctx.seed) % len(pairs)] if pairs else None


def _compose_accented(ctx: _Ctx, i: int) -> str | None:
    accented = [s for s in ctx.surnames if re.search(r"[^\x00-\x7f]", s)]
    firsts = [x for x in ctx.names if " " not in x]
    combos = [f"{a} {b}" for a in firsts for b in accented]
    return combos[(i * 31 + ctx.seed) % len(combos)] if combos else None


def _is_long(ctx_cfg) -> Callable[[str], bool]:
    return lambda x: len(x) >= ctx_cfg.long_name_chars


def _caregiver(ctx: _Ctx, n: int):
    words = [w.strip().casefold() for w in str(ctx.cfg.caregiver_words).split(",") if w.strip()]
    keys = {k.strip() for k in str(ctx.cfg.caregiver_fact_keys).split(",") if k.strip()}

    def addressed_to_caregiver(e: CleanExample) -> bool:
        text = e.response.casefold()
        return bool(keys & set(e.facts)) or any(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text) for w in words)

    return _pick(ctx, [e for e in ctx.train if addressed_to_caregiver(e)], n, lambda e, i: ctx.recombine(e))


def _sms_limit(ctx: _Ctx, n: int):
    lo = int(ctx.cfg.sms_fill * ctx.sms_max)
    long_names = sorted(ctx.names, key=len, reverse=True)[:5]

    def make(e: CleanExample, i: int):
        if "\n" in e.response:
            return None
        best = None
        lang = language_of(e)
        for d in ctx.by_group[(e.task, lang)]:
            for name in [None] + long_names:
                changes = ctx.donor_changes(e, d) if d.id != e.id else {}
                if name and "preferred_name" in e.facts:
                    changes["preferred_name"] = name
                out = masking.substitute(e.response, e.facts, changes, lang, ctx.facts_cfg) if changes else None
                if out and lo <= len(out[0]) <= ctx.sms_max and (best is None or len(out[0]) > len(best[0])):
                    best = (out[0], dict(out[1], channel="sms"), f"donor {d.id}; {len(out[0])} of {ctx.sms_max} chars")
        return best  # the source alone is never a candidate: it is already in train

    return _pick(ctx, [e for e in ctx.train if len(e.response) >= lo * 0.6], n, make)


def _time_key(ctx: _Ctx, e: CleanExample) -> str | None:
    for sp in ctx.spans(e):
        if sp.kind == "time":
            return sp.key
    return None


def _noon(ctx: _Ctx, n: int):
    def make(e: CleanExample, i: int):
        key = _time_key(ctx, e)
        if key is None:
            return None
        old = str(e.facts[key])
        hm = parse_time(old)
        if hm == (12, 0):
            return None
        value = "12:00 PM" if re.search(r"(?i)[ap]\.?\s?m", old) else "12:00"
        word = ctx.rng.random() < ctx.cfg.noon_word_share
        out = ctx.recombine(e, {key: value}, noon_word=word)
        if out is None and word:
            out = ctx.recombine(e, {key: value}, noon_word=False)
        return out

    return _pick(ctx, ctx.train, n, make)


def _year_end(ctx: _Ctx, n: int):
    def make(e: CleanExample, i: int):
        keys = masking.key_facts_of(e.task, e.facts, ctx.facts_cfg)
        dates = {k: parse_iso_date(str(v)) for k, v in e.facts.items() if ctx.kind(k, v) == "date"}
        dates = {k: d for k, d in dates.items() if d}
        stated = [k for k in dates if k in ctx.stated(e)]
        if not stated:
            return None
        main = sorted(stated, key=lambda k: (k not in keys, k))[0]
        d0 = dates[main]
        span = int(ctx.cfg.year_end_days)
        offset = ctx.rng.randint(-span, span)
        target = datetime.date(d0.year, 12, 31) + datetime.timedelta(days=offset if offset <= 0 else offset)
        delta = target - d0
        # Every date fact moves by the same delta: intervals (discharge -> follow-up) stay true,
        # and a pair of dates ends up on both sides of the new year.
        changes = {k: (d + delta).isoformat() for k, d in dates.items()}
        out = ctx.recombine(e, changes)
        return (out[0], out[1], f"{out[2]}; {main} {d0.isoformat()} -> {target.isoformat()}") if out else None

    return _pick(ctx, ctx.train, n, make)


def edge_categories(cfg: ml_collections.ConfigDict) -> dict[str, Callable[[_Ctx, int], list]]:
    return {
        "rare_task": _rare_task,
        "missing_optional": _missing_optional,
        "long_name": _name_category(_is_long(cfg), _compose_long),
        "hyphenated_name": _name_category(lambda x: "-" in x, _compose_hyphen),
        "accented_name": _name_category(lambda x: bool(re.search(r"[^\x00-\x7f]", x)), _compose_accented),
        "caregiver": _caregiver,
        "spanish": _spanish,
        "sms_limit": _sms_limit,
        "noon": _noon,
        "year_end": _year_end,
    }


def edge_cases(train: Sequence[CleanExample], cfg: ml_collections.ConfigDict, facts_cfg: ml_collections.ConfigDict,
               sms_max: int, seed: int) -> tuple[list[Candidate], dict[str, dict[str, int]]]:
    """Candidates of each configured category; stats: category -> {sources, candidates}."""
    table = edge_categories(cfg)
    names = [c.strip() for c in str(cfg.categories).split(",") if c.strip()]
    unknown = [c for c in names if c not in table]
    if unknown:
        raise ValueError(f"augment.edge_cases.categories: unknown {unknown}; known: {sorted(table)}")
    out: list[Candidate] = []
    stats: dict[str, dict[str, int]] = {}
    seen: set[str] = set()
    for name in names:
        ctx = _Ctx(list(train), cfg, facts_cfg, sms_max, random.Random(f"{seed}:{name}"), seed)
        made = table[name](ctx, int(cfg.per_category))
        n = 0
        for i, (src, text, facts, detail) in enumerate(made):
            if text in seen:
                continue
            seen.add(text)
            n += 1
            out.append(Candidate(candidate_id(EDGE, src.id, name, seed, i), src.id, EDGE, name, src.patient_key,
                                 src.task, facts, text, src.response, language_of(src), detail=detail))
        stats[name] = {"candidates": n}
    return out, stats


# --------------------------------------------------------------------------------------------
# LM paraphrase and back-translation

# [(cache key, prompt maker)] -> outputs. The key holds everything the prompt is made of (source,
# method, seed, masked texts of source and shots), so a cached request never builds its prompt
# (which needs the tokenizer to fit the shots) and a rerun loads no model.
Generate = Callable[[Sequence[tuple[str, Callable[[], str]]]], list[str]]


def request_key(source_id: str, method: str, seed: int, *texts: str) -> str:
    digest = hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]
    return f"{source_id}|{method}|{seed}|{digest}"


def cut_output(text: str) -> str:
    """The LM's continuation up to where it starts the next few-shot item."""
    cut = len(text)
    for marker in _STOP_MARKERS:
        i = text.find(marker)
        if 0 <= i < cut:
            cut = i
    return text[:cut].strip()


def _masked_pool(train: Sequence[CleanExample], facts_cfg) -> dict[str, masking.Masked]:
    out = {}
    for e in train:
        m = masking.mask(e.response, e.facts, language_of(e), facts_cfg)
        if m is not None:
            out[e.id] = m
    return out


_LANG_NAME = {"en": "English", "es": "Spanish"}


def paraphrase_prompt(source: str, shots: Sequence[tuple[str, str]]) -> str:
    lines = ["Rewrite each clinic message in other words. Keep every {placeholder} exactly as it is.", ""]
    for a, b in shots:
        lines += [f"Message: {a}", f"Rewrite: {b}", ""]
    lines += [f"Message: {source}", "Rewrite:"]
    return "\n".join(lines)


def translation_prompt(source: str, src_lang: str, tgt_lang: str, shots: Sequence[tuple[str, str]]) -> str:
    a_name, b_name = _LANG_NAME[src_lang], _LANG_NAME[tgt_lang]
    lines = [f"Translate each clinic message from {a_name} to {b_name}. Keep every {{placeholder}} exactly as it is.", ""]
    for a, b in shots:
        lines += [f"{a_name}: {a}", f"{b_name}: {b}", ""]
    lines += [f"{a_name}: {source}", f"{b_name}:"]
    return "\n".join(lines)


def _fit_prompt(build: Callable[[int], str], n_shots: int, n_tokens: Callable[[str], int],
                budget: Callable[[], int]) -> Callable[[], str]:
    """A prompt maker: the most shots (up to n_shots) whose prompt fits `budget()` tokens."""
    def make() -> str:
        limit = budget()
        for k in range(n_shots, 0, -1):
            prompt = build(k)
            if n_tokens(prompt) <= limit:
                return prompt
        return build(0)

    return make


def _sources(train: Sequence[CleanExample], masked: Mapping[str, masking.Masked], max_sources: int, seed: int,
             salt: str) -> list[CleanExample]:
    pool = [e for e in train if e.id in masked and masked[e.id].slots]
    random.Random(f"{seed}:{salt}").shuffle(pool)
    return pool[:max_sources] if max_sources else pool


def _restore(c: Candidate, output: str, slots: Mapping[str, str]) -> Candidate:
    text = cut_output(output)
    if not text:
        c.error, c.detail = "generation_failed", "empty output"
        return c
    restored, unknown = masking.unmask(text, slots)
    c.response = restored
    if unknown:
        c.error, c.detail = "placeholder_lost", f"unknown placeholders {sorted(set(unknown))}"
    return c


def paraphrases(train: Sequence[CleanExample], cfg: ml_collections.ConfigDict, facts_cfg, generate: Generate,
                n_tokens: Callable[[str], int], budget: Callable[[], int], seed: int) -> list[Candidate]:
    masked = _masked_pool(train, facts_cfg)
    groups: dict[tuple[str, str], list[CleanExample]] = collections.defaultdict(list)
    for e in train:
        if e.id in masked:
            groups[(e.task, language_of(e))].append(e)
    todo: list[tuple[Candidate, str, dict[str, str]]] = []
    for src in _sources(train, masked, int(cfg.max_sources), seed, PARAPHRASE):
        others = [e for e in groups[(src.task, language_of(src))] if e.id != src.id]
        random.Random(f"{seed}:{src.id}").shuffle(others)
        pairs = [(masked[a.id].text, masked[b.id].text) for a, b in zip(others[0::2], others[1::2])]
        pairs = pairs[: int(cfg.n_shots)]
        text = masked[src.id].text
        prompt = _fit_prompt(lambda k, text=text, pairs=pairs: paraphrase_prompt(text, pairs[:k]), len(pairs), n_tokens,
                             budget)
        key = request_key(src.id, PARAPHRASE, seed, text, *[x for p in pairs for x in p])
        c = Candidate(candidate_id(PARAPHRASE, src.id, seed), src.id, PARAPHRASE, PARAPHRASE, src.patient_key,
                      src.task, dict(src.facts), "", src.response, language_of(src))
        todo.append((c, (key, prompt), masked[src.id].slots))
    outputs = generate([req for _, req, _ in todo])
    return [_restore(c, o, slots) for (c, _, slots), o in zip(todo, outputs)]


def backtranslations(train: Sequence[CleanExample], cfg: ml_collections.ConfigDict, facts_cfg, generate: Generate,
                     n_tokens: Callable[[str], int], budget: Callable[[], int], seed: int) -> list[Candidate]:
    """en -> es -> en and es -> en -> es; only the round trip is a candidate."""
    masked = _masked_pool(train, facts_cfg)
    by_task_lang: dict[tuple[str, str], list[CleanExample]] = collections.defaultdict(list)
    for e in train:
        if e.id in masked:
            by_task_lang[(e.task, language_of(e))].append(e)
    srcs = [s for s in _sources(train, masked, 0, seed, BACKTRANSLATION) if language_of(s) in ("en", "es")]
    if int(cfg.max_sources):
        srcs = srcs[: int(cfg.max_sources)]

    def shots(src: CleanExample, a: str, b: str, salt: str) -> list[tuple[str, str]]:
        xs = [e for e in by_task_lang[(src.task, a)] if e.id != src.id]
        ys = [e for e in by_task_lang[(src.task, b)] if e.id != src.id]
        r = random.Random(f"{seed}:{salt}:{src.id}")
        r.shuffle(xs)
        r.shuffle(ys)
        return [(masked[x.id].text, masked[y.id].text) for x, y in zip(xs, ys)][: int(cfg.n_shots)]

    def request(src: CleanExample, text: str, a: str, b: str, hop: str):
        sh = shots(src, a, b, hop)
        key = request_key(src.id, f"{BACKTRANSLATION}:{hop}", seed, text, *[x for p in sh for x in p])
        return key, _fit_prompt(lambda k: translation_prompt(text, a, b, sh[:k]), len(sh), n_tokens, budget)

    def other(a: str) -> str:
        return "es" if a == "en" else "en"

    out1 = generate([request(s, masked[s.id].text, language_of(s), other(language_of(s)), "hop1") for s in srcs])
    out2 = generate([request(s, cut_output(o), other(language_of(s)), language_of(s), "hop2") for s, o in zip(srcs, out1)])
    cands = []
    for src, o1, o2 in zip(srcs, out1, out2):
        a = language_of(src)
        route = f"{a}>{'es' if a == 'en' else 'en'}>{a}"
        c = Candidate(candidate_id(BACKTRANSLATION, src.id, seed), src.id, BACKTRANSLATION, route, src.patient_key,
                      src.task, dict(src.facts), "", src.response, a)
        if not cut_output(o1):
            c.error, c.detail = "generation_failed", "empty pivot translation"
            cands.append(c)
            continue
        cands.append(_restore(c, o2, masked[src.id].slots))
    return cands


def iter_methods(cands: Iterable[Candidate]) -> dict[str, int]:
    return dict(collections.Counter(c.method for c in cands))
