"""web sessions kept in the database; the intake of inbound messages

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-06 22:22:00

The intake table is used on PostgreSQL; on SQLite the intake lives in a file of its own
beside the database (storage/intake.py), and this table stays empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0012'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'intake_message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('worker', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('channel', 'ref'),
    )
    op.create_table(
        'web_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['person_id'], ['person.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index(op.f('ix_web_session_expires_at'), 'web_session', ['expires_at'],
                    unique=False)
    op.create_index(op.f('ix_web_session_person_id'), 'web_session', ['person_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_session_person_id'), table_name='web_session')
    op.drop_index(op.f('ix_web_session_expires_at'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_table('intake_message')
