"""A sync with an SS 12000 server: read what changed, then apply it in one transaction.

The first sync (or `--full`) reads the followed units' students, their guardians, the
units' classes and staff duties, and today's roll call. Later ones ask only for what
changed since the last (`meta.modified.after`, the server's own clock, with a small
overlap as `after` is exclusive), and for what was deleted (`/deletedEntities`).
What is read is kept trimmed (`connector_record`), and the roster is rebuilt from that
copy and applied by the roster import's own rules (`policy.roster`, `storage.roster`);
roll call goes through the one roll-call service (`storage.attendance`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from connectors.ss12000.client import Client, Credentials, NotOffered, SS12000Error
from connectors.ss12000.mapping import (
    CLASS_GROUP_TYPES,
    GUARDIAN_RELATIONS,
    Entity,
    Mark,
    best_phone,
    mark,
    roster_rows,
    student_unit,
    trim_duty,
    trim_event,
    trim_group,
    trim_person,
    trim_unit,
)
from policy.attendance import AttendanceRecord
from policy.clock import Clock
from policy.phones import to_e164
from policy.presets import PolicyPreset
from policy.roster import Roster, parse_roster_rows
from storage import connectors as kept
from storage.attendance import apply_attendance
from storage.db import chunks, refresh_statistics, session_scope
from storage.locks import try_transaction_lock
from storage.models import Absence, Person, School, Student
from storage.roster import apply_roster, detach_students

log = logging.getLogger(__name__)
NAME = "ss12000"
#: `after` is exclusive and clocks differ: each incremental read starts this much earlier.
OVERLAP = timedelta(minutes=2)
ROSTER_KINDS = ("unit", "person", "group", "duty")
#: `/deletedEntities` keys we act on, by our kind.
DELETED_KEYS = {"persons": "person", "groups": "group", "duties": "duty",
                "attendances": "attendance"}
_FLAT_DELETED = {"Person": "persons", "Group": "groups", "Duty": "duties",
                 "Attendance": "attendances"}
MAX_PROBLEM_ROUNDS = 6
#: Problems about one number of a student's row: that number is left out, not the student.
_FIELDS = (("guardian_", ("guardian_phone", "guardian_name")),
           ("guardian phone", ("guardian_phone", "guardian_name")),
           ("mentor_phone", ("mentor_phone",)), ("student_phone", ("student_phone",)),
           ("student phone", ("student_phone",)))


@dataclass(frozen=True)
class SS12000Config:
    """Where the server is, how to sign in, and what to follow."""

    url: str
    credentials: Credentials
    units: tuple[str, ...]
    timezone: str
    page_size: int = 1000
    #: Seconds to wait for an answer.
    timeout: float = 30.0


@dataclass
class Fetched:
    """What one sync read from the server."""

    full: bool
    server_time: datetime
    units: dict[str, Entity] = field(default_factory=dict)
    persons: dict[str, Entity] = field(default_factory=dict)
    groups: dict[str, Entity] = field(default_factory=dict)
    duties: dict[str, Entity] = field(default_factory=dict)
    events: dict[str, Entity] = field(default_factory=dict)
    attendances: list[dict[str, Any]] = field(default_factory=list)
    deleted: dict[str, set[str]] = field(default_factory=dict)
    #: What could not be read, for the report (no personal data).
    warnings: list[str] = field(default_factory=list)


@dataclass
class SyncResult:
    """What a sync changed, and what it left out and why."""

    full: bool
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def bump(self, name: str, by: int = 1) -> None:
        """Add `by` to the counter `name`."""
        if by:
            self.counts[name] = self.counts.get(name, 0) + by


class SS12000Sync:
    """Syncs one SS 12000 server into the database."""

    def __init__(self, config: SS12000Config, engine: Engine, clock: Clock,
                 policy: PolicyPreset) -> None:
        """A sync for `config`, writing with `engine` as of `clock`."""
        self.config = config
        self.engine = engine
        self.clock = clock
        self.policy = policy
        self.zone = ZoneInfo(config.timezone)

    def client(self) -> Client:
        """A client for the server (close it after use)."""
        return Client(self.config.url, self.config.credentials, page_size=self.config.page_size,
                      timeout=self.config.timeout)

    def run(self, *, full: bool = False) -> SyncResult:
        """Read what changed and apply it; on failure nothing is applied, the error is kept
        for /healthz and raised."""
        now = self.clock.now()
        with session_scope(self.engine) as session:
            state = kept.state_of(session, NAME)
            state.last_attempt_at = now
            since_text = state.cursor.get("since")
        since = None if full or not since_text else datetime.fromisoformat(since_text)
        try:
            with self.client() as client:
                fetched = self._fetch(client, since)
            result = self._apply(fetched)
        except SS12000Error as error:
            self._failed(str(error))
            raise
        except Exception as error:
            self._failed(f"sync failed ({type(error).__name__})")
            raise
        log.info("ss12000: %s sync: %s", "full" if fetched.full else "incremental",
                 result.counts or "no changes")
        return result

    def _failed(self, message: str) -> None:
        log.warning("ss12000: sync failed: %s", message)
        with session_scope(self.engine) as session:
            kept.state_of(session, NAME).last_error = message[:300]

    # -- reading -------------------------------------------------------------------------------

    def today(self) -> date:
        """Today in the schools' time zone."""
        return self.clock.now().astimezone(self.zone).date()

    def _fetch(self, client: Client, since: datetime | None) -> Fetched:
        units = self._units(client)
        assert client.server_time is not None
        fetched = Fetched(full=since is None, server_time=client.server_time, units=units)
        after = (since - OVERLAP).isoformat() if since else None
        changed: dict[str, str] = {"meta.modified.after": after} if after else {}
        with session_scope(self.engine) as session:
            known = kept.record_ids(session, NAME, "person")
            known_events = kept.record_ids(session, NAME, "event")
        if changed:  # changes come for the whole municipality, whoever they are
            for person in client.pages("persons", changed):
                fetched.persons[person["id"]] = trim_person(person)
        for unit in units:
            if not changed:
                for person in client.pages("persons", {"relationship.entity.type": "enrolment",
                                                       "relationship.organisation": unit}):
                    fetched.persons[person["id"]] = trim_person(person)
            for group in client.pages("groups", {"organisation": unit,
                                                 "groupType": list(CLASS_GROUP_TYPES), **changed}):
                if group.get("groupType") in CLASS_GROUP_TYPES:
                    fetched.groups[group["id"]] = trim_group(group)
            _read_duties(client, unit, changed, fetched)
        if not fetched.full:
            self._keep_followed(fetched, known)
            try:
                fetched.deleted = self._deleted(client, after or "")
            except NotOffered as error:  # leavers are still seen by their enrolment's end
                fetched.warnings.append(f"deletions not read: {error}")
        wanted = {r["id"] for person in fetched.persons.values()
                  for r in person["responsibles"] if r.get("relation") in GUARDIAN_RELATIONS}
        wanted |= {duty["person"] for duty in fetched.duties.values()}
        missing = sorted(wanted - set(fetched.persons) - (set() if fetched.full else known))
        for person in client.lookup("persons", missing) if missing else []:
            fetched.persons[person["id"]] = trim_person(person)
        self._roll_call(client, fetched, after, known_events)
        return fetched

    def _keep_followed(self, fetched: Fetched, known: set[str]) -> None:
        """Changes come for the whole municipality: keep only the people we follow (known
        already, enrolled at a followed unit, their guardians, the units' staff)."""
        keep = set(known)
        for person_id, person in fetched.persons.items():
            if student_unit(person, fetched.units, self.today()):
                keep.add(person_id)
                keep.update(r["id"] for r in person["responsibles"])
        keep.update(duty["person"] for duty in fetched.duties.values())
        fetched.persons = {k: v for k, v in fetched.persons.items() if k in keep}

    def _units(self, client: Client) -> dict[str, Entity]:
        found: dict[str, Entity] = {}
        wanted = set(self.config.units)
        for unit in client.pages("organisations", {}):
            if unit.get("id") in wanted or unit.get("schoolUnitCode") in wanted:
                found[unit["id"]] = trim_unit(unit)
        named = set(found) | {unit["code"] for unit in found.values()}
        if unknown := sorted(wanted - named):
            raise SS12000Error(f"school unit(s) {', '.join(unknown)} not found on the server")
        return found

    def _deleted(self, client: Client, after: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        query: dict[str, Any] = {"after": after, "entities": [
            "Person", "Group", "Duty", "Attendance"]}
        while True:
            answer = client.request("GET", "deletedEntities", params=query) or {}
            data = answer.get("data") or {}
            if isinstance(data, list):  # a flat list of {entityType, id}
                for item in data:
                    key = _FLAT_DELETED.get(str(item.get("entityType")), "")
                    found.setdefault(key, set()).add(str(item.get("id")))
            else:
                for key, ids in data.items():
                    found.setdefault(key, set()).update(str(i) for i in ids or [])
            token = answer.get("pageToken")
            if not token:
                return found
            query = {"pageToken": token}

    def _roll_call(self, client: Client, fetched: Fetched, after: str | None,
                   known_events: set[str]) -> None:
        """Today's roll call on a first sync, what changed since on later ones (by whole
        days' lessons when the server offers no `/attendances`)."""
        day = self.today()
        by_events = after is None
        if after is not None:
            try:
                for unit in fetched.units:
                    fetched.attendances += client.pages(
                        "attendances", {"organisation": unit, "meta.modified.after": after})
            except NotOffered:
                by_events = True
        if by_events:
            first = datetime.combine(day, time(0), self.zone).isoformat()
            last = datetime.combine(day, time(23, 59, 59), self.zone).isoformat()
            for unit in fetched.units:
                for event in client.pages("calendarEvents", {
                        "startTime.onOrAfter": first, "startTime.onOrBefore": last,
                        "organisation": unit, "expand": "attendance"}):
                    fetched.events[event["id"]] = trim_event(event)
                    for attendance in (event.get("_embedded") or {}).get("attendance") or []:
                        attendance.setdefault("calendarEvent", {"id": event["id"]})
                        fetched.attendances.append(attendance)
        needed = {_event_id(a) for a in fetched.attendances} - set(fetched.events) - known_events
        needed.discard("")
        for event in client.lookup("calendarEvents", sorted(needed)) if needed else []:
            fetched.events[event["id"]] = trim_event(event)

    # -- applying ------------------------------------------------------------------------------

    def _apply(self, fetched: Fetched) -> SyncResult:
        result = SyncResult(full=fetched.full)
        result.problems += fetched.warnings
        now = self.clock.now()
        with session_scope(self.engine) as session:
            if not try_transaction_lock(session, f"connector:{NAME}:apply"):
                result.problems.append("another worker is applying a sync; skipped")
                return result
            if not fetched.full:
                self._drop_unchanged(session, fetched)
            roster_changed = fetched.full or any(
                (fetched.persons, fetched.groups, fetched.duties,
                 *(fetched.deleted.get(key) for key in ("persons", "groups", "duties"))))
            written = self._keep_records(session, fetched)
            if roster_changed:
                self._apply_roster(session, result, now, fetched)
            self._apply_roll_call(session, fetched, result, now)
            # A first sync: the next one finds its records and links by index at once.
            refresh_statistics(session, ("connector_record", "connector_link"), written)
            state = kept.state_of(session, NAME)
            state.cursor = {**state.cursor, "since": fetched.server_time.isoformat()}
            state.last_success_at, state.last_error = now, None
            if fetched.warnings:
                state.last_error = "; ".join(fetched.warnings)[:300]
            state.last_counts = {**result.counts, "left out": len(result.problems)}
        return result

    @staticmethod
    def _drop_unchanged(session: Session, fetched: Fetched) -> None:
        """Forget what was read again unchanged (the overlap, or a change to what we do not
        keep): only real changes rebuild the roster."""
        for kind, items in (("unit", fetched.units), ("person", fetched.persons),
                            ("group", fetched.groups), ("duty", fetched.duties)):
            stored = kept.records(session, NAME, kind, items)
            for external_id in [k for k, v in items.items() if stored.get(k) == v]:
                del items[external_id]
        for key, kind in DELETED_KEYS.items():  # deletions elsewhere in the municipality
            if kind != "attendance" and fetched.deleted.get(key):
                fetched.deleted[key] &= kept.record_ids(session, NAME, kind)

    def _keep_records(self, session: Session, fetched: Fetched) -> int:
        """Store what was read (a full sync replaces what was kept); how many records."""
        written = 0
        if fetched.full:
            for kind in ROSTER_KINDS:
                if kind == "duty" and not fetched.duties and fetched.warnings:
                    continue  # staff could not be read: keep what we had
                kept.drop_records(session, NAME, kind, kept.record_ids(session, NAME, kind))
        for kind, items in (("unit", fetched.units), ("person", fetched.persons),
                            ("group", fetched.groups), ("duty", fetched.duties),
                            ("event", fetched.events)):
            if items:
                kept.put_records(session, NAME, kind, items)
                written += len(items)
        for key, kind in DELETED_KEYS.items():
            if kind != "attendance" and fetched.deleted.get(key):
                kept.drop_records(session, NAME, kind, fetched.deleted[key])
        return written

    def _apply_roster(self, session: Session, result: SyncResult, now: datetime,
                      fetched: Fetched) -> None:
        def stored(kind: str, read: dict[str, Entity]) -> dict[str, Entity]:
            # A full sync read everything (and stored just that): no need to read it back.
            return read if fetched.full and (read or kind != "duty") else kept.records(
                session, NAME, kind)

        units = stored("unit", fetched.units)
        persons = stored("person", fetched.persons)
        duties = stored("duty", fetched.duties)
        self._follow_new_numbers(session, persons, duties, result, now)
        rows = roster_rows(units, persons, stored("group", fetched.groups), duties,
                           self.today())
        countries = {name: country for name, country in session.execute(
            select(School.name, School.country)).all()}
        roster = self._validated(rows, countries, result)
        counts = apply_roster(session, roster, now=now, default_policy=self.policy,
                              timezone=self.config.timezone, actor=NAME, keep_languages=True)
        for name, count in counts.counts.items():
            result.bump(name, count)
        self._link(session, roster, rows.staff_of, units, persons, result, now)

    def _follow_new_numbers(self, session: Session, persons: dict[str, Entity],
                            duties: dict[str, Entity], result: SyncResult,
                            now: datetime) -> None:
        """A guardian or staff member whose number changed in the school system stays the
        same person here (language, chat link and history kept), under the new number."""
        staff = {duty["person"] for duty in duties.values()}
        students = kept.links(session, NAME, "student")
        linked = {external_id: person_id
                  for external_id, person_id in kept.links(session, NAME, "person").items()
                  if external_id not in students and external_id in persons}
        current: dict[int, str | None] = {}
        for part in chunks(sorted(set(linked.values()))):
            current.update(session.execute(select(Person.id, Person.phone).where(
                col(Person.id).in_(part))).all())
        wanted: dict[int, str] = {}
        for external_id, person_id in linked.items():
            number = to_e164(best_phone(persons[external_id], work=external_id in staff),
                             self.policy.country)
            if number and person_id in current and current[person_id] != number:
                wanted[person_id] = number
        taken: set[str] = set()
        for part2 in chunks(sorted(set(wanted.values()))):
            taken.update(session.execute(select(Person.phone).where(
                col(Person.phone).in_(part2))).scalars())
        for person_id, number in wanted.items():
            if number in taken:
                continue  # the number is someone else's here: the roster's rules decide
            person = session.get(Person, person_id)
            assert person is not None
            person.phone, person.updated_at = number, now
            person.sms_opted_out_at = person.sms_unreachable_at = None  # a new number
            taken.add(number)
            result.bump("numbers changed")
        session.flush()

    def _validated(self, rows: Any, countries: dict[str, str], result: SyncResult) -> Roster:
        """The roster by the files' rules. What breaks one is left out and named by id: a
        guardian's, a mentor's or the student's own number alone when that is what is
        wrong (the student stays), else the student or the staff role; the rest is checked
        again, since rows refer to each other."""
        students = [(line, dict(row)) for line, row in rows.students]
        staff = list(rows.staff)
        by_line = dict(students)
        for _round in range(MAX_PROBLEM_ROUNDS):
            roster, problems = parse_roster_rows(
                students, staff, lambda school: countries.get(school, self.policy.country),
                guardian_required=False)
            if not problems:
                return roster
            bad_students: set[str] = set()
            bad_staff: set[int] = set()
            for item in problems.items:
                source, line_text, message = item.split(":", 2)
                line, message = int(line_text), message.strip()
                if source == "staff":
                    bad_staff.add(line)
                    result.problems.append(f"staff {rows.staff_of[line]}: {message} (left out)")
                    continue
                who = rows.student_of[line]
                fields = next((fields for prefix, fields in _FIELDS if message.startswith(prefix)),
                              None)
                if fields is None:
                    bad_students.add(who)
                    result.problems.append(f"student {who}: {message} (left out)")
                else:
                    by_line[line].update(dict.fromkeys(fields, ""))
                    result.problems.append(f"student {who}: {message} ({fields[0]} left out)")
            students = [(n, r) for n, r in students if rows.student_of[n] not in bad_students]
            staff = [(n, r) for n, r in staff if n not in bad_staff]
        raise SS12000Error("the roster could not be made valid")

    def _link(self, session: Session, roster: Roster, staff_of: dict[int, str],
              units: dict[str, Entity], persons: dict[str, Entity], result: SyncResult,
              now: datetime) -> None:
        """Remember which of our rows each school unit, student and person is; students no
        longer enrolled lose their guardians and mentors."""
        schools = dict(session.execute(select(School.name, School.id)).all())
        kept.set_links(session, NAME, "school", {
            unit_id: schools[unit["name"]] for unit_id, unit in units.items()
            if unit["name"] in schools})
        students: dict[str, int] = {}
        for external_id, student_id in session.execute(
                select(Student.external_id, Student.id).where(
                    col(Student.school_id).in_([schools[name] for name in roster.schools]))):
            students[external_id] = student_id
        wanted = {external_id: students[external_id] for _school, external_id in roster.students}
        before = kept.links(session, NAME, "student")
        left = sorted(student_id for external_id, student_id in before.items()
                      if external_id not in wanted)
        if left:
            counts = detach_students(session, left, now=now, actor=NAME)
            for name, count in counts.counts.items():
                result.bump(name, count)
        kept.set_links(session, NAME, "student", wanted)
        numbers: dict[str, str] = {}  # E.164 → SS 12000 id, as the roster's rows were made
        for external_id, work in [*((e, True) for e in staff_of.values()),
                                  *((r["id"], False) for key in roster.students
                                    for r in persons.get(key[1], {}).get("responsibles", []))]:
            phone = to_e164(best_phone(persons.get(external_id), work=work),
                            self.policy.country) or ""
            if phone:
                numbers.setdefault(phone, external_id)
        people: dict[str, int] = {}
        for part in chunks(sorted(numbers)):
            for person_id, phone in session.execute(select(Person.id, Person.phone).where(
                    col(Person.phone).in_(part))):
                people[numbers[phone]] = person_id
        for external_id, person_id in session.execute(
                select(Student.external_id, Student.person_id).where(
                    col(Student.id).in_(list(wanted.values())))):
            people[external_id] = person_id
        kept.set_links(session, NAME, "person", people)

    def _apply_roll_call(self, session: Session, fetched: Fetched, result: SyncResult,
                         now: datetime) -> None:
        students = kept.links(session, NAME, "student")
        events = {**kept.records(session, NAME, "event",
                                 {_event_id(a) for a in fetched.attendances}), **fetched.events}
        earlier = kept.records(session, NAME, "attendance",
                               {str(a.get("id")) for a in fetched.attendances}
                               | fetched.deleted.get("attendances", set()))
        records: dict[tuple[int, date, str], AttendanceRecord] = {}
        excused: list[tuple[int, date, str]] = []
        keep: dict[str, Entity] = {}
        drop: set[str] = set()
        for attendance in fetched.attendances:
            found = mark(attendance, events.get(_event_id(attendance)), self.zone)
            attendance_id = str(attendance.get("id"))
            if found is None or found.student not in students or found.day > self.today():
                continue
            student_id = students[found.student]
            if found.status == "present" and attendance_id not in earlier:
                continue  # nothing to correct: present, as we thought
            record = _record(student_id, found)
            records[(student_id, found.day, record.slot)] = record
            if found.status == "present":
                drop.add(attendance_id)
            else:
                keep[attendance_id] = {"student": student_id, "day": found.day.isoformat(),
                                       "start": found.start.isoformat(timespec="minutes"),
                                       "end": found.end.isoformat(timespec="minutes")}
                if found.excused:
                    excused.append((student_id, found.day, record.slot))
        for attendance_id in fetched.deleted.get("attendances", set()) & set(earlier):
            gone = earlier[attendance_id]
            start = time.fromisoformat(gone["start"])
            record = AttendanceRecord(0, date.fromisoformat(gone["day"]), gone["student"],
                                      "present", start, time.fromisoformat(gone["end"]), None)
            records.setdefault((record.student, record.day, record.slot), record)
            drop.add(attendance_id)
        if records:
            counts = apply_attendance(session, list(records.values()), now=now, source=NAME,
                                      actor=NAME)
            for name, count in counts.items():
                if name != "unchanged":
                    result.bump(f"roll call {name}", count)
        result.bump("roll call excused by the school", _excuse(session, excused, now))
        kept.drop_records(session, NAME, "attendance", drop)
        if keep:
            kept.put_records(session, NAME, "attendance", keep)


def _read_duties(client: Client, unit: str, changed: dict[str, str], fetched: Fetched) -> None:
    """Read the unit's duties (staff roles), with the people they embed, into `fetched`; staff
    may be closed to us, which leaves every duty as it was and the rest still counts."""
    try:
        for duty in client.pages("duties", {"organisation": unit, "expand": "person",
                                            **changed}):
            fetched.duties[duty["id"]] = trim_duty(duty)
            embedded = (duty.get("_embedded") or {}).get("person")
            if isinstance(embedded, Mapping) and embedded.get("id"):
                fetched.persons[embedded["id"]] = trim_person(embedded)
    except SS12000Error as error:
        fetched.warnings.append(f"staff not read: {error}")
        if fetched.full:
            fetched.warnings.append("staff roles left as they were")
        fetched.duties = {}


def _event_id(attendance: Mapping[str, Any]) -> str:
    event = attendance.get("calendarEvent")
    return str(event.get("id") or "") if isinstance(event, Mapping) else str(event or "")


def _record(student_id: int, found: Mark) -> AttendanceRecord:
    return AttendanceRecord(0, found.day, student_id, found.status, found.start, found.end,
                            found.minutes_late)


def _excuse(session: Session, marks: list[tuple[int, date, str]], now: datetime) -> int:
    """Absences the school system counts as valid (reported there, leave granted) need no
    notice: open ones become reported."""
    done = 0
    for student_id, day, slot in marks:
        absence = session.execute(select(Absence).where(
            Absence.student_id == student_id, Absence.day == day, Absence.slot == slot,
            Absence.state == "open")).scalar_one_or_none()
        if absence is not None:
            absence.state, absence.updated_at = "reported", now
            done += 1
    return done
