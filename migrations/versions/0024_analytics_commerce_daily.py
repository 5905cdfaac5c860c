"""analytics_product_daily, analytics_source_daily, analytics_category_daily: one UTC day of
each commerce rollup per key, filled from the hourly rows

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 20:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# (daily table, hourly table, key column, integer counters, money counters, integer counters after)
TABLES = (
    ('analytics_product_daily', 'analytics_product_hourly', sa.Column('product_id', sa.Integer(), nullable=False),
     ('views', 'adds', 'units_added', 'orders', 'units_sold'), ('revenue_cents',), ('abandoned_carts',)),
    ('analytics_source_daily', 'analytics_source_hourly', sa.Column('source_type', sa.String(length=16), nullable=False),
     ('orders', 'units_ordered'), ('revenue_cents',), ('abandoned_carts', 'units_abandoned')),
    ('analytics_category_daily', 'analytics_category_hourly', sa.Column('category_id', sa.Integer(), nullable=False),
     ('orders', 'abandoned_carts'), (), ()),
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        day = "date_trunc('day', timezone('UTC', hour))"
    else:
        day = "strftime('%Y-%m-%d 00:00:00', hour)"
    for name, hourly, key, counts, money, after in TABLES:
        op.create_table(
            name,
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column('company_id', sa.Integer(), nullable=False),
            sa.Column('day', storefront.types.UTCDateTime(timezone=True), nullable=False),
            key,
            *(sa.Column(column, sa.Integer(), nullable=False) for column in counts),
            *(sa.Column(column, sa.BigInteger(), nullable=False) for column in money),
            *(sa.Column(column, sa.Integer(), nullable=False) for column in after),
            sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f(f'fk_{name}_company_id_companies')),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{name}')),
            sa.UniqueConstraint('company_id', 'day', key.name, name=f'uq_{name}_key'),
        )
        # The days already rolled up, so the dashboard's whole days read the same figures.
        counters = (*counts, *money, *after)
        op.execute(f"INSERT INTO {name} (company_id, {key.name}, day, {', '.join(counters)}) "
                   f"SELECT company_id, {key.name}, {day}, {', '.join(f'sum({c})' for c in counters)} "
                   f"FROM {hourly} GROUP BY company_id, {key.name}, {day}")


def downgrade():
    for name, *_rest in reversed(TABLES):
        op.drop_table(name)
