"""sign-in attempts counted in the database when the shared rate-limit store is away

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=80), nullable=False),
    sa.Column('window_start', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_seconds', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', 'window_seconds', name=op.f('pk_login_throttles'))
    )
    op.create_index('ix_login_throttles_window_start', 'login_throttles', ['window_start'], unique=False)


def downgrade():
    op.drop_index('ix_login_throttles_window_start', table_name='login_throttles')
    op.drop_table('login_throttles')
