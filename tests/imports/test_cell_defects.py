"""Cells the adversarial testers found mishandled: amounts and counts beyond what the
database stores, waybill cells in the forms sellers and Excel make, duplicate
waybills within one order, and carrier wishes read backwards."""
from __future__ import annotations

import unicodedata
from decimal import Decimal

import pytest

from exportfiles import DOUYIN_HEADER, douyin_order_row, taobao_order_row, write_csv, write_taobao_orders_csv
from imports import RowError, ShipmentRef, carrier_request, open_export
from imports.cells import (BadCell, column_converter, express_text, integer, money, order_shipments, shipments,
                           shipments_column, waybill_text)


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


# --- waybill cells ---------------------------------------------------------------------

@pytest.mark.parametrize(("cell", "expected"), [
    ("中通快递:73100000000008;圆通速递:YT1234567890123",
     [("73100000000008", "zto", "中通快递"), ("YT1234567890123", "yto", "圆通速递")]),
    ("中通:73100000000008", [("73100000000008", "zto", "中通")]),
    ("中通快递 73100000000008", [("73100000000008", "zto", "中通快递")]),
    ("73100000000008(中通快递)", [("73100000000008", "zto", "中通快递")]),
    ("73100000000008 （中通快递）", [("73100000000008", "zto", "中通快递")]),
    ("73100000000008(已签收)", [("73100000000008", "yunda", "韵达快递")]),  # a note, not a carrier
    ("运单号：73100000000008", [("73100000000008", "yunda", "韵达快递")]),
    ("SF1234567890123|SF1234567890124", [("SF1234567890123", "yunda", "韵达快递"),
                                         ("SF1234567890124", "yunda", "韵达快递")]),
    ("YT1234567890123;YT1234567890123", [("YT1234567890123", "yunda", "韵达快递")]),
    ("73100000000008;中通:73100000000008", [("73100000000008", "yunda", "韵达快递")]),  # the first wins
])
def test_waybill_cells_as_sellers_write_them(cell, expected):
    want = tuple(ShipmentRef(*e) for e in expected)
    assert shipments(cell, "韵达快递") == want
    assert shipments_column([cell], ["韵达快递"]) == [want]
    assert waybill_text(cell) == unicodedata.normalize("NFKC", cell)  # full-width colons, brackets made half-width


@pytest.mark.parametrize("cell", ["7.30203E+13", "4.62599E+14", "7.31E+13", "73100000000008,7.31E+13", 7.31e15])
def test_a_waybill_excel_made_scientific_is_a_bad_cell(cell):
    with pytest.raises(BadCell, match="Excel"):
        waybill_text(cell)
    with pytest.raises(BadCell, match="Excel"):
        column_converter(waybill_text)(["73100000000001", cell])


@pytest.mark.parametrize("cell", ["12", "YT1；YT2", "73100000000008号"])
def test_digits_that_form_no_waybill_are_a_bad_cell(cell):
    with pytest.raises(BadCell, match="物流单号无法识别"):
        waybill_text(cell)
    with pytest.raises(BadCell, match="物流单号无法识别"):
        column_converter(waybill_text)(["73100000000001", cell])


@pytest.mark.parametrize("cell", ["自提", "无需物流", "无", "", "-"])
def test_a_cell_without_digits_is_no_parcel_not_an_error(cell):
    assert waybill_text(cell) == (cell if cell in ("自提", "无需物流") else None)
    assert shipments(waybill_text(cell), "中通快递") == ()


@pytest.mark.parametrize(("cell", "waybill"), [
    ("ＹＴ１２３４５６７８９０１２３", "YT1234567890123"),  # typed with a Chinese input method
    ("7310000000000１", "73100000000001"),
    ("yt1234567890123", "YT1234567890123"),  # the same parcel as its printed label, not a second one
])
def test_waybills_are_taken_as_couriers_print_them(cell, waybill):
    assert waybill_text(cell) == waybill
    assert column_converter(waybill_text)(["73100000000001", cell]) == ["73100000000001", waybill]
    assert shipments(waybill_text(cell), "圆通速递")[0].waybill == waybill


