"""Money amounts in messages ("$1,234.50", "120,50 $", "120.50 dólares"), compared in cents."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from trainer.facts.text import Mention

_NUM = r"\d{1,3}(?:[,.]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_CUR_AFTER = r"(?:usd\b|us\$|\$|dollars?\b|d[oó]lares\b|dls\b)"
_AMOUNT_PATTERNS = [
    re.compile(rf"(?:us)?\$\s?(?P<n>{_NUM})(?![\d])", re.I),
    re.compile(rf"(?<![\d.,])(?P<n>{_NUM})\s?{_CUR_AFTER}", re.I),
]
# Without a currency sign only two decimals make a number money: "120.50", not "120".
_BARE_DECIMAL = re.compile(r"(?<![\d.,:/$])(?P<n>\d{1,3}(?:,\d{3})*\.\d{2}|\d+\.\d{2})(?![\d.,])")


def parse_amount(text: Any) -> Decimal | None:
    """'$1,234.50', '1.234,50', 120.5 -> Decimal('1234.50') style values (cents precision)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return Decimal(str(text)).quantize(Decimal("0.01"))
    s = re.sub(r"(?i)us\$|usd|\$|dollars?|d[oó]lares|\s", "", str(text))
    if not re.fullmatch(rf"{_NUM}", s):
        return None
    m = re.search(r"[.,](\d{1,2})$", s)
    if m:
        whole, cents = s[:m.start()], m[1]
    else:
        whole, cents = s, "0"
    whole = re.sub(r"[.,]", "", whole)
    try:
        return Decimal(f"{int(whole)}.{cents.ljust(2, '0')}")
    except (InvalidOperation, ValueError):
        return None


def find_amounts(text: str, include_bare: bool = False) -> list[Mention]:
    """Money mentions; bare two-decimal numbers ("120.50") only when include_bare."""
    found: list[Mention] = []
    spans: list[tuple[int, int]] = []
    patterns = list(_AMOUNT_PATTERNS) + ([_BARE_DECIMAL] if include_bare else [])
    for pattern in patterns:
        for m in pattern.finditer(text):
            if any(not (m.end() <= a or m.start() >= b) for a, b in spans):
                continue
            value = parse_amount(m["n"])
            if value is not None:
                spans.append((m.start(), m.end()))
                found.append(Mention(m[0], m.start(), str(value)))
    return sorted(found, key=lambda a: a.start)
