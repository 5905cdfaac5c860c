"""stock reservations held while a shopper pays

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa
import storefront.types  # noqa: F401  (autogenerate renders our column types by path)


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stock_reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('cart_id', sa.Integer(), nullable=False),
    sa.Column('variant_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('cart_version', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quantity > 0', name='reservation_quantity_positive'),
    sa.ForeignKeyConstraint(['cart_id'], ['carts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['variant_id'], ['variants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cart_id', 'variant_id')
    )
    with op.batch_alter_table('stock_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_reservations_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_reservations_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_stock_reservations_variant_expires', ['variant_id', 'expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('stock_reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_reservations_variant_expires')
        batch_op.drop_index(batch_op.f('ix_stock_reservations_expires_at'))
        batch_op.drop_index(batch_op.f('ix_stock_reservations_company_id'))

    op.drop_table('stock_reservations')