@pytest.mark.parametrize(("cell", "waybill"), [("YT 1234 5678 9012 3", "YT1234567890123"),
                                               ("7310 0000 0000 22", "73100000000022")])
def test_one_waybill_written_in_groups_is_that_waybill(cell, waybill):
    assert waybill_text(cell) == waybill
    assert column_converter(waybill_text)([cell]) == [waybill]
    assert waybill_text("73100000000001 73100000000002") == "73100000000001 73100000000002"  # two stay two


def test_express_cells_are_checked_like_waybill_cells():
    assert express_text("中通快递 73100000000009") == "中通快递 73100000000009"
    with pytest.raises(BadCell, match="科学计数法"):
        express_text("中通快递 7.31E+13")
    with pytest.raises(BadCell, match="物流单号无法识别"):
        express_text("中通快递 731")


def test_an_order_names_each_waybill_once_across_its_waybill_and_express_cells():
    assert order_shipments("JDVA11408814483", "京东快递", "京东快递 JDVA11408814483") == (
        ShipmentRef("JDVA11408814483", "jd", "京东快递"),)
    assert order_shipments("73100000000009", "中通快递", "中通快递 73100000000009;圆通 YT1234567890123") == (
        ShipmentRef("73100000000009", "zto", "中通快递"), ShipmentRef("YT1234567890123", "yto", "圆通"))
    assert order_shipments(None, None, "中通快递 73100000000009") == (ShipmentRef("73100000000009", "zto", "中通快递"),)
    assert order_shipments(None, None, None) == ()




def read(path):
    with open_export(path) as export:
        return list(export.records())


def test_a_scientific_waybill_is_a_row_error_and_the_other_rows_import(tmp_path):
    rows = [taobao_order_row(物流单号="7.30203E+13"), taobao_order_row(物流单号="中通:73100000000008")]
    bad, good = read(write_taobao_orders_csv(tmp_path / "orders.csv", rows))
    assert isinstance(bad, RowError) and bad.row == 2 and "科学计数法" in bad.reason
    assert good.shipments == (ShipmentRef("73100000000008", "zto", "中通"),)


def test_the_same_parcel_in_the_waybill_and_express_columns_is_one_shipment(tmp_path):
    header = DOUYIN_HEADER + ["快递公司", "快递单号"]
    row = douyin_order_row(快递信息="中通快递 73100000000009", 快递公司="中通快递", 快递单号="73100000000009")
    [order] = read(write_csv(tmp_path / "dy.csv", header, [row], "utf-8-sig"))
    assert order.shipments == (ShipmentRef("73100000000009", "zto", "中通快递"),)


# --- carrier wishes --------------------------------------------------------------------

@pytest.mark.parametrize(("message", "requested", "excluded"), [
    ("除了顺丰都不要", ("sf",), ()),  # only SF: the others are refused
    ("除顺丰外都不要", ("sf",), ()),
    ("除了顺丰以外的快递都不行", ("sf",), ()),
    ("除了中通其他都行", (), ("zto",)),  # the others are fine: ZTO is the one refused
    ("本地韵达中通都不到", (), ("yunda", "zto")),
    ("中通韵达不到", (), ("zto", "yunda")),
    ("不要中通顺丰就行", ("sf",), ("zto",)),  # names side by side keep their own cues
    ("不要中通圆通", (), ("zto", "yto")),  # ... and share the one before them
    ("我这里只有邮政能到", ("chinapost",), ()),
    ("只能收到邮政和EMS", ("chinapost", "ems"), ()),
    ("只收邮政", ("chinapost",), ()),
    ("只能收邮政", ("chinapost",), ()),
    ("地址偏远只有EMS", ("ems",), ()),
    ("只有中通不到", (), ("zto",)),  # a cue after the name outweighs 只有
])
def test_carrier_wishes_in_common_phrasings(message, requested, excluded):
    assert carrier_request.parse(message) == (requested, excluded)
