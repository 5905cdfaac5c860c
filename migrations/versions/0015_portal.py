"""portal: sign-in links and the subscription save flow

``portal_links`` holds the hash of each emailed single-use link (sign-in, email change);
``subscription_save_offers`` is the save flow's attempt (a cancel in the portal, or the
SAVE_FLOW after-max-retries action); ``subscriptions.next_discount_percent`` carries an
accepted discount to the next invoice.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 17:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('portal_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=True),
    sa.Column('expires_at', storefront.types.UTCDateTime(), nullable=False),
    sa.Column('used_at', storefront.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_portal_links_company_id_companies')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_portal_links_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_portal_links_token_hash'))
    )
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_links_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_portal_links_customer_id'), ['customer_id'], unique=False)

    op.create_table('subscription_save_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('choice', sa.String(length=16), nullable=True),
    sa.Column('discount_percent', sa.Integer(), nullable=False),
    sa.Column('created_at', storefront.types.UTCDateTime(), nullable=False),
    sa.Column('decided_at', storefront.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_subscription_save_offers_company_id_companies')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_subscription_save_offers_invoice_id_invoices')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_subscription_save_offers_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_save_offers')),
    sa.UniqueConstraint('key', name=op.f('uq_subscription_save_offers_key'))
    )
    with op.batch_alter_table('subscription_save_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_save_offers_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_save_offers_subscription_id'), ['subscription_id'], unique=False)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_discount_percent', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('next_discount_percent')
    with op.batch_alter_table('subscription_save_offers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_save_offers_subscription_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_save_offers_company_id'))
    op.drop_table('subscription_save_offers')
    with op.batch_alter_table('portal_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_links_customer_id'))
        batch_op.drop_index(batch_op.f('ix_portal_links_company_id'))
    op.drop_table('portal_links')
