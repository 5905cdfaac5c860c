"""analytics_daily: one UTC day of analytics_hourly per key, filled from the hourly rows

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 18:40:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

COUNTS = ("visits", "unique_visitors", "page_views", "add_to_cart_visits", "checkout_starts",
          "payments_submitted", "orders")
AFTER = ("abandoned_carts", "new_leads", "leads_with_email", "leads_with_phone", "leads_with_name",
         "leads_with_address")
KEY = "company_id, landing_page_id, variant_id, utm_source, utm_medium, utm_campaign"


def upgrade():
    op.create_table(
        'analytics_daily',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('day', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('landing_page_id', sa.Integer(), nullable=False),
        sa.Column('variant_id', sa.Integer(), nullable=False),
        sa.Column('utm_source', sa.String(length=200), nullable=False),
        sa.Column('utm_medium', sa.String(length=200), nullable=False),
        sa.Column('utm_campaign', sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.Column('revenue_sq_cents', sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in AFTER),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_analytics_daily_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_daily')),
        sa.UniqueConstraint('company_id', 'day', 'landing_page_id', 'variant_id', 'utm_source', 'utm_medium',
                            'utm_campaign', name='uq_analytics_daily_key'),
    )
    # The days already rolled up, so the dashboard's whole days read the same figures.
    counters = (*COUNTS, "revenue_cents", "revenue_sq_cents", *AFTER)
    if op.get_bind().dialect.name == "postgresql":
        day = "date_trunc('day', timezone('UTC', hour))"
    else:
        day = "strftime('%Y-%m-%d 00:00:00', hour)"
    op.execute(f"INSERT INTO analytics_daily ({KEY}, day, {', '.join(counters)}) "
               f"SELECT {KEY}, {day}, {', '.join(f'sum({c})' for c in counters)} "
               f"FROM analytics_hourly GROUP BY {KEY}, {day}")


def downgrade():
    op.drop_table('analytics_daily')
