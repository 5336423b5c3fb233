"""concern; absence by update time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('concern',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('raised_by', sa.Integer(), nullable=True),
    sa.Column('raised_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('closed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.ForeignKeyConstraint(['raised_by'], ['person.id'], ),
    sa.ForeignKeyConstraint(['closed_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_concern_student_id'), 'concern', ['student_id'], unique=False)
    op.create_index('ix_absence_updated_at', 'absence', ['updated_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_absence_updated_at', table_name='absence')
    op.drop_index(op.f('ix_concern_student_id'), table_name='concern')
    op.drop_table('concern')
