"""Ingest: a platform export into the database, idempotently, one transaction per file.

    file ─► imports.open_export ─► records, row errors ─► chunks of 2,000 records
            (in a second process for files over 8 MB: it parses and prepares rows for
             writing while this one writes, and leaves what cannot fail a row — places,
             carrier wishes, waybills — to this one; ``ParseInChild``, ``PreparedOrders``)
      orders    (shop, order id) known?  no → insert · facts changed → merge + update · else unchanged
      shipments waybills an order names: new → insert (due for polling at once);
                no longer named by a newer export → superseded
      items     (order, line) upsert; lines of unknown orders are row errors
      refunds   (shop, refund id) upsert; a return waybill becomes a return shipment
    batch row and counts go in the same transaction, so a crash or kill leaves the
    database as it was before the file; row errors go to a CSV report next to it.
    On SQLite a big first load builds most indexes at the end (``defer_indexes``) and
    flushes the write-ahead log and the database file as they grow (``WriteBehind``).

A newer export never moves an order backwards: a stale file re-imported after a newer
one keeps 交易成功 and the times already known (see ``merge_order``).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import pickle
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from itertools import islice, repeat
from pathlib import Path

from sqlalchemy import Connection, Engine, make_url, select, update

import imports
from couriers import carriers
from imports.cells import SHANGHAI_OFFSET, ShipmentCells, shipments_column
from imports.formats import derive_orders
from imports.records import (ItemRecord, OrderColumns, OrderRecord, RefundRecord, RowError, ShipmentRef,
                             UnchangedRows)
from tracker import audit
from tracker.bulk import (Binder, BulkTable, DeferredIndexes, OwnParents, WorkBehind, WorkHere, WriteBehind,
                          few_collections, parents_known)
from tracker.childproc import ReadAhead, packed_column, picklable, unpacked_column, write_message
from tracker.db import make_engine
from tracker.models import ImportBatch, Order, OrderItem, Refund, Shipment, Shop

CHUNK = 2000
# From this many rows expected in a file, a load into a (nearly) empty table builds its
# indexes at the end (see ``_Ingest.defer_indexes``).
DEFER_INDEXES_ROWS = 50_000

# Fields of OrderRecord stored as-is on Order (record name → column name).
ORDER_FIELDS = {
    "parent_order_id": "parent_order_id",
    "status": "status",
    "status_raw": "status_raw",
    "buyer_nick": "buyer_nick",
    "receiver_name": "receiver_name",
    "receiver_phone": "receiver_phone",
    "receiver_address": "receiver_address",
    "province": "province",
    "city": "city",
    "district": "district",
    "buyer_message": "buyer_message",
    "seller_memo": "seller_memo",
    "item_summary": "item_summary",
    "item_count": "item_count",
    "total_amount": "total_amount",
    "paid_amount": "paid_amount",
    "postage": "postage",
    "refund_amount": "refund_amount",
    "delay_compensation": "delay_compensation",
    "created_at": "ordered_at",
    "paid_at": "paid_at",
    "ship_deadline": "ship_deadline",
    "shipped_at": "shipped_at",
    "confirmed_at": "confirmed_at",
    "closed_reason": "closed_reason",
    "after_sale_status": "after_sale_status",
    "shipping_method": "shipping_method",
}
# Derived columns, after the stored fields.
ORDER_FACTS = (*ORDER_FIELDS.values(), "phone_tail", "requested_carriers", "excluded_carriers")
_STATUS_AT = ORDER_FACTS.index("status")
_STATUS_RAW_AT = ORDER_FACTS.index("status_raw")

# How far along an order is; a stale export must not move it backwards.
# Closed comes last: a finished order can still close (已签收，退款成功), never the reverse.
STATUS_RANK = {"awaiting_payment": 0, "awaiting_shipment": 1, "shipped": 2, "finished": 3, "closed": 4}

KIND_ORDER = {"orders": 0, "items": 1, "refunds": 2}


@dataclass
class ImportSummary:
    file: str
    format: str
    platform: str
    batch_id: int
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    shipments_added: int = 0
    error_report: str | None = None
    seconds: float = 0.0
    errors_preview: list[RowError] = field(default_factory=list)


def fact_columns(batch: OrderColumns) -> list[list]:
    """The stored facts of a batch of order rows, column by column in ``ORDER_FACTS`` order."""
    return [batch.column(name) for name in ORDER_FIELDS] + _last_facts(
        batch.column("receiver_phone"), batch.column("requested_carriers"), batch.column("excluded_carriers"))


def _last_facts(phones: list, requested: list, excluded: list) -> list[list]:
    """The facts after the stored fields: the phone's last four digits, the carriers asked for and refused."""
    return [
        [p[-4:] if p and len(p) >= 4 and p[-4:].isdigit() else None for p in phones],
        [",".join(wanted) or None for wanted in requested],
        [",".join(refused) or None for refused in excluded],
    ]


_FIELD_AT = {name: i for i, name in enumerate(ORDER_FIELDS.values())}


def derived_facts(fields: list[list], places: bool) -> list[list]:
    """``fact_columns`` of a batch whose ``LATER_FIELDS`` were left underived, from its stored
    fields (the text columns the derivation reads are stored as they are).  ``places``: the
    export has no province column, so province, city and district come from the address."""
    at = _FIELD_AT
    # every stored field under its record name, as the parser had it: what derivation reads
    # is whatever ``derive_orders`` reads; without a province column there was no province
    v = {record: fields[at[column]] for record, column in ORDER_FIELDS.items() if record != "province" or not places}
    derive_orders(v, len(fields[0]))
    facts = list(fields)
    for name in ("province", "city", "district"):
        facts[at[name]] = v[name]
    return facts + _last_facts(fields[at["receiver_phone"]], v["requested_carriers"], v["excluded_carriers"])


# A shipment as the ingest handles it: (waybill, carrier, carrier_raw, carrier_note).
Ref = tuple[str, str | None, str | None, str | None]


def shipment_ref(ref: ShipmentRef) -> Ref:
    return _ref(*ref)


def _ref(waybill: str, carrier: str | None, carrier_raw: str | None) -> Ref:
    return (waybill, carrier, carrier_raw or None, carrier_note(waybill, carrier, carrier_raw))


_NO_SHIPMENT = (None, None, None)


