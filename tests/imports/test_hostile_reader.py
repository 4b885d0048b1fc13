"""Files an adversary or an odd tool makes: the reader refuses them in one line, or reads
them as a spreadsheet shows them."""
import openpyxl
import pytest

from imports import OrderRecord, RejectedFile, RowError, open_export
from exportfiles import TAOBAO_ORDER_CLASSIC, csv_lines, taobao_cell, taobao_order_row


def records(path):
    with open_export(path) as export:
        return list(export.records())


def test_a_sheet_that_starts_lower_down_reports_the_sheet_row(tmp_path):
    path = tmp_path / "offset.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    for c, name in enumerate(TAOBAO_ORDER_CLASSIC, 2):  # header at B3: rows 1-2 and column A empty
        sheet.cell(row=3, column=c, value=name)
    rows = [taobao_order_row(), taobao_order_row(订单创建时间="2026-11-31 10:00:00"), taobao_order_row()]
    for r, row in enumerate(rows, 4):
        for c, name in enumerate(TAOBAO_ORDER_CLASSIC, 2):
            sheet.cell(row=r, column=c, value=row[name] or None)
    book.save(path)

    got = records(path)

    assert [(type(x), x.row) for x in got] == [(OrderRecord, 4), (RowError, 5), (OrderRecord, 6)]


def gbk_csv(path, titles):
    lines = csv_lines(TAOBAO_ORDER_CLASSIC, [taobao_order_row(宝贝标题=t) for t in titles], taobao_cell)
    path.write_bytes("".join(line + "\r\n" for line in lines).encode("gbk").replace(b"EURO", b"\x80"))
    return path


def test_cp936_euro_byte_reads_as_the_euro_sign(tmp_path):
    path = gbk_csv(tmp_path / "euro.csv", ["加厚羽绒服"] * 299 + ["欧洲直邮 EURO99 羊毛围巾", "EURO"])

    got = records(path)

    assert len(got) == 301 and all(isinstance(x, OrderRecord) for x in got)
    assert [x.item_summary for x in got[-2:]] == ["欧洲直邮 €99 羊毛围巾", "€"]


def test_a_windows_1252_file_is_still_not_taken_for_gbk(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(",".join(TAOBAO_ORDER_CLASSIC).encode("gbk") + "\r\ncafé,€9\r\n".encode("cp1252") * 50)

    with pytest.raises(RejectedFile, match="unknown or undecodable encoding"):
        open_export(path)
