"""The pages for people (web chat, overview) refuse other sites and foreign host names, name
people and students by ids nobody can guess, and end a session as soon as its person is
signed out, loses their role or is forgotten; Telegram's webhook drops what is not an
update; an incoming SMS is stored, and answered later, while the database is locked.

All through the running bot over HTTP (and a real browser for the other site)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.async_api import async_playwright
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from bot.app import Runtime
from bot.cli import main
from bot.telegram import SECRET_HEADER, WEBHOOK_PATH
from storage.intake import intake_engine
from storage.models import (
    AbsenceReport,
    ConversationState,
    InboundSeen,
    IntakeMessage,
    OutboxMessage,
    Person,
    WebSession,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, free_port, running, running_bot, until
from tests.test_absence_notices import OMAR, SCHOOL_NUMBER, both
from tests.test_absence_notices import db as db  # the fixture
from tests.test_overview import CHROMIUM, CHROMIUM_ARGS

LINK = re.compile(r"https?://\S+/webchat/login/\S+")
PRINCIPAL = "+46701112234"
EVIL = "http://evil.example"


def person_row(db: Engine, phone: str) -> int:
    """The row id of the person with `phone`."""
    with Session(db) as session:
        found = session.exec(select(Person.id).where(Person.phone == phone)).one()
    assert found is not None
    return found


def count(db: Engine, table: Any, *where: Any) -> int:
    """How many rows of `table` match `where`."""
    with Session(db) as session:
        return int(session.exec(select(func.count()).select_from(table).where(*where)).one())


@asynccontextmanager
async def local_chat() -> AsyncIterator[tuple[Runtime, httpx.AsyncClient]]:
    """`narvaro run` with its defaults (the local web chat, no sign-in) and a client."""
    async with running({}) as runtime:
        port = runtime.context.settings.http_port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            yield runtime, http


async def test_the_local_web_chat_takes_changes_only_from_its_own_page(db: Engine) -> None:
    """Another site's POST (by Origin or Sec-Fetch-Site), a text/plain body, a foreign Host
    (DNS rebinding), a request through a proxy and a guessed id are all refused, and none
    of them leaves a trace; the page's own POST works."""
    omar_row = person_row(db, OMAR)
    async with local_chat() as (runtime, http):
        port = runtime.context.settings.http_port
        own = f"http://127.0.0.1:{port}"
        omar = runtime.web.ids.make("person", omar_row)
        people = (await http.get("/webchat/api/people", params={"q": "Omar"})).json()
        assert [p["id"] for p in people] == [omar]
        assert people[0]["id"] != str(omar_row)
        url = f"/webchat/api/people/{omar}/messages"
        report = json.dumps({"text": "Ali sjuk idag"})
        as_json = {"content-type": "application/json"}
        refused = [
            ({"content-type": "text/plain"}, 415),  # what a form elsewhere can send
            ({"content-type": "application/x-www-form-urlencoded"}, 415),
            ({**as_json, "origin": EVIL}, 403),
            ({**as_json, "origin": "null"}, 403),
            ({**as_json, "origin": "http://localhost:3000", "sec-fetch-site": "same-site"},
             403),
            ({**as_json, "sec-fetch-site": "cross-site"}, 403),
            ({**as_json, "host": f"evil.example:{port}"}, 421),  # DNS rebinding
            ({**as_json, "x-forwarded-for": "203.0.113.9"}, 403),  # through a proxy
        ]
        for headers, status in refused:
            answer = await http.post(url, content=report, headers=headers)
            assert answer.status_code == status, (headers, answer.text)
        for guessed in (str(omar_row), f"{omar_row}.AAAAAAAAAAAAAAAAAAAAAA", "1"):
            answer = await http.post(f"/webchat/api/people/{guessed}/messages",
                                     content=report, headers=as_json)
            assert answer.status_code == 404
        rebound = await http.get("/webchat/api/people", headers={"host": f"evil.example:{port}"})
        assert rebound.status_code == 421 and "Omar" not in rebound.text
        for embedded in ({"sec-fetch-site": "cross-site", "sec-fetch-mode": "cors",
                          "sec-fetch-dest": "empty"},
                         {"sec-fetch-site": "cross-site", "sec-fetch-mode": "navigate",
                          "sec-fetch-dest": "iframe"}):
            assert (await http.get(url, headers=embedded)).status_code == 403
        assert (await http.post("/overview/login", data={"phone": MENTOR_PHONE},
                                headers={"origin": EVIL})).status_code == 403
        assert count(db, ConversationState) == 0
        assert count(db, OutboxMessage, OutboxMessage.recipient_id == omar_row) == 0
        assert count(db, InboundSeen) == 0

        page = await http.get("/", headers={"sec-fetch-site": "cross-site",
                                            "sec-fetch-mode": "navigate",
                                            "sec-fetch-dest": "document"})
        assert page.status_code == 200  # a link followed from elsewhere opens the page
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "same-origin"
        sent = await http.post(url, content=report, headers={
            **as_json, "origin": own, "sec-fetch-site": "same-origin"})
        assert sent.status_code == 202
        await until(lambda: count(db, OutboxMessage, OutboxMessage.recipient_id == omar_row)
                    == 1)
        assert (await http.get("/healthz", headers={"host": "anything.example"})
                ).status_code == 200  # for machines, not pages


