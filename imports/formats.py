"""The shape every export format shares, and the one parse loop they all run.

A format is tables: header aliases → record fields, the header names that identify it,
and its status vocabulary.  Each cell's converter follows from the record field's type
(``Decimal`` → ``money``, ``datetime`` → ``when``, ids → ``ident``), so a format module
never converts a value by hand and a new platform is one new table.

    header row ─► plan: (field, column index, converter) for every known column
    rows, in batches, column by column ─► converted columns ─► the kind's builder: status,
        waybills ─► orders: ``derive_orders`` (province from the address, carrier wishes)
        ─► OrderRecord | ItemRecord | RefundRecord
        (a row without its id, or with a cell its converter refuses, becomes a RowError;
        a batch of orders as ``OrderColumns`` leaves waybill cells and ``derive_orders``
        to whoever reads them: they cannot fail a row)

Pseudo fields that are not record attributes: ``status`` (the raw status text),
``waybill`` + ``carrier`` (separate columns, several waybills per cell allowed),
``express`` (one "快递公司 单号" cell), ``return_waybill`` + ``return_carrier`` (refunds).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import blake2b
from itertools import groupby, islice, repeat
from typing import Any

from . import carrier_request
from .address import province_name, split_address
from .cells import (BadCell, ShipmentCells, clean, column_converter, date_parser, express_text, ident,
                    ident_column, integer, money, order_shipments, shipments, text, text_column, waybill_text, when,
                    yes_no)
from .reader import Cells, RejectedFile, Row
from .records import (ORDER_STATUSES, REFUND_STATUSES, ItemRecord, OrderColumns, OrderRecord, RefundRecord,
                      RowError, UnchangedRows)

Converter = Callable[[Any], Any]
Parsed = OrderRecord | ItemRecord | RefundRecord | RowError | UnchangedRows

RECORDS = {"orders": OrderRecord, "items": ItemRecord, "refunds": RefundRecord}
VOCABULARY = {"orders": ORDER_STATUSES, "refunds": REFUND_STATUSES}
ID_FIELDS = {"orders": ("platform_order_id",), "items": ("platform_order_id",),
             "refunds": ("refund_id", "platform_order_id")}
PSEUDO_FIELDS: dict[str, tuple[str, ...]] = {
    "orders": ("status", "waybill", "carrier", "express"),
    "items": ("status",),
    "refunds": ("status", "return_waybill", "return_carrier"),
}
# Set by the builders, never read from a column.
DERIVED = frozenset({"row", "platform", "status", "status_raw", "shipments", "requested_carriers",
                     "excluded_carriers", "return_shipment", "source_digest"})
_IDENT_FIELDS = frozenset({"platform_order_id", "parent_order_id", "refund_id", "sub_order_id", "outer_id"})
_BY_TYPE: tuple[tuple[str, Converter], ...] = (
    ("Decimal", money), ("datetime", when), ("bool", yes_no), ("int", integer), ("str", text),
)
_WAYBILL_FIELDS: dict[str, Converter] = {"waybill": waybill_text, "return_waybill": waybill_text,
                                         "express": express_text}
_ID_NAMES = {"platform_order_id": ("订单编号", "order id"), "refund_id": ("退款编号", "refund id")}


def field_names(kind: str) -> tuple[str, ...]:
    """What a column may map to for this kind of export (record fields and pseudo fields)."""
    own = tuple(f.name for f in dataclasses.fields(RECORDS[kind]) if f.name not in DERIVED)
    return own + PSEUDO_FIELDS[kind]


def converter(kind: str, name: str, dates: Converter | None = None) -> Converter:
    if name in _IDENT_FIELDS:
        return ident
    if name in _WAYBILL_FIELDS:
        return _WAYBILL_FIELDS[name]
    annotation = next((str(f.type) for f in dataclasses.fields(RECORDS[kind]) if f.name == name), "str")
    conv = next(c for t, c in _BY_TYPE if t in annotation)
    return dates if dates is not None and conv is when else conv


def header_name(cell: object) -> str:
    """A header cell as the alias tables write it: trimmed, ASCII parentheses."""
    return clean(cell).replace("\ufeff", "").replace("（", "(").replace("）", ")").replace("\u3000", "")


_TAG = re.compile(r"^[(（][^)）]{1,6}[)）]")


def status_key(raw: str) -> str:
    """Lookup key of a status text: no spaces, full-width commas, no leading "(删除)" tag."""
    return _TAG.sub("", raw.replace(" ", "").replace(",", "，"))


@dataclass(frozen=True)
class Format:
    name: str
    platform: str
    kind: str  # orders | items | refunds
    columns: Mapping[str, str]  # header alias → field
    signature: tuple[str, ...]  # header names that must all be present; "a|b" = either
    statuses: Mapping[str, str] = field(default_factory=dict)  # raw status → vocabulary
    title: str = ""  # what shops call the file
    date_format: str | None = None  # strptime layout of every datetime column (mapping files)
    order_lines: bool = False  # a row per order line (JD): an order's consecutive rows are joined
    _lookup: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        valid = set(field_names(self.kind))
        wrong = sorted({f for f in self.columns.values() if f not in valid})
        if wrong:
            raise ValueError(f"{self.name}: unknown fields {wrong}; valid: {sorted(valid)}")
        vocabulary = VOCABULARY.get(self.kind, ())
        bad = sorted({v for v in self.statuses.values() if v not in vocabulary})
        if bad:
            raise ValueError(f"{self.name}: statuses {bad} not in {vocabulary}")
        object.__setattr__(self, "_lookup", {status_key(k): v for k, v in self.statuses.items()})

    def missing(self, headers: set[str]) -> list[str]:
        """Signature entries absent from a header row (empty: the row is this format's header)."""
        return [s for s in self.signature if not any(a in headers for a in s.split("|"))]

    def status(self, raw: str | None) -> str:
        return self._lookup.get(status_key(raw), "unknown") if raw else "unknown"

    def plan(self, header: list[str]) -> tuple[list[tuple[str, int, Converter, str]], list[str]]:
        """(field, index, converter, column) per known column, and the unknown column names.

        When several columns feed one field (联系手机 and 联系电话), the alias listed first wins
        (the others fill its empty cells: ``spare_columns``).
        """
        index_of = self._index_of(header)
        plan, seen = [], set()
        dates = date_parser(self.date_format) if self.date_format else None
        for alias, target in self.columns.items():  # the alias table's order is the priority
            if alias in index_of and target not in seen:
                seen.add(target)
                plan.append((target, index_of[alias], converter(self.kind, target, dates), alias))
        unmapped = [name for name in header if name and name not in self.columns]
        return plan, unmapped

    def spare_columns(self, header: list[str]) -> dict[int, tuple[int, ...]]:
        """Column index of a field → the further columns feeding it, in priority order: the
        newest Taobao layout has both 订单备注 and 商家备忘, and a seller fills either."""
        index_of = self._index_of(header)
        by_target: dict[str, list[int]] = {}
        for alias, target in self.columns.items():
            if alias in index_of:
                by_target.setdefault(target, []).append(index_of[alias])
        return {first: tuple(rest) for first, *rest in by_target.values() if rest}

    @staticmethod
    def _index_of(header: list[str]) -> dict[str, int]:
        index_of: dict[str, int] = {}
        for index, name in enumerate(header):
            index_of.setdefault(name, index)
        return index_of

    def parse(self, header: list[str], rows: Iterable[Row], stored: StoredCheck | None = None,
              as_columns: bool = False) -> Iterator[Parsed | OrderColumns]:
        """Records and row errors in file order; blank rows and a sheet's totals row (合计 …
        where the order id goes, added by hand or by a spreadsheet) are skipped.

        Rows go through in batches, column by column (a list comprehension per column
        costs far less per cell than a loop per row).  A batch in which any cell is bad
        is redone row by row, so the bad row becomes a RowError and the others records.

        ``stored`` (orders only) is asked, per window of rows, which rows are already
        stored exactly as they are (by the digest of their raw cells): those come out as
        ``UnchangedRows`` without a cell converted, which is most of a re-import.
        ``as_columns`` (orders only): a batch whose rows all convert comes as one
        ``OrderColumns`` instead of a record per row.
        """
        full_plan, _unmapped = self.plan(header)
        plan = [(f, i, c) for f, i, c, _col in full_plan]
        columns = {f: col for f, _i, _c, col in full_plan}
        spare = self.spare_columns(header)
        width = max((i for _f, i, _c in plan), default=0) + 1
        key_at = _key_cells(plan) if stored is not None and self.kind == "orders" else None
        window, stored = (CHECK_ROWS, stored) if key_at else (BATCH_ROWS, None)
        as_columns = as_columns and self.kind == "orders"
        person = self.reading(header)
        id_at = next((i for f, i, _c in plan if f == "platform_order_id"), None)
        if self.order_lines and id_at is not None:
            at = {f: i for f, i, _c in plan}
            rows = _joined_lines(rows, id_at, [at[f] for f in _SUMMED if f in at],
                                 [(tuple(at[f] for f in fs if f in at), sep) for fs, sep in _LISTED if fs[0] in at])
        batch: list[Row] = []
        for row in rows:
            cells = row[1]
            if len(cells) < width:
                row = (row[0], list(cells) + [""] * (width - len(cells)), row[2])
            if any(cells) and not (id_at is not None and _totals_row(row[1][id_at])):
                batch.append(row)
                if len(batch) == window:
                    yield from self._window(batch, person, plan, columns, spare, stored, key_at, as_columns)
                    batch = []
        if batch:
            yield from self._window(batch, person, plan, columns, spare, stored, key_at, as_columns)

    def reading(self, header: list[str]) -> bytes:
        """What a row's digest is salted with: this format's reading of this header row.  The
        same cells under another header, alias, status or date table are another record."""
        how = repr((self.name, header, sorted(self.columns.items()), sorted(self.statuses.items()),
                    self.date_format))
        return blake2b(how.encode(), digest_size=16).digest()

    def _window(self, batch: list[Row], person: bytes, plan: list, columns: dict[str, str], spare: dict,
                stored: StoredCheck | None, key_at: tuple[int, int | None] | None,
                as_columns: bool) -> Iterator[Parsed | OrderColumns]:
        digests = row_digests(batch, person)
        same: set[int] = set()
        if stored is not None:
            keys = _keys([row[1] for row in batch], *key_at, digests)
            same = stored(keys)
        if not same:
            for start in range(0, len(batch), BATCH_ROWS):
                yield from self._convert(batch[start:start + BATCH_ROWS], digests[start:start + BATCH_ROWS],
                                         plan, columns, spare, as_columns)
            return
        rest = [i for i in range(len(batch)) if i not in same]
        converted: list[Parsed] = []
        for start in range(0, len(rest), BATCH_ROWS):
            part = rest[start:start + BATCH_ROWS]
            converted.extend(self._convert([batch[i] for i in part], [digests[i] for i in part], plan, columns,
                                           spare, as_columns=False))  # one item per row, to merge with the markers
        made = iter(converted)
        for is_same, positions in groupby(range(len(batch)), same.__contains__):  # runs, in file order
            if is_same:
                run = list(positions)
                yield UnchangedRows([batch[j][0] for j in run], [keys[j] for j in run])
            else:
                yield from islice(made, len(list(positions)))

    def _convert(self, batch: list[Row], digests: list[str], plan: list, columns: dict[str, str], spare: dict,
                 as_columns: bool) -> list[Parsed | OrderColumns]:
        try:
            return self._build(batch, digests, plan, columns, spare, as_columns)
        except BadCell:
            out: list[Parsed | OrderColumns] = []
            for row, digest in zip(batch, digests):
                try:
                    out.extend(self._build([row], [digest], plan, columns, spare, as_columns))
                except BadCell:
                    out.append(_bad_cell(row, plan, columns))
            return out

    def _build(self, batch: list[Row], digests: list[str], plan: list, columns: dict[str, str], spare: dict,
               as_columns: bool) -> list[Parsed | OrderColumns]:
        table = list(zip(*[row[1] for row in batch]))
        for first, rest in spare.items():
            for other in rest:
                table[first] = [c if _filled(c) else o for c, o in zip(table[first], table[other])]
        values = {f: column_converter(conv)(table[i]) for f, i, conv in plan}
        values["source_digest"] = digests
        numbers = [row[0] for row in batch]
        record = _BUILDERS[self.kind](self, values, len(batch))
        if as_columns and None not in values.get("platform_order_id", (None,)):
            return [OrderColumns(numbers, values, underived=derive_orders)]
        if self.kind == "orders":
            derive_orders(values, len(batch))
        return _with_ids(self.kind, numbers, _records(record, values, len(batch)), columns)


_SUMMED = ("item_count",)  # an order's lines: quantities add up,
# titles, parcels (waybill and carrier in step) and 物流信息 are listed, each value once
_LISTED = ((("item_summary",), "；"), (("waybill", "carrier"), ","), (("express",), ","))


def _joined_lines(rows: Iterable[Row], id_at: int, summed: list[int],
                  listed: list[tuple[tuple[int, ...], str]]) -> Iterator[Row]:
    """An order's consecutive rows as one: quantities added, the distinct titles and parcels
    listed, any other cell the first that holds a value.  Numbered as its first row; its
    digest of all its rows."""
    group: list[Row] = []
    for row in rows:
        if group and _line_key(row[1], id_at) != _line_key(group[0][1], id_at):
            yield _joined(group, summed, listed)
            group = []
        group.append(row)
    if group:
        yield _joined(group, summed, listed)


def _line_key(cells: Cells, id_at: int) -> object:
    cell = cells[id_at] if id_at < len(cells) else ""
    return cell.strip() if type(cell) is str else cell


def _joined(group: list[Row], summed: list[int], listed: list[tuple[tuple[int, ...], str]]) -> Row:
    if len(group) > 1:  # the same line twice is a row exported twice, not two of the item
        lines: dict[tuple, Row] = {}
        for row in group:
            lines.setdefault(tuple(map(str, row[1])), row)
        group = list(lines.values())
    if len(group) == 1:
        return group[0]
    width = max(len(cells) for _n, cells, _raw in group)
    columns = [[cells[i] if i < len(cells) else "" for _n, cells, _raw in group] for i in range(width)]
    joined = [next(filter(_filled, column), column[0]) for column in columns]
    for i in summed:
        counts = [_count(c) for c in columns[i] if _filled(c)]
        if counts and None not in counts:
            joined[i] = str(sum(counts))
    for at, separator in listed:
        lines = dict.fromkeys(tuple(str(columns[i][k]).strip() if _filled(columns[i][k]) else "" for i in at)
                              for k in range(len(group)))
        lines = [line for line in lines if line[0]]  # a title, a waybill
        if len(at) == 2 and len({carrier for _w, carrier in lines}) > 1:  # each parcel its own carrier:
            joined[at[0]] = ";".join(f"{c}:{w}" if c else w for w, c in lines)  # named beside it ("中通:7310…")
            joined[at[1]] = ""  # and none for a line that named none
        elif len(lines) > 1:
            for j, i in enumerate(at):
                values = [line[j] for line in lines]
                joined[i] = values[0] if j and len(set(values)) == 1 else separator.join(values)
    raws = [raw for _n, _cells, raw in group]
    return group[0][0], joined, b"".join(raws) if all(type(r) is bytes for r in raws) else None


def _count(cell: object) -> int | None:
    """A quantity cell as a whole number ("2", 2, 2.0 from xlsx), else None."""
    if type(cell) is str:
        return int(cell.strip()) if cell.strip().isdigit() else None
    if type(cell) is float:
        return int(cell) if cell.is_integer() else None
    return cell if type(cell) is int else None


def _filled(cell: object) -> bool:
    return cell is not None and (type(cell) is not str or not cell.isspace() and cell != "")


TOTALS = ("合计", "总计", "汇总", "小计")
_TOTALS_FIRST = frozenset(label[0] for label in TOTALS)  # a cheap first test on every row's id


def _totals_row(id_cell: object) -> bool:
    if type(id_cell) is not str:
        return False
    cell = id_cell.lstrip(' \t="\'')
    return bool(cell) and cell[0] in _TOTALS_FIRST and "".join(cell.split()).startswith(TOTALS)  # 合 计


# (order id, shop name or None, raw digest) per row → positions stored exactly so.
StoredCheck = Callable[[list[tuple[str | None, str | None, str]]], set[int]]
CHECK_ROWS = 2048  # rows asked about at once: one database lookup each


def _key_cells(plan: list) -> tuple[int, int | None] | None:
    """Where a row's order id and shop name are (None: the file has no order id column)."""
    at = {f: i for f, i, _conv in plan}
    return (at["platform_order_id"], at.get("shop_name")) if "platform_order_id" in at else None


def _keys(rows: list[list], id_at: int, shop_at: int | None,
          digests: list[str]) -> list[tuple[str | None, str | None, str]]:
    """Each row's order id and shop as the converters would make them (None: a bad id cell)."""
    id_cells = [cells[id_at] for cells in rows]
    try:
        ids = ident_column(id_cells)
    except BadCell:
        ids = [_ident_or_none(c) for c in id_cells]
    shops = text_column([cells[shop_at] for cells in rows]) if shop_at is not None else repeat(None)
    return list(zip(ids, shops, digests))


def _ident_or_none(cell: Any) -> str | None:
    try:
        return ident(cell) if cell != "" else None
    except BadCell:
        return None


def row_digests(rows: list[Row], person: bytes) -> list[str]:
    """A short digest of each row as read, so an importer can skip unchanged rows cheaply.

    Of a CSV record's bytes as they are in the file (joining and encoding its cells again
    cost three times hashing them); of its cells for xlsx, where there are no such bytes.
    """
    try:
        return [blake2b(raw, digest_size=8, person=person).hexdigest() for _n, _cells, raw in rows]
    except TypeError:  # rows without their bytes: xlsx (numbers and dates among the cells), UTF-16
        return [blake2b(raw if raw is not None else "\x1f".join(map(str, cells)).encode(), digest_size=8,
                        person=person).hexdigest() for _n, cells, raw in rows]


BATCH_ROWS = 128  # small enough that a batch dies young (cheap garbage collection)


def _bad_cell(row: Row, plan: list, columns: dict[str, str]) -> RowError:
    n, cells, _raw = row
    for target, index, conv in plan:
        try:
            if cells[index] != "":
                conv(cells[index])
        except BadCell as bad:
            return RowError(n, bad.reason, columns[target], clean(cells[index]))
    raise AssertionError("a batch failed but none of its cells does")


def _column(values: dict[str, list], name: str, k: int) -> list:
    return values.pop(name, None) or [None] * k


def _with_ids(kind: str, numbers: list[int], records: list, columns: dict) -> list[Parsed]:
    """Attach row numbers; a record without its id(s) becomes a RowError instead."""
    out: list[Parsed] = []
    ids = ID_FIELDS[kind]
    for n, record in zip(numbers, records):
        record.row = n
        missing = next((name for name in ids if getattr(record, name) is None), None)
        if missing:
            zh, en = _ID_NAMES[missing]
            record = RowError(n, f"{zh}为空 (missing {en})", columns.get(missing, zh), None)
        out.append(record)
    return out


def _records(cls: type, values: dict[str, list], k: int) -> list:
    """Instances of a record class from columns, positionally (no per-row kwargs dict)."""
    args = []
    for f in dataclasses.fields(cls):
        default = None if f.default is dataclasses.MISSING else f.default
        column = values.get(f.name)
        if column is None:
            args.append(repeat(default, k))
        elif default is not None:
            args.append([default if x is None else x for x in column])
        else:
            args.append(column)
    return list(map(cls, *args))


def _statuses(fmt: Format, values: dict[str, list], k: int) -> None:
    raws = _column(values, "status", k)
    known: dict[str | None, str] = {}  # a batch holds a handful of distinct status texts
    values["status"] = [known[r] if r in known else known.setdefault(r, fmt.status(r)) for r in raws]
    values["status_raw"] = [r or "" for r in raws]


def _build_orders(fmt: Format, v: dict[str, list], k: int) -> type:
    _statuses(fmt, v, k)
    if "express" in v:
        v["shipments"] = list(map(order_shipments, _column(v, "waybill", k), _column(v, "carrier", k),
                                  _column(v, "express", k)))
    else:
        v["shipments"] = ShipmentCells(_column(v, "waybill", k), _column(v, "carrier", k))
    if "province" in v:
        v["province"] = [province_name(p) or p if p else p for p in v["province"]]
    v["platform"] = [fmt.platform] * k
    return OrderRecord


def derive_orders(v: dict[str, list], k: int) -> None:
    """The ``LATER_FIELDS`` of a batch of order columns: province, city and district from the
    receiver address where the export has no province column (a city or district column
    wins over the address), and the carriers asked for or refused in the buyer's message
    and the seller's memo.  Cannot fail a row (see ``OrderColumns.underived``)."""
    if "province" not in v and "receiver_address" in v:
        places = list(map(split_address, v["receiver_address"]))
        v["province"] = [p[0] for p in places]
        for i, name in ((1, "city"), (2, "district")):
            given = v.get(name) or [None] * k
            v[name] = [g or p[i] for g, p in zip(given, places)]
    if "buyer_message" in v or "seller_memo" in v:
        wishes = list(map(_wishes, v.get("buyer_message") or [None] * k, v.get("seller_memo") or [None] * k))
        v["requested_carriers"] = [w[0] for w in wishes]
        v["excluded_carriers"] = [w[1] for w in wishes]


@lru_cache(maxsize=4096)
def _wishes(message: str | None, memo: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return carrier_request.parse(message, memo) if message or memo else ((), ())


def _build_items(fmt: Format, v: dict[str, list], k: int) -> type:
    v["status_raw"] = _column(v, "status", k)
    v["title"] = [t or "" for t in _column(v, "title", k)]
    v["platform"] = [fmt.platform] * k
    return ItemRecord


def _build_refunds(fmt: Format, v: dict[str, list], k: int) -> type:
    _statuses(fmt, v, k)
    v["return_shipment"] = [(shipments(b, c) or (None,))[0] if b else None
                            for b, c in zip(_column(v, "return_waybill", k), _column(v, "return_carrier", k))]
    v["platform"] = [fmt.platform] * k
    return RefundRecord


_BUILDERS = {"orders": _build_orders, "items": _build_items, "refunds": _build_refunds}


def find_header(rows: Iterator[Row], candidates: Iterable[Format], limit: int = 20) -> tuple[Format, int, list[str]]:
    """The first of the first ``limit`` rows that is a candidate format's header row.

    Of the candidates whose signature a row holds, the one that knows most of its columns
    wins (a JD export with a 快递单号 column also holds PDD's signature), the registry order
    breaking ties.  Raises ``RejectedFile`` naming what was looked for.
    """
    candidates = list(candidates)
    closest: tuple[int, Format, list[str]] | None = None
    for _ in range(limit):
        row = next(rows, None)
        if row is None:
            break
        n, cells, _raw = row
        names = [header_name(c) for c in cells]
        present = set(names)
        fitting = []
        for fmt in candidates:
            missing = fmt.missing(present)
            if not missing:
                fitting.append(fmt)
            elif 2 * len(missing) <= len(fmt.signature) and (closest is None or len(missing) < len(closest[2])):
                closest = (n, fmt, missing)
        if fitting:
            return max(fitting, key=lambda fmt: len(present & fmt.columns.keys())), n, names
    if closest:
        n, fmt, missing = closest
        wanted = "、".join(m.replace("|", "/") for m in missing)
        raise RejectedFile(f"不是认得的订单导出文件：第 {n} 行像{fmt.title or fmt.name}的表头，但缺少 {wanted} 列",
                           f"not a known order export: row {n} looks like a {fmt.name} header "
                           f"but lacks {', '.join(missing)}")
    names = ", ".join(f.name for f in candidates)
    raise RejectedFile(f"不是订单导出文件：前 {limit} 行中没有订单编号等表头",
                       f"not an order export: no recognised header in the first {limit} rows (looked for: {names})")
