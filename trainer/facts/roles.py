"""Whether a fact is stated *in its role*, not just somewhere in the message.

The shared fact checker (trainer.facts.checks) says whether a value is stated anywhere. A
value can be stated and still wrong: a balance written as the insurer's payment, a due date
written as the visit date, the insurer signed as the billing team. Here a value must also sit
next to the words of its role: an amount owed next to words of owing, not of paying; a due date
next to "due/by/antes de", not "appointment"; an insurer next to "insurance/seguro".

A fact dictionary (the corpus ships one: trainer/assets/corpus/fact_dictionary.json) gives each
key a kind, a role (per task where a key changes role, e.g. appointment_date is a missed visit in
no_show_followup), how it must appear, and whether it is a key fact. Key facts default to every
stateable fact; a key opts out with key_fact=false. ROLE_CUES gives each checked role its cue
words in English and Spanish; `fact_in_role` holds the exact rule and `check_roles` applies it to
every key fact of one message. The dictionary is passed in, never loaded here: facts sit below
the data layer that owns the corpus files.
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping

import ml_collections

from trainer.facts.amounts import find_amounts, parse_amount
from trainer.facts.checks import fact_stated
from trainer.facts.config import default_config
from trainer.facts.contacts import find_phones, phone_digits
from trainer.facts.dates import date_matches, find_dates, parse_iso_date
from trainer.facts.names import person_stated
from trainer.facts.text import fold_aligned, words
from trainer.facts.times import find_times, parse_time, time_matches

Dictionary = Mapping[str, Mapping[str, Any]]

# Kinds of a dictionary entry and how a value of each must appear: by kind ("date": any date
# rendering trainer.facts reads, ...), "exact" (the words of the value, in order; case, accents
# and punctuation aside), "optional_mention" (may be stated, never required) or "never" (steers
# the message, never stated).
KINDS = ("date", "time", "phone", "email", "url", "amount", "person", "number", "text", "meta")
APPEARS = ("date", "time", "phone", "email", "url", "amount", "name", "count", "exact", "optional_mention",
           "never")
_APPEAR_OF_KIND = {"date": "date", "time": "time", "phone": "phone", "email": "email", "url": "url",
                   "amount": "amount", "person": "name", "number": "count", "text": "exact", "meta": "never"}
# Pair-level fields that clean examples carry as facts; they steer a message, never appear in it.
META_FACTS = ("language", "channel", "recipient")
# Person roles that may be written as title + surname ("Dr. Okafor" for "Dr. Amara Okafor").
CLINICIAN_ROLES = ("provider", "nurse")

# --------------------------------------------------------------------------------------------
# Roles

# Role -> (cue required?, cue regexes on accent-folded lower-case text, English and Spanish).
# A role with required=True must have one of its cues in the sentence that states the value; any
# checked role fails when a cue of a *competing* role (the role of another fact of the same kind in
# the same message) sits closer to the value than its own nearest cue.
_W = r"(?<![a-z])"
ROLE_CUES: dict[str, tuple[bool, tuple[str, ...]]] = {
    # amounts
    "amount_owed": (True, ("balance", "owe", "due", "remaining", "left", "leaves", "to pay", "outstanding", "still", "unpaid",
                           "saldo", "debe", "pendiente", "adeud", "por pagar", "restante", "queda", "falta")),
    "amount_paid": (True, ("paid", "payment", "received", "credited", "you sent", "pago", "pagó", "pago de",
                           "recibimos", "abon", "aplicamos", "pagaste")),
    "insurance_paid": (True, ("insurance", "insurer", "plan paid", "plan covered", "covered", "seguro",
                              "aseguradora", "cubri", "plan pag")),
    "amount_billed": (True, ("charge", "billed", "bill", "total", "cost", "statement", "cargo", "cobr", "costo",
                             "factura", "cuenta")),
    "copay": (True, ("copay", "co-pay", "copago")),
    "installment": (True, ("month", "installment", "payment plan", "each payment", "cuota", "mensual", "al mes",
                           "cada mes", "plan de pago", "por mes")),
    "deductible": (True, ("deductible", "deducible")),
    "adjustment": (True, ("discount", "adjust", "write-off", "written off", "financial assistance", "took off",
                          "removed", "reduc", "descuento", "ajuste", "asistencia", "ayuda financiera", "rebaj",
                          "quitamos")),
    "refund": (True, ("refund", "credit", "back to you", "reembolso", "devol", "credito", "a su favor")),
    "estimate": (True, ("estimate", "about", "expect", "cost", "estimad", "aproximad", "costo", "cuesta")),
    "fee": (True, ("fee", "charge", "cargo", "tarifa", "cuota")),
    # dates
    "visit_date": (False, ("appointment", "appt", "visit", "see you", "see dr", "scheduled", "booked", "procedure",
                          "surgery", "check-up", "checkup", "exam", "follow-up", "follow up", "session", "class",
                          "clinic", "come in", "coming in", "be seen", "telehealth", "video", "event", "see ",
                          "cita", "consulta", "visita", "lo esperamos", "la esperamos", "los esperamos",
                          "programad", "agendad", "procedimiento", "cirugia", "chequeo", "control", "examen",
                          "sesion", "clase", "nos vemos", "jornada", "clinica", "lo vemos", "la vemos")),
    "missed_visit_date": (True, ("missed", "miss", "weren't able", "were not able", "couldn't", "could not",
                                 "didn't", "did not", "no-show", "were scheduled", "was scheduled", "wasn't able", "had an appointment",
                                 "had you down", "no la vimos", "no lo vimos", "no vimos", "no pudieron",
                                 "no pudo", "no pudimos", "falt", "no asisti", "extrañamos", "extranamos",
                                 "perdi", "no llego", "tenia cita", "tenía", "estaba programad")),
    "deadline": (True, ("due", "by", "before", "no later", "deadline", "closes", "close", "until", "expire",
                        "open through", "through", "last day", "venc", "antes", "a mas tardar", "fecha limite",
                        "hasta", "cierra", "plazo", "ultimo dia", "para el")),
    "past_event_date": (True, ("discharg", "went home", "left the hospital", "hospital stay", "home from",
                               "since", "last", "were seen", "was seen", "alta", "salio", "salió",
                               "desde", "ultim", "estuvo", "previous", "anterior")),
    "ready_date": (True, ("ready", "pick up", "pickup", "pick it up", "available", "after", "starting", "ship",
                          "arrive", "deliver", "envi", "lleg", "entreg",
                          "recoger", "list", "disponible", "a partir", "desde", "pasar por")),
    "payment_date": (True, ("paid", "payment", "received", "pago", "recibimos", "pagó")),
    "statement_date": (True, ("statement", "bill", "invoice", "dated", "estado de cuenta", "factura", "fechad")),
    "service_date": (True, ("visit", "appointment", "service", "seen", "care on", "from your", "for your",
                            "came in", "coming in", "bringing", "in on", "session", "checkup", "check-up", "exam", "vino", "trajo",
                            "cita", "consulta", "servicio", "atencion", "visita")),
    "result_date": (True, ("result", "test", "lab", "drawn", "collected", "resultado", "prueba", "analisis",
                           "laboratorio", "muestra")),
    # times
    "visit_time": (False, ("appointment", "visit", "starts", "begins", "session", "class", "call", "cita",
                           "consulta", "empieza", "comienza", "sesion", "clase", "llamada")),
    "arrival_time": (True, ("arriv", "check in", "check-in", "get here", "be here", "come at", "come by",
                            "lleg", "registr", "este aqui", "presentese")),
    # phones
    "crisis_line": (True, ("crisis", "emergenc", "24", "urgent", "right away", "any time", "anytime", "hotline",
                           "urgencia", "cualquier hora", "linea de crisis", "de inmediato")),
    "pharmacy_phone": (True, ("pharmacy", "farmacia")),
    "billing_phone": (False, ("billing", "bill", "cobr", "factur", "pago", "payment", "account", "cuenta")),
    "interpreter_phone": (True, ("interpret", "language", "interprete", "idioma")),
    # names and organisations
    # what an insurer does to a claim counts too ("Cascade Health Plan paid", "lo negó"); a cue
    # inside the name ("... Health Plan") does not (fact_in_role)
    "insurer": (True, ("insurance", "insurer", "plan", "coverage", "covered", "claim", "billed", "paid", "denied",
                       "seguro", "aseguradora", "cobertura", "cubr", "reclamo", "facturamos", "pagó", "negó")),
}


def role_of(entry: Mapping[str, Any], task: str) -> str:
    return str(entry.get("role_by_task", {}).get(task) or entry.get("role") or "")


def _cue_spans(role: str, folded: str) -> list[tuple[int, int]]:
    spans = []
    for cue in ROLE_CUES.get(role, (False, ()))[1]:
        cue_f = fold_aligned(cue)
        for m in re.finditer(_W + re.escape(cue_f), folded):
            spans.append((m.start(), m.end()))
    return spans


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence (or line) around [start, end): ends at ., ! or ? plus a space, or a line break."""
    # "a las 8:30 a.m. no llegó": the period of a.m./p.m. ends a sentence only before a capital
    boundary = re.compile(r"\n|(?<!\bDr)(?<!\bDra)(?<!\bMr)(?<!\bMrs)(?<!\bMs)(?<!\bSr)(?<!\bSra)(?<!\bSt)"
                          r"(?:(?<![ap]\.m)[.!?](?=\s)|(?<=[ap]\.m)\.(?=\s+[^\sa-z]))")
    left = 0
    for m in boundary.finditer(text, 0, start):
        left = m.end()
    m = boundary.search(text, end)
    right = m.start() if m else len(text)
    return left, right


