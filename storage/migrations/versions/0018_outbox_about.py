"""outbox about: what a message is about (kind, student, day, task) in columns

Revision ID: 0018
Revises: 0012
Create Date: 2026-12-07 01:30:00
"""

from collections.abc import Sequence
from contextlib import suppress
from datetime import date

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('outbox_message', sa.Column('kind', sa.String(length=16), nullable=True))
    op.add_column('outbox_message', sa.Column('student_id', sa.Integer(), nullable=True))
    op.add_column('outbox_message', sa.Column('day', sa.Date(), nullable=True))
    op.add_column('outbox_message', sa.Column('task_id', sa.Integer(), nullable=True))
    op.create_index('ix_outbox_student_day', 'outbox_message', ['student_id', 'day'])
    op.create_index(op.f('ix_outbox_message_task_id'), 'outbox_message', ['task_id'])
    _backfill()


def _backfill() -> None:
    """The rows queued before this revision, whose meaning the code now reads from the
    columns: notices and call prompts (their keys, once, here: `absence-notice:STUDENT:DAY:
    PERSON`, `call-home:STUDENT:DAY:MENTOR[:again:…]`, the task's key being the first four
    parts)."""
    bind = op.get_bind()
    outbox = sa.table('outbox_message', sa.column('id', sa.Integer),
                      sa.column('dedupe_key', sa.String), sa.column('kind', sa.String),
                      sa.column('student_id', sa.Integer), sa.column('day', sa.Date),
                      sa.column('task_id', sa.Integer))
    tasks = dict(bind.execute(sa.text(
        "SELECT dedupe_key, id FROM staff_task WHERE dedupe_key LIKE 'call-home:%'")).all())
    rows = bind.execute(sa.select(outbox.c.id, outbox.c.dedupe_key).where(sa.or_(
        outbox.c.dedupe_key.like('absence-notice:%'),
        outbox.c.dedupe_key.like('call-home:%')))).all()
    updates = []
    for row_id, key in rows:
        parts = key.split(':')
        with suppress(IndexError, ValueError):
            notice = parts[0] == 'absence-notice'
            updates.append({'row': row_id, 'kind': 'notice' if notice else 'call_prompt',
                            'student': int(parts[1]), 'day': date.fromisoformat(parts[2]),
                            'task': None if notice else tasks.get(':'.join(parts[:4]))})
    if updates:
        bind.execute(outbox.update().where(outbox.c.id == sa.bindparam('row')).values(
            kind=sa.bindparam('kind'), student_id=sa.bindparam('student'),
            day=sa.bindparam('day'), task_id=sa.bindparam('task')), updates)


def downgrade() -> None:
    op.drop_index(op.f('ix_outbox_message_task_id'), table_name='outbox_message')
    op.drop_index('ix_outbox_student_day', table_name='outbox_message')
    with op.batch_alter_table('outbox_message') as batch:
        batch.drop_column('task_id')
        batch.drop_column('day')
        batch.drop_column('student_id')
        batch.drop_column('kind')
