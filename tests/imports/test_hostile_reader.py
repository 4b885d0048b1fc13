"""Files an adversary or an odd tool makes: the reader refuses them in one line, or reads
them as a spreadsheet shows them."""
import codecs
import subprocess
import sys
import time
import zipfile
from pathlib import Path

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


# --- xlsx whose XML claims more than it holds: refused before calamine allocates it -------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
             '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    '</Relationships>')


def column_letters(n: int) -> str:
    letters = ""
    while n:
        n, left = divmod(n - 1, 26)
        letters = chr(65 + left) + letters
    return letters


def order_cells(orders: int = 2, *, references: bool = True) -> list[str]:
    """The header and ``orders`` order rows as ``<row>`` elements (string cells inline)."""
    rows = [list(TAOBAO_ORDER_CLASSIC)] + [[taobao_order_row()[h] for h in TAOBAO_ORDER_CLASSIC] for _ in range(orders)]
    out = []
    for r, values in enumerate(rows, 1):
        refs = [f' r="{column_letters(c)}{r}"' if references else "" for c in range(1, len(values) + 1)]
        cells = "".join(f'<c{ref} t="inlineStr"><is><t>{v}</t></is></c>' for ref, v in zip(refs, values))
        out.append(f'<row r="{r}">{cells}</row>')
    return out


def raw_xlsx(path, rows: list[str], *, unique_count: int | None = None):
    """A minimal workbook written zip entry by zip entry, so its XML can say what openpyxl never would."""
    sheet = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<sheetData>{"".join(rows)}</sheetData></worksheet>')
    n = 1 if unique_count is None else unique_count
    strings = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
               f'count="{n}" uniqueCount="{n}"><si><t>x</t></si></sst>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS), ("xl/workbook.xml", _WORKBOOK),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/worksheets/sheet1.xml", sheet),
                           ("xl/sharedStrings.xml", strings)):
            zf.writestr(name, text)
    return path


def refused_in_a_child(path) -> str:
    """open_export in a fresh interpreter: if calamine saw the file, its abort must not take the tests down."""
    code = ("import sys; from imports import open_export, RejectedFile\n"
            "try:\n    open_export(sys.argv[1])\nexcept RejectedFile as err:\n    print(err)\n")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    assert time.perf_counter() - start < 20
    return done.stdout.strip()


def test_a_shared_string_count_no_file_could_hold_is_refused(tmp_path):
    path = raw_xlsx(tmp_path / "sst.xlsx", order_cells(), unique_count=2_000_000_000)
    assert path.stat().st_size < 5000

    message = refused_in_a_child(path)

    assert "2,000,000,000" in message and "shared-string table" in message


@pytest.mark.parametrize("row, column", [(1_048_576, 16_384), (1_048_576, 42), (5, 16_384)])
def test_one_stray_cell_far_away_is_refused(tmp_path, row, column):
    rows = order_cells(3_000)
    # Excel puts a typed far cell in order; a hostile file may put it anywhere, here in row 5
    stray = f'<c r="{column_letters(column)}{row}" t="inlineStr"><is><t>x</t></is></c>'
    rows[4] = rows[4].replace("<c ", stray + "<c ", 1)
    path = raw_xlsx(tmp_path / "stray.xlsx", rows)

    message = refused_in_a_child(path)

    assert f"reaches row {max(row, 3_001):,} and column {column:,}" in message, message
    assert "hostile or broken file" in message


def test_a_wide_but_short_sheet_still_opens_with_calamine(tmp_path):
    rows = order_cells(2)
    rows[2] = rows[2].replace("</row>", f'<c r="XFD3" t="inlineStr"><is><t>备注</t></is></c></row>')
    path = raw_xlsx(tmp_path / "wide.xlsx", rows)

    with open_export(path) as export:
        got = list(export.records())
        assert export.info.engine == "calamine"
    assert [type(x) for x in got] == [OrderRecord, OrderRecord]


def test_cells_without_references_are_streamed_by_openpyxl(tmp_path):
    path = raw_xlsx(tmp_path / "bare.xlsx", order_cells(2, references=False))

    with open_export(path) as export:
        got = list(export.records())
        assert export.info.engine == "openpyxl"
    assert [(type(x), x.row) for x in got] == [(OrderRecord, 2), (OrderRecord, 3)]


# --- CSV: a quote that never closes ------------------------------------------------------


def csv_with_a_stray_quote(path, *, wider_row: int | None = None):
    """100 orders, UTF-8 with BOM as Excel re-saves them; the buyer message on row 4 opens a
    quote it never closes, and row 56 has a quoted address with a comma (where that quote
    would otherwise close)."""
    rows = [taobao_order_row() for _ in range(100)]
    rows[2]["买家留言"] = "STRAY"
    rows[54]["收货地址"] = "广东省 深圳市 南山区 科技园,8栋(518000)"
    lines = list(csv_lines(TAOBAO_ORDER_CLASSIC, rows))
    if wider_row is not None:
        lines[wider_row - 1] += ",多一格"
    text = "".join(line + "\r\n" for line in lines).replace("STRAY", '"急用 周一前要到')
    path.write_bytes(codecs.BOM_UTF8 + text.encode())
    return path, rows


def test_an_unclosed_quote_keeps_its_row_and_swallows_none_after_it(tmp_path):
    path, rows = csv_with_a_stray_quote(tmp_path / "stray.csv")

    got = records(path)

    assert [(type(x), x.row) for x in got] == [(OrderRecord, n) for n in range(2, 102)]
    assert [x.platform_order_id for x in got] == [r["订单编号"] for r in rows]
    assert got[2].buyer_message == '"急用 周一前要到' and got[2].receiver_name == "张三"
    assert got[54].receiver_address == "广东省 深圳市 南山区 科技园,8栋(518000)"


def test_an_unclosed_quote_that_cannot_be_read_again_soundly_is_named(tmp_path):
    path, _rows = csv_with_a_stray_quote(tmp_path / "stray.csv", wider_row=10)

    with pytest.raises(RejectedFile, match=r"row 4: a quote that never closes swallows the 52 lines after this one"):
        records(path)


def test_a_sheet_in_utf16_xml_is_streamed_by_openpyxl_not_scanned(tmp_path):
    path = raw_xlsx(tmp_path / "utf16.xlsx", order_cells(2))
    with zipfile.ZipFile(path) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    sheet = entries["xl/worksheets/sheet1.xml"].decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    entries["xl/worksheets/sheet1.xml"] = sheet.encode("utf-16")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)

    with open_export(path) as export:
        assert export.info.engine == "openpyxl"
        assert [type(x) for x in export.records()] == [OrderRecord, OrderRecord]
