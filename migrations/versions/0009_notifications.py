"""notifications: messages sent, suppressions, SMS consent

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

import storefront.types  # noqa: F401  (autogenerate renders our column types by path)

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('email_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_email_suppressions_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_suppressions')),
    sa.UniqueConstraint('company_id', 'email_hash', name=op.f('uq_email_suppressions_company_id_email_hash'))
    )
    op.create_index(op.f('ix_email_suppressions_company_id'), 'email_suppressions', ['company_id'], unique=False)

    op.create_table('outbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=250), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('hook', sa.String(length=40), nullable=True),
    sa.Column('digits', sa.String(length=8), nullable=True),
    sa.Column('created_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sending_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_outbound_messages_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_messages')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbound_messages_idempotency_key'))
    )
    op.create_index('ix_outbound_messages_company_created', 'outbound_messages', ['company_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_outbound_messages_company_id'), 'outbound_messages', ['company_id'], unique=False)
    op.create_index(op.f('ix_outbound_messages_provider_id'), 'outbound_messages', ['provider_id'], unique=False)
    op.create_index('ix_outbound_messages_recipient', 'outbound_messages', ['recipient'], unique=False)
    op.create_index('ix_outbound_messages_status_sending', 'outbound_messages', ['status', 'sending_at'], unique=False)

    op.create_table('phone_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('consent_text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('consented_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', storefront.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawal_source', sa.String(length=32), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('updated_at', storefront.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], name=op.f('fk_phone_consents_company_id_companies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_phone_consents')),
    sa.UniqueConstraint('company_id', 'phone', 'channel', name=op.f('uq_phone_consents_company_id_phone_channel'))
    )
    op.create_index(op.f('ix_phone_consents_company_id'), 'phone_consents', ['company_id'], unique=False)
    op.create_index('ix_phone_consents_phone', 'phone_consents', ['phone'], unique=False)


def downgrade():
    op.drop_index('ix_phone_consents_phone', table_name='phone_consents')
    op.drop_index(op.f('ix_phone_consents_company_id'), table_name='phone_consents')
    op.drop_table('phone_consents')
    op.drop_index('ix_outbound_messages_status_sending', table_name='outbound_messages')
    op.drop_index('ix_outbound_messages_recipient', table_name='outbound_messages')
    op.drop_index(op.f('ix_outbound_messages_provider_id'), table_name='outbound_messages')
    op.drop_index(op.f('ix_outbound_messages_company_id'), table_name='outbound_messages')
    op.drop_index('ix_outbound_messages_company_created', table_name='outbound_messages')
    op.drop_table('outbound_messages')
    op.drop_index(op.f('ix_email_suppressions_company_id'), table_name='email_suppressions')
    op.drop_table('email_suppressions')
