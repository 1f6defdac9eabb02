"""`format_prompt(task, facts)` rebuilt from TensorFlow string ops, for the serving graph.

A request string is either a ready prompt (used as it is) or a JSON object
`{"task": "...", "facts": {...}, ...}`; the graph turns the JSON into exactly the text
`trainer.data.prompts.format_prompt(task, facts)` gives for `json.loads` of it, so callers need
no project code. Only core TensorFlow ops are used (regex, split, unicode, sort by code point).

What counts as a JSON request: the string, less JSON whitespace at both ends, starts with `{` and
ends with `}`. It must then be an object with a string `task` and an object `facts` whose values
are strings, numbers, booleans or null; other top-level keys are ignored. Anything else is an
InvalidArgument error that says what was wrong (never a silently wrong prompt).

Exactness contract (tests compare against the Python function on generated and hand-written
requests): duplicate keys keep the last value, as `json.loads` does; `\\uXXXX` escapes and
surrogate pairs are decoded; integers keep all their digits; a number with a fraction or an
exponent is printed as Python's `repr(float)` prints it (shortest round-trip digits), overflow
included ("inf"). Subnormal numbers (below 2.2e-308) are refused, because TensorFlow prints them
as zero; a lone surrogate escape becomes U+FFFD (Python cannot encode it at all).
"""
from __future__ import annotations

from typing import Mapping

import tensorflow as tf

from trainer import tasks
from trainer.data import prompts as py_prompts
from trainer.util.calendar import WEEKDAYS_EN

_WS = "[ \\t\\n\\r]*"  # JSON whitespace
_STR = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"'
_NUM = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
_SCALAR = f"(?:{_STR}|{_NUM}|true|false|null)"
_FLAT_OBJECT = f"\\{{{_WS}(?:{_STR}{_WS}:{_WS}{_SCALAR}{_WS}(?:,{_WS}{_STR}{_WS}:{_WS}{_SCALAR}{_WS})*)?\\}}"
_VALUE = f"(?:{_SCALAR}|{_FLAT_OBJECT})"
_REQUEST = f"{_WS}\\{{{_WS}(?:{_STR}{_WS}:{_WS}{_VALUE}{_WS}(?:,{_WS}{_STR}{_WS}:{_WS}{_VALUE}{_WS})*)?\\}}{_WS}"
_LOOKS_LIKE_JSON = f"{_WS}\\{{(?s:.*)\\}}{_WS}"
_TOKEN = f"{_WS}({_STR}|{_NUM}|true|false|null|[{{}}:,]){_WS}"
_ESCAPE = (
    r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"  # surrogate pair
    r"|\\u[0-9a-fA-F]{4}|\\[\"\\/bfnrt]"
)
_SIMPLE_ESCAPES = {'\\"': '"', "\\\\": "\\", "\\/": "/", "\\b": "\b", "\\f": "\f", "\\n": "\n", "\\r": "\r", "\\t": "\t"}
# Python's str.split() splits on every character for which str.isspace() is true.
_PY_SPACE = "[" + "".join(f"\\x{{{c:x}}}" for c in range(0x110000) if chr(c).isspace()) + "]"
_SEP = "\x01"  # cannot occur unescaped inside valid JSON, so it can delimit tokens
_ZEROS = "0" * 400


def _substr(text: tf.Tensor, pos, length) -> tf.Tensor:
    """tf.strings.substr with scalar or per-element pos/len (Substr wants equal shapes)."""
    text = tf.convert_to_tensor(text)
    shape = tf.shape(text)
    pos = tf.broadcast_to(tf.cast(pos, tf.int32), shape)
    length = tf.broadcast_to(tf.cast(length, tf.int32), shape)
    return tf.strings.substr(text, pos, length)