async def test_a_page_on_another_site_cannot_post_in_a_real_browser(
    db: Engine, tmp_path: Path
) -> None:
    """Headless Chromium opens a page of another site that posts a report as Omar (even
    knowing his id) with a text/plain fetch and a plain form; and a host name that resolves
    to 127.0.0.1 (DNS rebinding) gets nothing. Nothing is stored."""
    omar_row = person_row(db, OMAR)
    async with local_chat() as (runtime, _http), async_playwright() as playwright:
        port = runtime.context.settings.http_port
        target = (f"http://127.0.0.1:{port}/webchat/api/people/"
                  f"{runtime.web.ids.make('person', omar_row)}/messages")
        attack = f"""<!doctype html><body>
<form id="f" method="post" action="{target}" enctype="text/plain" target="sink">
<input name='{{"text": "Ali sjuk idag", "x": "' value='"}}'></form>
<iframe name="sink"></iframe>
<script>
window.result = fetch("{target}", {{method: "POST", mode: "no-cors",
  headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify({{text: "Ali sjuk idag"}})}})
  .then(() => "sent", (e) => "failed: " + e);
document.getElementById("f").submit();
</script></body>"""
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP rebind.test 127.0.0.1",
                  # Chromium's own guard for local addresses; other browsers have none.
                  "--disable-features=BlockInsecurePrivateNetworkRequests,"
                  "PrivateNetworkAccessSendPreflights,PrivateNetworkAccessRespectPreflightResults,"
                  "LocalNetworkAccessChecks"])
        try:
            page = await browser.new_page()
            await page.route("http://evil.test/**", lambda route: route.fulfill(
                body=attack, content_type="text/html"))
            answers: list[int] = []
            page.on("response", lambda response: answers.append(response.status)
                    if "/webchat/api/" in response.url else None)
            await page.goto("http://evil.test/attack.html")
            assert await page.evaluate("window.result") == "sent"
            await until(lambda: len(answers) == 2)
            rebound = await page.goto(f"http://rebind.test:{port}/webchat/api/people")
            assert rebound is not None and rebound.status == 421
            assert "Omar" not in await page.content()
        finally:
            await browser.close()
    assert sorted(answers) == [403, 403, 421]
    assert count(db, ConversationState) == 0
    assert count(db, OutboxMessage, OutboxMessage.recipient_id == omar_row) == 0
    assert count(db, InboundSeen) == 0


