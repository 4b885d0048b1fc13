"""indexes of the exception queue: counts per kind, sort orders, filters, search

The queue counts cases per kind and pages through them by severity, deadline or age, one
status at a time; each order is an index of exception_cases, so a page reads about as
many index entries as it shows (tracker.queue).  The counts read one index alone, which
also holds each case's order and parcel for the filters on them (shop, province, carrier,
promotion).  The old (status, severity, detected_at) index is the severity order's prefix
and goes.  Search finds orders by platform order id or buyer nick (waybills and phone
tails have their indexes); the province and carrier filters find orders by province and
parcels by carrier, ids included so PostgreSQL reads the index alone.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SEVERITY_DESC = sa.text("severity DESC")
INDEXES = (
    ("exception_cases", "ix_exception_cases_severity_order",
     ["status", SEVERITY_DESC, "deadline", "detected_at", "id"]),
    ("exception_cases", "ix_exception_cases_kind_order",
     ["status", "kind", SEVERITY_DESC, "deadline", "detected_at", "id", "order_id", "shipment_id"]),
    ("exception_cases", "ix_exception_cases_deadline_order",
     ["status", "deadline", SEVERITY_DESC, "detected_at", "id"]),
    ("exception_cases", "ix_exception_cases_age_order", ["status", "detected_at", "id"]),
    ("exception_cases", "ix_exception_cases_assignee_id_status", ["assignee_id", "status", "kind"]),
    ("orders", "ix_orders_platform_order_id", ["platform_order_id"]),
    ("orders", "ix_orders_buyer_nick", ["buyer_nick"]),
    ("orders", "ix_orders_province", ["province", "id"]),
    ("shipments", "ix_shipments_carrier", ["carrier", "id"]),
)


def upgrade() -> None:
    op.drop_index("ix_exception_cases_queue", "exception_cases")
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table)
    op.create_index("ix_exception_cases_queue", "exception_cases", ["status", "severity", "detected_at"])
