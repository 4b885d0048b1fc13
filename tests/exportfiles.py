"""Export files for tests.  The real-format writers live in ``tracker.demo.exportfiles`` (the
demo writes its dataset with them) and are re-exported here; the hostile files for the
rejection tests are below.
"""
from __future__ import annotations

import random
import zipfile
from collections.abc import Iterable
from pathlib import Path

from tracker.demo.exportfiles import (  # noqa: F401 - re-exported for the tests
    DOUYIN_HEADER,
    JD_HEADER,
    JD_WAYBILL_COLUMNS,
    PDD_HEADER,
    TAOBAO_ID_COLUMNS,
    TAOBAO_ITEM_HEADER,
    TAOBAO_ITEM_NEWER,
    TAOBAO_ORDER_CLASSIC,
    TAOBAO_ORDER_HEADER,
    TAOBAO_ORDER_NEWER,
    TAOBAO_REFUND_HEADER,
    TAOBAO_TRAILING_SPACE,
    csv_lines,
    douyin_order_row,
    jd_order_row,
    next_taobao_order_id,
    pdd_order_row,
    taobao_cell,
    taobao_item_row,
    taobao_order_row,
    taobao_refund_row,
    write_csv,
    write_douyin_orders_csv,
    write_douyin_orders_xlsx,
    write_jd_orders_csv,
    write_jd_orders_xlsx,
    write_pdd_orders_csv,
    write_pdd_orders_xlsx,
    write_taobao_items_csv,
    write_taobao_orders_csv,
    write_taobao_orders_xlsx,
    write_taobao_refunds_csv,
    write_taobao_refunds_xlsx,
)


def write_zip_bomb_xlsx(path: str | Path, *, member_mb: int = 64) -> Path:
    """An .xlsx whose worksheet inflates ``member_mb`` MB of one repeated byte (~1000:1)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as member:
            block = b"0" * (1024 * 1024)
            for _ in range(member_mb):
                member.write(block)
    return path


def write_truncated_xlsx(path: str | Path, *, keep: float = 0.5) -> Path:
    """A real order xlsx cut off part-way, as an interrupted download leaves it."""
    path = Path(path)
    write_taobao_orders_xlsx(path, [taobao_order_row() for _ in range(50)])
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_junk(path: str | Path, *, size: int = 8192, seed: int = 0) -> Path:
    path = Path(path)
    path.write_bytes(random.Random(seed).randbytes(size))
    return path


def write_utf16_csv(path: str | Path, rows: Iterable[dict], *, bom: bool = False) -> Path:
    """A Taobao order CSV in UTF-16 LE, with or without the byte-order mark."""
    path = Path(path)
    write_csv(path, TAOBAO_ORDER_CLASSIC, rows, "utf-16" if bom else "utf-16-le", taobao_cell)
    return path
