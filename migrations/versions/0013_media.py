"""media: product images and their derivatives

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
