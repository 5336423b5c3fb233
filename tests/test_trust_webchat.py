"""The web chat bound to loopback unless exposure is asked for, and then only for staff
who sign in with a one-time link sent to their phone, each acting as themselves."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.cli import main
from bot.settings import SettingsError, load_settings
from storage.models import Person
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import MENTOR_PHONE
from tests.test_absence_notices import LENA, both
from tests.test_absence_notices import db as db  # the fixture

LINK = re.compile(r"https?://\S+/webchat/login/\S+")


def test_a_reachable_web_chat_needs_an_explicit_setting(
    narvaro_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """NARVARO_HTTP_HOST=0.0.0.0 with the web chat on is refused with what to do; with it
    off, or exposed on purpose (with a public URL for the links), it starts."""
    monkeypatch.setenv("NARVARO_HTTP_HOST", "0.0.0.0")
    with pytest.raises(SettingsError, match="NARVARO_WEBCHAT_EXPOSED=1"):
        load_settings()
    assert main(["run"]) == 2
    assert "not a loopback address" in capsys.readouterr().err
    # With the web chat off the bot runs; the overview then stays off too (it is served on
    # a reachable host only when exposed on purpose).
    reachable = load_settings(webchat=False)
    assert reachable.http_host == "0.0.0.0" and not reachable.overview_served
    assert load_settings(webchat_exposed=True, public_url="https://skolan.example"
                         ).overview_served
    with pytest.raises(SettingsError, match="needs NARVARO_PUBLIC_URL"):
        load_settings(webchat_exposed=True)
    assert load_settings(webchat_exposed=True, public_url="https://skolan.example").webchat
    monkeypatch.setenv("NARVARO_HTTP_HOST", "::1")
    assert load_settings().http_host == "::1"


async def test_staff_sign_in_with_a_one_time_link_and_act_as_themselves(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, tmp_path: Path
) -> None:
    """Nothing without signing in; a guardian's number gets no link, the mentor's does; the
    link works once; signed in, Anna sees and writes as herself only; a forged cookie is
    nobody."""
    async with both(telegram, twilio, NARVARO_WEBCHAT_EXPOSED="1") as bot:
        with Session(db) as session:
            anna_row, lena_row = (session.exec(select(Person.id).where(
                Person.phone == p)).one() for p in (MENTOR_PHONE, LENA))
        assert anna_row is not None and lena_row is not None
        # The ids in the web chat's addresses: the row's id with an HMAC of it.
        anna, lena = (bot.runtime.web.ids.make("person", row) for row in (anna_row, lena_row))
        async with httpx.AsyncClient(base_url=bot.public_url) as http:
            assert (await http.get("/")).status_code == 200  # the page, to sign in from
            assert (await http.get("/webchat/api/people")).status_code == 401
            assert (await http.post(f"/webchat/api/people/{lena}/messages",
                                    json={"text": "sjuk"})).status_code == 401
            assert (await http.get("/webchat/api/ui?lang=sv")).json()["sign_in"] is True
            for phone in (LENA, "+46709999999", "not a number", MENTOR_PHONE):
                asked = await http.post("/webchat/api/sign-in", json={"phone": phone})
                assert (asked.status_code, asked.json()) == (202, {"ok": True})
            sms = await bot.sms_out(MENTOR_PHONE)
            assert twilio.unread(LENA) == 0
            [link] = LINK.findall(sms.body)
            path = link.removeprefix(bot.public_url)
            assert sms.body.startswith("Din inloggningslänk till Närvaros webbchatt")

            for _preview in range(2):  # a link preview fetches it: nothing is used up
                page = await http.get(path)
                assert page.status_code == 200 and '<form method="post">' in page.text
                assert "set-cookie" not in page.headers
            signed = await http.post(path)
            assert signed.status_code == 303 and signed.headers["location"] == "/"
            assert "httponly" in signed.headers["set-cookie"].lower()
            assert "samesite=strict" in signed.headers["set-cookie"].lower()
            people = (await http.get("/webchat/api/people")).json()
            assert [p["id"] for p in people] == [anna]
            assert (await http.post(f"/webchat/api/people/{anna}/messages",
                                    json={"text": "/tasks"})).status_code == 202
            assert (await http.post(f"/webchat/api/people/{lena}/messages",
                                    json={"text": "sjuk"})).status_code == 403
            assert (await http.get(f"/webchat/api/people/{lena}/messages")).status_code == 403

        async with httpx.AsyncClient(base_url=bot.public_url) as other:
            assert (await other.post(path)).status_code == 403  # once only
            other.cookies.set("narvaro_session", f"{lena}.9999999999.forged")
            assert (await other.get("/webchat/api/people")).status_code == 401
            genuine = http.cookies["narvaro_session"]
            tampered = genuine[:-1] + ("A" if genuine[-1] != "A" else "B")
            other.cookies.set("narvaro_session", tampered)
            assert (await other.get("/webchat/api/people")).status_code == 401
            other.cookies.set("narvaro_session", genuine)  # the same browser's, copied
            assert (await other.get(f"/webchat/api/people/{lena}/messages")).status_code == 403
            # A row id alone, or another row's HMAC, names nobody.
            for guessed in (str(lena_row), f"{lena_row}.{anna.partition('.')[2]}"):
                assert (await other.get(f"/webchat/api/people/{guessed}/messages")
                        ).status_code == 404


def test_a_shared_sign_in_key_serves_every_worker(db: Engine) -> None:
    """With NARVARO_WEBCHAT_SECRET set, an address id one process made is good in another
    (a restart, a second worker); without it each process has its own key. Sessions are in
    the database, so every process sees them; a short or placeholder key is refused."""
    from datetime import UTC, datetime

    from bot.webauth import SignIn, WebIds
    from storage.db import session_scope

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    key = load_settings(webchat_exposed=True, public_url="https://skolan.example",
                        webchat_secret="k" * 40).webchat_secret
    assert key is not None
    assert WebIds(key.encode()).read("person", WebIds(key.encode()).make("person", 7)) == 7
    assert WebIds().read("person", WebIds(key.encode()).make("person", 7)) is None
    first = SignIn("https://skolan.example", key=key.encode())
    with session_scope(db) as session:
        anna = session.exec(select(Person).where(Person.phone == MENTOR_PHONE)).one()
        assert anna.id is not None
        cookie = first.start_session(session, anna.id, now=now)
    for other in (SignIn("https://skolan.example", key=key.encode()),
                  SignIn("https://skolan.example")):
        with session_scope(db) as session:
            signed_in = other.signed_in(session, cookie, now=now)
            assert signed_in is not None and signed_in.id == anna.id
    for bad in ("short", "changeme"):
        with pytest.raises(SettingsError, match="NARVARO_WEBCHAT_SECRET"):
            load_settings(webchat_secret=bad)