@dataclass
class Shipments:
    """The waybills of a batch of order rows, column by column, as they cross the pipe.

    Either the waybill and carrier cells as read (``cells``, from ``ShipmentCells``), which
    the writing process parses; or, where the parsing process already has ShipmentRefs
    (an export naming carrier and number in one cell, a batch taken row by row), each
    row's first waybill, carrier and carrier text in three columns (waybill None: the row
    names none) and its further ones (a few rows) in ``more``.  Three packed text columns
    instead of a tuple per shipment, and the refs written, carrier notes and all, are made
    by the writing process (``refs``): the parsing one is an import's critical path, and
    the writing one waits for it.
    """

    waybills: list[str | None]
    carriers: list[str | None]
    carriers_raw: list[str | None]
    more: dict[int, tuple[ShipmentRef, ...]]  # row → its second and later shipments
    cells: bool = False  # waybills and carriers are cells as read; carriers_raw is empty
    _refs: list | None = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, shipments: Sequence[tuple[ShipmentRef, ...]]) -> Shipments:
        if type(shipments) is ShipmentCells and not shipments.parsed:
            return cls(list(shipments.waybills), list(shipments.carriers), [], {}, cells=True)
        if not shipments:
            return cls([], [], [], {})
        waybills, carriers, raws = map(list, zip(*[s[0] if s else _NO_SHIPMENT for s in shipments]))
        return cls(waybills, carriers, raws, {i: s[1:] for i, s in enumerate(shipments) if len(s) > 1})

    def refs(self) -> list[tuple[Ref, ...]]:
        """Each row's shipments as written (made once)."""
        if self._refs is not None:
            return self._refs
        if self.cells:
            refs = shipments_column(self.waybills, self.carriers, make=_ref)
        else:
            note = carrier_note
            refs = [((w, c, r or None, note(w, c, r)),) if w is not None else ()
                    for w, c, r in zip(self.waybills, self.carriers, self.carriers_raw)]  # ``_ref``, inlined
            for i, rest in self.more.items():
                refs[i] += tuple(map(shipment_ref, rest))
        self._refs = refs
        return refs

    def parsed(self) -> Shipments:
        """The same shipments in the parsed form."""
        return Shipments.of(shipments_column(self.waybills, self.carriers)) if self.cells else self

    @classmethod
    def joined(cls, parts: list[Shipments]) -> Shipments:
        if not all(part.cells for part in parts):
            parts = [part.parsed() for part in parts]
        whole = cls([], [], [], {}, cells=parts[0].cells)
        for part in parts:
            offset = len(whole.waybills)
            whole.more.update((offset + i, rest) for i, rest in part.more.items())
            whole.waybills += part.waybills
            whole.carriers += part.carriers
            whole.carriers_raw += part.carriers_raw
        return whole


@dataclass
class PreparedOrders:
    """Order rows ready to write, column by column: what ``prepare_orders`` makes.

    Crosses from the parsing process with its text columns packed into one string each
    (``childproc.packed_column``), and a chunk of new orders goes into the database
    through one ``zip`` of its columns: no tuple per row is built in Python on the way.
    """

    shops: list[str | None]
    order_ids: list[str]
    platform: str
    digests: list[str]
    facts: list[list]  # ORDER_FACTS columns in stored form; only the ORDER_FIELDS ones while ``pending``
    shipments: Shipments
    # The LATER_FIELDS are left to the writing process (``derive``): they cannot fail a row,
    # and the parsing process is an import's critical path.
    pending: bool = False
    places: bool = False  # ... and the export has no province column (see ``derived_facts``)

    def __len__(self) -> int:
        return len(self.order_ids)

    def derive(self) -> None:
        if self.pending:
            self.facts = derived_facts(self.facts, self.places)
            self.pending = self.places = False

    def complete(self) -> None:
        """Everything the writing process adds that needs no database: facts and refs."""
        self.derive()
        self.shipments.refs()

    def rows(self) -> list[tuple]:
        """As rows: (shop name, order id, platform, digest, stored facts, shipment refs)."""
        self.derive()
        return list(zip(self.shops, self.order_ids, repeat(self.platform), self.digests, zip(*self.facts),
                        self.shipments.refs()))

    @classmethod
    def joined(cls, parts: list[PreparedOrders]) -> PreparedOrders:
        if len({(part.pending, part.places) for part in parts}) > 1:  # facts of different layouts
            for part in parts:
                part.derive()
        first = parts[0]
        whole = cls([], [], first.platform, [], [[] for _ in first.facts],
                    Shipments.joined([part.shipments for part in parts]), first.pending, first.places)
        for part in parts:
            whole.shops += part.shops
            whole.order_ids += part.order_ids
            whole.digests += part.digests
            for mine, theirs in zip(whole.facts, part.facts):
                mine += theirs
        return whole

    def __reduce__(self):
        ships = self.shipments
        text = [packed_column(c) for c in (self.shops, self.order_ids, self.digests, ships.waybills, ships.carriers,
                                           ships.carriers_raw, *self.facts)]
        return _unpacked_orders, (self.platform, text, ships.more, ships.cells, self.pending, self.places)


def _unpacked_orders(platform: str, text: list, more: dict, cells: bool, pending: bool, places: bool) -> PreparedOrders:
    shops, order_ids, digests, waybills, carriers, raws, *facts = map(unpacked_column, text)
    return PreparedOrders(shops, order_ids, platform, digests, facts, Shipments(waybills, carriers, raws, more, cells),
                          pending, places)


def prepare_orders(batch: OrderColumns, platform: str, binder: Binder) -> PreparedOrders:
    """Order rows → their shop names, ids, digests, stored facts and shipments.

    Everything per row that needs no database and can fail a row, column by column: this
    runs in the parsing process.  What cannot fail a row and the parser left undone (the
    ``LATER_FIELDS``, waybill cells: see ``OrderColumns.underived``, ``ShipmentCells``) is
    done by the writing one (``PreparedOrders.derive``, ``Shipments.refs``), carrier notes too.
    """
    pending = batch.underived is not None
    facts = binder.stored_columns([batch.given(name) for name in ORDER_FIELDS] if pending else fact_columns(batch))
    shipments = batch.column("shipments")
    digests = batch.column("source_digest")
    if None in digests:
        digests = [d or facts_hash((f, s)) for d, f, s in zip(digests, zip(*facts), shipments)]
    return PreparedOrders(batch.column("shop_name"), batch.column("platform_order_id"), platform, digests,
                          facts, Shipments.of(shipments), pending, pending and "province" not in batch.values)


