"""dunning message variants: the merchant's own words for each dunning notice

``dunning_message_variants`` holds the subject and body a merchant writes for a notice, a
decline class, a customer history and one plan or all; ``payment_attempts.message_variant_id``
records which one a notice sent.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 18:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dunning_message_variants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('notice', sa.String(length=16), nullable=False),
    sa.Column('decline_class', sa.String(length=8), nullable=False),
    sa.Column('history', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.String(length=150), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', storefront.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_dunning_message_variants_company_id_companies')),
    sa.ForeignKeyConstraint(['plan_id'], ['subscription_plans.id'], name=op.f('fk_dunning_message_variants_plan_id_subscription_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dunning_message_variants'))
    )
    with op.batch_alter_table('dunning_message_variants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dunning_message_variants_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_dunning_message_variants_plan_id'), ['plan_id'], unique=False)
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_variant_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_payment_attempts_message_variant_id_dunning_message_variants'),
                                    'dunning_message_variants', ['message_variant_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('payment_attempts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_payment_attempts_message_variant_id_dunning_message_variants'),
                                 type_='foreignkey')
        batch_op.drop_column('message_variant_id')
    with op.batch_alter_table('dunning_message_variants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dunning_message_variants_plan_id'))
        batch_op.drop_index(batch_op.f('ix_dunning_message_variants_company_id'))
    op.drop_table('dunning_message_variants')
