"""`narvaro run` with only NARVARO_SS12000_* (and SMS) set: the school's own system fills an
empty database, a teacher's absence mark there gives the guardian a notice at the cutoff,
and the guardian's SMS report appears on the school system as `Anmäld frånvaro`. And the
server's webhook (either spelling of `modifiedEntities`) starts a sync at once.

Monday 23 November 2026 in Stockholm: the first lesson is 08:15–09:00, so its notice is
due at 08:35; the runtime's clock starts a few seconds before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from storage.db import make_engine
from storage.models import Person, Student
from tests.fakes.ss12000_api import FakeSS12000
from tests.fakes.ss12000_data import Dataset, generate
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import free_port, running, until
from tests.test_ss12000_sync import DAY, guardian_phones, mobile

SCHOOL_NUMBER = "+46701740000"
REFERENCE = re.compile(r"R-[A-Z0-9]{5}")


@pytest.fixture(scope="module")
def data() -> Dataset:
    """Two schools, guardians in two homes, protected identities."""
    return generate(students=120, schools=2, day=DAY, seed=5)


@pytest.fixture
def server(data: Dataset) -> Iterator[FakeSS12000]:
    """The school system."""
    with FakeSS12000() as fake:
        data.load_into(fake)
        yield fake


@pytest.fixture
def db(narvaro_env: dict[str, str]) -> Iterator[Engine]:
    """The bot's database (empty), to check."""
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def environment(server: FakeSS12000, data: Dataset, twilio: FakeTwilio | None = None,
                **extra: str) -> dict[str, str]:
    """NARVARO_SS12000_* for both schools (and Twilio's settings when given)."""
    units = [u["schoolUnitCode"] for u in data.units if u["organisationType"] == "Skolenhet"]
    port = free_port()
    env = {**server.env(*units), "NARVARO_HTTP_PORT": str(port),
           "NARVARO_PUBLIC_URL": f"http://127.0.0.1:{port}", "NARVARO_DEMO": "1",
           "NARVARO_SWEEP_INTERVAL_SECONDS": "0.3", **extra}
    if twilio is not None:
        env |= {"NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
                "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token,
                "NARVARO_TWILIO_FROM": SCHOOL_NUMBER, "NARVARO_TWILIO_API_URL": twilio.base_url}
    return env


def a_child_with_two_guardians(data: Dataset) -> str:
    """A minor, not protected, whose two guardians have mobiles."""
    return next(s for s in data.two_homes if s not in data.protected
                and data.persons[s]["birthDate"] > "2009-01-01"
                and all(any(p["mobile"] for p in g["phoneNumbers"])
                        for g in data.guardians(s)))


def students(db: Engine) -> int:
    """How many students the database holds."""
    with Session(db) as session:
        return session.exec(select(func.count()).select_from(Student)).one()


async def test_done_when_roster_roll_call_and_reports_flow_with_the_school_system(
    server: FakeSS12000, data: Dataset, twilio: FakeTwilio, db: Engine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The whole way: empty database → roster from SS 12000 → a teacher's mark → notice at
    the cutoff by SMS → the guardian's SMS report → `Anmäld frånvaro` on the server. The
    logs carry no name, number or secret."""
    caplog.set_level(logging.INFO)
    child = a_child_with_two_guardians(data)
    first, second = (mobile(g) for g in data.guardians(child))
    teacher = next(d["person"]["id"] for d in data.duties
                   if d.get("assignmentRole") and d["assignmentRole"][0]["group"]["id"]
                   == data.class_of[child])
    server.roll_call(data.lessons[data.class_of[child]][0], child, absent=45, teacher=teacher)
    env = environment(server, data, twilio, NARVARO_CLOCK_START="2026-11-23T08:34:52+01:00",
                      NARVARO_SS12000_POLL_SECONDS="0.5")
    async with running(env) as runtime:
        await until(lambda: students(db) == len(data.students), 60)
        name = data.persons[child]["givenName"]
        notices = [await twilio.next_message(number, timeout=60) for number in (first, second)]
        for notice in notices:
            assert notice.body.startswith(name) and "08:15" in notice.body
        public = env["NARVARO_PUBLIC_URL"]
        answer = await twilio.asms_to_bot(f"{public}/twilio/sms", from_=first,
                                          to=SCHOOL_NUMBER, body="Hen är sjuk")
        assert answer.status_code == 200
        receipt = await twilio.next_message(first, timeout=60)  # recorded from one text
        assert name in receipt.body and REFERENCE.search(receipt.body), receipt.body
        await until(lambda: bool(server.absences()), 60)
        async with httpx.AsyncClient(base_url=public) as client:
            health = (await client.get("/healthz")).json()
        assert runtime.connector is not None
    [written] = server.absences()
    assert written["type"] == "Anmäld frånvaro"
    assert written["student"] == {"id": child}
    assert written["registeredBy"] == {"id": data.guardians(child)[0]["id"]}
    assert written["organisation"] == {"id": data.unit_of[child]}
    state = health["connectors"]["ss12000"]
    assert state["last_success"] is not None and state["error"] is None
    assert first not in str(health) and name not in str(health)
    logged = caplog.text
    assert "ss12000: full sync" in logged
    for secret in (first, second, server.client_secret, "Bearer "):
        assert secret not in logged
    for word in (name, data.persons[child]["familyName"]):
        assert not re.search(rf"\b{word}\b", logged)
    with Session(db) as session:  # the school system filled it: no demo school
        assert session.exec(select(func.count()).select_from(Person).where(
            Person.name == "Lena Hassan")).one() == 0


@pytest.mark.parametrize("spelling", ["modifiedEntities", "modifiedEntites"])
async def test_a_webhook_from_the_server_starts_a_sync_at_once(
    server: FakeSS12000, data: Dataset, db: Engine, spelling: str
) -> None:
    """With polling an hour apart, the server's callback (either spelling of the key, or
    `deletedEntities`) brings a change within seconds; a callback to a wrong address is
    refused."""
    env = environment(server, data, NARVARO_SS12000_POLL_SECONDS="3600",
                      NARVARO_CLOCK_START="2026-11-23T10:00:00+01:00")
    async with running(env):
        await until(lambda: students(db) == len(data.students), 60)
        await until(lambda: bool(server.subscriptions), 60)
        [subscription] = server.subscriptions.values()
        assert {"resource": "Person"} in subscription["resourceTypes"]
        unit = data.unit_of[data.students[0]]
        server.put("person", {
            "givenName": "Nova", "familyName": "Ek", "birthDate": "2013-05-05",
            "securityMarking": "Ingen", "phoneNumbers": [],
            "enrolments": [{"enroledAt": {"id": unit}, "schoolType": "GR",
                            "startDate": "2026-11-23"}], "responsibles": []})
        assert await server.notify(["Person"], spelling=spelling) == [200]
        await until(lambda: students(db) == len(data.students) + 1, 60)
        gone = data.students[0]
        assert guardian_phones(db, gone)
        server.delete("person", gone)
        assert await server.notify(deleted=True) == [200]
        await until(lambda: guardian_phones(db, gone) == set(), 60)
        async with httpx.AsyncClient() as client:
            wrong = subscription["target"].rsplit("/", 1)[0] + "/not-the-secret"
            assert (await client.post(wrong, json={spelling: ["Person"]})).status_code == 403
