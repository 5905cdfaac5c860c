"""one-click upsell: the merchant's offer and each purchase

``upsell_offers`` holds the one product a merchant offers on the order confirmation page;
``upsell_purchases`` each order's purchase of it (unique per order: committed before the
card is charged, so a double click charges once) and its linked order.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 17:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('upsell_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('headline', sa.String(length=120), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_upsell_offers_company_id_companies')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_upsell_offers_variant_id_variants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upsell_offers')),
    sa.UniqueConstraint('company_id', name=op.f('uq_upsell_offers_company_id'))
    )
    op.create_table('upsell_purchases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=True),
    sa.Column('product_title', sa.String(length=255), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('upsell_order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(), nullable=False),
    sa.Column('finished_at', storefront.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_upsell_purchases_company_id_companies')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_upsell_purchases_order_id_orders')),
    sa.ForeignKeyConstraint(['upsell_order_id'], ['orders.id'], name=op.f('fk_upsell_purchases_upsell_order_id_orders')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_upsell_purchases_variant_id_variants'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upsell_purchases')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_upsell_purchases_idempotency_key')),
    sa.UniqueConstraint('order_id', name=op.f('uq_upsell_purchases_order_id')),
    sa.UniqueConstraint('payment_intent_id', name=op.f('uq_upsell_purchases_payment_intent_id')),
    sa.UniqueConstraint('upsell_order_id', name=op.f('uq_upsell_purchases_upsell_order_id'))
    )
    with op.batch_alter_table('upsell_purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upsell_purchases_company_id'), ['company_id'], unique=False)


def downgrade():
    with op.batch_alter_table('upsell_purchases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upsell_purchases_company_id'))
    op.drop_table('upsell_purchases')
    op.drop_table('upsell_offers')
