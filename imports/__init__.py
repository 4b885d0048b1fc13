"""Platform order exports in, normalized records out.  Pure: no database, no web.

    with open_export("ExportOrderList202611120930.csv") as export:
        export.info            # ExportInfo: format, platform, kind, encoding, header row …
        for item in export.records():   # OrderRecord | ItemRecord | RefundRecord | RowError
            …
        export.progress()      # 0..1

    path ─► reader (size, zip and encoding checks; CSV streamed, XLSX via calamine/openpyxl)
         ─► header row found in the first 20 rows ─► the format that recognises it
         ─► that format's tables drive the shared parse loop (formats.Format.parse)

A file that cannot be imported as a whole raises ``RejectedFile`` (from ``open_export``
before any record, or from ``records()`` for damage found late); a bad row is a
``RowError`` in the stream and never stops it.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from . import douyin, jd, mapped, pdd, taobao_items, taobao_orders, taobao_refunds
from .formats import Format, Parsed, StoredCheck, find_header
from .mapped import MappingError
from .reader import RejectedFile, RowSource, open_rows
from .records import (ORDER_STATUSES, REFUND_STATUSES, ExportInfo, ItemRecord, OrderRecord, Record,
                      RefundRecord, RowError, ShipmentRef, UnchangedRows, OrderColumns)

__all__ = [
    "FORMATS", "PLATFORMS", "Export", "ExportInfo", "ItemRecord", "MappingError", "ORDER_STATUSES",
    "OrderColumns", "OrderRecord", "REFUND_STATUSES", "Record", "RefundRecord", "RejectedFile", "RowError",
    "ShipmentRef", "StoredCheck", "UnchangedRows", "UnknownFormat", "open_export",
]

# Every known format, in detection priority (the first whose header matches wins).
FORMATS: dict[str, Format] = {f.name: f for f in (
    taobao_refunds.FORMAT,
    taobao_items.FORMAT,
    taobao_orders.FORMAT,
    douyin.FORMAT,
    pdd.FORMAT,
    jd.FORMAT,
)}
# ``platform=`` values and the formats each one may be.
PLATFORMS: dict[str, tuple[str, ...]] = {
    "taobao": ("taobao_refunds", "taobao_items", "taobao_orders"),
    "tmall": ("taobao_refunds", "taobao_items", "taobao_orders"),
    "pdd": ("pdd_orders",),
    "douyin": ("douyin_orders",),
    "jd": ("jd_orders",),
}
HEADER_SCAN_ROWS = 20


class UnknownFormat(ValueError):
    """``platform=`` names no platform or format; the message lists the known ones."""

    def __init__(self, name: str):
        known = ", ".join([*PLATFORMS, *FORMATS])
        super().__init__(f"unknown platform or format {name!r}; known: {known}")


def candidates(platform: str | None) -> list[Format]:
    """The formats to try for a ``platform=`` value (None: all of them)."""
    if platform is None:
        return list(FORMATS.values())
    key = platform.strip().lower()
    if key in PLATFORMS:
        return [FORMATS[name] for name in PLATFORMS[key]]
    if key in FORMATS:
        return [FORMATS[key]]
    raise UnknownFormat(platform)


class Export:
    """One opened export: ``info`` is known, ``records()`` streams the rows once."""

    def __init__(self, path: Path, source: RowSource, fmt: Format, header_row: int, header: list[str]):
        self.path = path
        self._source = source
        self._format = fmt
        self._header = header
        self._consumed = False
        _plan, unmapped = fmt.plan(header)
        self.info = ExportInfo(format=fmt.name, platform=fmt.platform, kind=fmt.kind,
                               encoding=source.encoding, header_row=header_row,
                               columns=[h for h in header if h], engine=source.engine,
                               sheet=source.sheet, unmapped_columns=unmapped)

    def records(self, stored: StoredCheck | None = None, as_columns: bool = False) -> Iterator[Parsed | OrderColumns]:
        """Records and RowErrors in file order.  May raise RejectedFile for late damage.

        For order exports, ``stored`` says which rows are stored unchanged already (they
        come in runs as ``UnchangedRows``, unconverted) and ``as_columns`` asks for batches of
        rows as ``OrderColumns``; see ``Format.parse``."""
        if self._consumed:
            raise RuntimeError("records() can be read once per open_export()")
        self._consumed = True
        return self._format.parse(self._header, self._source.rows, stored, as_columns)

    def progress(self) -> float:
        return self._source.progress()

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> Export:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_export(path: str | os.PathLike, *, platform: str | None = None,
                mapping: str | os.PathLike | None = None, max_bytes: int = 2_000_000_000) -> Export:
    """Open an order, item or refund export and recognise its format from the header row.

    ``platform`` (taobao, tmall, pdd, douyin, jd or a format name such as taobao_refunds)
    narrows detection; ``mapping`` names a column-mapping TOML file (see ``mapped``) and
    wins over both.  Raises RejectedFile, UnknownFormat or MappingError.
    """
    formats = [mapped.load(mapping)] if mapping is not None else candidates(platform)
    path = Path(path)
    source = open_rows(path, max_bytes)
    try:
        fmt, header_row, header = find_header(source.rows, formats, HEADER_SCAN_ROWS)
    except BaseException:
        source.close()
        raise
    return Export(path, source, fmt, header_row, header)
