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
PostgreSQL the revision is set when the change commits, and transactions that change
names take their turn (see `_POSTGRES`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_NEW = "random()"
#: An update that leaves a student's school and person as they were (a class change)
#: changes no name at the school.
_SQLITE_MOVED = "OLD.school_id IS NOT NEW.school_id OR OLD.person_id IS NOT NEW.person_id"
_SQLITE = [
    f"""CREATE TRIGGER student_joins_roster AFTER INSERT ON student BEGIN
        UPDATE school SET revision = {_SQLITE_NEW} WHERE id = NEW.school_id; END""",
    f"""CREATE TRIGGER student_leaves_roster AFTER DELETE ON student BEGIN
        UPDATE school SET revision = {_SQLITE_NEW} WHERE id = OLD.school_id; END""",
    f"""CREATE TRIGGER student_moves_roster AFTER UPDATE OF school_id, person_id ON student
        WHEN {_SQLITE_MOVED} BEGIN UPDATE school SET revision = {_SQLITE_NEW}
        WHERE id IN (OLD.school_id, NEW.school_id); END""",
    f"""CREATE TRIGGER student_renamed_roster AFTER UPDATE OF name ON person
        WHEN OLD.name IS NOT NEW.name BEGIN UPDATE school SET revision = {_SQLITE_NEW}
        WHERE id IN (SELECT school_id FROM student WHERE person_id = NEW.id); END""",
]
_POSTGRES_NEW = "floor(random() * 9000000000000000000)::bigint"
#: The transaction-local setting that says this transaction has changed a roster (its
#: names are read, not kept, until it ends: see storage.people.student_names_at).
CHANGED_HERE = "narvaro.roster_changed"
_POSTGRES = [
    # At once, for each statement that may change names: this transaction waits for any
    # other that changes a roster to end (roster changes take their locks in one order:
    # this one first, the schools' rows last, so two of them never deadlock), and marks
    # itself as one that changed names.
    f"""CREATE FUNCTION roster_changing() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('narvaro:roster'));
        PERFORM set_config('{CHANGED_HERE}', 'yes', true);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER student_roster_changing BEFORE INSERT OR DELETE OR UPDATE OF school_id,
        person_id ON student FOR EACH STATEMENT EXECUTE FUNCTION roster_changing()""",
    """CREATE TRIGGER person_roster_changing BEFORE UPDATE OF name ON person
        FOR EACH STATEMENT EXECUTE FUNCTION roster_changing()""",
    # At the commit, for each row changed: each school concerned gets one new revision.
    f"""CREATE FUNCTION new_roster_revision() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        concerned integer[];
        revised integer;
    BEGIN
        IF TG_TABLE_NAME = 'person' THEN
            concerned := ARRAY(SELECT student.school_id FROM student
                               WHERE student.person_id = NEW.id);
        ELSIF TG_OP = 'INSERT' THEN
            concerned := ARRAY[NEW.school_id];
        ELSIF TG_OP = 'DELETE' THEN
            concerned := ARRAY[OLD.school_id];
        ELSE
            concerned := ARRAY[OLD.school_id, NEW.school_id];
        END IF;
        FOREACH revised IN ARRAY concerned LOOP
            -- Once per school and transaction: an import of a thousand students writes
            -- the school's row once, not a thousand times.
            IF current_setting('narvaro.revised_' || revised, true)
                    IS DISTINCT FROM 'yes' THEN
                UPDATE school SET revision = {_POSTGRES_NEW} WHERE id = revised;
                PERFORM set_config('narvaro.revised_' || revised, 'yes', true);
            END IF;
        END LOOP;
        RETURN NULL;
    END $$""",
    """CREATE CONSTRAINT TRIGGER student_joins_roster AFTER INSERT ON student
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION new_roster_revision()""",
    """CREATE CONSTRAINT TRIGGER student_leaves_roster AFTER DELETE ON student
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION new_roster_revision()""",
    """CREATE CONSTRAINT TRIGGER student_moves_roster AFTER UPDATE OF school_id, person_id
        ON student DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.school_id IS DISTINCT FROM NEW.school_id
              OR OLD.person_id IS DISTINCT FROM NEW.person_id)
        EXECUTE FUNCTION new_roster_revision()""",
    """CREATE CONSTRAINT TRIGGER student_renamed_roster AFTER UPDATE OF name ON person
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
        WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION new_roster_revision()""",
]
_TRIGGERS = {"student": ["student_joins_roster", "student_leaves_roster",
                         "student_moves_roster"],
             "person": ["student_renamed_roster"]}


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column('school', sa.Column('revision', sa.BigInteger(), nullable=False,
                                      server_default='0'))
    op.execute(f"UPDATE school SET revision = {_POSTGRES_NEW if postgres else _SQLITE_NEW}")
    for statement in _POSTGRES if postgres else _SQLITE:
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, triggers in _TRIGGERS.items():
        for trigger in triggers:
            op.execute(f"DROP TRIGGER {trigger} ON {table}" if postgres
                       else f"DROP TRIGGER {trigger}")
    if postgres:
        op.execute("DROP TRIGGER student_roster_changing ON student")
        op.execute("DROP TRIGGER person_roster_changing ON person")
        op.execute("DROP FUNCTION new_roster_revision()")
        op.execute("DROP FUNCTION roster_changing()")
    # Not in batch mode: rebuilding `school` would drop a table students point to.
    op.drop_column('school', 'revision')
