"""leave applications: a guardian applies, the school decides day by day

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'leave_application',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('applicant_id', sa.Integer(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('applied_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('first_day', sa.Date(), nullable=False),
        sa.Column('last_day', sa.Date(), nullable=False),
        sa.Column('part_start', sa.Time(), nullable=True),
        sa.Column('part_end', sa.Time(), nullable=True),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column('decider_id', sa.Integer(), nullable=True),
        sa.Column('decider_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('escalated_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('refusal', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column('refusal_note', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(['applicant_id'], ['person.id']),
        sa.ForeignKeyConstraint(['decided_by'], ['person.id']),
        sa.ForeignKeyConstraint(['decider_id'], ['person.id']),
        sa.ForeignKeyConstraint(['student_id'], ['student.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('reference'),
    )
    op.create_index(op.f('ix_leave_application_applicant_id'), 'leave_application',
                    ['applicant_id'], unique=False)
    op.create_index(op.f('ix_leave_application_decider_id'), 'leave_application',
                    ['decider_id'], unique=False)
    op.create_index(op.f('ix_leave_application_student_id'), 'leave_application',
                    ['student_id'], unique=False)
    op.create_table(
        'leave_day',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('student_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['leave_application.id']),
        sa.ForeignKeyConstraint(['student_id'], ['student.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'day'),
    )
    op.create_index(op.f('ix_leave_day_application_id'), 'leave_day', ['application_id'],
                    unique=False)
    op.create_index('ix_leave_day_student_day', 'leave_day', ['student_id', 'day'],
                    unique=False)
    # A day of granted leave goes back to the school system as a report does.
    with op.batch_alter_table('connector_outbox') as batch:
        batch.alter_column('report_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('leave_day_id', sa.Integer(), nullable=True))
        batch.create_index(batch.f('ix_connector_outbox_leave_day_id'), ['leave_day_id'],
                           unique=False)
        batch.create_foreign_key('fk_connector_outbox_leave_day_id', 'leave_day',
                                 ['leave_day_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('connector_outbox') as batch:
        batch.drop_constraint('fk_connector_outbox_leave_day_id', type_='foreignkey')
        batch.drop_index(batch.f('ix_connector_outbox_leave_day_id'))
        batch.drop_column('leave_day_id')
        batch.alter_column('report_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_leave_day_student_day', table_name='leave_day')
    op.drop_index(op.f('ix_leave_day_application_id'), table_name='leave_day')
    op.drop_table('leave_day')
    op.drop_index(op.f('ix_leave_application_student_id'), table_name='leave_application')
    op.drop_index(op.f('ix_leave_application_decider_id'), table_name='leave_application')
    op.drop_index(op.f('ix_leave_application_applicant_id'), table_name='leave_application')
    op.drop_table('leave_application')
