"""SS 12000 roster and roll call in: `narvaro sync ss12000` against the fake server, through
the real HTTP client, on a generated municipality (two schools, 300 students, guardians in
two homes, protected identities).

The clock is Monday 23 November 2026, 09:05 in Stockholm: the first two lessons are over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine, func, text
from sqlmodel import Session, col, select

from bot.cli import main
from storage.db import make_engine
from storage.models import (
    Absence,
    AuditLog,
    ConnectorRecord,
    ConnectorState,
    Guardianship,
    MentorLink,
    Person,
    School,
    StaffRole,
    Student,
)
from tests.fakes.ss12000_api import FakeSS12000
from tests.fakes.ss12000_data import Dataset, e164, generate

pytestmark = pytest.mark.postgresql

DAY = date(2026, 11, 23)
NOW = "2026-11-23T09:05:00+01:00"


@pytest.fixture(scope="module")
def data() -> Dataset:
    """The generated municipality (the same for every test)."""
    return generate(students=300, schools=2, day=DAY)


@pytest.fixture
def server(data: Dataset) -> Iterator[FakeSS12000]:
    """The fake SS 12000 server holding the data set."""
    with FakeSS12000(max_page=40, max_lookup=60) as fake:
        data.load_into(fake)
        yield fake


@pytest.fixture
def db(narvaro_env: dict[str, str], server: FakeSS12000, data: Dataset,
       monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Only NARVARO_SS12000_* set (both schools followed, one by code, one by id)."""
    units = [u for u in data.units if u["organisationType"] == "Skolenhet"]
    for name, value in server.env(units[0]["schoolUnitCode"], units[1]["id"]).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("NARVARO_CLOCK_START", NOW)
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def mobile(person: dict[str, object]) -> str:
    """A person's first mobile number, as E.164."""
    phones = [p for p in person["phoneNumbers"] if p["mobile"]]  # type: ignore[attr-defined]
    return e164({"phoneNumbers": phones})


