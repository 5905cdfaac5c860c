"""co-purchase counts (product_pairs) for "Frequently bought together"

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 18:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('product_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('other_product_id', sa.Integer(), nullable=False),
    sa.Column('orders_together', sa.Integer(), nullable=False),
    sa.Column('computed_at', storefront.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_product_pairs_company_id_companies')),
    sa.ForeignKeyConstraint(['other_product_id'], ['products.id'], name=op.f('fk_product_pairs_other_product_id_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_pairs_product_id_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_pairs'))
    )
    op.create_index('ix_product_pairs_company_product', 'product_pairs', ['company_id', 'product_id'], unique=False)
    op.create_index(op.f('ix_product_pairs_other_product_id'), 'product_pairs', ['other_product_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_product_pairs_other_product_id'), table_name='product_pairs')
    op.drop_index('ix_product_pairs_company_product', table_name='product_pairs')
    op.drop_table('product_pairs')
