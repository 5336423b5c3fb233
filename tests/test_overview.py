"""The staff web overview: sign-in with a one-time link sent to the phone, a mentor's
classes, tasks and students, a student's page and timeline picture; nothing about anyone
else's student. Over HTTP against the running runtime, and in a real headless Chromium."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy
import pytest
from matplotlib import image
from playwright.async_api import async_playwright
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import AuditLog, OutboxMessage, Person, Student
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import MENTOR_PHONE, ROSTER, STAFF, import_roster
from tests.test_absence_notices import LENA, Bot, both, roll_call

LINK = re.compile(r"https?://\S+/webchat/login/\S+")
OTHER_MENTOR = "+46701112299"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
NEUTRAL = "Om numret tillhör skolans personal är en inloggningslänk på väg."


@pytest.fixture
def db(narvaro_env: dict[str, str], tmp_path: Path) -> Iterator[Engine]:
    """The roster plus a class 9C whose mentor is someone else, and a week of roll call
    for Ali (absent, late, absent with a lesson) before the clock's Monday."""
    import_roster(
        tmp_path,
        ROSTER + "Norrskolan,9C,N007,Eva Ek,sv,,no,Per Ek,+46701234507,sv,"
        f"{OTHER_MENTOR}\n",
        STAFF + f"Norrskolan,Bo Mentor,{OTHER_MENTOR},mentor,sv\n")
    roll_call(tmp_path, "2026-11-16,N001,absent,,,", "2026-11-18,N001,late,,,12",
              "2026-11-19,N001,absent,,,", "2026-11-19,N007,absent,,,")
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


def ids(db: Engine) -> tuple[int, int, int]:
    """Anna the mentor's person id; Ali's (hers) and Eva's (9C, not hers) student ids."""
    with Session(db) as session:
        anna = session.exec(select(Person.id).where(Person.phone == MENTOR_PHONE)).one()
        ali, eva = (session.exec(select(Student.id).where(Student.external_id == ext)).one()
                    for ext in ("N001", "N007"))
    assert anna is not None and ali is not None and eva is not None
    return anna, ali, eva


async def sign_in_link(bot: Bot) -> str:
    """The path of the sign-in link the bot texts to Anna."""
    for _message in range(10):  # her calls home for last week's absences come too
        sms = await bot.sms_out(MENTOR_PHONE)
        if found := LINK.findall(sms.body):
            assert sms.body.startswith("Din inloggningslänk till Närvaros översikt")
            return str(found[0]).removeprefix(bot.public_url)
    raise AssertionError("no sign-in link came")


def colours(png: bytes) -> int:
    """How many distinct colours a PNG has."""
    pixels = image.imread(io.BytesIO(png), format="png")
    rgb = (pixels[..., :3] * 255).astype(numpy.uint8).reshape(-1, 3)
    return len(numpy.unique(rgb, axis=0))


