"""shipments.resubscribe_at: when to subscribe again after the provider gave up (abort push)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shipments') as batch:
        batch.add_column(sa.Column('resubscribe_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shipments') as batch:
        batch.drop_column('resubscribe_at')
