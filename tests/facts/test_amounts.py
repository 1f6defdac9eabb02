"""Money amounts in US and Spanish formats, compared in cents."""
from decimal import Decimal

import pytest

from tests.facts.helpers import stated
from trainer import facts as F


@pytest.mark.parametrize("value", ["$120.50", "120.50", 120.5])
@pytest.mark.parametrize("output", [
    "Your balance is 120.50 USD.", "Balance: $120.50.", "US$120.50 due", "Su saldo es de 120,50 $.",
    "Su saldo es de 120.50 dólares.", "balance of $ 120.50",
])
def test_amount_stated(value, output):
    assert stated("balance_amount", value, output)


@pytest.mark.parametrize("output", ["Balance: $120.05.", "Balance: $1,120.50.", "Balance: $12.05", "Balance: $121"])
def test_amount_not_stated(output):
    assert not stated("balance_amount", "$120.50", output)


def test_parse_amount_reads_both_decimal_marks():
    assert F.parse_amount("$1,234.50") == F.parse_amount("1.234,50") == Decimal("1234.50")
    assert F.parse_amount(120.5) == Decimal("120.50")
    assert F.parse_amount(True) is None and F.parse_amount("twelve") is None