_CLAUSE_BREAK = re.compile(r"[,;:(—]\s|\s(?:and|but|y|pero|so|then|luego)\s")


def _clause_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around [start, end) inside its sentence: commas, semicolons, colons, dashes and
    the words and/but/y/pero/so end one (separators inside the value itself do not count)."""
    lo, hi = _sentence_bounds(text, start, end)
    left = lo
    for m in _CLAUSE_BREAK.finditer(text, lo, start):
        left = m.end()
    m = _CLAUSE_BREAK.search(text, end, hi)
    return left, (m.start() if m else hi)


def _distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    if a[1] <= b[0]:
        return b[0] - a[1]
    if b[1] <= a[0]:
        return a[0] - b[1]
    return 0


def value_spans(kind: str, key: str, value: Any, text: str, lang: str = "en") -> list[tuple[int, int]]:
    """Where `text` states the value (character spans), by the value's kind."""
    s = str(value).strip()
    spans: list[tuple[int, int]] = []
    if kind == "date":
        d = parse_iso_date(s)
        if d:
            spans = [(m.start, m.start + len(m.text)) for m in find_dates(text, lang) if m.month and date_matches(m, d)]
    elif kind == "time":
        hm = parse_time(s)
        if hm:
            spans = [(m.start, m.start + len(m.text)) for m in find_times(text) if time_matches(m, hm)]
    elif kind == "amount":
        v = str(parse_amount(value))
        spans = [(m.start, m.start + len(m.text)) for m in find_amounts(text, include_bare=True) if m.value == v]
    elif kind == "phone":
        digits = phone_digits(s)
        spans = [(m.start, m.start + len(m.text)) for m in find_phones(text) if m.value[-7:] == digits[-7:]]
    if spans or kind in ("date", "time", "amount", "phone"):
        return spans
    # Words of the value in order (case, accents and punctuation aside); a title may stand for
    # the first name ("Dr. Okafor" for "Dr. Amara Okafor").
    toks = words(s)
    folded = fold_aligned(text)
    candidates = [toks]
    if len(toks) >= 3:
        candidates.append([toks[0]] + toks[2:])
    for cand in candidates:
        if not cand:
            continue
        pattern = r"(?<![a-z0-9])" + r"[^a-z0-9]+".join(re.escape(t) for t in cand) + r"(?![a-z0-9])"
        spans += [(m.start(), m.end()) for m in re.finditer(pattern, folded)]
    return spans


