"""hot path: buffered visit events carry a unique key, so their flush is idempotent

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_key', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_visit_events_event_key'), ['event_key'])


def downgrade():
    with op.batch_alter_table('visit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_visit_events_event_key'), type_='unique')
        batch_op.drop_column('event_key')
