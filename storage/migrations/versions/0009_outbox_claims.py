"""outbox claims: a lease (claimed_at, claimed_by) and a priority

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.add_column(sa.Column('priority', sa.Integer(), nullable=False,
                                   server_default='1'))
        batch.add_column(sa.Column('claimed_at', storage.types.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_column('claimed_by')
        batch.drop_column('claimed_at')
        batch.drop_column('priority')