async def test_a_message_too_long_for_the_web_chat_is_kept_and_explained(
    db: Engine, tmp_path: Path
) -> None:
    """In headless Chromium, as Omar: 1,001 characters are not sent; the page says why, in
    his language, and keeps them in the box. A message the server refuses is taken back
    into the box with a note, never shown as sent. Nothing is stored."""
    async with local_chat() as (runtime, _http), async_playwright() as playwright:
        port = runtime.context.settings.http_port
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, locale="sv-SE")
        try:
            page = await browser.new_page()
            posted: list[str] = []
            page.on("request", lambda request: posted.append(request.url)
                    if request.method == "POST" and "/messages" in request.url else None)
            await page.goto(f"http://127.0.0.1:{port}/")
            await page.locator("#people li", has_text="Omar Hassan").first.click()
            await page.fill("#text", "a" * 1001)
            await page.click("#send")
            note = page.locator(".msg.note")
            await note.first.wait_for()
            assert await note.first.text_content() == (
                "Inte skickat: ett meddelande får vara högst 1000 tecken. Korta det, eller "
                "skicka det i delar.")
            assert await page.input_value("#text") == "a" * 1001
            assert posted == []

            async def refuse(route: Any) -> None:
                if route.request.method == "POST":
                    await route.fulfill(status=503, body="{}")
                else:
                    await route.continue_()

            await page.route("**/messages", refuse)
            await page.fill("#text", "Ali sjuk idag")
            await page.click("#send")
            await page.wait_for_function("document.querySelectorAll('.msg.note').length == 2")
            assert await note.nth(1).text_content() == "Inte skickat: försök igen om en stund."
            assert await page.input_value("#text") == "Ali sjuk idag"
            assert await page.locator(".msg.me").count() == 0
        finally:
            await browser.close()
    assert count(db, InboundSeen) == 0


class Staff:
    """A browser of a staff member against the exposed bot at its public host name."""

    def __init__(self, port: int, host: str) -> None:
        self.origin = f"http://{host}:{port}"
        self.http = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}",
                                      headers={"host": f"{host}:{port}"})

    def post(self, path: str, *, origin: str | None = None, **options: Any) -> Any:
        """A POST from this site's own page (or from `origin`)."""
        return self.http.post(path, headers={"origin": origin or self.origin}, **options)


@asynccontextmanager
async def exposed(telegram: FakeTelegram, twilio: FakeTwilio
                  ) -> AsyncIterator[tuple[Runtime, Staff]]:
    """The bot with the web chat exposed at http://skolan.test:PORT (reached on 127.0.0.1
    with that Host, as behind a proxy), and a browser for staff."""
    port = free_port()
    twilio.callbacks_enabled = False  # its status callbacks would look for skolan.test
    async with both(telegram, twilio, NARVARO_WEBCHAT_EXPOSED="1",
                    NARVARO_HTTP_PORT=str(port),
                    NARVARO_PUBLIC_URL=f"http://skolan.test:{port}") as bot:
        staff = Staff(port, "skolan.test")
        try:
            yield bot.runtime, staff
        finally:
            await staff.http.aclose()


async def sign_in(staff: Staff, twilio: FakeTwilio, phone: str) -> str:
    """Ask for a link for `phone`, open it as the browser does; returns the link's path."""
    asked = await staff.post("/webchat/api/sign-in", json={"phone": phone})
    assert asked.status_code == 202
    sms = await twilio.next_message(phone, timeout=15)
    [link] = LINK.findall(sms.body)
    assert link.startswith(staff.origin)
    return str(link).removeprefix(staff.origin)


async def test_the_exposed_web_chat_refuses_other_sites_even_with_the_cookie(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine
) -> None:
    """The public host name is served, others are not; another site cannot ask for a link,
    use one, post as the signed-in mentor with her cookie, or sign her out."""
    anna_row = person_row(db, MENTOR_PHONE)
    async with exposed(telegram, twilio) as (runtime, staff):
        anna = runtime.web.ids.make("person", anna_row)
        assert (await staff.http.get("/", headers={"host": "other.test"})).status_code == 421
        assert (await staff.post("/webchat/api/sign-in", origin=EVIL,
                                 json={"phone": MENTOR_PHONE})).status_code == 403
        path = await sign_in(staff, twilio, MENTOR_PHONE)
        assert (await staff.post(path, origin=EVIL)).status_code == 403
        signed = await staff.post(path)  # not used up by the refused attempt
        assert signed.status_code == 303
        url = f"/webchat/api/people/{anna}/messages"
        before = count(db, OutboxMessage)
        for headers in ({"origin": EVIL}, {"sec-fetch-site": "cross-site"},
                        {"content-type": "text/plain"}):
            refused = await staff.http.post(url, content=json.dumps({"text": "/tasks"}),
                                            headers={"content-type": "application/json",
                                                     **headers})
            assert refused.status_code in (403, 415)
        assert (await staff.post("/webchat/api/sign-out", origin=EVIL, json={})
                ).status_code == 403
        assert count(db, OutboxMessage) == before
        assert (await staff.post(url, json={"text": "/tasks"})).status_code == 202
        assert (await staff.http.get("/webchat/api/people")).status_code == 200


