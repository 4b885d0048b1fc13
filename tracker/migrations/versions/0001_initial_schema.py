"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

import tracker.dbtypes


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('courier_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('outlet', sa.String(length=128), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('total_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('imported_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courier_statements'))
    )
    op.create_table('provider_health',
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('last_ok_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('error_since', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('circuit_open_until', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('unmapped_codes', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('provider', name=op.f('pk_provider_health'))
    )
    op.create_table('shops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=True),
    sa.Column('origin_province', sa.String(length=16), nullable=True),
    sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shops')),
    sa.UniqueConstraint('name', name=op.f('uq_shops_name'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('api_token_hash', sa.String(length=128), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('api_token_hash', name=op.f('uq_users_api_token_hash')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('entity', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('courier_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('waybill', sa.String(length=40), nullable=True),
    sa.Column('line_type', sa.String(length=24), nullable=False),
    sa.Column('description', sa.String(length=255), nullable=True),
    sa.Column('destination', sa.String(length=32), nullable=True),
    sa.Column('weight_kg', tracker.dbtypes.Money(precision=14, scale=3), nullable=True),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=False),
    sa.Column('shipped_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['statement_id'], ['courier_statements.id'], name=op.f('fk_courier_statement_lines_statement_id_courier_statements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courier_statement_lines'))
    )
    with op.batch_alter_table('courier_statement_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courier_statement_lines_statement_id'), ['statement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courier_statement_lines_waybill'), ['waybill'], unique=False)

    op.create_table('import_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('error_report', sa.String(length=512), nullable=True),
    sa.Column('started_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_import_batches_shop_id_shops')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_import_batches_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_batches'))
    )
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_batches_file_sha256'), ['file_sha256'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('platform_order_id', sa.String(length=64), nullable=False),
    sa.Column('parent_order_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_raw', sa.String(length=64), nullable=False),
    sa.Column('buyer_nick', sa.String(length=128), nullable=True),
    sa.Column('receiver_name', sa.String(length=128), nullable=True),
    sa.Column('receiver_phone', sa.String(length=32), nullable=True),
    sa.Column('phone_tail', sa.String(length=4), nullable=True),
    sa.Column('receiver_address', sa.Text(), nullable=True),
    sa.Column('province', sa.String(length=16), nullable=True),
    sa.Column('city', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('buyer_message', sa.Text(), nullable=True),
    sa.Column('seller_memo', sa.Text(), nullable=True),
    sa.Column('requested_carriers', sa.String(length=64), nullable=True),
    sa.Column('excluded_carriers', sa.String(length=64), nullable=True),
    sa.Column('item_summary', sa.Text(), nullable=True),
    sa.Column('item_count', sa.Integer(), nullable=True),
    sa.Column('total_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('paid_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('postage', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('refund_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('delay_compensation', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('ordered_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ship_deadline', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.String(length=128), nullable=True),
    sa.Column('after_sale_status', sa.String(length=64), nullable=True),
    sa.Column('shipping_method', sa.String(length=32), nullable=True),
    sa.Column('source_hash', sa.String(length=16), nullable=False),
    sa.Column('first_batch_id', sa.Integer(), nullable=True),
    sa.Column('last_batch_id', sa.Integer(), nullable=True),
    sa.Column('facts_changed_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['first_batch_id'], ['import_batches.id'], name=op.f('fk_orders_first_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['last_batch_id'], ['import_batches.id'], name=op.f('fk_orders_last_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_orders_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('shop_id', 'platform_order_id', name=op.f('uq_orders_shop_id_platform_order_id'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_facts_changed_at', ['facts_changed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_phone_tail'), ['phone_tail'], unique=False)

    op.create_table('order_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sub_order_id', sa.String(length=64), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('sku', sa.String(length=255), nullable=True),
    sa.Column('outer_id', sa.String(length=128), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('paid_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('status_raw', sa.String(length=64), nullable=True),
    sa.Column('refund_status', sa.String(length=64), nullable=True),
    sa.Column('refund_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items')),
    sa.UniqueConstraint('order_id', 'line_no', name=op.f('uq_order_items_order_id_line_no'))
    )
    op.create_table('refunds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('refund_id', sa.String(length=64), nullable=False),
    sa.Column('platform_order_id', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_raw', sa.String(length=64), nullable=False),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('paid_amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('reason', sa.String(length=128), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('goods_status', sa.String(length=32), nullable=True),
    sa.Column('needs_return', sa.Boolean(), nullable=True),
    sa.Column('after_sale_phase', sa.String(length=8), nullable=True),
    sa.Column('responsible_party', sa.String(length=32), nullable=True),
    sa.Column('item_title', sa.Text(), nullable=True),
    sa.Column('requested_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('source_hash', sa.String(length=16), nullable=False),
    sa.Column('last_batch_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['last_batch_id'], ['import_batches.id'], name=op.f('fk_refunds_last_batch_id_import_batches')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_refunds_shop_id_shops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds')),
    sa.UniqueConstraint('shop_id', 'refund_id', name=op.f('uq_refunds_shop_id_refund_id'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_refunds_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_refunds_platform_order_id'), ['platform_order_id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('waybill', sa.String(length=40), nullable=False),
    sa.Column('carrier', sa.String(length=16), nullable=True),
    sa.Column('carrier_raw', sa.String(length=64), nullable=True),
    sa.Column('carrier_note', sa.String(length=255), nullable=True),
    sa.Column('replaces_shipment_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('incident', sa.String(length=24), nullable=True),
    sa.Column('raw_state', sa.String(length=16), nullable=True),
    sa.Column('first_scan_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_event_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_event_text', sa.Text(), nullable=True),
    sa.Column('last_location', sa.String(length=128), nullable=True),
    sa.Column('delivered_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('eta', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('next_poll_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_polled_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('poll_count', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('error_count', sa.Integer(), nullable=False),
    sa.Column('error_since', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=64), nullable=True),
    sa.Column('lease_until', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('subscribed_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipments_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replaces_shipment_id'], ['shipments.id'], name=op.f('fk_shipments_replaces_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments')),
    sa.UniqueConstraint('order_id', 'kind', 'waybill', name=op.f('uq_shipments_order_id_kind_waybill'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_due', ['done', 'next_poll_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipments_waybill'), ['waybill'], unique=False)

    op.create_table('exception_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('refines', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.Integer(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('evidence_text', sa.Text(), nullable=True),
    sa.Column('facts_hash', sa.String(length=32), nullable=True),
    sa.Column('deadline', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('detected_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_exception_cases_assignee_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_exception_cases_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_exception_cases_shipment_id_shipments'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exception_cases')),
    sa.UniqueConstraint('order_id', 'kind', name=op.f('uq_exception_cases_order_id_kind'))
    )
    with op.batch_alter_table('exception_cases', schema=None) as batch_op:
        batch_op.create_index('ix_exception_cases_queue', ['status', 'severity', 'detected_at'], unique=False)

    op.create_table('tracking_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('time', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('location', sa.String(length=128), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raw_code', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('fingerprint', sa.String(length=32), nullable=False),
    sa.Column('received_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_tracking_events_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracking_events')),
    sa.UniqueConstraint('shipment_id', 'fingerprint', name=op.f('uq_tracking_events_shipment_id_fingerprint'))
    )
    op.create_table('actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['exception_cases.id'], name=op.f('fk_actions_case_id_exception_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_actions_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_actions_shipment_id_shipments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_actions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_actions'))
    )
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_actions_order_id'), ['order_id'], unique=False)

    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['exception_cases.id'], name=op.f('fk_case_events_case_id_exception_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_events_case_id'), ['case_id'], unique=False)

    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shop_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('carrier', sa.String(length=16), nullable=False),
    sa.Column('outlet', sa.String(length=128), nullable=True),
    sa.Column('waybill', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('force_majeure', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('amount_claimed', tracker.dbtypes.Money(precision=14, scale=2), nullable=False),
    sa.Column('amount_agreed', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('amount_recovered', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('advance_paid', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('period', sa.String(length=7), nullable=True),
    sa.Column('statement_line_id', sa.Integer(), nullable=True),
    sa.Column('created_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['exception_cases.id'], name=op.f('fk_claims_case_id_exception_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_claims_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_claims_shipment_id_shipments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shop_id'], ['shops.id'], name=op.f('fk_claims_shop_id_shops')),
    sa.ForeignKeyConstraint(['statement_line_id'], ['courier_statement_lines.id'], name=op.f('fk_claims_statement_line_id_courier_statement_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_carrier'), ['carrier'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_waybill'), ['waybill'], unique=False)

    op.create_table('customer_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('reply_code', sa.String(length=64), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['exception_cases.id'], name=op.f('fk_customer_contacts_case_id_exception_cases'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_customer_contacts_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_customer_contacts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_contacts'))
    )
    with op.batch_alter_table('customer_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_contacts_order_id'), ['order_id'], unique=False)

    op.create_table('claim_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_history_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_claim_history_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_history'))
    )
    with op.batch_alter_table('claim_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_history_claim_id'), ['claim_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claim_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_history_claim_id'))

    op.drop_table('claim_history')
    with op.batch_alter_table('customer_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_contacts_order_id'))

    op.drop_table('customer_contacts')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_waybill'))
        batch_op.drop_index(batch_op.f('ix_claims_carrier'))

    op.drop_table('claims')
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_events_case_id'))

    op.drop_table('case_events')
    with op.batch_alter_table('actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_actions_order_id'))

    op.drop_table('actions')
    op.drop_table('tracking_events')
    with op.batch_alter_table('exception_cases', schema=None) as batch_op:
        batch_op.drop_index('ix_exception_cases_queue')

    op.drop_table('exception_cases')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipments_waybill'))
        batch_op.drop_index('ix_shipments_due')

    op.drop_table('shipments')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_refunds_platform_order_id'))
        batch_op.drop_index(batch_op.f('ix_refunds_order_id'))

    op.drop_table('refunds')
    op.drop_table('order_items')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_phone_tail'))
        batch_op.drop_index('ix_orders_facts_changed_at')

    op.drop_table('orders')
    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_batches_file_sha256'))

    op.drop_table('import_batches')
    with op.batch_alter_table('courier_statement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courier_statement_lines_waybill'))
        batch_op.drop_index(batch_op.f('ix_courier_statement_lines_statement_id'))

    op.drop_table('courier_statement_lines')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    op.drop_table('users')
    op.drop_table('shops')
    op.drop_table('provider_health')
    op.drop_table('courier_statements')
