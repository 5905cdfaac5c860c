"""analytics at scale: rollups per product, source type and category; event retention

``analytics_product_hourly``, ``analytics_source_hourly`` and ``analytics_category_hourly``
hold one hour of one merchant's product views, adds, sales and abandoned carts; orders,
units and abandoned carts per source type; orders and abandoned carts per category. The
hourly refresh rewrites them with ``analytics_hourly``.

``companies.event_retention_days`` is how long a merchant's raw events are kept (400 days
unless changed) and ``events_purged_before`` the instant before which they were last
deleted; ``visit_events`` gains a BRIN index on ``created_at`` for the nightly
retention delete and for time ranges.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 17:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

TABLES = (
    ('analytics_product_hourly', sa.Column('product_id', sa.Integer(), nullable=False),
     ('views', 'adds', 'units_added', 'orders', 'units_sold'), ('revenue_cents',), ('abandoned_carts',)),
    ('analytics_source_hourly', sa.Column('source_type', sa.String(length=16), nullable=False),
     ('orders', 'units_ordered'), ('revenue_cents',), ('abandoned_carts', 'units_abandoned')),
    ('analytics_category_hourly', sa.Column('category_id', sa.Integer(), nullable=False),
     ('orders', 'abandoned_carts'), (), ()),
)


def upgrade():
    for name, key, counts, money, after in TABLES:
        op.create_table(
            name,
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('company_id', sa.Integer(), nullable=False),
            sa.Column('hour', storefront.types.UTCDateTime(timezone=True), nullable=False),
            key,
            *(sa.Column(column, sa.Integer(), nullable=False) for column in counts),
            *(sa.Column(column, sa.BigInteger(), nullable=False) for column in money),
            *(sa.Column(column, sa.Integer(), nullable=False) for column in after),
            sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f(f'fk_{name}_company_id_companies')),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
            sa.UniqueConstraint('company_id', 'hour', key.name, name=f'uq_{name}_key'),
        )
        op.create_index(f'ix_{name}_hour', name, ['hour'], unique=False)
    with op.batch_alter_table('companies') as batch_op:
        batch_op.add_column(sa.Column('event_retention_days', sa.Integer(), server_default='400', nullable=False))
        batch_op.add_column(sa.Column('events_purged_before', storefront.types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_index('ix_visit_events_created_brin', 'visit_events', ['created_at'], unique=False,
                    postgresql_using='brin', postgresql_with={'autosummarize': 'on'})


def downgrade():
    op.drop_index('ix_visit_events_created_brin', table_name='visit_events')
    with op.batch_alter_table('companies') as batch_op:
        batch_op.drop_column('events_purged_before')
        batch_op.drop_column('event_retention_days')
    for name, *_rest in reversed(TABLES):
        op.drop_index(f'ix_{name}_hour', table_name=name)
        op.drop_table(name)