def unchanged_markers(rows: UnchangedRows) -> list[tuple]:
    """Rows already stored as they are (see ``StoredDigests``): platform, facts and refs None."""
    return [(shop, order_id, None, digest, None, None) for order_id, shop, digest in rows.keys]


def facts_hash(values: Iterable) -> str:
    return hashlib.blake2b(repr(tuple(values)).encode(), digest_size=8).hexdigest()


def is_stale(old: tuple, new: tuple) -> bool:
    """``new`` comes from an older export than ``old``: its status is behind in ``STATUS_RANK``
    (a status text not recognised says nothing either way)."""
    new_rank, old_rank = STATUS_RANK.get(new[_STATUS_AT]), STATUS_RANK.get(old[_STATUS_AT])
    return new_rank is not None and old_rank is not None and new_rank < old_rank


def merge_order(old: tuple, new: tuple, older: bool = False) -> tuple:
    """The facts after importing ``new`` over ``old``: newer data wins, nothing known is lost.

    A value the new export leaves empty keeps the old one (an older export layout
    lacks 发货时间, say).  A row from an older export (``is_stale``) only fills what is not
    known yet: its status, waybills, amounts and times are those the newer one replaced;
    so does one from a file exported before the one the order was last imported from
    (``older``: ``export_time``).  A status text not recognised keeps the known status.
    """
    if older or is_stale(old, new):
        return tuple(o if o is not None else n for o, n in zip(old, new))
    merged = [n if n is not None else o for o, n in zip(old, new)]
    if new[_STATUS_AT] not in STATUS_RANK and old[_STATUS_AT] in STATUS_RANK:
        merged[_STATUS_AT], merged[_STATUS_RAW_AT] = old[_STATUS_AT], old[_STATUS_RAW_AT]
    return tuple(merged)


def carrier_note(waybill: str, carrier: str | None, carrier_raw: str | None = "") -> str | None:
    """A readable warning when the number does not fit the named carrier's patterns."""
    if not carrier:
        if carrier_raw:
            return f"未识别的快递公司：{carrier_raw} (unknown carrier)"
        return None
    tail = waybill[2:]
    if tail.isdigit() and tail.isascii():  # nearly every number: its shape is its head and length
        return _digits_note(carrier, waybill[:2], len(tail))
    return _pattern_note(carrier, waybill[:2] + tail.translate(_DIGITS_AS_9))


# Carrier patterns look at the first two characters literally and at digits only as \d
# after that, so every number of one shape gets the same note: computed once per shape.
_DIGITS_AS_9 = str.maketrans("0123456789", "9999999999")


@lru_cache(maxsize=8192)
def _digits_note(carrier: str, head: str, digits: int) -> str | None:
    return _pattern_note(carrier, head + "9" * digits)


@lru_cache(maxsize=8192)
def _pattern_note(carrier: str, shape: str) -> str | None:
    if carriers.matches(carrier, shape):
        return None
    others = [c for c in carriers.guess(shape) if c != carrier]
    if not others:
        return None
    names = "、".join(carriers.get(c).name for c in others)
    return f"单号格式更像{names} (number pattern fits {', '.join(others)})"