def _decode_json_strings(tokens: tf.Tensor) -> tf.Tensor:
    """JSON string tokens (with quotes, already validated) -> decoded UTF-8 strings."""
    content = _substr(tokens, 1, tf.strings.length(tokens) - 2)
    marked = tf.strings.regex_replace(content, _ESCAPE, _SEP + "\\0" + _SEP)
    pieces = tf.strings.split(marked, _SEP)  # ragged [n, pieces]
    flat = pieces.flat_values
    is_unicode = _substr(flat, 0, 2) == "\\u"
    is_pair = tf.strings.length(flat) == 12

    def hex4(start):
        # Padded so that substr never starts past the end of a short (non-escape) piece.
        chars = tf.strings.unicode_decode(_substr(flat + "0" * 12, start, 4), "UTF-8").to_tensor(
            default_value=48, shape=[None, 4]
        )
        digits = tf.where(chars <= 57, chars - 48, tf.bitwise.bitwise_or(chars, 32) - 87)
        return tf.reduce_sum(digits * tf.constant([4096, 256, 16, 1], tf.int32), axis=1)

    high, low = hex4(2), hex4(8)
    code = tf.where(is_pair, 0x10000 + (high - 0xD800) * 1024 + (low - 0xDC00), high)
    lone_surrogate = tf.logical_and(tf.logical_not(is_pair), tf.logical_and(code >= 0xD800, code <= 0xDFFF))
    code = tf.where(lone_surrogate, 0xFFFD, code)
    from_unicode = tf.strings.unicode_encode(code[:, None], "UTF-8")
    decoded = flat
    for escape, char in _SIMPLE_ESCAPES.items():
        decoded = tf.where(flat == escape, char, decoded)
    decoded = tf.where(is_unicode, from_unicode, decoded)
    return tf.strings.reduce_join(pieces.with_flat_values(decoded), axis=1)


def _collapse_whitespace(text: tf.Tensor) -> tf.Tensor:
    """`" ".join(text.split())` of Python, elementwise."""
    text = tf.strings.regex_replace(text, _PY_SPACE + "+", " ")
    return tf.strings.regex_replace(text, "^ | $", "")


def _format_numbers(tokens: tf.Tensor, keys: tf.Tensor) -> tf.Tensor:
    """JSON number tokens -> `str()` of what `json.loads` makes of them (int or float).

    Integers keep their digits. Floats get Python's repr: the fewest significant digits (1..17)
    whose correctly rounded value reads back as the same double, printed fixed for exponents
    -4..15 and as d.ddde+XX otherwise.
    """
    is_int = tf.logical_not(tf.strings.regex_full_match(tokens, r".*[.eE].*"))
    negative = _substr(tokens, 0, 1) == "-"
    value = tf.strings.to_number(tf.where(is_int, "0", tokens), tf.float64)
    magnitude = tf.abs(value)
    # Zero is decided on the text: TensorFlow's CPU kernels treat subnormals as zero
    # (flush-to-zero), so they are refused rather than printed wrongly.
    is_zero = tf.strings.regex_full_match(tokens, "-?[0.]*([eE].*)?")
    is_inf = tf.math.is_inf(value)
    subnormal = tf.logical_and(tf.logical_not(is_zero), magnitude < 2.2250738585072014e-308)
    tf.debugging.Assert(
        tf.reduce_all(tf.logical_or(is_int, tf.logical_not(subnormal))),
        ["facts number too close to zero to format exactly; send it as a string. Key(s):",
         tf.boolean_mask(keys, tf.logical_and(tf.logical_not(is_int), subnormal))],
        summarize=20,
    )
    shortest = tf.fill(tf.shape(tokens), "")
    for precision in range(16, -1, -1):  # the last one that round-trips is the shortest
        text = tf.strings.as_string(magnitude, precision=precision, scientific=True)
        round_trips = tf.equal(tf.strings.to_number(text, tf.float64), magnitude)
        shortest = tf.where(round_trips, text, shortest)
    shortest = tf.where(tf.logical_or(is_zero, is_inf), "1e+00", shortest)
    sig = tf.strings.regex_replace(tf.strings.regex_replace(shortest, "e.*|[.]", ""), "0+$", "")
    sig = tf.where(sig == "", "0", sig)
    x = tf.strings.to_number(tf.strings.regex_replace(shortest, "^.*e[+]?", ""), tf.int32)
    n = tf.strings.length(sig)
    xp = tf.maximum(x, 0)
    fixed_big = tf.where(
        n <= x + 1,
        sig + _substr(tf.fill(tf.shape(sig), _ZEROS), 0, tf.maximum(x + 1 - n, 0)) + ".0",
        _substr(sig, 0, xp + 1) + "." + _substr(sig, tf.minimum(xp + 1, n), n),
    )
    fixed_small = "0." + _substr(tf.fill(tf.shape(sig), _ZEROS), 0, tf.maximum(-x - 1, 0)) + sig
    fixed = tf.where(x >= 0, fixed_big, fixed_small)
    mant = tf.where(n > 1, _substr(sig, 0, 1) + "." + _substr(sig, tf.minimum(n, 1), n), sig)
    scientific = mant + "e" + tf.where(x < 0, "-", "+") + tf.strings.as_string(tf.abs(x), width=2, fill="0")
    as_float = tf.where((x >= -4) & (x < 16), fixed, scientific)
    as_float = tf.where(is_zero, "0.0", tf.where(is_inf, "inf", as_float))
    as_int = tf.where(tokens == "-0", "0", tokens)
    return tf.where(is_int, as_int, tf.where(negative, "-", "") + as_float)