async def test_sessions_end_at_sign_out_a_roster_change_and_forget(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, tmp_path: Path
) -> None:
    """Sign-out ends this browser's session only; a staff file that gives the mentor's
    number another name, or leaves it out, ends her sessions at once; `narvaro forget`
    ends the principal's overview session."""
    anna_row, rut_row = person_row(db, MENTOR_PHONE), person_row(db, PRINCIPAL)
    async with exposed(telegram, twilio) as (runtime, staff):
        anna = runtime.web.ids.make("person", anna_row)
        url = f"/webchat/api/people/{anna}/messages"
        assert (await staff.post(await sign_in(staff, twilio, MENTOR_PHONE))).status_code == 303
        first = staff.http.cookies["narvaro_session"]
        sign_in_ = runtime.web.sign_in
        assert sign_in_ is not None

        def open_session(person: int) -> str:
            with Session(db) as session:
                token = sign_in_.start_session(session, person, now=runtime.context.clock.now())
                session.commit()
            return token

        second = open_session(anna_row)  # her phone's browser
        signed_out = await staff.post("/webchat/api/sign-out", json={})
        assert signed_out.status_code == 200
        staff.http.cookies.clear()
        for cookie, status in ((first, 401), (second, 200)):
            staff.http.cookies.set("narvaro_session", cookie)
            assert (await staff.http.get(url)).status_code == status
            assert (await staff.http.get("/webchat/api/people")).status_code == status

        # The number is someone else's now (still a mentor): her session ends.
        staff_file = write(tmp_path, "staff2.csv", "school,name,phone,role,language\n"
                           f"Norrskolan,Bertil Ny,{MENTOR_PHONE},mentor,sv\n"
                           f"Norrskolan,Rut Rektor,{PRINCIPAL},principal,sv\n")
        assert main(["roster", "import", "--staff", staff_file]) == 0
        assert (await staff.http.get(url)).status_code == 401
        assert count(db, WebSession, WebSession.person_id == anna_row) == 0

        # Bertil signs in, then leaves the school: not one more request.
        staff.http.cookies.set("narvaro_session", open_session(anna_row))
        assert (await staff.http.get(url)).status_code == 200
        staff_file = write(tmp_path, "staff3.csv", "school,name,phone,role,language\n"
                           f"Norrskolan,Rut Rektor,{PRINCIPAL},principal,sv\n")
        assert main(["roster", "import", "--staff", staff_file]) == 0
        assert (await staff.http.get(url)).status_code == 401
        assert (await staff.http.get("/webchat/api/people")).status_code == 401

        # The principal's overview: its own sign-out; then she is forgotten.
        rut = open_session(rut_row)
        staff.http.cookies.set("narvaro_session", rut)
        overview = await staff.http.get("/overview")
        assert overview.status_code == 200 and 'action="/overview/sign-out"' in overview.text
        assert (await staff.post("/overview/sign-out", origin=EVIL)).status_code == 403
        assert (await staff.post("/overview/sign-out")).status_code == 303
        staff.http.cookies.set("narvaro_session", rut)
        assert 'name="phone"' in (await staff.http.get("/overview")).text
        staff.http.cookies.set("narvaro_session", open_session(rut_row))
        assert 'name="phone"' not in (await staff.http.get("/overview")).text
        assert main(["forget", "--guardian", PRINCIPAL]) == 0
        assert 'name="phone"' in (await staff.http.get("/overview")).text
        assert count(db, WebSession) == 0


