"""The data model of the whole tracker (typed SQLAlchemy 2.x ORM).

Orders come from platform exports; shipments (original, reship, return) hang off
orders and carry the polling state; tracking events hang off shipments; exception
cases hang off orders, with their history, the actions taken and the customer
contacts; claims against couriers are reconciled with courier statements.  Models
stay thin: rules live in pure modules (``imports``, ``couriers``, ``tracker.classify``).

Ids of the outside world (order numbers, waybills) are strings.  Money is ``Money``
(exact), times are ``UTCDateTime`` (aware, stored in UTC).
"""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tracker.dbtypes import Money, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    platform: Mapped[str | None] = mapped_column(String(16))
    origin_province: Mapped[str | None] = mapped_column(String(16))  # where parcels leave from
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))  # agent | lead | finance | admin
    password_hash: Mapped[str] = mapped_column(String(256))
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ImportBatch(Base):
    """One imported file.  Written in the same transaction as its rows."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    file_size: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(16))
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    error_report: Mapped[str | None] = mapped_column(String(512))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # from the file's name, if it says


CHECK_DUE = "next_check_at IS NOT NULL"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform_order_id"),
        Index("ix_orders_facts_changed_at", "facts_changed_at"),
        # Only orders with a check due are in it: an import writes none, and 1M NULL keys cost
        # it ~1.5 s of index upkeep; ``next_check_at <= :now`` implies NOT NULL, so lookups use it.
        Index("ix_orders_next_check_at", "next_check_at", sqlite_where=text(CHECK_DUE),
              postgresql_where=text(CHECK_DUE)),
        Index("ix_orders_platform_order_id", "platform_order_id"),
        Index("ix_orders_buyer_nick", "buyer_nick"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    platform: Mapped[str] = mapped_column(String(16))
    platform_order_id: Mapped[str] = mapped_column(String(64))
    parent_order_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))
    status_raw: Mapped[str] = mapped_column(String(64))
    buyer_nick: Mapped[str | None] = mapped_column(String(128))
    receiver_name: Mapped[str | None] = mapped_column(String(128))
    receiver_phone: Mapped[str | None] = mapped_column(String(32))
    phone_tail: Mapped[str | None] = mapped_column(String(4), index=True)
    receiver_address: Mapped[str | None] = mapped_column(Text)
    province: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    buyer_message: Mapped[str | None] = mapped_column(Text)
    seller_memo: Mapped[str | None] = mapped_column(Text)
    requested_carriers: Mapped[str | None] = mapped_column(String(64))  # comma-separated codes
    excluded_carriers: Mapped[str | None] = mapped_column(String(64))
    item_summary: Mapped[str | None] = mapped_column(Text)
    item_count: Mapped[int | None] = mapped_column(Integer)
    total_amount: Mapped[Decimal | None] = mapped_column(Money())
    paid_amount: Mapped[Decimal | None] = mapped_column(Money())
    postage: Mapped[Decimal | None] = mapped_column(Money())
    refund_amount: Mapped[Decimal | None] = mapped_column(Money())
    delay_compensation: Mapped[Decimal | None] = mapped_column(Money())
    ordered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ship_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_reason: Mapped[str | None] = mapped_column(String(128))
    after_sale_status: Mapped[str | None] = mapped_column(String(64))
    shipping_method: Mapped[str | None] = mapped_column(String(32))
    source_hash: Mapped[str] = mapped_column(String(16))  # of the last imported facts
    # Provenance (import_batches.id), deliberately without a foreign key: batches are
    # never deleted, and PostgreSQL's per-row check cost 2 s per 100k imported orders.
    first_batch_id: Mapped[int | None] = mapped_column(Integer)
    last_batch_id: Mapped[int | None] = mapped_column(Integer)
    facts_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # classification: when time alone may change the answer (a deadline, a stall limit)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    shop: Mapped[Shop] = relationship()
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.line_no")
    shipments: Mapped[list[Shipment]] = relationship(back_populates="order", order_by="Shipment.id")


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(Integer)
    sub_order_id: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    sku: Mapped[str | None] = mapped_column(String(255))
    outer_id: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price: Mapped[Decimal | None] = mapped_column(Money())
    paid_amount: Mapped[Decimal | None] = mapped_column(Money())
    status_raw: Mapped[str | None] = mapped_column(String(64))
    refund_status: Mapped[str | None] = mapped_column(String(64))
    refund_amount: Mapped[Decimal | None] = mapped_column(Money())

    order: Mapped[Order] = relationship(back_populates="items")


class Shipment(Base):
    """A parcel: the original one, a reship, or a return.  Carries the polling state."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", "waybill"),
        Index("ix_shipments_due", "done", "next_poll_at"),
        Index("ix_shipments_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default="original")  # original | reship | return
    source: Mapped[str] = mapped_column(String(16), default="import")  # import | refund | agent
    waybill: Mapped[str] = mapped_column(String(40), index=True)
    carrier: Mapped[str | None] = mapped_column(String(16))  # our code
    carrier_raw: Mapped[str | None] = mapped_column(String(64))
    carrier_note: Mapped[str | None] = mapped_column(String(255))  # e.g. number fits another carrier
    replaces_shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # dropped by a newer export
    # tracking state, as last reported
    status: Mapped[str] = mapped_column(String(24), default="pending")
    incident: Mapped[str | None] = mapped_column(String(24))
    raw_state: Mapped[str | None] = mapped_column(String(16))
    first_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_event_text: Mapped[str | None] = mapped_column(Text)
    last_location: Mapped[str | None] = mapped_column(String(128))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    eta: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done: Mapped[bool] = mapped_column(Boolean, default=False)  # delivered/returned: never polled again
    # polling state
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    error_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resubscribe_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # after an abort push
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="shipments")
    events: Mapped[list[TrackingEvent]] = relationship(back_populates="shipment", order_by="TrackingEvent.time")


