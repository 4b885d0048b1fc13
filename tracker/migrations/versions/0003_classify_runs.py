"""classification bookkeeping: orders.next_check_at, classify_runs, indexes for incremental runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('next_check_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch.create_index('ix_orders_next_check_at', ['next_check_at'])
    op.create_index('ix_shipments_updated_at', 'shipments', ['updated_at'])
    op.create_index('ix_actions_code_at', 'actions', ['code', 'at'])
    op.create_table(
        'classify_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('started_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column('now', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('full', sa.Boolean(), nullable=False),
        sa.Column('orders_seen', sa.Integer(), nullable=False),
        sa.Column('opened', sa.Integer(), nullable=False),
        sa.Column('refreshed', sa.Integer(), nullable=False),
        sa.Column('reopened', sa.Integer(), nullable=False),
        sa.Column('cleared', sa.Integer(), nullable=False),
        sa.Column('load_seconds', sa.Float(), nullable=False),
        sa.Column('rules_seconds', sa.Float(), nullable=False),
        sa.Column('write_seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_classify_runs')),
    )


def downgrade() -> None:
    op.drop_table('classify_runs')
    op.drop_index('ix_actions_code_at', 'actions')
    op.drop_index('ix_shipments_updated_at', 'shipments')
    with op.batch_alter_table('orders') as batch:
        batch.drop_index('ix_orders_next_check_at')
        batch.drop_column('next_check_at')