async def test_telegram_webhook_drops_json_of_the_wrong_shape(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """Valid JSON that is not an update is answered 200 (Telegram would send it again and
    again otherwise) and dropped with a log line of ids only; a real update still works."""
    async with both(telegram, twilio, NARVARO_TELEGRAM_MODE="webhook") as bot:
        [hook] = telegram.calls("setWebhook")
        secret = {SECRET_HEADER: str(hook.params["secret_token"])}
        message = {"message_id": 1, "date": 0, "chat": {"id": 7001, "type": "private"},
                   "from": {"id": 7001, "is_bot": False, "first_name": "X"},
                   "text": "Ali sjuk idag"}
        shapes: list[dict[str, Any]] = [
            {"update_id": 1, "message": 1},
            {"update_id": "abc", "message": message},
            {"update_id": True, "message": message},
            {"update_id": 2, "message": {**message, "chat": 1}},
            {"update_id": 3, "message": {**message, "message_id": "x"}},
            {"update_id": 4, "message": {**message, "chat": {"id": "z", "type": "private"}}},
            {"update_id": 5, "message": {**message, "text": 5}},
            {"update_id": 6, "callback_query": [1]},
            {"update_id": 7, "message": {"chat": {"id": 1}}},
        ]
        async with httpx.AsyncClient(base_url=bot.public_url) as http:
            for shape in shapes:
                answer = await http.post(WEBHOOK_PATH, json=shape, headers=secret)
                assert answer.status_code == 200, shape
            drops = [r for r in caplog.records if "dropped" in r.getMessage()]
            assert len(drops) == len(shapes)
            assert all(r.exc_info is None for r in caplog.records if r.name.startswith("bot"))
            assert "Ali" not in caplog.text and "7001" not in caplog.text
            assert count(db, InboundSeen) == 0
            real = {"update_id": 8, "message": {**message, "text": "/start"}}
            assert (await http.post(WEBHOOK_PATH, json=real, headers=secret)).status_code == 200
        await until(lambda: count(db, InboundSeen) == 1)


@asynccontextmanager
async def write_lock(database_url: str) -> AsyncIterator[None]:
    """Hold the database's write lock as a long import does (SQLite: the one write lock of
    the file; PostgreSQL: the person table, which an import rewrites)."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite:///")
        with closing(sqlite3.connect(path, isolation_level=None)) as connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("UPDATE person SET updated_at = updated_at")
            try:
                yield
            finally:
                connection.execute("ROLLBACK")
        return
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(url) as connection:
        await connection.execute("LOCK TABLE person IN ACCESS EXCLUSIVE MODE")
        try:
            yield
        finally:
            await connection.rollback()


@pytest.mark.postgresql
async def test_an_sms_is_stored_while_the_database_is_locked_and_answered_after(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, narvaro_env: dict[str, str]
) -> None:
    """While another process holds the write lock, Twilio's webhook is answered 200 once
    the text is in the intake (a resend of it too, stored once); when the lock is released
    the guardian gets the real answer, not "not saved", and the intake is empty."""
    async with both(telegram, twilio) as bot:
        url = f"{bot.public_url}/twilio/sms"
        intake = intake_engine(db)

        def stored() -> list[str]:
            with Session(intake) as session:
                return list(session.exec(select(IntakeMessage.ref)).all())

        async with write_lock(narvaro_env["NARVARO_DATABASE_URL"]):
            form = twilio.inbound_form(from_=OMAR, to=SCHOOL_NUMBER, body="Ali sjuk idag")
            answer = await twilio.asms_to_bot(url, from_=OMAR, to=SCHOOL_NUMBER,
                                              body="Ali sjuk idag",
                                              message_sid=form["MessageSid"], timeout=30)
            assert answer.status_code == 200
            assert stored() == [form["MessageSid"]]  # stored while the lock is held
            again = await twilio.asms_to_bot(url, from_=OMAR, to=SCHOOL_NUMBER,
                                             body="Ali sjuk idag",
                                             message_sid=form["MessageSid"], timeout=30)
            assert again.status_code == 200
            assert stored() == [form["MessageSid"]]
        receipt = await bot.sms_out(OMAR)
        assert receipt.body.startswith("Registrerat: Ali"), receipt.body  # one text records it
        await until(lambda: stored() == [])
        assert count(db, InboundSeen, col(InboundSeen.ref) == form["MessageSid"]) == 1
        assert count(db, AbsenceReport) == 1  # recorded once, however often it came
        if intake is not db:
            intake.dispose()


@pytest.mark.postgresql
async def test_a_telegram_message_waits_out_a_locked_database(
    telegram: FakeTelegram, db: Engine, tmp_path: Path, narvaro_env: dict[str, str],
    caplog: pytest.LogCaptureFixture
) -> None:
    """A Telegram message that arrives while another process holds the write lock is
    handled once the lock is gone: the person gets the welcome, not "not saved"."""
    database_url = narvaro_env["NARVARO_DATABASE_URL"]
    # SQLite's busy timeout, 10 s unless the URL says otherwise, runs out before the bot
    # says it waits: one second here (pysqlite's own `timeout`, in seconds).
    bot_url = f"{database_url}?timeout=1" if database_url.startswith("sqlite") else database_url
    async with running_bot(telegram, tmp_path, NARVARO_DATABASE_URL=bot_url) as bot:
        chat = bot.chat()
        async with write_lock(database_url):
            chat.user.send("/start")
            # SQLite gives up on the lock after its busy timeout: the bot then says it waits
            # (or, without the patience, apologises at once); PostgreSQL keeps the
            # statement waiting on the lock.
            await until(lambda: "waits, the database is busy" in caplog.text
                        or telegram.unread(chat.chat_id) > 0
                        if database_url.startswith("sqlite") else waiting_on_a_lock(db),
                        seconds=60)  # generous on a busy machine: it costs nothing when met
        welcome = await chat.reply(wait=30)
        assert welcome.request_contact, welcome.text


def waiting_on_a_lock(db: Engine) -> bool:
    """Whether a PostgreSQL session of the bot is waiting for a lock."""
    with db.connect() as connection:
        return bool(connection.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'").scalar())


@pytest.mark.postgresql
def test_forget_removes_texts_still_waiting_in_the_intake(db: Engine) -> None:
    """A text from a person that is still in the intake (the bot has not handled it yet)
    goes when the person is forgotten; others' stay."""
    from datetime import UTC, datetime

    from storage.db import session_scope
    from storage.intake import store

    intake = intake_engine(db)
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with session_scope(intake) as session:
        for n, sender in enumerate((OMAR, OMAR, PRINCIPAL)):
            assert store(session, channel="sms", ref=f"SM{n}", sender=sender,
                         body="Ali sjuk idag", worker="w", now=now)
    assert main(["forget", "--guardian", OMAR]) == 0
    with Session(intake) as session:
        assert session.exec(select(IntakeMessage.sender)).all() == [PRINCIPAL]
    if intake is not db:
        intake.dispose()


async def test_a_text_left_in_the_intake_is_answered_at_the_next_start(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine
) -> None:
    """A text stored by a worker that stopped (or died) before handling it is handled when
    the bot starts again, and its sender gets the answer."""
    from datetime import datetime, timedelta

    from storage.db import session_scope
    from storage.intake import store
    from tests.test_absence_notices import BEFORE_CUTOFF

    intake = intake_engine(db)
    stored_at = datetime.fromisoformat(BEFORE_CUTOFF) - timedelta(minutes=5)
    with session_scope(intake) as session:
        assert store(session, channel="sms", ref="SM" + "0" * 32, sender=OMAR,
                     body="Ali sjuk idag", worker="gone:1", now=stored_at)
    async with both(telegram, twilio) as bot:
        receipt = await bot.sms_out(OMAR)
        assert receipt.body.startswith("Registrerat: Ali"), receipt.body
    with Session(intake) as session:
        assert session.exec(select(IntakeMessage)).all() == []
    if intake is not db:
        intake.dispose()
