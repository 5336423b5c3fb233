"""ladder periods: the period a position belongs to, and since when its cause is gone

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06 23:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('ladder_position', sa.Column('period_start', sa.Date(), nullable=True))
    op.add_column('ladder_position', sa.Column('below_since', sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column('ladder_position', 'below_since')
    op.drop_column('ladder_position', 'period_start')