class _ErrorReport:
    """Row errors streamed to a CSV next to the batch (UTF-8 with BOM, opens in Excel)."""

    def __init__(self, directory: Path, preview: int = 20):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.tmp = directory / f".pending-{os.getpid()}-{time.monotonic_ns()}.csv"
        self._file = None
        self._writer = None
        self.count = 0
        self.preview: list[RowError] = []
        self._preview_size = preview

    def add(self, err: RowError) -> None:
        if self._writer is None:
            self._file = open(self.tmp, "w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow(["行号 row", "原因 reason", "列 column", "值 value"])
        self._writer.writerow([err.row, err.reason, err.column or "", err.value or ""])
        self.count += 1
        if len(self.preview) < self._preview_size:
            self.preview.append(err)

    def final_path(self, batch_id: int) -> Path:
        return self.directory / f"batch-{batch_id}-errors.csv"

    def close(self, batch_id: int | None) -> str | None:
        """Keep the report under its batch's name (``None``: the batch was rolled back)."""
        if self._file is None:
            return None
        self._file.close()
        if batch_id is None:
            self.tmp.unlink(missing_ok=True)
            return None
        final = self.final_path(batch_id)
        self.tmp.replace(final)
        return str(final)


def _chunks(it: Iterable, size: int) -> Iterator[list]:
    it = iter(it)
    while chunk := list(islice(it, size)):
        yield chunk


class _Ingest:
    """The state of one file's import inside its transaction."""

    def __init__(self, conn: Connection, summary: ImportSummary, platform: str, shop_name: str | None,
                 report: _ErrorReport, now: datetime, exported: datetime | None = None):
        self.conn = conn
        self.exported = exported  # when the file was exported (``export_time``)
        self._batch_exports: dict[int, datetime | None] = {}
        self.summary = summary
        self.platform = platform
        self.shop_name = shop_name
        self.report = report
        self.now = now
        self._shops: dict[str, int] = {}
        self._fallback = fallback_shop(conn.execute(select(Shop.name, Shop.platform)), platform)
        self._named: set[str] = set()  # the shops the file's rows name
        # Shops that held no order when this import met them, and a mark per hash((shop id,
        # order id)) slot of each order it created in one: a key in such a shop whose slot is
        # unmarked is surely not stored, and needs no lookup (16 MB however many orders, made
        # when the first empty shop is met; a shared slot only costs the lookup).
        self._empty_shops: set[int] = set()
        self._created = bytearray()
        batch = summary.batch_id
        self.orders = BulkTable(conn, Order.__table__, (
            "shop_id", "platform", "platform_order_id", *ORDER_FACTS, "source_hash"),
            fixed={"first_batch_id": batch, "last_batch_id": batch, "facts_changed_at": now, "created_at": now})
        self.order_updates = BulkTable(conn, Order.__table__, (*ORDER_FACTS, "source_hash"),
                                       fixed={"last_batch_id": batch, "facts_changed_at": now})
        self.order_fills = BulkTable(conn, Order.__table__, ORDER_FACTS, fixed={"facts_changed_at": now})
        self.order_touch = BulkTable(conn, Order.__table__, ("source_hash",), fixed={"last_batch_id": batch})
        self.shipments = BulkTable(conn, Shipment.__table__, (
            "order_id", "kind", "source", "waybill", "carrier", "carrier_raw", "carrier_note"),
            fixed={"status": "pending", "done": False, "next_poll_at": now, "poll_count": 0, "error_count": 0,
                   "created_at": now, "updated_at": now})
        self.shipment_carrier = BulkTable(conn, Shipment.__table__, (
            "carrier", "carrier_raw", "carrier_note", "superseded_at"), fixed={"updated_at": now})
        self.items = BulkTable(conn, OrderItem.__table__, (
            "order_id", "line_no", "sub_order_id", "title", "sku", "outer_id", "quantity", "price",
            "paid_amount", "status_raw", "refund_status", "refund_amount"))
        self.refunds = BulkTable(conn, Refund.__table__, (
            "shop_id", "platform", "refund_id", "platform_order_id", "order_id", "status", "status_raw",
            "amount", "paid_amount", "reason", "description", "goods_status", "needs_return",
            "after_sale_phase", "responsible_party", "item_title", "requested_at", "finished_at",
            "source_hash", "last_batch_id"))
        self._item_lines: dict[str, int] = {}
        self._deferred: DeferredIndexes | None = None
        self._own_parents = OwnParents(conn)

    # indexes -------------------------------------------------------------
    def defer_indexes(self, expected_rows: float) -> None:
        """On SQLite, build the order and shipment indexes over columns written row by row
        once at the end, when this file brings more than twice the orders already stored
        (a first import, a new shop); see ``DeferredIndexes``."""
        if self.conn.dialect.name != "sqlite" or expected_rows < DEFER_INDEXES_ROWS:
            return
        # max(id): the count's upper bound, one index probe instead of a scan
        stored = self.conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM orders").scalar_one()
        if expected_rows > 2 * stored:
            self._deferred = DeferredIndexes(self.conn, {"orders": self.orders.columns,
                                                          "shipments": self.shipments.columns})
            self._deferred.drop()

    def restore_indexes(self) -> None:
        if self._deferred is not None:
            self._deferred.restore()

    # shops ---------------------------------------------------------------
    def shop_id(self, name: str | None) -> int:
        if name is not None:
            self._named.add(name)
        elif len(self._named) == 1:  # a row with its 店铺名称 cell empty, in a file of one shop
            name = next(iter(self._named))
        name = shop_name(self.shop_name, name, self._fallback)
        if name is None:
            raise _no_shop_named(self.platform)
        cached = self._shops.get(name)
        if cached is not None:
            return cached
        # FOR KEY SHARE (PostgreSQL): the lock a foreign-key check takes, once per import, so
        # the shop stays as it is while orders are written into it unchecked (``OwnParents``)
        row = self.conn.execute(select(Shop.id).where(Shop.name == name).with_for_update(key_share=True)).first()
        if row is None:
            shop_id = self.conn.execute(
                Shop.__table__.insert().values(name=name, platform=self.platform, created_at=self.now)
            ).inserted_primary_key[0]
        else:
            shop_id = row[0]
        if row is None or self.conn.execute(select(Order.id).where(Order.shop_id == shop_id).limit(1)).first() is None:
            self._empty_shops.add(shop_id)
            if not self._created:
                self._created = bytearray(CREATED_SLOTS)
        self._shops[name] = shop_id
        return shop_id

    def _shop_ids(self, names: Iterable[str | None]) -> dict[str | None, int]:
        """Shop id per distinct shop name of a chunk (a file names one shop, or a few)."""
        return {name: self.shop_id(name) for name in dict.fromkeys(names)}

    def _orders_by_platform_id(self, order_ids: list[str]) -> dict[str, tuple[int, int]]:
        """(order id, shop id) of already-imported orders, for files without a shop column."""
        if self.shop_name:
            sid = self.shop_id(None)
            found = self.orders.lookup(("shop_id", "platform_order_id"), [(sid, o) for o in order_ids])
            return {k[1]: (row[0], sid) for k, row in found.items()}
        rows = self.conn.execute(
            select(Order.id, Order.platform_order_id, Order.shop_id)
            .where(Order.platform == self.platform, Order.platform_order_id.in_(order_ids))
        )
        return {r.platform_order_id: (r.id, r.shop_id) for r in rows}

    # orders --------------------------------------------------------------
    def add_orders(self, prepared: PreparedOrders | list[tuple]) -> None:
        """Orders prepared by the parser, as columns or as rows (rows: with unchanged markers)."""
        existing = None
        if type(prepared) is PreparedOrders:
            prepared.derive()
            names = self._shop_ids(prepared.shops)
            shop_ids = [names[name] for name in prepared.shops]
            keys = list(zip(shop_ids, prepared.order_ids))
            slots = _created_slots(keys)
            existing = self._stored(keys, slots)
            # (order ids hash once: their hashes are cached, a key's is not)
            once = len(set(prepared.order_ids if len(names) == 1 else keys)) == len(keys)
            if not existing and once:  # a first import's chunk: all new, each once
                ids = self.orders.reserve_ids(len(keys))
                with self._own_parents.writing():
                    self.orders.write_columns([ids, shop_ids, repeat(prepared.platform), prepared.order_ids,
                                               *prepared.facts, prepared.digests])
                    self._add_shipments(dict(zip(ids, prepared.shipments.refs())))
                self._remember_created(keys, slots)
                self.summary.created += len(keys)
                return
            prepared = prepared.rows()
        latest: dict[tuple, tuple] = {}
        shop_ids = self._shop_ids(row[0] for row in prepared)
        for row in prepared:  # a file may repeat an order (exports appended): merged as imports are
            key = (shop_ids[row[0]], row[1])
            before = latest.get(key)
            if before is not None and before[4] is not None and row[4] is not None:
                kept = before if is_stale(before[4], row[4]) else row
                row = (*kept[:4], merge_order(before[4], row[4]), kept[5])
            latest[key] = row
        if existing is None:
            existing = self._stored(list(latest), _created_slots(latest))
        self.summary.unchanged += len(prepared) - len(latest)
        new_rows, changed = [], []
        for key, row in latest.items():
            found = existing.get(key)
            if row[4] is None and (found is None or found[1] != row[3]):
                raise ConcurrentImport(key[1])
            if found is None:
                new_rows.append((key, row))
            elif found[1] == row[3]:
                self.summary.unchanged += 1
            else:
                changed.append((found[0], row))
        if new_rows:
            ids = self.orders.reserve_ids(len(new_rows))
            with self._own_parents.writing():
                self.orders.write((row_id, shop, platform, oid, *facts, digest) for row_id, ((shop, oid), (
                    _n, _o, platform, digest, facts, _r)) in zip(ids, new_rows))
                self._add_shipments({oid: row[5] for oid, (_key, row) in zip(ids, new_rows)})
            new_keys = [key for key, _row in new_rows]
            self._remember_created(new_keys, _created_slots(new_keys))
            self.summary.created += len(new_rows)
        if changed:
            self._update_orders(changed)

    def _stored(self, keys: list[tuple[int, str]], slots: list[int]) -> dict[tuple, tuple]:
        """(id, source hash) of the orders stored under these (shop id, order id) keys; only the
        keys that may be stored are looked up (see ``_created``; ``slots``: ``_created_slots``)."""
        empty, created = self._empty_shops, self._created
        maybe = [key for key, slot in zip(keys, slots) if key[0] not in empty or created[slot]]
        return self.orders.lookup(("shop_id", "platform_order_id"), maybe, ("source_hash",)) if maybe else {}

    def _remember_created(self, keys: list[tuple[int, str]], slots: list[int]) -> None:
        empty, created = self._empty_shops, self._created
        for key, slot in zip(keys, slots):
            if key[0] in empty:
                created[slot] = 1

    def _update_orders(self, changed: list[tuple[int, tuple]]) -> None:
        """Merge a newer export's facts into known orders (all values in stored form).

        A row from an older export (its status behind, or its file exported before the
        order's last one) only fills gaps, and leaves the order's shipments and its last
        batch as they are, so a file exported in between is still compared with the newest."""
        cols = ", ".join(ORDER_FACTS)
        marks = ", ".join(self.orders.mark for _ in changed)
        stored = self.order_updates.bind.stored  # ORDER_FACTS come first in its columns
        rows = self.conn.exec_driver_sql(f"SELECT id, last_batch_id, {cols} FROM orders WHERE id IN ({marks})",
                                         tuple(c[0] for c in changed)).all()
        current = {r[0]: stored(r[2:]) for r in rows}
        older = self._from_older_files({r[0]: r[1] for r in rows})
        older.update(order_id for order_id, row in changed if is_stale(current[order_id], row[4]))
        moved = self._sync_shipments({order_id: row[5] for order_id, row in changed if order_id not in older})
        updates, fills, touches = [], [], []
        for order_id, row in changed:
            merged = merge_order(current[order_id], row[4], older=order_id in older)
            if merged == current[order_id] and order_id not in moved:
                if order_id not in older:
                    touches.append((order_id, (row[3],)))
                self.summary.unchanged += 1
            elif order_id in older:
                fills.append((order_id, merged))
                self.summary.updated += 1
            else:
                updates.append((order_id, (*merged, row[3])))
                self.summary.updated += 1
        self.order_updates.update(updates, bound=True)
        self.order_fills.update(fills, bound=True)
        self.order_touch.update(touches, bound=True)

    def _from_older_files(self, last_batches: dict[int, int | None]) -> set[int]:
        """The orders last imported from a file exported after this one."""
        if self.exported is None:
            return set()
        wanted = {b for b in last_batches.values() if b is not None and b not in self._batch_exports}
        if wanted:
            self._batch_exports.update((batch, at) for batch, at in self.conn.execute(
                select(ImportBatch.id, ImportBatch.exported_at).where(ImportBatch.id.in_(wanted))))
        exports = self._batch_exports
        return {order_id for order_id, b in last_batches.items()
                if (at := exports.get(b)) is not None and self.exported < at}

    # shipments -----------------------------------------------------------
    def _add_shipments(self, by_order: dict[int, tuple[Ref, ...]], kind: str = "original") -> None:
        source = "refund" if kind == "return" else "import"
        count = sum(map(len, by_order.values()))
        if not count:
            return
        ids = iter(self.shipments.reserve_ids(count))
        # ids, text and the order's id: stored as they are, no binding
        self.shipments.write((next(ids), order_id, kind, source, *ref)
                             for order_id, refs in by_order.items() for ref in refs)
        self.summary.shipments_added += count

    def _sync_shipments(self, by_order: dict[int, tuple[Ref, ...]], kind: str = "original") -> set[int]:
        """Bring imported shipments of existing orders in line with the newest export.

        Returns the ids of the orders whose shipments changed.
        """
        if not by_order:
            return set()
        t = Shipment.__table__
        source = "refund" if kind == "return" else "import"
        rows = self.conn.execute(
            select(t.c.id, t.c.order_id, t.c.waybill, t.c.carrier, t.c.carrier_raw, t.c.carrier_note, t.c.superseded_at)
            .where(t.c.order_id.in_(list(by_order)), t.c.kind == kind, t.c.source == source)
        ).all()
        known: dict[int, dict[str, tuple]] = {}
        for r in rows:
            known.setdefault(r.order_id, {})[r.waybill] = r
        new: dict[int, list[Ref]] = {}
        fixes = []
        moved: set[int] = set()
        for order_id, refs in by_order.items():
            mine = known.get(order_id, {})
            for waybill, carrier, carrier_raw, note in refs:
                row = mine.get(waybill)
                if row is None:
                    new.setdefault(order_id, []).append((waybill, carrier, carrier_raw, note))
                elif (row.carrier, row.carrier_raw, row.superseded_at) != (carrier, carrier_raw, None):
                    fixes.append((row.id, (carrier, carrier_raw, note, None)))
                    moved.add(order_id)
            if refs:  # an export that names no waybill (yet) does not drop the known ones
                named = {ref[0] for ref in refs}
                for waybill, row in mine.items():
                    if waybill not in named and row.superseded_at is None:
                        fixes.append((row.id, (row.carrier, row.carrier_raw, row.carrier_note, self.now)))
                        moved.add(order_id)
        self.shipment_carrier.update(fixes)
        self._add_shipments({oid: tuple(refs) for oid, refs in new.items()}, kind)
        return moved | set(new)

    # items ---------------------------------------------------------------
    def add_items(self, records: list[ItemRecord]) -> None:
        orders = self._orders_by_platform_id(sorted({r.platform_order_id for r in records}))
        lines: list[tuple[tuple[int, int], ItemRecord]] = []
        for rec in records:
            found = orders.get(rec.platform_order_id)
            if found is None:
                self._row_error(_order_not_imported(rec.row, rec.platform_order_id))
                continue
            line_no = self._item_lines.get(rec.platform_order_id, 0) + 1
            self._item_lines[rec.platform_order_id] = line_no
            lines.append(((found[0], line_no), rec))
        existing = self.items.lookup(("order_id", "line_no"), [k for k, _ in lines], self.items.columns[2:])
        inserts, updates = [], []
        for key, rec in lines:
            values = (*key, rec.sub_order_id, rec.title, rec.sku, rec.outer_id, rec.quantity, rec.price,
                      rec.paid_amount, rec.status_raw, rec.refund_status, rec.refund_amount)
            row = existing.get(key)
            if row is None:
                inserts.append(values)
                self.summary.created += 1
            elif self.items.bind.stored((*key, *row[1:])) == self.items.bind(values):
                self.summary.unchanged += 1
            else:
                updates.append((row[0], values))
                self.summary.updated += 1
        self.items.insert(inserts)
        self.items.update(updates)

    # refunds -------------------------------------------------------------
    def add_refunds(self, records: list[RefundRecord]) -> None:
        orders = self._orders_by_platform_id(sorted({r.platform_order_id for r in records}))
        latest: dict[tuple[int, str], tuple] = {}
        for rec in records:
            found = orders.get(rec.platform_order_id)
            if found is None:  # kept unlinked under a shop of its own, it would stay apart from the order
                self._row_error(_order_not_imported(rec.row, rec.platform_order_id))
                continue
            order_id, shop = found
            facts = (rec.platform_order_id, order_id, rec.status, rec.status_raw, rec.amount, rec.paid_amount,
                     rec.reason, rec.description, rec.goods_status, rec.needs_return, rec.after_sale_phase,
                     rec.responsible_party, rec.item_title, rec.requested_at, rec.finished_at)
            latest[(shop, rec.refund_id)] = (rec, facts)
        self.summary.unchanged += len(records) - len(latest)
        existing = self.refunds.lookup(("shop_id", "refund_id"), list(latest), ("source_hash", "status"))
        inserts, updates, returns = [], [], {}
        batch = self.summary.batch_id
        for (shop, refund_id), (rec, facts) in latest.items():
            digest = rec.source_digest or facts_hash(facts)
            row = existing.get((shop, refund_id))
            if row is None:
                inserts.append((shop, rec.platform, refund_id, *facts, digest, batch))
                self.summary.created += 1
            elif row[1] == digest or (row[2] in REFUND_ENDED and rec.status not in REFUND_ENDED):
                self.summary.unchanged += 1  # (an older export of a refund that has ended since)
                continue
            else:
                updates.append((row[0], (shop, rec.platform, refund_id, *facts, digest, batch)))
                self.summary.updated += 1
            if rec.return_shipment and facts[1] is not None:
                returns.setdefault(facts[1], []).append(shipment_ref(rec.return_shipment))
        self.refunds.insert(inserts)
        self.refunds.update(updates)
        if returns:
            self._sync_shipments({oid: tuple(refs) for oid, refs in returns.items()}, kind="return")
        if inserts or updates:
            self.conn.execute(
                update(Order).where(Order.id.in_([f[1] for _r, f in latest.values() if f[1] is not None]))
                .values(facts_changed_at=self.now)
            )

    def _row_error(self, err: RowError) -> None:
        self.report.add(err)
        self.summary.rejected += 1

    def row_errors(self, errors: Iterable[RowError]) -> None:
        for err in errors:
            self._row_error(err)


_EXPORT_STAMP = re.compile(r"(?<!\d)(20\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(?!\d)")


def export_time(file_name: str) -> datetime | None:
    """When the platform exported a file, from the stamp its name carries (Taobao:
    ``ExportOrderList<yyyyMMddHHmm>.csv``, Shanghai time); None when it carries none."""
    m = _EXPORT_STAMP.search(file_name)
    try:
        return (datetime(*(int(g or 0) for g in m.groups())) - SHANGHAI_OFFSET).replace(tzinfo=timezone.utc) \
            if m else None
    except ValueError:  # twelve digits that are not a time
        return None


# A refund that has succeeded or closed does not reopen: a row saying otherwise is from an older export.
REFUND_ENDED = frozenset({"succeeded", "closed"})


def _order_not_imported(row: int, order_id: str) -> RowError:
    return RowError(row, "订单不存在：请先导入订单报表 (order not imported yet)", "订单编号", order_id)


DEFAULT_SHOP = {"taobao": "淘宝店铺", "pdd": "拼多多店铺", "douyin": "抖店", "jd": "京东店铺"}


def shop_name(chosen: str | None, in_file: str | None, fallback: str | None) -> str | None:
    """The shop an order belongs to: ``--shop``, else the file's 店铺名称, else ``fallback_shop``'s."""
    return chosen or in_file or fallback


def fallback_shop(shops: Iterable[tuple[str, str | None]], platform: str) -> str | None:
    """The shop of orders whose file names none, from the (name, platform) of the shops stored.

    The platform's only shop (a 千牛 xlsx without 店铺名称 after a CSV that named it must
    reach the same orders, not copy them into a shop of its own); with none yet, one per
    platform; with several, the per-platform one if it is among them, else None: which
    one is for the user to say (``--shop``).
    """
    default = DEFAULT_SHOP.get(platform, platform)
    mine = [name for name, of in shops if of == platform]
    if len(mine) == 1:
        return mine[0]
    return default if not mine or default in mine else None


def _no_shop_named(platform: str) -> imports.RejectedFile:
    return imports.RejectedFile(f"有订单没有店铺名称，而已有多个{platform}店铺：请用 --shop 指定",
                                f"orders without a shop name, and several {platform} shops exist: "
                                "choose one with --shop")


class ConcurrentImport(RuntimeError):
    def __init__(self, order_id: str):
        super().__init__(f"订单 {order_id} 在本次导入期间被另一次导入修改，请重新导入 "
                         f"(order {order_id} was changed by another import meanwhile: import the file again)")


def import_file(
    engine: Engine,
    path: str | os.PathLike,
    *,
    platform: str | None = None,
    shop: str | None = None,
    mapping: str | os.PathLike | None = None,
    max_bytes: int,
    reports_dir: Path,
    progress: Callable[[float], None] | None = None,
    now: datetime | None = None,
    user_id: int | None = None,
    file_name: str | None = None,
    actor: str | None = None,
) -> ImportSummary:
    """Import one export file in one transaction.  Raises ``imports.RejectedFile``.

    ``user_id`` / ``file_name`` (the name the user gave, when ``path`` is a stored upload) go
    on the batch; with ``actor`` the audit record is written in the same transaction, so an
    import never lands without its record."""
    started = time.perf_counter()
    now = now or datetime.now(timezone.utc)
    path = Path(path)
    shop = (shop or "").strip() or None  # " 店铺A" typed with a space is 店铺A, not a new shop
    options = {"platform": platform, "mapping": str(mapping) if mapping else None, "max_bytes": max_bytes}
    url = engine.url.render_as_string(hide_password=False)
    big = path.stat().st_size >= PARSE_IN_CHILD_BYTES
    parsing = ParseInChild if big else ParseHere
    with parsing(url, path, options, shop) as source:
        info = source.info
        sha = _sha256(path)
        report = _ErrorReport(reports_dir)
        batch_id = None
        try:
            # the flushing spans the commit: its checkpoint writes the database file
            with _write_behind(engine) if big else contextlib.nullcontext(), engine.connect() as conn, \
                    parents_known(conn), conn.begin():
                if conn.dialect.name == "postgresql":
                    # The planner's statistics cannot see this transaction's own rows: to it the
                    # tables stay as small as before the import, and lookups by key would turn
                    # into sequential scans of a table growing to millions of rows.
                    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                exported = export_time(file_name or path.name)
                batch_id = conn.execute(ImportBatch.__table__.insert().values(
                    file_name=(file_name or path.name)[:255], file_sha256=sha, file_size=path.stat().st_size,
                    format=info.format, platform=info.platform, started_at=now, user_id=user_id,
                    exported_at=exported,
                )).inserted_primary_key[0]
                summary = ImportSummary(str(path), info.format, info.platform, batch_id)
                ingest = _Ingest(conn, summary, info.platform, shop, report, now, exported)
                handler = {"orders": ingest.add_orders, "items": ingest.add_items,
                           "refunds": ingest.add_refunds}[info.kind]
                # PostgreSQL: the database work runs a chunk behind, on its own thread (``WorkBehind``)
                behind = big and conn.dialect.name == "postgresql"
                with few_collections(), WorkBehind() if behind else WorkHere() as work:
                    for prepared, errors, fraction in source.chunks():
                        if not summary.rows_read and info.kind == "orders":
                            work.run(ingest.defer_indexes, (len(prepared) + len(errors)) / max(fraction, 1e-9))
                        summary.rows_read += len(prepared) + len(errors)
                        if errors:  # in turn with the work, which reports rows of its own
                            work.run(ingest.row_errors, errors)
                        if prepared:
                            if type(prepared) is PreparedOrders:
                                prepared.complete()  # needs no database: done here, not behind
                            work.run(handler, prepared)
                        if progress:  # in turn with the work: what is reported is written
                            work.run(progress, fraction)
                ingest.restore_indexes()
                conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(
                    shop_id=ingest._shops.get(shop) if shop else None,
                    rows_read=summary.rows_read, created=summary.created, updated=summary.updated,
                    unchanged=summary.unchanged, rejected=summary.rejected,
                    error_report=str(report.final_path(batch_id)) if report.count else None,
                    finished_at=datetime.now(timezone.utc),
                ))
                if actor:
                    audit.record(conn, actor=actor, user_id=user_id, action="import.file", entity="import_batch",
                                 entity_id=batch_id, at=now, detail={
                                     "file": file_name or path.name, "format": info.format,
                                     "rows_read": summary.rows_read, "created": summary.created,
                                     "updated": summary.updated, "unchanged": summary.unchanged,
                                     "rejected": summary.rejected})
        except BaseException:
            report.close(None)
            raise
        summary.error_report = report.close(batch_id)
        summary.errors_preview = report.preview
    summary.seconds = time.perf_counter() - started
    return summary


