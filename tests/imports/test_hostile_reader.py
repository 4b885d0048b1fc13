"""Files an adversary or an odd tool makes: the reader refuses them in one line, or reads
them as a spreadsheet shows them."""
import openpyxl

from imports import OrderRecord, RowError, open_export
from exportfiles import TAOBAO_ORDER_CLASSIC, taobao_order_row


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

