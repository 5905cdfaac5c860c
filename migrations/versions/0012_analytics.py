"""analytics: hourly rollups, experiments

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    counts = ("visits", "unique_visitors", "page_views", "add_to_cart_visits", "checkout_starts",
              "payments_submitted", "orders")
    after = ("abandoned_carts", "new_leads", "leads_with_email", "leads_with_phone", "leads_with_name",
             "leads_with_address")
    op.create_table(
        'analytics_hourly',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('hour', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('landing_page_id', sa.Integer(), nullable=False),
        sa.Column('variant_id', sa.Integer(), nullable=False),
        sa.Column('utm_source', sa.String(length=200), nullable=False),
        sa.Column('utm_medium', sa.String(length=200), nullable=False),
        sa.Column('utm_campaign', sa.String(length=200), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in counts),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.Column('revenue_sq_cents', sa.BigInteger(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in after),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_analytics_hourly_company_id_companies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_hourly')),
        sa.UniqueConstraint('company_id', 'hour', 'landing_page_id', 'variant_id', 'utm_source', 'utm_medium',
                            'utm_campaign', name='uq_analytics_hourly_key'),
    )
    op.create_index('ix_analytics_hourly_hour', 'analytics_hourly', ['hour'], unique=False)
    op.create_table(
        'analytics_refresh_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('refreshed_until', storefront.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_event_id', sa.BigInteger(), nullable=False),
        sa.Column('last_visit_id', sa.BigInteger(), nullable=False),
        sa.Column('last_order_id', sa.BigInteger(), nullable=False),
        sa.Column('last_lead_id', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_refresh_state')),
    )
    op.create_table(
        'analytics_dirty_hours',
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('hour', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'],
                                name=op.f('fk_analytics_dirty_hours_company_id_companies')),
        sa.PrimaryKeyConstraint('company_id', 'hour', name=op.f('pk_analytics_dirty_hours')),
    )
    op.create_table(
        'experiments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('landing_page_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('hypothesis', sa.String(length=1000), nullable=False),
        sa.Column('metric', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('started_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('stopped_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('winner_variant_id', sa.Integer(), nullable=True),
        sa.Column('concluded_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('concluded_by_id', sa.Integer(), nullable=True),
        sa.Column('previous_headline', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_experiments_company_id_companies')),
        sa.ForeignKeyConstraint(['concluded_by_id'], ['users.id'], name=op.f('fk_experiments_concluded_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['landing_page_id'], ['landing_pages.id'],
                                name=op.f('fk_experiments_landing_page_id_landing_pages'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiments')),
    )
    op.create_index(op.f('ix_experiments_company_id'), 'experiments', ['company_id'], unique=False)
    op.create_index('ix_experiments_page_status', 'experiments', ['landing_page_id', 'status'], unique=False)
    op.create_table(
        'experiment_variants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('experiment_id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('is_control', sa.Boolean(), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.Column('headline', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_experiment_variants_company_id_companies')),
        sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'],
                                name=op.f('fk_experiment_variants_experiment_id_experiments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_variants')),
    )
    op.create_index(op.f('ix_experiment_variants_experiment_id'), 'experiment_variants', ['experiment_id'], unique=False)
    op.create_table(
        'experiment_exposures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=False),
        sa.Column('experiment_id', sa.Integer(), nullable=False),
        sa.Column('variant_id', sa.Integer(), nullable=False),
        sa.Column('visitor_id', sa.String(length=64), nullable=False),
        sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_experiment_exposures_company_id_companies')),
        sa.ForeignKeyConstraint(['experiment_id'], ['experiments.id'],
                                name=op.f('fk_experiment_exposures_experiment_id_experiments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['variant_id'], ['experiment_variants.id'],
                                name=op.f('fk_experiment_exposures_variant_id_experiment_variants'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_exposures')),
        sa.UniqueConstraint('experiment_id', 'visitor_id', name='uq_experiment_exposures_visitor'),
    )
    op.create_index(op.f('ix_experiment_exposures_visitor_id'), 'experiment_exposures', ['visitor_id'], unique=False)


def downgrade():
    op.drop_table('experiment_exposures')
    op.drop_table('experiment_variants')
    op.drop_table('experiments')
    op.drop_table('analytics_dirty_hours')
    op.drop_table('analytics_refresh_state')
    op.drop_index('ix_analytics_hourly_hour', table_name='analytics_hourly')
    op.drop_table('analytics_hourly')
