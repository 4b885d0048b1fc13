"""orders.next_check_at indexed only where set: imports write it empty on every new order

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CHECK_DUE = "next_check_at IS NOT NULL"


def upgrade() -> None:
    op.drop_index("ix_orders_next_check_at", "orders")
    op.create_index("ix_orders_next_check_at", "orders", ["next_check_at"],
                    sqlite_where=sa.text(CHECK_DUE), postgresql_where=sa.text(CHECK_DUE))


def downgrade() -> None:
    op.drop_index("ix_orders_next_check_at", "orders")
    op.create_index("ix_orders_next_check_at", "orders", ["next_check_at"])
