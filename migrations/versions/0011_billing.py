"""billing: plans, subscriptions, invoices and payment attempts

Orders may now come without a cart (renewals, upsells): ``orders.cart_id`` becomes
nullable (still unique: NULLs never collide) and cartless orders are unique by
``origin_key``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.alter_column('cart_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('origin_key', sa.String(length=80), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_orders_origin_key'), ['origin_key'])

    op.create_table('subscription_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('interval', sa.String(length=8), nullable=False),
    sa.Column('interval_count', sa.Integer(), nullable=False),
    sa.Column('trial_days', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('retry_strategy', sa.String(length=16), nullable=False),
    sa.Column('fixed_schedule_days', sa.JSON(), nullable=False),
    sa.Column('max_retries', sa.Integer(), nullable=False),
    sa.Column('max_days_to_retry', sa.Integer(), nullable=False),
    sa.Column('enable_payday_detection', sa.Boolean(), nullable=False),
    sa.Column('enable_time_optimization', sa.Boolean(), nullable=False),
    sa.Column('enable_day_of_week_optimization', sa.Boolean(), nullable=False),
    sa.Column('retry_window_start', sa.Integer(), nullable=False),
    sa.Column('retry_window_end', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('send_failure_email', sa.Boolean(), nullable=False),
    sa.Column('send_sms_reminder', sa.Boolean(), nullable=False),
    sa.Column('use_mi_generated_content', sa.Boolean(), nullable=False),
    sa.Column('after_max_retries_action', sa.String(length=16), nullable=False),
    sa.Column('allow_mi_billing_date_optimization', sa.Boolean(), nullable=False),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_subscription_plans_company_id_companies')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_subscription_plans_product_id_products')),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], name=op.f('fk_subscription_plans_variant_id_variants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_plans'))
    )
    op.create_index(op.f('ix_subscription_plans_company_id'), 'subscription_plans', ['company_id'], unique=False)
    op.create_index(op.f('ix_subscription_plans_product_id'), 'subscription_plans', ['product_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_period_start', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('current_period_end', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('next_billing_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('stripe_customer_id', sa.String(length=255), nullable=True),
    sa.Column('payment_method_id', sa.String(length=255), nullable=True),
    sa.Column('billing_country', sa.String(length=2), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('shipping_address', sa.JSON(), nullable=False),
    sa.Column('first_order_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('canceled_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_subscriptions_company_id_companies')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_subscriptions_customer_id_customers')),
    sa.ForeignKeyConstraint(['first_order_id'], ['orders.id'], name=op.f('fk_subscriptions_first_order_id_orders')),
    sa.ForeignKeyConstraint(['plan_id'], ['subscription_plans.id'], name=op.f('fk_subscriptions_plan_id_subscription_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    op.create_index(op.f('ix_subscriptions_company_id'), 'subscriptions', ['company_id'], unique=False)
    op.create_index(op.f('ix_subscriptions_customer_id'), 'subscriptions', ['customer_id'], unique=False)
    op.create_index(op.f('ix_subscriptions_plan_id'), 'subscriptions', ['plan_id'], unique=False)
    op.create_index('ix_subscriptions_status_next_billing', 'subscriptions', ['status', 'next_billing_at'], unique=False)

    op.create_table('invoices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('period_start', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('amount_cents', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempt_count', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('dunning_deadline', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_invoices_company_id_companies')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_invoices_order_id_orders')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_invoices_subscription_id_subscriptions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoices')),
    sa.UniqueConstraint('order_id', name=op.f('uq_invoices_order_id')),
    sa.UniqueConstraint('subscription_id', 'period_start', name=op.f('uq_invoices_subscription_id_period_start'))
    )
    op.create_index(op.f('ix_invoices_company_id'), 'invoices', ['company_id'], unique=False)
    op.create_index('ix_invoices_status_deadline', 'invoices', ['status', 'dunning_deadline'], unique=False)
    op.create_index(op.f('ix_invoices_subscription_id'), 'invoices', ['subscription_id'], unique=False)

    op.create_table('payment_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('strategy', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payment_intent_id', sa.String(length=255), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=True),
    sa.Column('decline_code', sa.String(length=64), nullable=True),
    sa.Column('decline_class', sa.String(length=8), nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('started_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_payment_attempts_company_id_companies')),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], name=op.f('fk_payment_attempts_invoice_id_invoices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_attempts')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_payment_attempts_idempotency_key')),
    sa.UniqueConstraint('invoice_id', 'number', name=op.f('uq_payment_attempts_invoice_id_number')),
    sa.UniqueConstraint('payment_intent_id', name=op.f('uq_payment_attempts_payment_intent_id'))
    )
    op.create_index(op.f('ix_payment_attempts_company_id'), 'payment_attempts', ['company_id'], unique=False)
    op.create_index(op.f('ix_payment_attempts_invoice_id'), 'payment_attempts', ['invoice_id'], unique=False)
    op.create_index('ix_payment_attempts_status_scheduled', 'payment_attempts', ['status', 'scheduled_at'], unique=False)


def downgrade():
    op.drop_table('payment_attempts')
    op.drop_table('invoices')
    op.drop_table('subscriptions')
    op.drop_table('subscription_plans')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_orders_origin_key'), type_='unique')
        batch_op.drop_column('origin_key')
        batch_op.alter_column('cart_id', existing_type=sa.Integer(), nullable=False)
