"""subscribe and save: a cart line's plan, an order's kept card

``line_items.plan_id`` is the subscription plan a shopper chose for a line; ``orders``
keep the Stripe Customer and PaymentMethod the shopper agreed to keep for off-session
charges.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 17:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_line_items_plan_id_subscription_plans'),
                                    'subscription_plans', ['plan_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stripe_customer_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('payment_method_id', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('payment_method_id')
        batch_op.drop_column('stripe_customer_id')
    with op.batch_alter_table('line_items', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_line_items_plan_id_subscription_plans'), type_='foreignkey')
        batch_op.drop_column('plan_id')