def fact_in_role(key: str, value: Any, role: str, kind: str, text: str, lang: str = "en",
                 competing_roles: Iterable[str] = ()) -> bool | None:
    """Whether `text` states `key`=`value` in its role; None when the role is not checked.

    The rule, per mention of the value (see value_spans), first within its clause, then within its
    sentence (a mention passes when either passes):
    - own cues: the cue words of `role` (ROLE_CUES); competing cues: those of `competing_roles`
      (roles of the other facts of the same kind in this message) that are not also own cues;
    - the mention is in role when an own cue is in the sentence and no competing cue is nearer
      to the value than the nearest own cue; for a role whose cue is not required, a mention with
      no cue of either kind in its sentence is also in role.
    The fact is in role when at least one of its mentions is. Distances are in characters.
    """
    if role not in ROLE_CUES:
        return None
    required = ROLE_CUES[role][0]
    own_words = {fold_aligned(c) for c in ROLE_CUES[role][1]}
    folded = fold_aligned(text)
    own = _cue_spans(role, folded)
    comp = []
    for r in set(competing_roles) - {role}:
        comp += [sp for sp in _cue_spans(r, folded) if folded[sp[0]:sp[1]] not in own_words]
    spans = value_spans(kind, key, value, text, lang)
    for span in spans:
        # A cue inside the value itself says nothing about its role: "Bluepeak Health Plan billing
        # team" names the insurer as the sender, whatever "Plan" suggests.
        outside = [c for c in own if not (span[0] <= c[0] and c[1] <= span[1])]
        comp_out = [c for c in comp if not (span[0] <= c[0] and c[1] <= span[1])]
        # the clause first ("the charge was $186.00, insurance paid $173.60"), then the sentence
        for lo, hi in (_clause_bounds(text, *span), _sentence_bounds(text, *span)):
            own_d = [_distance(span, c) for c in outside if lo <= c[0] and c[1] <= hi]
            comp_d = [_distance(span, c) for c in comp_out if lo <= c[0] and c[1] <= hi]
            if own_d and (not comp_d or min(own_d) <= min(comp_d)):
                return True
        if not required and not own_d and not comp_d:
            return True
    return False


