"""experiment variants as versions of the page; the order's variant

``experiment_variants.page_id`` is the variant's hidden copy of its page (sections,
products, theme), edited in the page builder; ``orders.experiment_variant_id`` records the
variant the order's visit was shown.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 17:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('experiment_variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('page_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_experiment_variants_page_id_landing_pages'),
                                    'landing_pages', ['page_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('experiment_variant_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_experiment_variant_id_experiment_variants'),
                                    'experiment_variants', ['experiment_variant_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_experiment_variant_id_experiment_variants'),
                                 type_='foreignkey')
        batch_op.drop_column('experiment_variant_id')
    with op.batch_alter_table('experiment_variants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_experiment_variants_page_id_landing_pages'), type_='foreignkey')
        batch_op.drop_column('page_id')
