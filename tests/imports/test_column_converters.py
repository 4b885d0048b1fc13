"""The column forms of the cell converters give exactly what the converter gives cell by cell.

The parse loop converts whole columns (``cells.column_converter``); row errors, the
per-row redo and the mapping files still call the converters one cell at a time, so
the two must never disagree — on plain CSV cells (the fast path), on the exports'
wrappers, and on xlsx values.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from imports.cells import (BadCell, column_converter, ident, integer, money, shipments, shipments_column, text,
                          utc_text, waybill_text, when, yes_no)
from imports.cells import date_parser

GOOD = {
    text: ["张三", "  浙江省 杭州市 ", "", " ", "-", "无", "null", "'13800138000", " '138 0013 8000",
           '="3900000000000000001"', '="  A1 "', "a\tb", "\t上海\t", "=1+1", "it's", "x=y", 12.0, 3, 0.5,
           datetime(2026, 11, 11, 8, 0), None],
    ident: ["3900000000000000001", '="3900000000000000001"', ' ="12345" ', " 42 ", "", "  ", "-", "A-77",
            "123.0", "'98765", "１２３", 1234567.0, 77, "null"],
    money: ["12.50", "12.50元", "¥1,234.00", "￥0.00", "0", "", "-", "  9.9 ", '="5.00"', "1，000.00",
            59.0, 3, 0.1],
    when: ["2026-11-11 00:00:05", "2026-11-11 07:59:59", "2026-11-11", "2026/11/11 9:05", " 2026-11-11 10:00:00 ",
           "2026-11-11T10:00:00+08:00", "2026年11月11日 10时05分30秒", "0000-00-00 00:00:00", "", "-", "45972.5",
           45972.25, datetime(2026, 11, 11, 10, 0), date(2026, 11, 11), '="2026-11-11 10:00:00"'],
    integer: ["3", " 3 ", "3件", "3.0", "", 3, 3.0, "12", "99999999", "007", "-2"],
    yes_no: ["是", "否", "", "yes", "0"],
    waybill_text: ["73100000000001", "SF1000000000001", "JDVA-0000000001", "", "-", "无", "自提", " 7310000000001 ",
                   '="73100000000001"', "\t73100000000001", "73100000000001,73100000000002", "中通:73100000000008",
                   "73100000000008(已签收)", "SF1234567890123|SF1234567890124", 73100000000001.0, 731000000, None],
}
BAD = {
    ident: ["3.9E+18", 3.9e18, 12.5],
    money: ["abc", "NaN", "1.2.3", True, "4183650000000000092", "1e400", "1E+30", "-Infinity", 1e300,
            float("inf")],
    when: ["2026-13-45 10:00:00", "not a date", "10:00", "99999999"],
    integer: ["3.5", "many", "99999999999999999999", "100000000", "1e400", "inf", 1e20, float("nan")],
    yes_no: ["maybe"],
    waybill_text: ["7.30203E+13", "4.62599E+14", "12", "73100000000008号", 7.31e15, 7310000000.5],
}


def cell_by_cell(convert, cells):
    return [convert(c) if c != "" else None for c in cells]


@pytest.mark.parametrize("convert", list(GOOD), ids=lambda c: c.__name__)
def test_each_cell_alone_and_all_together(convert):
    cells = GOOD[convert]
    for cell in cells:
        assert column_converter(convert)([cell]) == cell_by_cell(convert, [cell]), repr(cell)
    assert column_converter(convert)(cells) == cell_by_cell(convert, cells)


@pytest.mark.parametrize("convert", list(GOOD), ids=lambda c: c.__name__)
def test_random_columns_agree(convert):
    """Mixtures decide which path a column takes (plain, with wrappers, with xlsx values)."""
    rnd = random.Random(7)
    for _ in range(300):
        cells = [rnd.choice(GOOD[convert]) for _ in range(rnd.randint(1, 12))]
        if rnd.random() < 0.5:  # plain CSV text only: the fast path
            cells = [c for c in cells if isinstance(c, str)] or [""]
        assert column_converter(convert)(cells) == cell_by_cell(convert, cells), cells


@pytest.mark.parametrize("convert", list(BAD), ids=lambda c: c.__name__)
def test_a_bad_cell_fails_the_column_as_it_fails_alone(convert):
    good = [c for c in GOOD[convert] if isinstance(c, str)]
    for bad in BAD[convert]:
        with pytest.raises(BadCell):
            convert(bad)
        for at in (0, len(good) // 2, len(good)):
            with pytest.raises(BadCell):
                column_converter(convert)(good[:at] + [bad] + good[at:])


def test_times_are_utc_and_aware():
    [moved] = column_converter(when)(["2026-11-11 07:30:00"])
    assert moved.isoformat() == "2026-11-10T23:30:00+00:00"


def test_utc_text_cut_from_the_cells_is_the_formatted_value():
    """``UtcTimes.texts`` cuts most texts from the cells; it must give what formatting gives."""
    rnd = random.Random(11)
    start = datetime(2023, 12, 30)
    plain = [(start + timedelta(seconds=rnd.randrange(3 * 366 * 86400))).strftime("%Y-%m-%d %H:%M:%S")
             for _ in range(3000)]
    for _ in range(2):  # the second time, every hour is in the table
        for size in (1, 7, 128):
            cells = [rnd.choice(plain) if rnd.random() < 0.8 else rnd.choice(GOOD[when]) for _ in range(size)]
            times = column_converter(when)(cells)
            assert times == cell_by_cell(when, cells)
            expected = [None if t is None else utc_text(t) for t in times]
            assert times.texts() == expected, cells
            assert times.texts("+00:00") == [None if t is None else t + "+00:00" for t in expected]
    assert column_converter(when)(["2026-11-11 07:30:00"]).texts() == ["2026-11-10 23:30:00.000000"]


def test_other_converters_get_the_generic_column_form():
    parse = date_parser("%d/%m/%Y %H:%M")
    cells = ["11/11/2026 10:00", "", "01/12/2026 00:05"]
    assert column_converter(parse)(cells) == cell_by_cell(parse, cells)


def test_shipments_column_agrees_with_shipments_row_by_row():
    waybills = ["73100000000001", "SF1000000000001", "12", "无", "YT1000000000001；YT1000000000002", "JDVA00000000001",
                "73100000000001,73100000000002", "No:73100000000001", "abcdef", "7310000000000１", "", None, " 7310000000001",
                "中通快递:73100000000008;圆通速递:YT1234567890123", "73100000000008(中通快递)", "73100000000008(已签收)",
                "SF1234567890123|SF1234567890124", "YT1000000000001;YT1000000000001", "7.31E+13"]
    carriers = ["中通快递", "顺丰速运", "顺丰速运,圆通速递", "某某物流", "", None, " 韵达快递 "]
    rnd = random.Random(11)
    for _ in range(200):
        k = rnd.randint(1, 10)
        column = ([rnd.choice(waybills) for _ in range(k)], [rnd.choice(carriers) for _ in range(k)])
        assert shipments_column(*column) == [shipments(w, c) for w, c in zip(*column)], column
