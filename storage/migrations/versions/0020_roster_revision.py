"""roster revision: a school's students' names change only with a new revision

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 06:10:00

Every message compares its words with the names of the students at the writer's school
(a child of someone else is never reported by mistake). Rather than fetching every name
with every message, a process keeps them by school and revision; the database itself
sets a new revision whenever a student joins, leaves or moves, or a student's name
changes, whichever program (roster import, a school system's sync, `privacy forget`)
made the change. A revision is a random number, not a count, so that two databases (a
restored backup, a test's fresh one) never share a school's revision by chance. On
PostgreSQL the revision is set when the change commits (a transaction that changes names
reads them as they were until then).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_NEW = "random()"
_SQLITE = [
    f"""CREATE TRIGGER student_joins_roster AFTER INSERT ON student BEGIN
        UPDATE school SET revision = {_SQLITE_NEW} WHERE id = NEW.school_id; END""",
    f"""CREATE TRIGGER student_leaves_roster AFTER DELETE ON student BEGIN
        UPDATE school SET revision = {_SQLITE_NEW} WHERE id = OLD.school_id; END""",
    f"""CREATE TRIGGER student_moves_roster AFTER UPDATE OF school_id, person_id ON student
        BEGIN UPDATE school SET revision = {_SQLITE_NEW}
        WHERE id IN (OLD.school_id, NEW.school_id); END""",
    f"""CREATE TRIGGER student_renamed_roster AFTER UPDATE OF name ON person
        WHEN OLD.name IS NOT NEW.name BEGIN UPDATE school SET revision = {_SQLITE_NEW}
        WHERE id IN (SELECT school_id FROM student WHERE person_id = NEW.id); END""",
]
_POSTGRES_NEW = "floor(random() * 9000000000000000000)::bigint"
_POSTGRES = [
    f"""CREATE FUNCTION new_roster_revision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'person' THEN
            UPDATE school SET revision = {_POSTGRES_NEW}
            WHERE id IN (SELECT school_id FROM student WHERE person_id = NEW.id);
        ELSIF TG_OP = 'INSERT' THEN
            UPDATE school SET revision = {_POSTGRES_NEW} WHERE id = NEW.school_id;
        ELSIF TG_OP = 'DELETE' THEN
            UPDATE school SET revision = {_POSTGRES_NEW} WHERE id = OLD.school_id;
        ELSE
            UPDATE school SET revision = {_POSTGRES_NEW}
            WHERE id IN (OLD.school_id, NEW.school_id);
        END IF;
        RETURN NULL;
    END $$""",
    # Deferred to the commit: the school's row is then the last lock a transaction takes,
    # so two that change students (an import, `privacy forget`) never wait on each other
    # in a circle.
    """CREATE CONSTRAINT TRIGGER student_roster
        AFTER INSERT OR DELETE OR UPDATE OF school_id, person_id ON student
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION new_roster_revision()""",
    """CREATE CONSTRAINT TRIGGER student_renamed_roster AFTER UPDATE OF name ON person
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION new_roster_revision()""",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table('school') as batch:
        batch.add_column(sa.Column('revision', sa.BigInteger(), nullable=False,
                                   server_default='0'))
    op.execute(f"UPDATE school SET revision = {_POSTGRES_NEW if postgres else _SQLITE_NEW}")
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER student_renamed_roster ON person")
        op.execute("DROP TRIGGER student_roster ON student")
        op.execute("DROP FUNCTION new_roster_revision()")
    else:
        for trigger in ("student_joins_roster", "student_leaves_roster",
                        "student_moves_roster", "student_renamed_roster"):
            op.execute(f"DROP TRIGGER {trigger}")
    with op.batch_alter_table('school') as batch:
        batch.drop_column('revision')
