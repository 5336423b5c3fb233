"""The guardians hear the term's total, through the commands and the real sweeps.

Norrskolan (the transcript roster: Ali Hassan in 7A with two Swedish guardians, Noor Berg with
a Norwegian one, Vera Lind an adult student) imports two terms. Roll call comes in by
`narvaro attendance import`, time moves by `narvaro tick --now …` (every sweep, as the
scheduler runs them). Checked: off in a plan that does not ask for it, on after `school set
--notice term_total_days=5,10`; a day counts once it has ended, a day missed for three
quarters or more counts whole, a shorter one not; once per threshold, never again the next
day nor after a correction; a jump past two thresholds tells once; after the quiet hours; a
new term starts over; Lyngen's plan tells at 10 school days by itself.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select

from benchmarks.school_year import AUTUMN, COUNTRY, SPRING, _absences, calendar, setup
from bot.cli import main
from policy.ladder import Record, days_missed
from policy.notices import NoticeRules
from policy.sms import segments
from policy.term_total import counted_through, threshold_to_tell
from scheduler.term_total import PREFIX, tell_term_totals, total_text
from storage.db import make_engine, session_scope
from storage.models import Absence, Guardianship, OutboxMessage, Person, School
from storage.schools import notice_rules
from tests.conftest import fresh_database_url
from tests.rosters import write
from tests.test_ladder_term import db as db  # the transcript roster

HEADER = "date,student_id,status,lesson_start,lesson_end,minutes_late\n"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 8, 1, tzinfo=UTC)
TERMS = ("school,kind,name,start,end\n"
         "Norrskolan,term,HT26,2026-08-17,2026-12-18\n"
         "Norrskolan,term,VT27,2027-01-11,2027-06-11\n")


def roll_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: str, *rows: str) -> None:
    """Import roll-call rows (`date,student_id,status,start,end,late`) at local time `at`."""
    monkeypatch.setenv("NARVARO_CLOCK_START", f"{at}+01:00")
    name = f"roll-{len(list(tmp_path.glob('roll-*')))}.csv"
    assert main(["attendance", "import", write(tmp_path, name, HEADER + "\n".join(rows)
                                               + "\n")]) == 0


def whole_days(student: str, *days: str) -> list[str]:
    """Rows: `student` absent the whole of each day."""
    return [f"{day},{student},absent,,," for day in days]


def tick(at: str) -> None:
    """`narvaro tick --now` at local (Stockholm, winter) time `at`."""
    assert main(["tick", "--now", f"{at}+01:00"]) == 0


def totals(db: Engine) -> list[tuple[str, str, datetime]]:
    """The term-total messages queued: (recipient's name, text, not before), oldest first."""
    with Session(db) as session:
        return [(person.name, message.text, message.not_before)
                for message, person in session.execute(
                    select(OutboxMessage, Person)
                    .join(Person, col(Person.id) == OutboxMessage.recipient_id)
                    .where(col(OutboxMessage.dedupe_key).startswith(PREFIX))
                    .order_by(col(OutboxMessage.id))).all()]


def test_told_once_per_threshold_and_term_after_the_school_turns_it_on(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ljusnarsberg's plan does not ask for it: nothing until the school sets thresholds;
    then Ali's guardians hear 6 days (five whole days and a day of 4.5 of 6 hours; a morning
    of two hours is no day), once; 10 days once, after the quiet hours; nothing after a
    correction; the spring term starts over; off again, nothing."""
    assert main(["calendar", "import", write(tmp_path, "terms.csv", TERMS)]) == 0
    roll_call(tmp_path, monkeypatch, "2026-11-10T17:00:00",
              *whole_days("N001", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05",
                          "2026-11-06"),
              "2026-11-09,N001,absent,08:00,12:30,", "2026-11-10,N001,absent,08:00,10:00,")
    tick("2026-11-10T17:00:00")
    assert totals(db) == []  # the plan does not ask for it
    assert main(["school", "set", "Norrskolan", "--notice", "term_total_days=5,ten"]) == 2
    assert main(["school", "set", "Norrskolan", "--phone", "0590-123 45",
                 "--notice", "term_total_days=5,10"]) == 0
    tick("2026-11-10T17:01:00")
    six = ("Ali har missat 6 skoldagar den här terminen. Varje dag i skolan räknas. "
           "Vill du prata med oss, ring skolan: 0590-123 45")
    told = totals(db)
    assert [(name, text) for name, text, _ in told] == [("Lena Hassan", six),
                                                        ("Omar Hassan", six)]
    assert segments(six) == 1
    # Not held: due at the tick, before the quiet hours begin at 21:00.
    assert (datetime(2026, 11, 10, 17, 1, tzinfo=STOCKHOLM) <= _utc(told[0][2])
            < datetime(2026, 11, 10, 21, 0, tzinfo=STOCKHOLM))
    tick("2026-11-11T17:00:00")
    assert len(totals(db)) == 2  # not again the next day

    # Four more whole days: ten by Monday evening. Before the day has ended it is nine.
    roll_call(tmp_path, monkeypatch, "2026-11-16T08:20:00",
              *whole_days("N001", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-16"))
    tick("2026-11-16T12:00:00")
    assert len(totals(db)) == 2
    tick("2026-11-16T22:30:00")  # quiet hours: queued for 07:00
    ten = totals(db)[2:]
    assert [(name, text.split(".")[0]) for name, text, _ in ten] == [
        ("Lena Hassan", "Ali har missat 10 skoldagar den här terminen"),
        ("Omar Hassan", "Ali har missat 10 skoldagar den här terminen")]
    assert {_utc(not_before).replace(microsecond=0) for _, _, not_before in ten} == {
        datetime(2026, 11, 17, 7, 0, tzinfo=STOCKHOLM)}
    # Monday was a mistake: nine days again, and nobody hears anything.
    roll_call(tmp_path, monkeypatch, "2026-11-17T09:00:00", "2026-11-16,N001,present,,,")
    tick("2026-11-17T17:00:00")
    assert len(totals(db)) == 4

    # Spring: a new term, a new count.
    roll_call(tmp_path, monkeypatch, "2027-01-15T17:00:00",
              *whole_days("N001", "2027-01-11", "2027-01-12", "2027-01-13", "2027-01-14",
                          "2027-01-15"))
    tick("2027-01-15T17:00:00")
    spring = totals(db)[4:]
    assert [text.split(".")[0] for _, text, _ in spring] == [
        "Ali har missat 5 skoldagar den här terminen"] * 2
    assert main(["school", "set", "Norrskolan", "--notice", "term_total_days=off"]) == 0
    roll_call(tmp_path, monkeypatch, "2027-01-22T17:00:00",
              *whole_days("N001", "2027-01-18", "2027-01-19", "2027-01-20", "2027-01-21",
                          "2027-01-22"))
    tick("2027-01-22T17:00:00")
    assert len(totals(db)) == 6


def test_lyngens_plan_tells_at_ten_school_days_by_itself(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lyngen ("10 % fravær tilsier ca. 10 fraværsdager i en termin"): at nine days nobody
    hears; at ten Noor's guardian hears it in Norwegian, and Vera, an adult student, hears it
    herself; a jump from none to eleven tells once."""
    assert main(["calendar", "import", write(tmp_path, "terms.csv", TERMS)]) == 0
    assert main(["school", "set", "Norrskolan", "--policy", "lyngen"]) == 0
    nine = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-05", "2026-11-06",
            "2026-11-09", "2026-11-10", "2026-11-11", "2026-11-12"]
    roll_call(tmp_path, monkeypatch, "2026-11-12T17:00:00",
              *whole_days("N003", *nine), *whole_days("N006", *nine))
    tick("2026-11-12T17:00:00")
    assert totals(db) == []
    roll_call(tmp_path, monkeypatch, "2026-11-16T17:00:00",
              *whole_days("N003", "2026-11-13"), *whole_days("N006", "2026-11-13"),
              *whole_days("N005", *nine, "2026-11-13", "2026-11-16"))
    tick("2026-11-16T17:00:00")
    tick("2026-11-16T17:01:00")
    assert sorted((name, text) for name, text, _ in totals(db)) == [
        ("John Smith", "Adam has missed 11 school days this term. Every day in school counts. "
                       "If you want to talk, contact the school."),
        ("Kari Berg", "Noor har vært borte 10 skoledager dette semesteret. Hver dag på skolen "
                      "teller. Vil du snakke med oss, kontakt skolen."),
        ("Vera Lind", "Du har missat 10 skoldagar den här terminen. Varje dag i skolan "
                      "räknas. Vill du prata med oss, kontakta skolan.")]


