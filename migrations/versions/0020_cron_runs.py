"""when each periodic job last succeeded and failed (cron_runs), for the worker-health screen

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 18:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('cron_runs',
    sa.Column('job', sa.String(length=100), nullable=False),
    sa.Column('every_seconds', sa.Integer(), nullable=True),
    sa.Column('last_success_at', storefront.types.UTCDateTime(), nullable=True),
    sa.Column('last_failure_at', storefront.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('job', name=op.f('pk_cron_runs'))
    )


def downgrade():
    op.drop_table('cron_runs')
