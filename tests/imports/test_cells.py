"""Cell converters: money, times, ids, counts, waybills."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from imports.address import province_name, split_address
from imports.cells import (BadCell, clean, combined_shipments, ident, integer, money, shipments, split_waybills,
                           text, when, yes_no)
from imports.records import ShipmentRef

UTC = timezone.utc


@pytest.mark.parametrize(("raw", "expected"), [
    ('="3900000000000007919"', "3900000000000007919"),
    ("\t261111-300000000000005\t", "261111-300000000000005"),
    ("'13800138000", "13800138000"),
    ("  收货地址 ", "收货地址"),
    ("北京\t朝阳", "北京朝阳"),
    (3.0, "3"),
    (None, ""),
])
def test_clean_unwraps_platform_quirks(raw, expected):
    assert clean(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("59.00", Decimal("59.00")), ("59.00元", Decimal("59.00")), ("¥1,234.50", Decimal("1234.50")),
    ("￥0", Decimal("0")), ("", None), ("-", None), (12.5, Decimal("12.5")), (0.0, Decimal("0.0")), (3, Decimal(3)),
    ("12.340", Decimal("12.34")), (0.1 + 0.2, Decimal("0.30")),  # zeros, a formula's float noise past the cents
])
def test_money(raw, expected):
    assert money(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "12元5", "NaN", "Infinity", True, "12.345", 12.345])  # no rounding away
def test_money_junk_is_a_bad_cell(raw):
    with pytest.raises(BadCell):
        money(raw)


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-11-11 00:00:05", datetime(2026, 11, 10, 16, 0, 5, tzinfo=UTC)),
    ("2026-11-11 00:00", datetime(2026, 11, 10, 16, 0, tzinfo=UTC)),
    ("2026/11/11 0:01", datetime(2026, 11, 10, 16, 1, tzinfo=UTC)),
    ("2026/1/5 9:03:07", datetime(2026, 1, 5, 1, 3, 7, tzinfo=UTC)),
    ("\t2026-11-11 08:00", datetime(2026, 11, 11, 0, 0, tzinfo=UTC)),
    ("2026-11-11", datetime(2026, 11, 10, 16, 0, tzinfo=UTC)),
    ("2026-11-11T10:00:00+00:00", datetime(2026, 11, 11, 10, 0, tzinfo=UTC)),
    (datetime(2026, 11, 11, 8, 0), datetime(2026, 11, 11, 0, 0, tzinfo=UTC)),
    (date(2026, 11, 11), datetime(2026, 11, 10, 16, 0, tzinfo=UTC)),
    (46337.5, datetime(2026, 11, 11, 4, 0, tzinfo=UTC)),  # Excel serial: 2026-11-11 12:00 Shanghai
    ("46337.5", datetime(2026, 11, 11, 4, 0, tzinfo=UTC)),
    ("20261111000507", datetime(2026, 11, 10, 16, 5, 7, tzinfo=UTC)),  # compact, as some ERPs write it
    ("202611110005", datetime(2026, 11, 10, 16, 5, tzinfo=UTC)),
    ("20261111", datetime(2026, 11, 10, 16, 0, tzinfo=UTC)),
    ("", None), ("0000-00-00 00:00:00", None),
])
def test_when_gives_aware_utc(raw, expected):
    got = when(raw)
    assert got == expected
    assert got is None or got.tzinfo is not None


@pytest.mark.parametrize("raw", ["昨天", "2026-13-01 00:00:00", "11/11/2026", "12:00", "2026111", "20261311000507"])
def test_when_junk_is_a_bad_cell(raw):
    with pytest.raises(BadCell):
        when(raw)


def test_ids_stay_strings_and_lost_digits_are_refused():
    assert ident('="3900000000000007919"') == "3900000000000007919"
    assert ident(250000000007.0) == "250000000007"
    assert ident("123.0") == "123"
    for mangled in ("3.90000000000007E+18", "3.9E18", 3.9e18, 1e15, 12.5):
        with pytest.raises(BadCell):
            ident(mangled)


def test_integer_and_yes_no_and_text():
    assert [integer(v) for v in ("3", " 2\t", "3.0", 4.0, "2件")] == [3, 2, 3, 4, 2]
    with pytest.raises(BadCell):
        integer("2.5")
    assert [yes_no(v) for v in ("是", "否", "", "需要")] == [True, False, None, True]
    with pytest.raises(BadCell):
        yes_no("也许")
    assert text("  -  ") is None and text("订单未关闭") is None and text("'0571-8888") == "0571-8888"


@pytest.mark.parametrize(("cell", "expected"), [
    ("73100000000001", ["73100000000001"]),
    ("SF1000000000001,SF1000000000002", ["SF1000000000001", "SF1000000000002"]),
    ("YT1；YT2", []),  # too short to be waybills
    ("YT1000000000001；YT1000000000002、YT1000000000003", ["YT1000000000001", "YT1000000000002", "YT1000000000003"]),
    ("4300000000001 / 4300000000002\n4300000000003", ["4300000000001", "4300000000002", "4300000000003"]),
    ("No:73100000000001", ["73100000000001"]),
    ("73100000000001,73100000000001", ["73100000000001"]),
    ("无", []),
])
def test_split_waybills(cell, expected):
    assert split_waybills(cell) == expected


def test_shipments_pair_carriers_by_position_when_counts_agree():
    assert shipments("SF1000000000001,YT1000000000001", "顺丰速运,圆通速递") == (
        ShipmentRef("SF1000000000001", "sf", "顺丰速运"), ShipmentRef("YT1000000000001", "yto", "圆通速递"))
    assert shipments("SF1000000000001,SF1000000000002", "顺丰速运") == (
        ShipmentRef("SF1000000000001", "sf", "顺丰速运"), ShipmentRef("SF1000000000002", "sf", "顺丰速运"))
    assert shipments("73100000000001", "某某物流") == (ShipmentRef("73100000000001", None, "某某物流"),)
    assert shipments(None, "中通快递") == ()


@pytest.mark.parametrize(("cell", "expected"), [
    ("中通快递 73100000000009", [("73100000000009", "zto", "中通快递")]),
    ("中通快递:73100000000009", [("73100000000009", "zto", "中通快递")]),
    ("中通快递, 73100000000009", [("73100000000009", "zto", "中通快递")]),
    ("顺丰速运 SF1000000000001;圆通速递 YT1000000000001",
     [("SF1000000000001", "sf", "顺丰速运"), ("YT1000000000001", "yto", "圆通速递")]),
    ("JDVA00000000001", [("JDVA00000000001", None, "")]),
    ("中通快递 73100000000001 / 韵达快递 462500000001",  # two carriers in one segment: each its own
     [("73100000000001", "zto", "中通快递"), ("462500000001", "yunda", "韵达快递")]),
    ("SF1000000000001(顺丰) YT1234567890123(圆通)", [("SF1000000000001", "sf", "顺丰"), ("YT1234567890123", "yto", "圆通")]),
    ("73100000000001 73100000000002 中通快递", [("73100000000001", "zto", "中通快递"), ("73100000000002", "zto", "中通快递")]),
    ("", []),
])
def test_combined_shipments(cell, expected):
    assert combined_shipments(cell) == tuple(ShipmentRef(*e) for e in expected)


@pytest.mark.parametrize(("address", "expected"), [
    ("浙江省 杭州市 西湖区 文三路100号(310000)", ("浙江省", "杭州市", "西湖区")),
    ("浙江 杭州市 西湖区 文三路", ("浙江省", "杭州市", "西湖区")),
    ("北京 北京市 朝阳区 望京街道", ("北京市", "北京市", "朝阳区")),
    ("上海 上海市 浦东新区 张江", ("上海市", "上海市", "浦东新区")),
    ("新疆维吾尔自治区 乌鲁木齐市 天山区 x", ("新疆维吾尔自治区", "乌鲁木齐市", "天山区")),
    ("内蒙古 呼和浩特市 新城区 x", ("内蒙古自治区", "呼和浩特市", "新城区")),
    ("广西 南宁市 青秀区 x", ("广西壮族自治区", "南宁市", "青秀区")),
    ("江西南昌市青山湖区昌东大道1号", ("江西省", "南昌市", "青山湖区")),
    ("北京市朝阳区望京街道", ("北京市", "北京市", "朝阳区")),
    ("杭州市西湖区文三路", ("浙江省", "杭州市", "西湖区")),  # no province: cpca
    ("海南藏族自治州共和县恰卜恰镇1号", ("青海省", "海南藏族自治州", "共和县")),  # not 海南省
    ("海南海口市龙华区滨海大道1号", ("海南省", "海口市", "龙华区")),
    ("", (None, None, None)),
])
def test_split_address(address, expected):
    assert split_address(address) == expected


def test_province_names_for_all_34_divisions():
    from imports.address import PROVINCES

    assert len(PROVINCES) == 34
    assert {province_name(names[-1]) for names in PROVINCES} == {names[0] for names in PROVINCES}
    assert province_name("新疆") == "新疆维吾尔自治区" and province_name("火星") is None