CREATED_SLOTS = 1 << 24  # see _Ingest._created


def _created_slots(keys: Iterable[tuple[int, str]]) -> list[int]:
    return [hash(key) % CREATED_SLOTS for key in keys]


# Files at least this big are parsed in a second process while this one writes.
PARSE_IN_CHILD_BYTES = 8_000_000
READ_AHEAD_CHUNKS = 8  # parsed chunks (~0.7 MB each) the parsing process may be ahead of the writer

Chunk = tuple[list, list[RowError], float]  # (prepared records, row errors, progress)


def _order_binder(url: str) -> Binder:
    """Binds order facts for the database at ``url`` (no connection is opened)."""
    return Binder(make_url(url).get_dialect()(), Order.__table__, ORDER_FACTS)


def _prepared(export, binder: Binder, stored: StoredDigests | None = None) -> Iterator[Chunk]:
    """Chunks of about ``CHUNK`` rows; orders come prepared for writing (see ``prepare_orders``)."""
    info = export.info
    if info.kind != "orders":
        for chunk in _chunks(export.records(), CHUNK):
            errors = [r for r in chunk if isinstance(r, RowError)]
            good = [r for r in chunk if not isinstance(r, RowError)] if errors else chunk
            yield good, errors, export.progress()
        return
    good: list[PreparedOrders | tuple] = []  # prepared batches and unchanged markers, in file order
    count = 0
    errors: list[RowError] = []
    records: list[OrderRecord] = []  # rows of a batch that was taken row by row, in a row
    for item in export.records(stored.unchanged if stored else None, as_columns=True):
        if type(item) is OrderRecord:
            records.append(item)
            continue
        if records:
            good.append(prepare_orders(OrderColumns.of(records), info.platform, binder))
            count += len(records)
            records = []
        if type(item) is OrderColumns:
            good.append(prepare_orders(item, info.platform, binder))
            count += len(item.rows)
        elif type(item) is UnchangedRows:
            good += unchanged_markers(item)
            count += len(item)
        else:
            errors.append(item)
        if count + len(errors) >= CHUNK:
            yield _as_chunk(good), errors, export.progress()
            good, count, errors = [], 0, []
    if records:
        good.append(prepare_orders(OrderColumns.of(records), info.platform, binder))
    if good or errors:
        yield _as_chunk(good), errors, export.progress()


