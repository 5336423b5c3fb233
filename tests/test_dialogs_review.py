"""The monthly review reaching the principal by SMS: an in-process transcript
(tests/transcript.py); the figures and the picture are in tests/test_monthly_review.py."""

from __future__ import annotations

from sqlalchemy import Engine

from tests.test_ladder_concern import db as db  # the transcript roster; Rut is principal
from tests.test_monthly_review import RUT
from tests.test_monthly_review import november as november  # November's roll call
from tests.transcript import House

PUBLIC_URL = "https://narvaro.example.se"


def test_the_review_by_text_links_the_full_page(november: Engine) -> None:
    """At 08:00 on 1 December: Rut's text ends with the address of the overview (the full
    page), made from NARVARO_PUBLIC_URL when sent."""
    with House.open(now="2026-12-01T07:59:58+01:00", NARVARO_PUBLIC_URL=PUBLIC_URL) as bot:
        bot.tick()
        assert bot.sms(RUT).unread() == []  # not before 08:00
        bot.tick("2026-12-01T08:00:01+01:00")
        text = bot.sms(RUT).reply()
        assert text.body.startswith("Månadsöversikt, Norrskolan: november 2026")
        assert text.body.endswith(f"\n{PUBLIC_URL}/overview")
