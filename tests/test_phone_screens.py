"""The demo on a phone-sized screen (390 px wide) in a real headless Chromium: a guardian
gets the notice and reports, the mentor sees the call prompt close, the overview reads in
Swedish. The screenshots go to the test's folder, or with SCREENSHOTS=docs to the
committed ones the README shows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Page, ViewportSize, async_playwright
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import OutboxMessage, Person
from tests.telegram_harness import running
from tests.test_overview import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parent.parent
#: Just before the demo school's cutoff (first lesson 08:00, notices 5 minutes after).
BEFORE_CUTOFF = "2026-11-23T08:04:58+01:00"
PHONE: ViewportSize = {"width": 390, "height": 844}
LINK = re.compile(r"https?://\S+/webchat/login/\S+")


@pytest.fixture
def db(narvaro_env: dict[str, str]) -> Iterator[Engine]:
    """The bot's database, opened separately to read what it holds."""
    engine = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    yield engine
    engine.dispose()


async def open_chat(page: Page, base: str, name: str) -> None:
    """Pick `name` in the web chat's roster."""
    await page.goto(base + "/")
    await page.fill("#search", name)
    await page.locator("#people li", has_text=name).first.click()
    await page.wait_for_selector("#chat", state="visible")


def sign_in_path(db: Engine, base: str) -> str:
    """The overview sign-in link delivered to the mentor's web chat."""
    with Session(db) as session:
        for message in session.exec(select(OutboxMessage).join(
                Person, col(Person.id) == OutboxMessage.recipient_id).where(
                Person.name == "Anna Mentorsson").order_by(col(OutboxMessage.id).desc())):
            if found := LINK.findall(message.text):
                return str(found[0]).removeprefix(base)
    raise AssertionError("no sign-in link")


async def test_the_demo_on_a_phone(
    narvaro_env: dict[str, str], db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mentor marks Ali absent at roll call (one list, updated in place); at the cutoff
    his guardian Mona gets the notice in the web chat and reports him sick; the mentor's
    call prompt is closed with a line saying why; the overview shows the classes in
    Swedish. Nothing is wider than the phone."""
    monkeypatch.setenv("NARVARO_CLOCK_START", BEFORE_CUTOFF)
    wanted = os.environ.get("SCREENSHOTS")  # relative to the project
    shots = REPO / wanted if wanted else tmp_path / "shots"
    shots.mkdir(exist_ok=True)
    async with running({"NARVARO_DEMO": "1", "NARVARO_SWEEP_INTERVAL_SECONDS": "0.3"}) as rt, \
            async_playwright() as playwright:
        base = f"http://127.0.0.1:{rt.context.settings.http_port}"
        browser = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, locale="sv-SE", viewport=PHONE, device_scale_factor=2)
        try:
            # The mentor takes roll call: each tap updates the one list in place.
            mentor = await browser.new_page()
            await open_chat(mentor, base, "Anna Mentorsson")
            await mentor.fill("#text", "/roll")
            await mentor.click("#send")
            await mentor.locator(".choices button:enabled", has_text="7A").first.click()
            lists = mentor.locator(".msg.bot").filter(
                has=mentor.locator("button", has_text="Ali Andersson"))
            await lists.first.wait_for()
            await lists.locator("button:enabled", has_text="Ali Andersson").click()
            await mentor.locator(".msg.bot button:enabled", has_text="✗ Ali Andersson").wait_for()
            assert await lists.count() == 1
            await lists.locator("button:enabled", has_text="Skicka").click()
            await mentor.locator(".msg.bot", has_text="är sparad").wait_for()

            page = await browser.new_page()
            await open_chat(page, base, "Mona Andersson")
            notice = page.locator(".msg.bot", has_text="ingen frånvaroanmälan")
            await notice.wait_for(timeout=15_000)
            await page.fill("#text", "Ali är sjuk idag")
            await page.click("#send")
            receipt = page.locator(".msg.bot", has_text="Registrerat")  # one text records it
            await receipt.first.wait_for()
            assert await page.locator(".msg.me").count() >= 1  # her own words
            assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            await page.screenshot(path=str(shots / "webchat-guardian-390.png"))
            # Reopened: her own messages and the answered buttons are still there.
            await page.click("#back")
            await page.locator("#people li", has_text="Mona Andersson").first.click()
            await page.locator(".msg.bot", has_text="Registrerat").first.wait_for()
            assert await page.locator(".msg.me").count() >= 1
            assert await page.locator(".msg.bot", has_text="Registrerat").count() == 1

            await mentor.bring_to_front()
            await mentor.locator(".msg.bot", has_text="Ring hem i dag").wait_for(timeout=15_000)
            await mentor.locator(".msg.bot", has_text="behöver inte ringa").wait_for(
                timeout=15_000)
            prompt = mentor.locator(".msg.bot", has_text="Ring hem i dag").first
            assert await prompt.locator("button:enabled").count() == 0
            await mentor.fill("#text", "/help")
            await mentor.click("#send")
            await mentor.locator(".msg.bot", has_text="/actionplan").wait_for()
            await mentor.screenshot(path=str(shots / "webchat-mentor-390.png"))

            overview = await browser.new_page()
            await overview.goto(base + "/overview")
            await overview.fill('input[name="phone"]', "+46701740606")
            await overview.click("button")
            await overview.wait_for_selector("text=inloggningslänk")
            await mentor.locator(".msg.bot", has_text="/webchat/login/").wait_for(
                timeout=15_000)
            link = mentor.locator(".msg.bot a", has_text="/webchat/login/").last
            assert await link.count() == 1  # the long link is a link, wrapped on the phone
            await overview.goto(base + sign_in_path(db, base))
            await overview.wait_for_url(f"{base}/overview")
            text = await overview.inner_text("main")
            assert "7A" in text and re.search(r"\d+,\d\s%|\b0\s%", text), text
            await overview.click("th:has-text('Ogiltig')")
            assert await overview.get_attribute("th:has-text('Ogiltig')",
                                                "aria-sort") == "ascending"
            assert await overview.evaluate(
                "document.documentElement.scrollWidth") <= PHONE["width"]
            await overview.screenshot(path=str(shots / "overview-390.png"))
        finally:
            await browser.close()
    for name in ("webchat-guardian-390.png", "webchat-mentor-390.png", "overview-390.png"):
        assert (shots / name).stat().st_size > 10_000