def _as_chunk(good: list[PreparedOrders | tuple]) -> PreparedOrders | list[tuple]:
    """Prepared batches as one, or — with unchanged markers among them — rows in file order."""
    if not good:
        return []
    if all(type(part) is PreparedOrders for part in good):
        return PreparedOrders.joined(good)
    rows: list[tuple] = []
    for part in good:
        if type(part) is PreparedOrders:
            rows += part.rows()
        else:
            rows.append(part)
    return rows


class StoredDigests:
    """The parsing process's read-only look at the digests already stored.

    Re-importing the same export is the daily case, and converting a row's cells and
    preparing it costs ten times reading it.  A row whose raw digest equals the
    committed one is passed on unconverted, as a marker — but only the first time its
    order appears in the file: a later row for the same order may follow a change this
    very import made.  The writer checks every marker against its own view and refuses
    the file (``ConcurrentImport``) if another import got there between.
    """

    def __init__(self, url: str, shop: str | None, platform: str):
        self._engine = make_engine(url)
        self._conn = self._engine.connect()
        self._orders = BulkTable(self._conn, Order.__table__, ("shop_id", "platform_order_id"))
        shops = self._conn.execute(select(Shop.id, Shop.name, Shop.platform)).all()
        self._shops = {name: sid for sid, name, _platform in shops}
        self._shop, self._fallback = shop, fallback_shop([row[1:] for row in shops], platform)
        # hash() of each (shop, order) met so far: 1M of them in ~50 MB.  A collision only
        # makes a row look repeated, and a repeated row is converted in full: safe.
        self._seen: set[int] = set()

    @classmethod
    def opened(cls, url: str, shop: str | None, platform: str) -> StoredDigests | None:
        """A look at the stored digests, or None when no order is stored yet (nothing to ask)."""
        stored = cls(url, shop, platform)
        if stored._conn.execute(select(Order.id).limit(1)).first() is None:
            stored.close()
            return None
        return stored

    def unchanged(self, rows: list[tuple[str | None, str | None, str]]) -> set[int]:
        """Positions of the (order id, shop name, raw digest) rows stored exactly so."""
        seen = self._seen
        shop_ids = {shop: self._shops.get(shop_name(self._shop, shop, self._fallback))
                    for shop in {row[1] for row in rows}}  # a file names one shop, or a few
        # a shop new to the database has nothing stored to compare with; only an order's first
        # row in the file is asked about (``seen.add`` marks it and, returning None, lets it through)
        firsts = [(i, shop_id, order_id, digest) for i, (order_id, shop, digest) in enumerate(rows)
                  if order_id is not None and (shop_id := shop_ids[shop]) is not None
                  and (mark := hash((shop_id, order_id))) not in seen and not seen.add(mark)]
        return self._orders.stored_as(("shop_id", "platform_order_id"), "source_hash", firsts)

    def close(self) -> None:
        self._conn.close()
        self._engine.dispose()