class TrackingEvent(Base):
    """One scan.  ``fingerprint`` (time + text) makes re-polls and pushes idempotent."""

    __tablename__ = "tracking_events"
    __table_args__ = (UniqueConstraint("shipment_id", "fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    time: Mapped[datetime] = mapped_column(UTCDateTime())
    location: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    raw_code: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(24))
    fingerprint: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    shipment: Mapped[Shipment] = relationship(back_populates="events")


class ProviderHealth(Base):
    """Per tracking provider: the last error, how many in a row, since when."""

    __tablename__ = "provider_health"

    provider: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    error_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    circuit_open_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    calls: Mapped[int] = mapped_column(Integer, default=0)
    unmapped_codes: Mapped[int] = mapped_column(Integer, default=0)


class Refund(Base):
    """A refund / after-sale request from the platform's refund export."""

    __tablename__ = "refunds"
    __table_args__ = (UniqueConstraint("shop_id", "refund_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    platform: Mapped[str] = mapped_column(String(16))
    refund_id: Mapped[str] = mapped_column(String(64))
    platform_order_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    status: Mapped[str] = mapped_column(String(24))
    status_raw: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    paid_amount: Mapped[Decimal | None] = mapped_column(Money())
    reason: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    goods_status: Mapped[str | None] = mapped_column(String(32))
    needs_return: Mapped[bool | None] = mapped_column(Boolean)
    after_sale_phase: Mapped[str | None] = mapped_column(String(8))
    responsible_party: Mapped[str | None] = mapped_column(String(32))
    item_title: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    source_hash: Mapped[str] = mapped_column(String(16))
    last_batch_id: Mapped[int | None] = mapped_column(Integer)  # provenance, as on Order


class ExceptionCase(Base):
    """One case per (order, kind).  Closed by itself when its condition clears."""

    __tablename__ = "exception_cases"
    __table_args__ = (
        UniqueConstraint("order_id", "kind"),
        Index("ix_exception_cases_age_order", "status", "detected_at", "id"),
        Index("ix_exception_cases_assignee_id_status", "assignee_id", "status", "kind"),
        Index("ix_exception_cases_shop_order", "status", "shop_id", "kind"),
        Index("ix_exception_cases_province_order", "status", "province", "kind"),
        Index("ix_exception_cases_carrier_order", "status", "carrier", "kind"),
        Index("ix_exception_cases_paid_order", "status", "paid_at", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    refines: Mapped[str | None] = mapped_column(String(32))  # the core kind an extra kind refines
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | in_progress | resolved | dismissed | cleared
    severity: Mapped[int] = mapped_column(Integer, default=2)  # 1 low … 4 critical
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    evidence_text: Mapped[str | None] = mapped_column(Text)
    facts_hash: Mapped[str | None] = mapped_column(String(32))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_reason: Mapped[str | None] = mapped_column(String(255))
    # Copies of the order's and its parcel's facts that the queue filters on, kept by
    # classification (tracker.queue.refresh_case_facts): one index per filter, no joins.
    shop_id: Mapped[int | None] = mapped_column(Integer)
    province: Mapped[str | None] = mapped_column(String(16))
    carrier: Mapped[str | None] = mapped_column(String(16))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()


# The queue's sort orders (tracker.queue.SORTS), each readable from an index per status.
Index("ix_exception_cases_severity_order", ExceptionCase.status, ExceptionCase.severity.desc(), ExceptionCase.deadline,
      ExceptionCase.detected_at, ExceptionCase.id)
Index("ix_exception_cases_kind_order", ExceptionCase.status, ExceptionCase.kind, ExceptionCase.severity.desc(),
      ExceptionCase.deadline, ExceptionCase.detected_at, ExceptionCase.id, ExceptionCase.order_id,
      ExceptionCase.shipment_id)  # the last two: counts filtered by the order or the parcel read no rows
Index("ix_exception_cases_deadline_order", ExceptionCase.status, ExceptionCase.deadline,
      ExceptionCase.severity.desc(), ExceptionCase.detected_at, ExceptionCase.id)


class QueueState(Base):
    """One row: ``version`` moves with every change to the cases (classification, triage), so
    a web worker can keep the queue's counts per kind until it does."""

    __tablename__ = "queue_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class CaseEvent(Base):
    """History of a case: opened, refreshed, cleared, reopened, assigned, status changes."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("exception_cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    event: Mapped[str] = mapped_column(String(24))
    detail: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Action(Base):
    """Something an agent did about an order: reship, refund, compensate, urge, resolve …

    ``damage_reported`` (the customer showed damage; ``note`` says what) is a fact that
    classification reads."""

    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_code_at", "code", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("exception_cases.id", ondelete="SET NULL"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CustomerContact(Base):
    """A message to or from the customer (a copied reply script is one)."""

    __tablename__ = "customer_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("exception_cases.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16), default="chat")
    reply_code: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))  # accepted | refused | pending
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClassifyRun(Base):
    """One ``tracker classify`` run: the watermark of the next incremental run, and its counts."""

    __tablename__ = "classify_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())  # facts changed after it: next run
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    now: Mapped[datetime] = mapped_column(UTCDateTime())  # the classification's clock
    full: Mapped[bool] = mapped_column(Boolean)
    orders_seen: Mapped[int] = mapped_column(Integer)
    opened: Mapped[int] = mapped_column(Integer)
    refreshed: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    cleared: Mapped[int] = mapped_column(Integer)
    load_seconds: Mapped[float] = mapped_column(Float)
    rules_seconds: Mapped[float] = mapped_column(Float)
    write_seconds: Mapped[float] = mapped_column(Float)


class Claim(Base):
    """What the shop claims from a courier (记账/理赔) for one parcel."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("shipments.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("exception_cases.id", ondelete="SET NULL"))
    carrier: Mapped[str] = mapped_column(String(16), index=True)
    outlet: Mapped[str | None] = mapped_column(String(128))
    waybill: Mapped[str] = mapped_column(String(40), index=True)
    reason: Mapped[str] = mapped_column(String(24))  # damaged | lost | short | delay | other
    force_majeure: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="registered")
    amount_claimed: Mapped[Decimal] = mapped_column(Money())
    amount_agreed: Mapped[Decimal | None] = mapped_column(Money())
    amount_recovered: Mapped[Decimal | None] = mapped_column(Money())
    advance_paid: Mapped[Decimal | None] = mapped_column(Money())  # 垫付 to the customer
    period: Mapped[str | None] = mapped_column(String(7))  # statement month, YYYY-MM
    statement_line_id: Mapped[int | None] = mapped_column(ForeignKey("courier_statement_lines.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClaimHistory(Base):
    __tablename__ = "claim_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal | None] = mapped_column(Money())
    note: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class CourierStatement(Base):
    """A courier outlet's monthly statement (月结对账单)."""

    __tablename__ = "courier_statements"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(16))
    outlet: Mapped[str | None] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(7))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    total_amount: Mapped[Decimal | None] = mapped_column(Money())
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CourierStatementLine(Base):
    __tablename__ = "courier_statement_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("courier_statements.id", ondelete="CASCADE"), index=True)
    row: Mapped[int] = mapped_column(Integer)
    waybill: Mapped[str | None] = mapped_column(String(40), index=True)
    line_type: Mapped[str] = mapped_column(String(24))  # freight | surcharge | claim_deduction | …
    description: Mapped[str | None] = mapped_column(String(255))
    destination: Mapped[str | None] = mapped_column(String(32))
    weight_kg: Mapped[Decimal | None] = mapped_column(Money(scale=3))
    amount: Mapped[Decimal] = mapped_column(Money())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditLog(Base):
    """Who changed what, when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(64))  # username, or "cli" / "worker"
    action: Mapped[str] = mapped_column(String(48))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
