"""the queue's filter facts on each case: shop, destination province, parcel carrier, paid time

Counting the queue per kind under a shop, province, carrier or promotion filter had to
look up each case's order or parcel: 100–650 ms with 100,000 open cases (minutes on
PostgreSQL for a big carrier, whose parcel ids overflowed work_mem).  Classification now
copies these facts onto the case (tracker.queue.refresh_case_facts) and each filter reads
one index.  The order-province and parcel-carrier indexes of 0005 served only those
lookups and go (each cost every import a write per row).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

import tracker.dbtypes

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_exception_cases_shop_order", ["status", "shop_id", "kind"]),
    ("ix_exception_cases_province_order", ["status", "province", "kind"]),
    ("ix_exception_cases_carrier_order", ["status", "carrier", "kind"]),
    ("ix_exception_cases_paid_order", ["status", "paid_at", "kind"]),
)
BACKFILL = """
UPDATE exception_cases SET
  shop_id = (SELECT o.shop_id FROM orders o WHERE o.id = exception_cases.order_id),
  province = (SELECT o.province FROM orders o WHERE o.id = exception_cases.order_id),
  paid_at = (SELECT o.paid_at FROM orders o WHERE o.id = exception_cases.order_id),
  carrier = (SELECT s.carrier FROM shipments s WHERE s.id = COALESCE(exception_cases.shipment_id,
              (SELECT min(f.id) FROM shipments f WHERE f.order_id = exception_cases.order_id
                 AND f.superseded_at IS NULL AND f.kind <> 'return')))
"""


def upgrade() -> None:
    with op.batch_alter_table("exception_cases") as batch:
        batch.add_column(sa.Column("shop_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("province", sa.String(16), nullable=True))
        batch.add_column(sa.Column("carrier", sa.String(16), nullable=True))
        batch.add_column(sa.Column("paid_at", tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
    op.execute(BACKFILL)
    for name, columns in INDEXES:
        op.create_index(name, "exception_cases", columns)
    op.drop_index("ix_orders_province", "orders")
    op.drop_index("ix_shipments_carrier", "shipments")


def downgrade() -> None:
    op.create_index("ix_shipments_carrier", "shipments", ["carrier", "id"])
    op.create_index("ix_orders_province", "orders", ["province", "id"])
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, "exception_cases")
    with op.batch_alter_table("exception_cases") as batch:
        for column in ("paid_at", "carrier", "province", "shop_id"):
            batch.drop_column(column)
