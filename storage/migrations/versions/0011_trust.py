"""trust: the student an audit row is about; protected identity

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `student` would drop a table others point to.
    op.add_column('audit_log', sa.Column('student_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_audit_log_student_id'), 'audit_log', ['student_id'], unique=False)
    op.add_column('student', sa.Column('protected', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('student', 'protected')
    op.drop_index(op.f('ix_audit_log_student_id'), table_name='audit_log')
    op.drop_column('audit_log', 'student_id')
