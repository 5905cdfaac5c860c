"""media: product images and their derivatives

``media_assets`` holds each stored image (content hash, pixel size, dominant colour,
derivative widths, processing status); ``product_images`` gains the link to its stored
copy and the outcome of fetching its remote source.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('media_assets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('ext', sa.String(length=8), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('color', sa.String(length=7), nullable=True),
    sa.Column('widths', storefront.types.JSONType(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(), nullable=False),
    sa.Column('processed_at', storefront.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_media_assets_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_assets')),
    sa.UniqueConstraint('company_id', 'sha256', name=op.f('uq_media_assets_company_id_sha256'))
    )
    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_assets_company_id'), ['company_id'], unique=False)

    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asset_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fetched_at', storefront.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('fetch_error', sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f('ix_product_images_asset_id'), ['asset_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_product_images_asset_id_media_assets'), 'media_assets', ['asset_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('product_images', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_product_images_asset_id_media_assets'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_product_images_asset_id'))
        batch_op.drop_column('fetch_error')
        batch_op.drop_column('fetched_at')
        batch_op.drop_column('asset_id')

    with op.batch_alter_table('media_assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_assets_company_id'))

    op.drop_table('media_assets')
