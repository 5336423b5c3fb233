"""concerns raised by people (signals, notes, guardians' words); cause mapping by chat;
action plans and their measures; a picture with an outbox message

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outbox_message', sa.Column('attachment', sa.JSON(), nullable=True))
    op.create_table('concern_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('concern_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('raised_by', sa.Integer(), nullable=True),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('signals', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['concern_id'], ['concern.id'], ),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.ForeignKeyConstraint(['raised_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_concern_note_concern_id'), 'concern_note', ['concern_id'],
                    unique=False)
    op.create_index(op.f('ix_concern_note_student_id'), 'concern_note', ['student_id'],
                    unique=False)
    op.create_table('cause_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('respondent_id', sa.Integer(), nullable=False),
    sa.Column('sent_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('finished_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.ForeignKeyConstraint(['respondent_id'], ['person.id'], ),
    sa.ForeignKeyConstraint(['sent_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_cause_mapping_student_id'), 'cause_mapping', ['student_id'],
                    unique=False)
    op.create_index(op.f('ix_cause_mapping_respondent_id'), 'cause_mapping',
                    ['respondent_id'], unique=False)

    op.create_table('action_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('evaluate_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.ForeignKeyConstraint(['student_id'], ['student.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_action_plan_student_id'), 'action_plan', ['student_id'],
                    unique=False)
    op.create_table('measure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('what', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('reminded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['action_plan.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['person.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_measure_plan_id'), 'measure', ['plan_id'], unique=False)


def downgrade() -> None:
    op.drop_column('outbox_message', 'attachment')
    op.drop_index(op.f('ix_measure_plan_id'), table_name='measure')
    op.drop_table('measure')
    op.drop_index(op.f('ix_action_plan_student_id'), table_name='action_plan')
    op.drop_table('action_plan')
    op.drop_index(op.f('ix_cause_mapping_respondent_id'), table_name='cause_mapping')
    op.drop_index(op.f('ix_cause_mapping_student_id'), table_name='cause_mapping')
    op.drop_table('cause_mapping')
    op.drop_index(op.f('ix_concern_note_student_id'), table_name='concern_note')
    op.drop_index(op.f('ix_concern_note_concern_id'), table_name='concern_note')
    op.drop_table('concern_note')
