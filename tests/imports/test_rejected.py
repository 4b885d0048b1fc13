"""Files rejected as a whole: fast, in bounded memory, one clear line Chinese then English."""
import re
import time

import pytest

from imports import RejectedFile, open_export
from exportfiles import (taobao_order_row, write_junk, write_taobao_orders_csv, write_taobao_orders_xlsx,
                               write_truncated_xlsx, write_utf16_csv, write_zip_bomb_xlsx)

ONE_LINE = re.compile(r"^[^\n]*[\u4e00-\u9fff][^\n]* \([ -~][^\n]*\)$")  # Chinese … (English)


def rejected(path, **kw) -> RejectedFile:
    with pytest.raises(RejectedFile) as err:
        open_export(path, **kw)
    assert ONE_LINE.match(str(err.value)), str(err.value)
    return err.value


def test_zip_bomb_is_refused_from_the_directory_alone(tmp_path):
    path = write_zip_bomb_xlsx(tmp_path / "bomb.xlsx", member_mb=64)
    assert path.stat().st_size < 1_000_000
    start = time.perf_counter()
    error = rejected(path)
    assert time.perf_counter() - start < 1.0
    assert "zip bomb" in str(error)


def test_declared_size_over_twenty_times_the_limit(tmp_path):
    import zipfile

    path = tmp_path / "dense.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<row><c t='s'><v>1</v></c></row>" * 60_000)  # 2 MB
    error = rejected(path, max_bytes=path.stat().st_size + 1)
    assert "declared uncompressed size" in str(error)


def test_too_many_members(tmp_path):
    import zipfile

    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(1001):
            zf.writestr(f"xl/media/image{i}.png", b"")
    assert "too many zip members" in str(rejected(path))


def test_over_size_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.truncate(3_000_000_000)  # sparse: no disk used
    start = time.perf_counter()
    error = rejected(path)
    assert time.perf_counter() - start < 1.0
    assert "file too large" in str(error)


def test_max_bytes_is_the_callers_limit(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "o.csv", [taobao_order_row()])
    rejected(path, max_bytes=100)


@pytest.mark.parametrize("content", [b"", b"   \r\n\t\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"])
def test_empty_files(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    assert "empty" in str(rejected(path))


def test_not_an_order_export(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("姓名,电话\r\n张三,138\r\n", encoding="utf-8")
    assert "not an order export" in str(rejected(path))


def test_binary_junk(tmp_path):
    assert "encoding" in str(rejected(write_junk(tmp_path / "junk.csv")))


def test_utf16_without_bom_is_refused_and_with_bom_is_read(tmp_path):
    assert "UTF-16" in str(rejected(write_utf16_csv(tmp_path / "u16.csv", [taobao_order_row()])))
    path = write_utf16_csv(tmp_path / "u16bom.csv", [taobao_order_row(订单编号="3900000000000000009")], bom=True)
    with open_export(path) as export:
        assert export.info.encoding == "utf-16"
        [record] = export.records()
    assert record.platform_order_id == "3900000000000000009"


def test_truncated_xlsx(tmp_path):
    assert "xlsx" in str(rejected(write_truncated_xlsx(tmp_path / "cut.xlsx")))


def test_xlsx_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.xlsx"
    write_taobao_orders_csv(path, [taobao_order_row()])
    assert "not an xlsx" in str(rejected(path))


def test_csv_that_is_really_a_zip(tmp_path):
    path = write_taobao_orders_xlsx(tmp_path / "real.xlsx", [taobao_order_row()])
    path = path.rename(tmp_path / "renamed.csv")
    assert "zip" in str(rejected(path))


def test_old_xls(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    assert ".xls" in str(rejected(path))


def test_zip_without_a_workbook(tmp_path):
    import zipfile

    path = tmp_path / "docs.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    assert "workbook" in str(rejected(path))


def test_xlsx_missing_its_sheet(tmp_path):
    import zipfile

    src = write_taobao_orders_xlsx(tmp_path / "ok.xlsx", [taobao_order_row()])
    path = tmp_path / "nosheet.xlsx"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            if not item.filename.startswith("xl/worksheets/"):
                zout.writestr(item, zin.read(item))
    rejected(path)


def test_decode_error_found_late_names_the_row(tmp_path):
    path = write_taobao_orders_csv(tmp_path / "late.csv", [taobao_order_row() for _ in range(3000)],
                                   encoding="utf-8")
    path.write_bytes(path.read_bytes() + "3900000000000000099,买家\xff\r\n".encode("utf-8", "surrogateescape")
                     .replace(b"\xc3\xbf", b"\xff"))
    with open_export(path) as export:
        assert export.info.encoding == "utf-8"
        with pytest.raises(RejectedFile) as err:
            list(export.records())
    assert err.value.row == 3002  # header row 1, 3000 good rows, then the bad one
    assert "cannot be decoded as utf-8" in str(err.value)


def test_decode_error_in_the_middle_of_a_block_names_its_row(tmp_path):
    """The file is decoded in blocks of many lines; the bad one is still found exactly."""
    path = write_taobao_orders_csv(tmp_path / "mid.csv", [taobao_order_row() for _ in range(3000)],
                                   encoding="gb18030")
    lines = path.read_bytes().split(b"\n")
    lines[1500] = lines[1500].replace(b",", b",\x81\x20", 1)  # a GB18030 lead byte without its trail
    path.write_bytes(b"\n".join(lines))
    with open_export(path) as export, pytest.raises(RejectedFile) as err:
        list(export.records())
    assert err.value.row == 1501 and "cannot be decoded as gb18030" in str(err.value)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_a_file_without_line_breaks_is_refused_reading_one_limit_of_it(tmp_path, encoding):
    import tracemalloc

    from imports.reader import MAX_LINE

    path = tmp_path / "one-line.csv"
    path.write_bytes(("订单编号," + "x" * (3 * MAX_LINE)).encode(encoding))  # utf-16: with its BOM
    tracemalloc.start()
    try:
        err = rejected(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "4 MB" in str(err) and peak < 8 * MAX_LINE


def test_a_long_line_deep_in_the_file_stops_the_rows(tmp_path):
    from imports.reader import MAX_LINE

    path = write_taobao_orders_csv(tmp_path / "a.csv", [taobao_order_row()])
    with path.open("ab") as f:
        f.write(b"x" * (MAX_LINE + 10) + b"\r\n")
    with open_export(path) as export, pytest.raises(RejectedFile, match="4 MB"):
        list(export.records())