class ParseHere:
    """Parse in this process (small files: a second process costs more than it saves)."""

    def __init__(self, url: str, path: Path, options: dict, shop: str | None):
        self._export = imports.open_export(path, **options)
        self._binder = _order_binder(url)
        self.info = self._export.info

    def chunks(self) -> Iterator[Chunk]:
        return _prepared(self._export, self._binder)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._export.close()


class ParseInChild:
    """Parse in a second process while this one writes: both cores work.

    The child is a fresh interpreter (``python -m tracker.ingest``), not a fork, so it
    holds none of this process's database connections and nothing re-runs the caller's
    main script.  It writes length-prefixed pickles to its stdout: the file's
    ``ExportInfo`` first, then chunks.  This process never opens the file itself (a
    large xlsx would be in memory twice).  When this process dies, the child's next
    write fails and it exits.  Only this process writes to the database, so the
    one-transaction guarantee is untouched; a child that fails sends its exception
    (a RejectedFile, before or during the rows), which is raised here.
    """

    def __init__(self, url: str, path: Path, options: dict, shop: str | None):
        job = json.dumps({"url": url, "path": str(path), "options": options, "shop": shop})
        self._child = subprocess.Popen([sys.executable, "-m", "tracker.ingest", job], stdout=subprocess.PIPE)
        self._messages = ReadAhead(self._child.stdout, depth=READ_AHEAD_CHUNKS)
        try:
            self.info = self._receive()
        except BaseException:
            self.__exit__()
            raise

    def _receive(self):
        data = self._messages.get()
        if data is None:
            raise RuntimeError(f"the parsing process stopped unexpectedly (exit {self._child.wait()})")
        tag, payload = pickle.loads(data)
        if tag == "error":
            raise payload
        return payload

    def chunks(self) -> Iterator[Chunk]:
        while (chunk := self._receive()) is not None:
            yield chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        self._messages.close()
        self._child.stdout.close()