def _with_weekday(text: tf.Tensor) -> tf.Tensor:
    """Appends " (Weekday)" to values that are ISO calendar dates, as `prompts.format_fact_value` does.

    Days since 1970-01-01 by H. Hinnant's days_from_civil (proleptic Gregorian, years 1..9999 as
    Python's datetime.date); 1970-01-01 was a Thursday (Python weekday 3).
    """
    is_date = tf.strings.regex_full_match(text, "[0-9]{4}-[0-9]{2}-[0-9]{2}")
    safe = tf.where(is_date, text, "2000-01-01")
    year = tf.strings.to_number(_substr(safe, 0, 4), tf.int64)
    month = tf.strings.to_number(_substr(safe, 5, 2), tf.int64)
    day = tf.strings.to_number(_substr(safe, 8, 2), tf.int64)
    leap = tf.logical_and(year % 4 == 0, tf.logical_or(year % 100 != 0, year % 400 == 0))
    month_days = tf.gather(tf.constant([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], tf.int64), tf.clip_by_value(month - 1, 0, 11))
    month_days += tf.cast(tf.logical_and(leap, month == 2), tf.int64)
    valid = is_date & (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    y = year - tf.cast(month <= 2, tf.int64)
    era = tf.math.floordiv(y, 400)
    year_of_era = y - era * 400
    day_of_year = (153 * tf.math.floormod(month + 9, 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    weekday = tf.gather(tf.constant(WEEKDAYS_EN), tf.math.floormod(days + 3, 7))
    return tf.where(valid, text + " (" + weekday + ")", text)


def _code_point_order(keys: tf.Tensor) -> tf.Tensor:
    """Rank of each (distinct) key in Python's `sorted` order (by code point)."""
    cps = tf.strings.unicode_decode(keys, "UTF-8").to_tensor(default_value=-1)
    n = tf.shape(cps)[0]
    width = tf.maximum(tf.shape(cps)[1], 1)
    cps = tf.pad(cps, [[0, 0], [0, width - tf.shape(cps)[1]]], constant_values=-1)
    a, b = cps[:, None, :], cps[None, :, :]
    differs = a != b
    first = tf.argmax(tf.cast(differs, tf.int32), axis=2, output_type=tf.int32)
    a_at = tf.gather(tf.broadcast_to(a, [n, n, width]), first, axis=2, batch_dims=2)
    b_at = tf.gather(tf.broadcast_to(b, [n, n, width]), first, axis=2, batch_dims=2)
    less = tf.logical_and(tf.reduce_any(differs, axis=2), a_at < b_at)  # less[i, j]: key i < key j
    return tf.reduce_sum(tf.cast(less, tf.int32), axis=0)  # how many keys sort before key j


def _check(condition, message: str, row):
    # The error names the row of the batch, never the request's text: requests hold patient
    # names, MRNs and birth dates, and servers log error messages.
    return tf.debugging.Assert(condition, [message, "(request row", row, "of the batch; its text is not repeated here)"],
                               summarize=1)


def check_rows(row_ok: tf.Tensor, message: str):
    """Asserts that every row of a batch is acceptable ([B] bool); the InvalidArgument error names
    the first bad row and never its content. Returns the op, for control dependencies."""
    row_ok = tf.convert_to_tensor(row_ok, tf.bool)
    # A 0 after the rows keeps argmin defined for an empty batch (and unused when all rows are ok).
    first_bad = tf.argmin(tf.concat([tf.cast(row_ok, tf.int32), [0]], axis=0), output_type=tf.int32)
    return _check(tf.reduce_all(row_ok), message, first_bad)


def _json_request_to_prompt(request: tf.Tensor, task_lines: tf.Tensor, task_names: tf.Tensor,
                            row: tf.Tensor | int = -1) -> tf.Tensor:
    _check(
        tf.strings.regex_full_match(request, _REQUEST),
        'request looks like JSON but is not an object {"task": string, "facts": {key: string|number|'
        "bool|null}} (nested objects other than facts, arrays, bad escapes and trailing commas are refused).",
        row,
    )
    marked = tf.strings.regex_replace(request, _TOKEN, "\\1" + _SEP)
    tokens = tf.strings.split(marked, _SEP)[:-1]
    count = tf.shape(tokens)[0]
    opens = tf.cast(tokens == "{", tf.int32)
    closes = tf.cast(tokens == "}", tf.int32)
    depth = tf.math.cumsum(opens - closes, exclusive=True)  # depth before each token
    next_is_colon = tf.concat([tokens[1:] == ":", [False]], axis=0)
    is_key = tf.logical_and(_substr(tokens, 0, 1) == '"', next_is_colon)
    positions = tf.range(count)
    value_of = tf.minimum(positions + 2, count - 1)

    top_keys = tf.logical_and(is_key, depth == 1)
    top_names = tf.where(top_keys, _decode_json_strings(tf.where(top_keys, tokens, '""')), "")

    def last_key(name):
        # Kept in range even when the key is missing, so only the Assert below reports it.
        hits = tf.boolean_mask(positions, tf.logical_and(top_keys, top_names == name))
        _check(tf.size(hits) > 0, f'JSON request has no "{name}" key.', row)
        return tf.gather(value_of, tf.reduce_max(tf.concat([[0], hits], axis=0)))

    task_at, facts_at = last_key("task"), last_key("facts")
    task_token = tokens[task_at]
    _check(_substr(task_token, 0, 1) == '"', '"task" must be a JSON string.', row)
    _check(tokens[facts_at] == "{", '"facts" must be a JSON object.', row)
    task = _decode_json_strings(task_token[None])[0]

    # The facts object runs from its "{" to the first "}" after it (facts objects are flat).
    facts_end = tf.reduce_min(tf.boolean_mask(positions, tf.logical_and(closes > 0, positions > facts_at)))
    in_facts = tf.logical_and(positions > facts_at, positions < facts_end)
    fact_at = tf.boolean_mask(positions, tf.logical_and(is_key, in_facts))
    keys = _decode_json_strings(tf.gather(tokens, fact_at))
    values = tf.gather(tokens, tf.gather(value_of, fact_at))
    # json.loads keeps the last value of a repeated key.
    index = tf.range(tf.shape(keys)[0])
    later_same = tf.logical_and(keys[:, None] == keys[None, :], index[:, None] < index[None, :])
    keep = tf.logical_not(tf.reduce_any(later_same, axis=1))
    keys, values = tf.boolean_mask(keys, keep), tf.boolean_mask(values, keep)

    first = _substr(values, 0, 1)
    is_string = first == '"'
    is_number = tf.strings.regex_full_match(values, _NUM)
    text = tf.where(is_string, _with_weekday(_collapse_whitespace(_decode_json_strings(tf.where(is_string, values, '""')))), "")
    number = tf.where(is_number, _format_numbers(tf.where(is_number, values, "0"), keys), "")
    formatted = tf.where(
        is_string,
        text,
        tf.where(is_number, number, tf.where(values == "true", "yes", tf.where(values == "false", "no", "None"))),
    )

    rank = _code_point_order(keys)
    leading = py_prompts.LEADING_FACTS
    sort_key = rank
    for i, name in enumerate(leading):
        sort_key = tf.where(keys == name, i - len(leading), sort_key)
    order = tf.argsort(sort_key, stable=True)
    lines = tf.strings.reduce_join("- " + tf.gather(keys, order) + ": " + tf.gather(formatted, order) + "\n")
    description = tf.strings.reduce_join(tf.where(task_names == task, task_lines, ""))
    return "### Task: " + task + "\n" + description + "### Facts:\n" + lines + py_prompts.RESPONSE_MARKER


def format_prompts(requests: tf.Tensor, task_descriptions: Mapping[str, str] | None = None) -> tf.Tensor:
    """[B] request strings -> [B] prompts; JSON requests become `format_prompt(task, facts)`."""
    descriptions = dict(tasks.descriptions() if task_descriptions is None else task_descriptions)
    task_names = tf.constant(list(descriptions) or [""], tf.string)
    task_lines = tf.constant([d + "\n" for d in descriptions.values()] or [""], tf.string)
    if not descriptions:
        task_names = tf.constant(["\x00never a task"], tf.string)

    # Plain graph code: autograph has nothing to convert and would only slow tracing down.
    @tf.autograph.experimental.do_not_convert
    def one(request_and_row):
        request, row = request_and_row
        is_json = tf.strings.regex_full_match(request, _LOOKS_LIKE_JSON)
        return tf.cond(is_json, lambda: _json_request_to_prompt(request, task_lines, task_names, row),
                       lambda: request)

    requests = tf.convert_to_tensor(requests, tf.string)
    rows = tf.range(tf.shape(requests)[0])
    return tf.map_fn(one, (requests, rows), fn_output_signature=tf.TensorSpec([], tf.string))


# Requests that touch every part of the template; export checks the graph against Python on them.
_SELF_CHECK = (
    {"task": "appointment_reminder", "facts": {"preferred_name": "Ana  María", "language": "es", "channel": "sms",
                                               "appointment_date": "2026-03-04", "refill_count": 2, "x": True}},
    {"task": "custom_task", "facts": {}},
    {"task": "billing_question_reply", "facts": {"balance_amount": 125.5, "due": None, "zeta": False, "Alpha": "b"}},
)


def check_matches_python() -> None:
    """Raises if the graph no longer builds what trainer.data.prompts.format_prompt builds
    (the template is re-implemented here, so a change there must be mirrored)."""
    import json

    requests = [json.dumps(r, ensure_ascii=False) for r in _SELF_CHECK]
    got = format_prompts(tf.constant(requests)).numpy()
    for request, prompt in zip(_SELF_CHECK, got):
        expected = py_prompts.format_prompt(request["task"], request["facts"])
        if prompt.decode("utf-8") != expected:
            raise AssertionError(
                "trainer/export/prompt_graph.py is out of date with trainer.data.prompts.format_prompt: "
                f"graph gave {prompt.decode('utf-8')!r}, Python gives {expected!r}"
            )
