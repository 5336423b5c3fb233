"""Plans that wait on staff's concern, through `narvaro tick` and the chat: Lyngen and the
Danish process.

* Lyngen: eleven late arrivals in November are step 1 (talk to the student, call home the
  same day). The mentor says she is concerned (`/concern Noor`): step 2, the meeting within a
  week, the cause mapping, the plan, the principal informed, the guardian invited. The meeting
  is held: the evaluation meeting is created two weeks on. Two weeks in step 2: step 3, the
  team around the student with weekly meetings. December begins, the month's late arrivals
  start from zero: Noor leaves the ladder, the weekly meetings stop, the mentor is told.
* Denmark: a concern starts the team's five tasks; four weeks on the resource team, two
  more the plan with a coordinator, four more the external resources; closing the concern
  takes Noor off the ladder.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from handlers.inbox import handle_incoming
from handlers.messages import Incoming
from storage.db import make_engine, session_scope
from storage.models import AuditLog, Concern, OutboxMessage, Person
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, import_roster
from tests.test_ladder_term import ladder_tasks, nudges, step_of, tick


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The transcript roster, in place from Monday 2 November."""
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-02T07:00:00+01:00")
    import_roster(tmp_path)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def use_plan(name: str) -> None:
    """Norrskolan follows the plan `name`."""
    assert main(["school", "set", "Norrskolan", "--policy", name]) == 0


def say(db: Engine, phone: str, text: str, when: str, choice: str | None = None) -> str:
    """Someone writes (or taps `choice`) in the chat; the answer's text."""
    with session_scope(db) as session:
        person = session.exec(select(Person).where(Person.phone == phone)).one()
        [answer] = handle_incoming(
            session, Incoming(person.id or 0, "webchat", f"{phone}:{when}", text, choice),
            now=datetime.fromisoformat(when))
        return answer.text


def made(db: Engine) -> list[tuple[str, str, str, str]]:
    """(step, kind, owner, due date) of every task the ladder created (due at 08:00 in
    Stockholm, the same date in UTC)."""
    with Session(db) as session:
        names = {p.id: p.name for p in session.exec(select(Person))}
    return [(t.dedupe_key.split(":")[2], t.kind, names[t.assignee_id],
             t.due_at.isoformat()[:10]) for t in ladder_tasks(db)]


def test_lyngen_late_arrivals_then_concern_climb_and_a_new_month_ends_it(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Step 1 by numbers, step 2 by the mentor's concern, the held meeting's evaluation, step
    3 after two weeks, and off the ladder when the month's count starts again."""
    use_plan("lyngen")
    days = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06", "2026-11-09",
            "2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-16"]
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-16T08:20:00+01:00")
    rows = "".join(f"{day},N003,late,,,12\n" for day in days)
    path = write(tmp_path, "late.csv",
                 "date,student_id,status,lesson_start,lesson_end,minutes_late\n" + rows)
    assert main(["attendance", "import", path]) == 0
    tick("2026-11-16T08:30:00+01:00")
    assert step_of(db) == "s1"
    assert sorted(made(db)) == [("s1", "call_home", "Anna Mentor", "2026-11-16"),
                                ("s1", "student_talk", "Anna Mentor", "2026-11-16")]
    tick("2026-11-16T08:31:00+01:00")
    assert step_of(db) == "s1" and len(made(db)) == 2
    # After the talk and the call the mentor is concerned about more absence.
    asked = say(db, MENTOR_PHONE, "/concern Noor", "2026-11-16T10:00:00+01:00")
    assert asked.startswith("Vad har du märkt hos Noor Berg (7A)?")
    say(db, MENTOR_PHONE, "", "2026-11-16T10:00:10+01:00", "concern:signal:low_mood")
    answer = say(db, MENTOR_PHONE, "", "2026-11-16T10:00:20+01:00", "concern:send")
    assert answer == "Oro noterad för Noor Berg (7A). Planens nästa steg följer."
    assert say(db, MENTOR_PHONE, "/concern noor", "2026-11-16T10:01:00+01:00") == (
        "Det finns redan en oro noterad för Noor Berg (7A).")
    tick("2026-11-16T10:05:00+01:00")
    tick("2026-11-16T10:06:00+01:00")
    assert step_of(db) == "s2"
    step2 = sorted(m for m in made(db) if m[0] == "s2")
    assert step2 == [("s2", "inform_principal", "Anna Mentor", "2026-11-23"),
                     ("s2", "meeting", "Anna Mentor", "2026-11-23"),
                     ("s2", "other", "Anna Mentor", "2026-11-23"),
                     ("s2", "plan", "Anna Mentor", "2026-11-23")]  # the evaluation waits
    with Session(db) as session:
        kari = session.exec(select(Person).where(Person.phone == "+4741234503")).one()
        letters = session.exec(select(OutboxMessage).where(
            OutboxMessage.recipient_id == kari.id,
            OutboxMessage.dedupe_key.startswith("letter:"))).all()
    assert [m.text for m in letters] == [
        "Skolen ønsker å møte dere og Noor for å snakke om oppmøtet på skolen. "
        "Kontaktlæreren tar kontakt for å finne et tidspunkt."]
    # The meeting is due a week on, and held that day: the evaluation comes two weeks later.
    tick("2026-11-23T08:05:00+01:00")
    meeting = next(n for n in nudges(db) if n.text.startswith("Møte med kontaktlærer"))
    held = next(c for c in meeting.choices or [] if c["label"] == "Mötet är hållet")
    answer = say(db, MENTOR_PHONE, "", "2026-11-23T15:00:00+01:00", held["key"])
    assert answer == ("Noterat. Nästa steg i planen: Møte med foreldre og elev: tiltak "
                      "evalueres, behov for videre tiltak vurderes (kontaktlærer og rektor), "
                      "senast mån 7 dec.")
    assert ("s2", "follow_up_meeting", "Anna Mentor", "2026-12-07") in made(db)
    # Tapped again (a second phone, an old message): nothing more.
    say(db, MENTOR_PHONE, "", "2026-11-23T15:01:00+01:00", held["key"])
    assert len([m for m in made(db) if m[1] == "follow_up_meeting"]) == 1
    # Two weeks in step 2: step 3 is not timed from entering step 2 but follows the
    # evaluation ("Etter 2 uker", the follow-up meeting), and only without improvement.
    tick("2026-11-27T08:30:00+01:00")
    assert step_of(db) == "s2"
    tick("2026-11-30T08:30:00+01:00")  # the Monday two weeks on
    assert step_of(db) == "s2"
    tick("2026-12-07T08:05:00+01:00")
    evaluation = next(n for n in nudges(db) if n.text.startswith("Møte med foreldre og elev"))
    held = next(c for c in evaluation.choices or [] if c["label"] == "Mötet är hållet")
    say(db, MENTOR_PHONE, "", "2026-12-07T15:00:00+01:00", held["key"])
    tick("2026-12-07T15:05:00+01:00")
    # December: no late arrivals this month, the plan's concern criteria no longer hold
    # (and no share near them): no step 3; Noor is off the ladder.
    assert step_of(db) is None
    assert not [m for m in made(db) if m[0] == "s3"]
    with Session(db) as session:
        # Nothing of step 2 recurs: nothing stops, nobody needs telling.
        assert session.exec(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.startswith("ladder-left:"))).all() == []


