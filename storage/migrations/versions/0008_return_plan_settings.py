"""return plan: answer deadline, the mentor's own encouragements; guardians' opt-out

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN: a batch copy of `student` would drop a table others point to.
    op.add_column('return_plan', sa.Column('answer_by', sa.Time(), nullable=True))
    op.add_column('student', sa.Column('messages_off', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table('plan_encouragement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['return_plan.id'], ),
    sa.ForeignKeyConstraint(['added_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_plan_encouragement_plan_id'), 'plan_encouragement', ['plan_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_plan_encouragement_plan_id'), table_name='plan_encouragement')
    op.drop_table('plan_encouragement')
    op.drop_column('student', 'messages_off')
    op.drop_column('return_plan', 'answer_by')
