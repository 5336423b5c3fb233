"""return plan: trusted adult, goal; daily check-ins

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('return_plan') as batch:
        batch.add_column(sa.Column('trusted_adult_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('goal', sqlmodel.sql.sqltypes.AutoString(length=200),
                                   nullable=True))
        batch.add_column(sa.Column('weekdays', sqlmodel.sql.sqltypes.AutoString(length=7),
                                   nullable=False, server_default='12345'))
        batch.add_column(sa.Column('guardian_note', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_foreign_key('fk_return_plan_trusted_adult', 'person',
                                 ['trusted_adult_id'], ['id'])
    op.create_table('plan_check_in',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('message', sa.Integer(), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('alerted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['plan_id'], ['return_plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'day')
    )
    op.create_index(op.f('ix_plan_check_in_plan_id'), 'plan_check_in', ['plan_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_plan_check_in_plan_id'), table_name='plan_check_in')
    op.drop_table('plan_check_in')
    with op.batch_alter_table('return_plan') as batch:
        batch.drop_constraint('fk_return_plan_trusted_adult', type_='foreignkey')
        batch.drop_column('guardian_note')
        batch.drop_column('weekdays')
        batch.drop_column('goal')
        batch.drop_column('trusted_adult_id')