def test_denmark_concern_moves_the_process_and_closing_it_ends_it(db: Engine) -> None:
    """The team's tasks, then the resource team after four school weeks, the plan two school
    weeks on, the external resources four school weeks after that (the Christmas break of the
    default Swedish school year not counted); closing the concern ends it. Nothing twice."""
    use_plan("denmark")
    say(db, MENTOR_PHONE, "/concern Noor Berg", "2026-11-02T10:00:00+01:00")
    say(db, MENTOR_PHONE, "han är så trött", "2026-11-02T10:00:10+01:00")
    answer = say(db, MENTOR_PHONE, "", "2026-11-02T10:00:20+01:00", "concern:send")
    assert answer.startswith("Oro noterad för Noor Berg (7A).")
    tick("2026-11-02T10:05:00+01:00")
    tick("2026-11-02T10:06:00+01:00")
    assert step_of(db) == "s1"
    assert sorted(made(db)) == [("s1", "call_home", "Anna Mentor", "2026-11-09"),
                                ("s1", "evaluate", "Anna Mentor", "2026-11-09"),
                                ("s1", "evaluate", "Anna Mentor", "2026-11-09"),
                                ("s1", "plan", "Anna Mentor", "2026-11-09"),
                                ("s1", "student_talk", "Anna Mentor", "2026-11-09")]
    tick("2026-11-23T08:30:00+01:00")
    assert step_of(db) == "s1"
    tick("2026-11-30T08:30:00+01:00")
    assert step_of(db) == "s2"
    # Nobody is nurse or counsellor here: the principal takes the resource team's tasks.
    assert sorted(m for m in made(db) if m[0] == "s2") == [
        ("s2", "health_team_meeting", "Rut Rektor", "2026-12-14"),
        ("s2", "other", "Anna Mentor", "2026-12-07")]
    tick("2026-12-14T08:30:00+01:00")
    tick("2026-12-14T08:31:00+01:00")
    assert step_of(db) == "s3"
    tick("2027-01-28T08:30:00+01:00")
    assert step_of(db) == "s3"
    tick("2027-01-29T08:30:00+01:00")
    assert step_of(db) == "s4"
    assert [m for m in made(db) if m[0] == "s4"] == [
        ("s4", "external_help", "Rut Rektor", "2027-02-12")]
    assert len(made(db)) == 5 + 2 + 2 + 1
    # The concern is closed from the chat: Noor is off the ladder.
    answer = say(db, MENTOR_PHONE, "/concern Noor", "2027-02-01T09:00:00+01:00")
    assert answer == "Det finns redan en oro noterad för Noor Berg (7A)."
    with Session(db) as session:
        concern = session.exec(select(Concern)).one()
    answer = say(db, MENTOR_PHONE, "", "2027-02-01T09:01:00+01:00",
                 f"concern:close:{concern.student_id}")
    assert answer == "Oron för Noor Berg (7A) är avslutad."
    tick("2027-02-01T09:05:00+01:00")
    assert step_of(db) is None
    with Session(db) as session:
        actions = [a.action for a in session.exec(select(AuditLog).where(
            AuditLog.action.startswith("concern.")))]
    assert actions == ["concern.raise", "concern.note", "concern.close"]


def test_concern_is_for_staff_and_their_own_students(db: Engine) -> None:
    """A guardian cannot raise one (by /concern); staff only about their school's students."""
    assert say(db, "+4741234503", "/concern Noor", "2026-11-02T10:00:00+01:00") == (
        "Dette er for skoleansatte.")
    assert say(db, MENTOR_PHONE, "/concern Zlatan", "2026-11-02T10:01:00+01:00") == (
        "Ingen elev på din skola heter Zlatan.")
    with Session(db) as session:
        assert session.exec(select(Concern)).all() == []
