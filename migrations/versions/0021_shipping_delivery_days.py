"""shipping methods' delivery estimate in business days (min_days, max_days)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 18:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shipping_methods', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_days', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('max_days', sa.SmallInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('shipping_methods', schema=None) as batch_op:
        batch_op.drop_column('max_days')
        batch_op.drop_column('min_days')
