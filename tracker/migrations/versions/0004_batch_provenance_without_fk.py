"""batch provenance columns without foreign keys

Orders and refunds name the import batch that brought them.  Batches are never
deleted, and PostgreSQL's per-row referential check on two such columns cost
about 2 s per 100k imported orders, so the references stay but are not enforced.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DROPPED = (
    ("orders", "fk_orders_first_batch_id_import_batches", "first_batch_id"),
    ("orders", "fk_orders_last_batch_id_import_batches", "last_batch_id"),
    ("refunds", "fk_refunds_last_batch_id_import_batches", "last_batch_id"),
)


def upgrade() -> None:
    for table, name, _column in DROPPED:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, name, column in DROPPED:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(name, "import_batches", [column], ["id"])
