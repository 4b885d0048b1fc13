"""Cells the adversarial testers found mishandled: amounts and counts beyond what the
database stores, waybill cells in the forms sellers and Excel make, duplicate
waybills within one order, and carrier wishes read backwards."""
from __future__ import annotations

from decimal import Decimal

import pytest

from imports.cells import BadCell, integer, money


@pytest.mark.parametrize("cell", ["4183650000000000092", "1e400", "1E+30", "-1E+12", 1e300, 10**20])
def test_an_amount_beyond_any_order_is_out_of_range(cell):
    with pytest.raises(BadCell, match="金额超出范围"):
        money(cell)


@pytest.mark.parametrize("cell", ["NaN", "Infinity", "-inf", "sNaN", float("inf"), float("nan")])
def test_nan_and_infinity_are_not_amounts(cell):
    with pytest.raises(BadCell, match="金额无法识别"):
        money(cell)


def test_the_largest_plausible_amount_still_fits():
    assert money("9999999999.99") == Decimal("9999999999.99")


@pytest.mark.parametrize("cell", ["99999999999999999999", "100000000", 10**12, 1e20, "2e9件"])
def test_a_count_beyond_the_integer_column_is_out_of_range(cell):
    with pytest.raises(BadCell, match="数量超出范围"):
        integer(cell)


@pytest.mark.parametrize("cell", ["1e400", "inf", float("nan")])
def test_nan_and_infinite_counts_are_not_whole_numbers(cell):
    with pytest.raises(BadCell, match="数量无法识别"):
        integer(cell)