async def test_sign_in_by_phone_then_a_mentor_sees_own_class_and_student(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine
) -> None:
    """The form; a guardian's and an unknown number get the neutral page and no message;
    the mentor's number gets a link that signs her in once; she sees the classes, her open
    tasks and her students, Ali's page and timeline (audited); Eva (9C) is a 404."""
    anna, ali, eva = ids(db)
    with Session(db) as session:
        sara = session.exec(select(Student).where(Student.external_id == "N002")).one()
        sara.protected = True
        session.add(sara)
        session.commit()
        assert sara.id is not None
        sara_id = sara.id
    async with both(telegram, twilio) as bot:
        # Students are named in addresses by an id with an HMAC of it.
        ali_w, eva_w, sara_w = (bot.runtime.web.ids.make("student", n)
                                for n in (ali, eva, sara_id))
        async with httpx.AsyncClient(base_url=bot.public_url,
                                     headers={"accept-language": "sv-SE,sv;q=0.9"}) as http:
            form = await http.get("/overview")
            assert form.status_code == 200 and 'name="phone"' in form.text
            assert "Skicka mig en inloggningslänk" in form.text
            assert (await http.get(f"/overview/student/{ali_w}")).status_code == 303
            assert (await http.get(f"/overview/student/{ali_w}/timeline.png")).status_code == 401
            for phone in (LENA, "+46709999999", "nonsense", MENTOR_PHONE):
                page = await http.post("/overview/login", data={"phone": phone})
                assert page.status_code == 200 and NEUTRAL in page.text
            path = await sign_in_link(bot)
            assert twilio.unread(LENA) == 0
            with Session(db) as session:
                links = session.exec(select(OutboxMessage.recipient_id).where(
                    col(OutboxMessage.dedupe_key).startswith("sign-in:"))).all()
            assert links == [anna]

            assert (await http.get(path)).status_code == 200  # a link preview uses nothing
            signed = await http.post(path)
            assert signed.status_code == 303 and signed.headers["location"] == "/overview"
            page = await http.get("/overview")
            assert page.status_code == 200
            for shown in ("Närvaro: översikt", "Norrskolan", "<td>7A</td>", "<td>9C</td>",
                          "Mina elever", f'href="/overview/student/{ali_w}">Ali Hassan (7A)</a>',
                          "Vera Lind (8B)"):
                assert shown in page.text
            assert "Eva Ek" not in page.text
            assert f'href="/overview/student/{sara_w}">#N002</a>' in page.text
            assert "Sara" not in page.text  # a protected identity: the school's id only
            protected = await http.get(f"/overview/student/{sara_w}")
            assert "<h1>#N002</h1>" in protected.text and "Sara" not in protected.text
            assert 'href="?open=1">Visa namnet</a>' in protected.text
            opened = await http.get(f"/overview/student/{sara_w}?open=1")
            assert "<h1>Sara Hassan (7A)</h1>" in opened.text

            student = await http.get(f"/overview/student/{ali_w}")
            assert student.status_code == 200 and "<h1>Ali Hassan (7A)</h1>" in student.text
            assert "Den här terminen: " in student.text
            assert f'src="/overview/student/{ali_w}/timeline.png"' in student.text
            picture = await http.get(f"/overview/student/{ali_w}/timeline.png")
            assert picture.headers["content-type"] == "image/png"
            assert picture.content.startswith(b"\x89PNG\r\n\x1a\n")
            assert colours(picture.content) > 20
            for hidden in (f"/overview/student/{eva_w}", f"/overview/student/{eva_w}/timeline.png",
                           "/overview/student/999999", f"/overview/student/{ali}"):
                refused = await http.get(hidden)
                assert (refused.status_code, refused.content) == (404, b"")

        async with httpx.AsyncClient(base_url=bot.public_url) as other:
            assert (await other.post(path)).status_code == 403  # once only
            assert 'name="phone"' in (await other.get("/overview")).text
    with Session(db) as session:
        views = session.exec(select(AuditLog).where(AuditLog.action == "student.view")).all()
    seen = sorted((v.actor, v.student_id, v.detail.get("opened", False)) for v in views)
    assert seen == sorted([
        (f"person:{anna}", ali, False), (f"person:{anna}", ali, False),  # page and picture
        (f"person:{anna}", sara_id, False), (f"person:{anna}", sara_id, True)])


async def test_in_a_real_browser_the_timeline_is_drawn(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, tmp_path: Path
) -> None:
    """Headless Chromium: the form, the link from the text message, the overview, Ali's
    page; the timeline image loads, and a screenshot of it holds a drawn picture."""
    async with both(telegram, twilio) as bot, async_playwright() as playwright:
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, locale="sv-SE", viewport={"width": 1100, "height": 900})
        try:
            page = await browser.new_page()
            await page.goto(f"{bot.public_url}/overview")
            await page.fill('input[name="phone"]', MENTOR_PHONE)
            await page.click("button")
            await page.wait_for_selector(f"text={NEUTRAL}")
            await page.goto(bot.public_url + await sign_in_link(bot))
            await page.wait_for_url(f"{bot.public_url}/overview")
            await page.get_by_role("link", name="Ali Hassan (7A)").click()
            await page.wait_for_url(re.compile(r".*/overview/student/\d+\.[\w-]+$"))
            await page.wait_for_function(
                "() => { const i = document.getElementById('timeline');"
                " return i && i.complete && i.naturalWidth > 0; }")
            text = await page.inner_text("body")
            assert "Ali Hassan (7A)" in text and "Den här terminen" in text
            shot = await page.locator("#timeline").screenshot()
            whole = await page.screenshot(full_page=True)
        finally:
            await browser.close()
    assert colours(shot) > 20
    assert colours(whole) > colours(shot) // 2
    pixels = image.imread(io.BytesIO(shot), format="png")[..., :3]
    assert pixels.mean() < 0.99  # not a blank white image
    red = (abs(pixels[..., 0] - 0xB0 / 255) < 0.05) & (abs(pixels[..., 1] - 0x41 / 255) < 0.05)
    assert red.sum() > 20  # the marks of the days absent without a report
