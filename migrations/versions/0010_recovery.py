"""recovery: cart-save configs, attempts and interventions

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cart_save_configs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('stages', sa.JSON(), nullable=False),
    sa.Column('window_start', sa.String(length=5), nullable=False),
    sa.Column('window_end', sa.String(length=5), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_cart_save_configs_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_save_configs')),
    sa.UniqueConstraint('company_id', name=op.f('uq_cart_save_configs_company_id'))
    )
    op.create_table('cart_save_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('cart_id', sa.Integer(), nullable=False),
    sa.Column('lead_id', sa.Integer(), nullable=True),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_stage', sa.String(length=24), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('risk_score', sa.Integer(), nullable=False),
    sa.Column('stage_history', sa.JSON(), nullable=False),
    sa.Column('cart_value_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('last_activity_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paused_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('scheduled_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('recovered_cents', sa.Integer(), nullable=True),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cart_id'], ['carts.id'], name=op.f('fk_cart_save_attempts_cart_id_carts')),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_cart_save_attempts_company_id_companies')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_cart_save_attempts_customer_id_customers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['lead_id'], ['leads.id'], name=op.f('fk_cart_save_attempts_lead_id_leads'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_cart_save_attempts_order_id_orders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_save_attempts'))
    )
    with op.batch_alter_table('cart_save_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_cart_save_attempts_cart_status', ['cart_id', 'status'], unique=False)
        batch_op.create_index('ix_cart_save_attempts_company_status', ['company_id', 'status'], unique=False)

    op.create_table('cart_interventions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('angle', sa.String(length=32), nullable=True),
    sa.Column('offer_code', sa.String(length=64), nullable=True),
    sa.Column('offer_percent', sa.Integer(), nullable=False),
    sa.Column('offer_expires_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=500), nullable=True),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('message_key', sa.String(length=120), nullable=True),
    sa.Column('scheduled_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('schedule_reason', sa.String(length=500), nullable=True),
    sa.Column('queued_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opened_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('clicked_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('executed_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_response', sa.JSON(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('order_cents', sa.Integer(), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['cart_save_attempts.id'], name=op.f('fk_cart_interventions_attempt_id_cart_save_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_cart_interventions_company_id_companies')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_cart_interventions_order_id_orders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cart_interventions')),
    sa.UniqueConstraint('token', name=op.f('uq_cart_interventions_token'))
    )
    with op.batch_alter_table('cart_interventions', schema=None) as batch_op:
        batch_op.create_index('ix_cart_interventions_attempt', ['attempt_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_interventions_company_id'), ['company_id'], unique=False)
        batch_op.create_index('ix_cart_interventions_status_queued', ['status', 'queued_at'], unique=False)
        batch_op.create_index('ix_cart_interventions_status_scheduled', ['status', 'scheduled_at'], unique=False)



def downgrade():
    with op.batch_alter_table('cart_interventions', schema=None) as batch_op:
        batch_op.drop_index('ix_cart_interventions_status_scheduled')
        batch_op.drop_index('ix_cart_interventions_status_queued')
        batch_op.drop_index(batch_op.f('ix_cart_interventions_company_id'))
        batch_op.drop_index('ix_cart_interventions_attempt')

    op.drop_table('cart_interventions')
    with op.batch_alter_table('cart_save_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_cart_save_attempts_company_status')
        batch_op.drop_index('ix_cart_save_attempts_cart_status')

    op.drop_table('cart_save_attempts')
    op.drop_table('cart_save_configs')