def sync(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`narvaro sync ss12000 …`, its output."""
    capsys.readouterr()
    assert main(["sync", "ss12000", *args]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def guardian_phones(db: Engine, student: str) -> set[str]:
    """The phones of a student's linked guardians."""
    with Session(db) as session:
        return {phone for phone in session.exec(select(Person.phone).join(
            Guardianship, col(Guardianship.guardian_id) == Person.id).join(
            Student, col(Student.id) == Guardianship.student_id).where(
            Student.external_id == student)).all() if phone is not None}


def absences(db: Engine, student: str) -> list[tuple[str, str, str]]:
    """A student's absences: (slot, kind, state)."""
    with Session(db) as session:
        return [(slot, kind, state) for slot, kind, state in session.exec(select(
            Absence.slot, Absence.kind, Absence.state).join(
            Student, col(Student.id) == Absence.student_id).where(
            Student.external_id == student).order_by(col(Absence.slot))).all()]


def test_a_first_sync_fills_an_empty_database(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """Schools, classes, students, guardians (both homes), mentors and staff roles arrive;
    protected identities are flagged; a parent without custody is not linked; national
    identity numbers, addresses and e-mail are never kept; paging, one token, lookups split
    while the server answers 503."""
    out = sync(capsys)
    assert out.startswith("Full sync: ")
    with Session(db) as session:
        schools = set(session.exec(select(School.name)).all())
        assert schools == {"Norrskolan", "Södra gymnasiet"}
        assert session.exec(select(func.count()).select_from(Student)).one() == len(
            data.students)
        protected = set(session.exec(select(Student.external_id).where(
            Student.protected)).all())
        roles = set(session.exec(select(StaffRole.role)).all())
        mentored = session.exec(select(func.count()).select_from(MentorLink)).one()
    assert protected >= set(data.protected)
    assert roles == {"principal", "nurse", "counsellor", "mentor"}
    assert mentored == len(data.students)
    for student in data.two_homes[:10]:
        # Two homes, two numbers: each guardian's mobile (a landline listed first is not it).
        assert guardian_phones(db, student) == {mobile(g) for g in data.guardians(student)}
        assert len(guardian_phones(db, student)) == 2
    with Session(db) as session:
        kept = " ".join(json.dumps(r.data, ensure_ascii=False)
                        for r in session.exec(select(ConnectorRecord)).all())
        no_custody_linked = session.exec(select(Person.id).join(
            Guardianship, col(Guardianship.guardian_id) == Person.id).where(
            col(Person.phone).in_([e164(data.persons[p]) for p in data.no_custody]))).all()
    assert no_custody_linked == []
    someone = data.persons[data.students[0]]
    assert someone["civicNo"]["value"] not in kept and "Storgatan" not in kept
    assert "@example.se" not in kept
    assert server.token_requests == 1
    assert any("pageToken" in dict(seen.params) for seen in server.asked("persons"))
    assert len(server.asked("persons/lookup")) > 2  # split below the server's 60
    if db.dialect.name == "postgresql":  # its planner knows the records' number at once
        with Session(db) as session:
            stored = session.exec(select(func.count()).select_from(ConnectorRecord)).one()
            estimate = session.execute(text(
                "SELECT reltuples FROM pg_class WHERE relname = 'connector_record'")).scalar()
        assert stored >= 500 and estimate == stored


def test_a_missing_page_token_ends_the_list_too(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """Some servers leave `pageToken` out on the last page instead of null."""
    server.end_with_missing_token = True
    sync(capsys)
    with Session(db) as session:
        assert session.exec(select(func.count()).select_from(Student)).one() == len(
            data.students)


def test_an_incremental_sync_reads_only_changes_and_keeps_languages(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the first sync: a guardian's new number, a student who left (deleted), one who
    moved class, a new student; a language set in Närvaro survives, and what the server is
    asked is only what changed since."""
    sync(capsys)
    moved, gone, kept_student = data.students[1], data.students[2], data.students[3]
    guardian = data.guardians(kept_student)[0]
    assert main(["person", "set", "--phone", e164(guardian), "--language", "ar"]) == 0
    changed = server.get("person", guardian["id"])
    changed["phoneNumbers"] = [{"value": "070-999 11 22", "type": "Hem", "mobile": True}]
    server.put("person", changed)
    server.delete("person", gone)
    other_class = next(g for g in data.groups if g["id"] != data.class_of[moved]
                       and g["organisation"]["id"] == data.unit_of[moved])
    for group in (other_class, server.get("group", data.class_of[moved])):
        group = server.get("group", group["id"])
        if group["id"] == other_class["id"]:
            group["groupMemberships"].append({"person": {"id": moved},
                                              "startDate": "2026-11-23"})
        else:
            group["groupMemberships"] = [m for m in group["groupMemberships"]
                                         if m["person"]["id"] != moved]
        server.put("group", group)
    newcomer = server.put("person", {
        "givenName": "Nova", "familyName": "Ek", "birthDate": "2013-05-05",
        "securityMarking": "Ingen", "phoneNumbers": [],
        "enrolments": [{"enroledAt": {"id": data.unit_of[moved]}, "schoolType": "GR",
                        "startDate": "2026-11-23"}],
        "responsibles": [{"person": {"id": guardian["id"]}, "relationType": "Vårdnadshavare"}]})
    gone_guardians = guardian_phones(db, gone)
    before = len(server.requests)

    out = sync(capsys)

    assert out.startswith("Incremental sync: ")
    asked = server.requests[before:]
    assert all("meta.modified.after" in dict(seen.params) or "pageToken" in dict(seen.params)
               for seen in asked if seen.path in ("persons", "groups", "duties"))
    assert any(seen.path == "deletedEntities" for seen in asked)
    assert guardian_phones(db, kept_student) >= {"+46709991122"}
    assert guardian_phones(db, newcomer["id"]) == {"+46709991122"}
    assert guardian_phones(db, gone) == set()
    with Session(db) as session:
        language = session.exec(select(Person.language).where(
            Person.phone == "+46709991122")).one()
        moved_class = session.execute(text(
            "SELECT school_class.name FROM student JOIN school_class ON "
            "school_class.id = student.class_id WHERE student.external_id = :id"
        ).bindparams(id=moved)).scalar()
        left = session.exec(select(AuditLog).where(AuditLog.action == "roster.leave")).all()
    assert language == "ar"  # the person kept their number's row… and their language
    assert moved_class == other_class["displayName"]
    assert left and gone_guardians
    assert sync(capsys) == "Incremental sync: no changes\n"


def test_roll_call_in_is_idempotent_and_takes_corrections(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """A lesson marked absent, late and excused in the school system becomes Närvaro's
    absence, late arrival and reported absence; a repeat changes nothing; a withdrawn mark
    (present after all, or the attendance deleted) is a correction."""
    sync(capsys)
    absent, late, excused, deleted = data.students[10:14]
    first = {s: data.lessons[data.class_of[s]][0] for s in (absent, late, excused, deleted)}
    server.roll_call(first[absent], absent, absent=45)
    server.roll_call(first[late], late, absent=10)
    server.roll_call(first[excused], excused, valid=45)
    doomed = server.roll_call(first[deleted], deleted, absent=45)
    server.roll_call(data.lessons[data.class_of[absent]][1], absent)  # present later
    out = sync(capsys)
    assert "roll call absent 3" in out and "roll call late 1" in out
    assert absences(db, absent) == [("08:15", "absent", "open")]
    assert absences(db, late) == [("08:15", "late", "open")]
    assert absences(db, excused) == [("08:15", "absent", "reported")]
    assert sync(capsys) == "Incremental sync: no changes\n"

    server.roll_call(first[absent], absent)  # the teacher corrects the mark
    server.delete("attendance", doomed["id"])
    out = sync(capsys)
    assert "roll call withdrawn 2" in out
    assert absences(db, absent) == [("08:15", "absent", "withdrawn")]
    assert absences(db, deleted) == [("08:15", "absent", "withdrawn")]


def test_a_server_without_attendances_gives_the_days_lessons(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """No `/attendances` (404): today's calendar events with their attendance instead."""
    server.offer_attendances = False
    sync(capsys)
    student = data.students[20]
    server.roll_call(data.lessons[data.class_of[student]][0], student, absent=45)
    sync(capsys)
    assert absences(db, student) == [("08:15", "absent", "open")]
    assert any(seen.path == "calendarEvents" for seen in server.requests)


def test_expired_tokens_are_renewed_and_refusals_are_reported_without_personal_data(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token that expires between syncs is fetched again; staff duties closed to us (403)
    leave staff as they were, and say so; a wrong secret fails the sync with a clear line,
    kept for /healthz."""
    sync(capsys)
    server.expire_tokens()
    server.deny("GET", "duties")
    out = sync(capsys)
    assert server.token_requests == 2
    assert "staff not read: GET duties: not allowed for these credentials (403)" in out
    with Session(db) as session:
        assert session.exec(select(func.count()).select_from(StaffRole)).one() > 0
    server.client_secret = "rotated-on-the-server"
    capsys.readouterr()
    assert main(["sync", "ss12000"]) == 1
    error = capsys.readouterr().err
    assert "token endpoint refused the client credentials (401)" in error
    assert "s3cret" not in error
    with Session(db) as session:
        state = session.execute(text("SELECT last_error FROM connector_state")).scalar()
    assert state == "token endpoint refused the client credentials (401)"


@pytest.mark.parametrize(("settings", "message"), [
    ({"ss12000_url": "https://skolsystem.example.se/v2", "ss12000_school_units": "12345678"},
     "NARVARO_SS12000_URL needs credentials"),
    ({"ss12000_url": "https://skolsystem.example.se/v2", "ss12000_token_url": "https://x.se/t",
      "ss12000_client_id": "narvaro", "ss12000_school_units": "12345678"},
     "NARVARO_SS12000_TOKEN_URL, NARVARO_SS12000_CLIENT_ID and NARVARO_SS12000_CLIENT_SECRET "
     "go together"),
    ({"ss12000_url": "https://skolsystem.example.se/v2", "ss12000_token_url": "https://x.se/t",
      "ss12000_client_id": "narvaro", "ss12000_client_secret": "a-real-secret"},
     "NARVARO_SS12000_URL needs NARVARO_SS12000_SCHOOL_UNITS"),
    ({"ss12000_url": "skolsystem.example.se"}, "NARVARO_SS12000_URL must be a URL"),
    ({"ss12000_url": "https://skolsystem.example.se/v2", "ss12000_client_cert": "/no/such.pem",
      "ss12000_client_key": "/no/such.key", "ss12000_school_units": "12345678"},
     "NARVARO_SS12000_CLIENT_CERT: no such file"),
])
def test_settings_say_what_is_missing(
    narvaro_env: dict[str, str], settings: dict[str, str], message: str
) -> None:
    """A connection half set up stops every command with one line saying what to add."""
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError) as error:
        load_settings(**settings)
    assert message in str(error.value)
    assert "a-real-secret" not in str(error.value)


def test_bad_data_leaves_out_only_what_is_wrong_and_names_it_by_id(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """A guardian whose number is not a phone number, or whose number another person has
    under another name: that guardian is left out (the student stays, with the other
    guardian), named by SS 12000 id with the rule, never by name or number."""
    broken, shared = data.two_homes[0], data.two_homes[1]
    first = server.get("person", data.guardians(broken)[0]["id"])
    first["phoneNumbers"] = [{"value": "12", "type": "Hem", "mobile": True}]
    server.put("person", first)
    twin = server.get("person", data.guardians(shared)[1]["id"])
    twin["phoneNumbers"] = data.guardians(data.students[40])[0]["phoneNumbers"]
    twin["givenName"] = "Someone Else"
    server.put("person", twin)
    out = sync(capsys)
    with Session(db) as session:
        kept_students = set(session.exec(select(Student.external_id)).all())
    assert {broken, shared} <= kept_students
    assert guardian_phones(db, broken) == {mobile(data.guardians(broken)[1])}
    number = mobile(data.guardians(data.students[40])[0])
    # One number, two people: the later row's guardian is left out, whichever it was.
    assert sum(number in guardian_phones(db, s) for s in (shared, data.students[40])) == 1
    assert (f"student {broken}: guardian_phone is not a valid phone number (for SE) "
            "(guardian_phone left out)") in out
    assert "guardian phone has another name on students:" in out
    assert "Someone Else" not in out and "+46" not in out


@pytest.mark.parametrize("style", ["flat", None])
def test_deletions_as_other_servers_give_them(
    db: Engine, server: FakeSS12000, data: Dataset, capsys: pytest.CaptureFixture[str],
    style: str | None,
) -> None:
    """A flat `deletedEntities` list (`{entityType, id}`) works as the nested one; a server
    without `/deletedEntities` still syncs, and says so."""
    sync(capsys)
    server.deleted_style = style
    gone = data.students[5]
    server.delete("person", gone)
    out = sync(capsys)
    if style == "flat":
        assert guardian_phones(db, gone) == set()
    else:
        assert "deletions not read: GET deletedEntities: not offered by this server (404)" in out


def test_a_subscription_is_made_renewed_and_not_asked_for_where_not_offered(
    db: Engine, server: FakeSS12000, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With a public address: a subscription for persons, groups, duties and attendance,
    left alone while it has long to run, renewed (PATCH) a week before it expires; a
    server without subscriptions is asked again only the next day."""
    monkeypatch.setenv("NARVARO_PUBLIC_URL", "https://narvaro.example.se")
    sync(capsys)
    [subscription] = server.subscriptions.values()
    assert subscription["target"].startswith("https://narvaro.example.se/ss12000/notify/")
    assert [r["resource"] for r in subscription["resourceTypes"]] == [
        "Person", "Group", "Duty", "Attendance"]
    sync(capsys)
    assert [s.method for s in server.requests if s.path.startswith("subscriptions")] == ["POST"]
    with Session(db) as session:  # three days left
        state = session.exec(select(ConnectorState)).one()
        state.subscription = {**state.subscription, "expires": "2026-11-26T00:00:00+00:00"}
        session.add(state)
        session.commit()
    sync(capsys)
    assert [s.method for s in server.requests if s.path.startswith("subscriptions")] == [
        "POST", "PATCH"]
    server.offer_subscriptions = False
    server.subscriptions.clear()
    with Session(db) as session:
        state = session.exec(select(ConnectorState)).one()
        state.subscription = {}
        session.add(state)
        session.commit()
    sync(capsys)
    sync(capsys)
    assert [s.method for s in server.requests if s.path.startswith("subscriptions")] == [
        "POST", "PATCH", "POST"]


def test_a_guardian_s_export_and_forgetting_cover_the_school_system_copy(
    db: Engine, data: Dataset, capsys: pytest.CaptureFixture[str]
) -> None:
    """`narvaro export` gives the guardian's SS 12000 id; `narvaro forget` deletes what was
    kept of them from the school system (name and numbers) and the link."""
    sync(capsys)
    guardian = data.guardians(data.students[7])[0]
    phone = mobile(guardian)
    assert main(["export", "--guardian", phone]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["school_systems"] == [{"connector": "ss12000", "id": guardian["id"]}]
    assert main(["forget", "--guardian", phone]) == 0
    with Session(db) as session:
        kept = " ".join(json.dumps(r.data, ensure_ascii=False)
                        for r in session.exec(select(ConnectorRecord)).all())
    assert guardian["givenName"] + " " + guardian["familyName"] not in kept
    assert phone[3:] not in kept.replace(" ", "").replace("-", "")