def _utc(moment: datetime) -> datetime:
    """A stored instant (naive UTC on SQLite) as an aware one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


# -- the rules ------------------------------------------------------------------------------


def test_the_highest_threshold_reached_is_told_once() -> None:
    """Reached and not told: the highest; a jump tells once; a lower total after a higher
    one was told tells nothing."""
    assert threshold_to_tell(4, (5, 10), set()) is None
    assert threshold_to_tell(5, (5, 10), set()) == 5
    assert threshold_to_tell(9, (5, 10), {5}) is None
    assert threshold_to_tell(12, (5, 10), set()) == 10
    assert threshold_to_tell(12, (5, 10), {5}) == 10
    assert threshold_to_tell(7, (5, 10), {10}) is None


def test_a_day_counts_once_it_has_ended_and_three_quarters_count_whole() -> None:
    """Before `day_ends` the count runs through yesterday; 4.5 of 6 hours is a whole day,
    2 hours is not, a withdrawn absence is none, late is none."""
    rules = NoticeRules()
    assert counted_through(datetime(2026, 11, 10, 15, 59), rules) == date(2026, 11, 9)
    assert counted_through(datetime(2026, 11, 10, 16, 0), rules) == date(2026, 11, 10)
    days = [date(2026, 11, d) for d in (2, 3, 4, 5, 6)]
    records = [Record(days[0], "absent", "reported"),
               Record(days[1], "absent", "unexcused", time(8, 0), time(12, 30)),
               Record(days[2], "absent", "unexcused", time(8, 0), time(10, 0)),
               Record(days[3], "absent", "withdrawn"), Record(days[4], "late", "reported"),
               Record(date(2026, 11, 9), "absent", "reported")]
    assert days_missed(records, days) == 2


@pytest.mark.parametrize("language", ["sv", "nb", "da", "en"])
def test_the_message_fits_one_sms_with_a_long_name_and_a_number(language: str) -> None:
    """Scandinavian and English texts are one segment, with a 15-letter name and 3 digits."""
    for adult in (False, True):
        text = total_text(language, "Maximilianusson", 120, "0590-123 45 67", adult=adult)
        assert segments(text) == 1, text


# -- a generated school year, day by day through the sweep ------------------------------------


@pytest.mark.parametrize(("preset", "own"), [
    *((preset, None) for preset in ("ljusnarsberg", "bengtsfors", "norway-example", "denmark",
                                    "lyngen")),
    *((preset, "5,15") for preset in ("ljusnarsberg", "bengtsfors", "norway-example",
                                      "denmark")),
])
def test_a_generated_school_year_tells_each_threshold_once_a_term(
    tmp_path: Path, preset: str, own: str | None
) -> None:
    """The year generator's school (benchmarks/school_year.py: illnesses, some recorded lesson
    by lesson, growing and chronic truancy, single lessons) with its two terms, the sweep at
    17:00 each school day: each guardian hears each threshold once a term, on the day the
    total reaches it (counted here on its own: whole days, or lessons of 270 minutes or more
    in a day), with that number. Every preset: Lyngen's plan tells at 10 by itself, the
