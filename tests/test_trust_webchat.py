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
            anna, lena = (session.exec(select(Person.id).where(Person.phone == p)).one()
                          for p in (MENTOR_PHONE, LENA))
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
            tampered = http.cookies["narvaro_session"].replace(f"{anna}.", f"{lena}.", 1)
            other.cookies.set("narvaro_session", tampered)
            assert (await other.get("/webchat/api/people")).status_code == 401


def test_a_shared_sign_in_key_survives_a_restart_and_serves_every_worker() -> None:
    """With NARVARO_WEBCHAT_SECRET set, a session one process signed is good in another (a
    restart, a second worker); without it each process has its own key; a short or
    placeholder key is refused at start."""
    from datetime import UTC, datetime

    from bot.webauth import SignIn

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    key = load_settings(webchat_exposed=True, public_url="https://skolan.example",
                        webchat_secret="k" * 40).webchat_secret
    assert key is not None
    first, second = SignIn("https://skolan.example", key=key.encode()), SignIn(
        "https://skolan.example", key=key.encode())
    assert second.person(first.cookie(7, now=now), now=now) == 7
    assert SignIn("https://skolan.example").person(first.cookie(7, now=now), now=now) is None
    for bad in ("short", "changeme"):
        with pytest.raises(SettingsError, match="NARVARO_WEBCHAT_SECRET"):
            load_settings(webchat_secret=bad)