# --------------------------------------------------------------------------------------------
# The dictionary


def kind_of(key: str, dictionary: Dictionary) -> str:
    entry = dictionary.get(key) or {}
    return str(entry.get("kind") or "text")


def appears_of(entry: Mapping[str, Any]) -> str:
    return str(entry.get("appears") or _APPEAR_OF_KIND.get(str(entry.get("kind")), "exact"))


def is_key_fact(entry: Mapping[str, Any]) -> bool:
    """Key facts default to every stateable fact; a dictionary entry opts out with key_fact=false."""
    if appears_of(entry) in ("optional_mention", "never") or entry.get("kind") == "meta":
        return False
    return bool(entry.get("key_fact", True))


def dictionary_config(dictionary: Dictionary, base: ml_collections.ConfigDict | None = None
                      ) -> ml_collections.ConfigDict:
    """trainer.facts settings that read each key's kind from the dictionary (a copy of `base`)."""
    cfg = ml_collections.ConfigDict(base.to_dict()) if base is not None else default_config()
    overrides = {k: ("skip" if e.get("kind") == "meta" else e.get("kind", "text")) for k, e in dictionary.items()}
    for k in META_FACTS:
        overrides.setdefault(k, "skip")
    cfg.kind_overrides = ml_collections.ConfigDict(overrides)
    cfg.key_facts = ml_collections.ConfigDict()  # every stateable fact, filtered by the dictionary
    return cfg


def stated_as_documented(key: str, value: Any, entry: Mapping[str, Any], text: str, lang: str,
                         cfg: ml_collections.ConfigDict) -> bool:
    """trainer.facts.fact_stated, except that a clinician role (dictionary) allows title + surname."""
    if entry.get("kind") == "person" and entry.get("role") in CLINICIAN_ROLES:
        return person_stated(str(value), text, True)
    return fact_stated(key, value, text, lang, cfg)


def documented(facts: Mapping[str, Any], dictionary: Dictionary) -> bool:
    """Whether every fact key (meta facts aside) is in the dictionary: only then is a role check fair."""
    keys = [k for k in facts if k not in META_FACTS]
    return bool(keys) and all(k in dictionary for k in keys)


# --------------------------------------------------------------------------------------------
# One message


@dataclasses.dataclass
class RoleCheck:
    """Key facts of one message: stated in their role, stated in another role, or not stated."""

    in_role: list[str]
    wrong_role: list[str]
    missing: list[str]

    @property
    def key_facts(self) -> int:
        return len(self.in_role) + len(self.wrong_role) + len(self.missing)

    @property
    def rate(self) -> float | None:
        return len(self.in_role) / self.key_facts if self.key_facts else None


def check_roles(text: str, task: str, facts: Mapping[str, Any], dictionary: Dictionary,
                cfg: ml_collections.ConfigDict | None = None, lang: str | None = None) -> RoleCheck:
    """Every key fact (dictionary) of `facts`: stated as the dictionary says, and in its role.

    A key fact whose role has no cue words (ROLE_CUES) counts as in role once stated. Keys the
    dictionary does not document are skipped; `documented()` tells whether any were. `cfg`
    should come from dictionary_config (kinds read from the dictionary).
    """
    cfg = cfg if cfg is not None else dictionary_config(dictionary)
    lang = lang or str(facts.get("language") or "en")
    roles_by_kind: dict[str, list[tuple[str, str]]] = {}
    for k in facts:
        if k in dictionary and k not in META_FACTS:
            roles_by_kind.setdefault(kind_of(k, dictionary), []).append((k, role_of(dictionary[k], task)))
    out = RoleCheck([], [], [])
    for k, v in facts.items():
        entry = dictionary.get(k)
        if k in META_FACTS or entry is None or not is_key_fact(entry):
            continue
        if not stated_as_documented(k, v, entry, text, lang, cfg):
            out.missing.append(k)
            continue
        kind = kind_of(k, dictionary)
        role = role_of(entry, task)
        competing = [r for kk, r in roles_by_kind.get(kind, ()) if kk != k and r != role]
        (out.wrong_role if fact_in_role(k, v, role, kind, text, lang, competing) is False else out.in_role).append(k)
    return out