others tell nobody until the school sets its own thresholds."""
    engine = make_engine(fresh_database_url("sqlite", tmp_path))
    profiles = setup(engine, preset, 60)
    with session_scope(engine) as session:
        school = session.execute(select(School)).scalar_one()
        if own is not None:
            school.settings = {**school.settings, "notices": {"term_total_days": own}}
        thresholds = notice_rules(school).term_total_days
        guardians = dict(session.execute(select(Guardianship.guardian_id,
                                                Guardianship.student_id)).all())
    days = calendar(COUNTRY[preset]).school_days(AUTUMN[0], SPRING[1])
    rng = random.Random(11)
    plan = {ident: _absences(rng, profile, days, ident % 3 == 0)
            for ident, profile in profiles.items()}
    with session_scope(engine) as session:
        session.execute(insert(Absence), [
            {"student_id": ident, "day": day, "slot": f"{start:%H:%M}" if start else "day",
             "kind": kind, "lesson_start": start, "lesson_end": end, "source": "import",
             "recorded_at": NOW, "updated_at": NOW, "state": state}
            for ident, by_day in plan.items() for day, rows in by_day.items()
            for kind, start, end, state in rows])
    for day in days:
        with session_scope(engine) as session:
            tell_term_totals(session, datetime.combine(day, time(17, 0), STOCKHOLM))
    expected: set[tuple[int, date, int]] = set()
    for ident, by_day in plan.items():
        for first, last in (AUTUMN, SPRING):
            count = 0
            for day in (d for d in days if first <= d <= last):
                missed = _whole(by_day.get(day, []))
                count += missed
                if missed and count in thresholds:
                    expected.add((ident, day, count))
    with Session(engine) as session:
        told = [(guardians[m.recipient_id or 0], _utc(m.created_at).astimezone(STOCKHOLM).date(),
                 int(re.findall(r"[0-9]+", m.text)[0]))  # the count, before the phone
                for m in session.exec(select(OutboxMessage).where(
                    col(OutboxMessage.dedupe_key).startswith(PREFIX)))]
    engine.dispose()
    assert len(told) == len(set(told))
    assert set(told) == expected
    if preset == "lyngen" or own:
        assert {ident for ident, _day, _n in expected} >= {
            ident for ident, profile in profiles.items() if profile == "chronic"}
        assert {day <= AUTUMN[1] for _ident, day, _n in expected} == {True, False}
    else:
        assert told == []


def _whole(rows: list[tuple[str, time | None, time | None, str]]) -> int:
    """1 when a day's records make a whole day missed: absent all day, or lessons of 270
    minutes (three quarters of six hours) or more."""
    absent = [(start, end) for kind, start, end, _state in rows if kind == "absent"]
    if any(start is None for start, _end in absent):
        return 1
    minutes = sum((end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)
                  for start, end in absent if start is not None and end is not None)
    return 1 if minutes >= 270 else 0
