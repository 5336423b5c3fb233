"""notice answer: when and how the guardians answered a same-day notice

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0014'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('absence', sa.Column('answered_at', storage.types.UTCDateTime(timezone=True),
                                       nullable=True))
    op.add_column('absence', sa.Column('answer', sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('absence') as batch:
        batch.drop_column('answer')
        batch.drop_column('answered_at')
