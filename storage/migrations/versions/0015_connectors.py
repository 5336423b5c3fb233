"""connectors: a school system's sync state, its entities, links and the reports going back

Revision ID: 0015
Revises: 0017
Create Date: 2026-12-06 22:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0015'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'connector_state',
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('cursor', sa.JSON(), nullable=False),
        sa.Column('last_attempt_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_success_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column('last_counts', sa.JSON(), nullable=False),
        sa.Column('subscription', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'connector_record',
        sa.Column('connector', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('connector', 'kind', 'external_id'),
    )
    op.create_table(
        'connector_link',
        sa.Column('connector', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('local_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('connector', 'kind', 'external_id'),
    )
    op.create_index('ix_connector_link_local', 'connector_link',
                    ['connector', 'kind', 'local_id'], unique=False)
    op.create_table(
        'connector_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connector', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('remote_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['absence_report.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
    )
    op.create_index('ix_connector_outbox_status_due', 'connector_outbox',
                    ['connector', 'status', 'not_before'], unique=False)
    op.create_index(op.f('ix_connector_outbox_report_id'), 'connector_outbox', ['report_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_connector_outbox_report_id'), table_name='connector_outbox')
    op.drop_index('ix_connector_outbox_status_due', table_name='connector_outbox')
    op.drop_table('connector_outbox')
    op.drop_index('ix_connector_link_local', table_name='connector_link')
    op.drop_table('connector_link')
    op.drop_table('connector_record')
    op.drop_table('connector_state')
