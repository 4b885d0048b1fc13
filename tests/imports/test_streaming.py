"""Memory stays flat in file size; progress moves; late problems stop the batch."""
import csv
import re
import tracemalloc

import pytest

from imports import OrderRecord, open_export
from exportfiles import TAOBAO_ORDER_HEADER, TAOBAO_TRAILING_SPACE, csv_lines, taobao_cell, taobao_order_row

ROWS = 50_000


def write_big(path, rows=ROWS):
    places = ["浙江省 杭州市 西湖区", "广东省 深圳市 南山区", "北京 北京市 朝阳区", "新疆 乌鲁木齐市 天山区"]
    generated = (taobao_order_row(订单编号=str(3_900_000_000_000_000_000 + i), 收货地址=f"{places[i % 4]} 路{i}号",
                                  物流单号=f"7{i:013d}", 买家留言="发顺丰" if i % 7 == 0 else "")
                 for i in range(rows))
    with path.open("w", encoding="gbk", newline="") as f:
        for line in csv_lines(TAOBAO_ORDER_HEADER, generated, taobao_cell, TAOBAO_TRAILING_SPACE):
            f.write(line + "\r\n")
    return path


def test_memory_is_flat_for_a_50k_row_file(tmp_path):
    path = write_big(tmp_path / "big.csv")
    assert path.stat().st_size > 15_000_000
    tracemalloc.start()
    try:
        count = 0
        with open_export(path) as export:
            for record in export.records():
                assert isinstance(record, OrderRecord)
                count += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == ROWS
    assert peak < 4_000_000, f"peak {peak:,} bytes"


def test_progress_moves_with_the_bytes_read(tmp_path):
    path = write_big(tmp_path / "p.csv", rows=20_000)
    seen = []
    with open_export(path) as export:
        assert export.progress() < 0.05
        for i, _record in enumerate(export.records()):
            if i % 5000 == 0:
                seen.append(export.progress())
        assert export.progress() == 1.0
    assert seen == sorted(seen) and 0.2 < seen[2] < 0.8


def test_xlsx_progress_counts_rows(tmp_path):
    from exportfiles import write_taobao_orders_xlsx

    path = write_taobao_orders_xlsx(tmp_path / "p.xlsx", [taobao_order_row() for _ in range(300)])
    with open_export(path) as export:
        records = export.records()
        next(records)
        assert 0 < export.progress() < 1
        list(records)
        assert export.progress() == 1.0


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_rows_across_blocks_keep_every_line_break_a_cell_holds(tmp_path, encoding):
    """Only a newline ends a line: \\r (quoted), \\x0c, \\u2028 … stay in their cells,
    in whichever block of the file the row falls (csv.reader over newline-cut lines decides)."""
    from imports.reader import BLOCK, open_rows

    odd = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
    lines = ["订单编号,买家留言,收货地址\r\n"]
    for i in range(30000):
        char = odd[i % len(odd)]
        quoted = f'"第一行\r\n第二{char}行\n第三行"'
        lines.append(f"{i},留言{char.strip(chr(13))}{i},{quoted}\r\n" if i % 20 == 1 else f"{i},留言{i},地址{i}\r\n")
    text = "".join(lines) + "30000,没有换行结尾,地址"
    path = tmp_path / "breaks.csv"
    path.write_bytes(text.encode(encoding))
    assert path.stat().st_size > 4 * BLOCK
    expected = list(csv.reader(re.findall(r"[^\n]*\n|[^\n]+$", text)))
    source = open_rows(path, 10**9)
    try:
        got = [cells for _n, cells, _raw in source.rows]
    finally:
        source.close()
    assert got == expected
    assert len(got) == 30002 and got[22] == ["21", "留言\x1c21", "第一行\r\n第二\x1c行\n第三行"]