def _parse_into(job: dict, out) -> None:
    """The child's side of ``ParseInChild``: info, then chunks, then None."""

    def send(tag: str, payload) -> None:
        write_message(out, (tag, payload), fast=True)

    stored = None
    try:
        with imports.open_export(job["path"], **job["options"]) as export, few_collections():
            send("info", export.info)
            if export.info.kind == "orders":
                stored = StoredDigests.opened(job["url"], job["shop"], export.info.platform)
            for chunk in _prepared(export, _order_binder(job["url"]), stored):
                send("chunk", chunk)
        send("done", None)
    except BrokenPipeError:
        return  # the writing process is gone; so is the point of parsing
    except BaseException as err:  # noqa: BLE001 - handed to the writing process, which raises it
        send("error", picklable(err))
    finally:
        if stored is not None:
            stored.close()
    out.flush()


def _write_behind(engine: Engine) -> contextlib.AbstractContextManager:
    """Into a SQLite file: its write-ahead log and the file itself flushed as they grow (see
    ``WriteBehind``)."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        return WriteBehind(database + "-wal", database)
    return contextlib.nullcontext()


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def sort_by_kind(paths_and_kinds: list[tuple[Path, str | None]]) -> list[tuple[Path, str | None]]:
    """Orders first, then items, then refunds (unknown kinds last), otherwise as given."""
    return sorted(paths_and_kinds, key=lambda pk: KIND_ORDER.get(pk[1], 9))


if __name__ == "__main__":  # the parsing process of ParseInChild
    # through the module by its own name, so what it pickles names tracker.ingest, not __main__
    from tracker import ingest

    ingest._parse_into(json.loads(sys.argv[1]), sys.stdout.buffer)
