"""Logs carry ids only: a whole day's transcript (roll call, notices on Telegram and SMS,
reports with a note, a mentor's answer, a stranger, forged webhooks) is logged at DEBUG and
the records at INFO and above are searched for every name, number and reason of the roster;
no record at any level holds a token."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from bot.logs import FORMAT, NOISY, RedactingFormatter
from bot.telegram import SECRET_HEADER, WEBHOOK_PATH
from storage.db import session_scope
from storage.models import Person
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.telegram_harness import MENTOR_PHONE, ROSTER, STAFF, Chat
from tests.test_absence_notices import (
    JOHN,
    KARI,
    LENA,
    METTE,
    OMAR,
    PRINCIPAL,
    REFERENCE,
    SCHOOL_NUMBER,
    both,
    roll_call,
    school_setting,
)
from tests.test_absence_notices import db as db  # the fixture

STRANGER = "+46709998877"
NOTE = "Migrän hela natten"
API_TOKEN = "attendance-api-secret-4711"
#: Words of a reason, as the guardians wrote them.
REASON_WORDS = ("syg", "sjuk", "migrän", "tandläkare", "sick")


def roster_secrets() -> list[str]:
    """Every name and phone number of the test roster, in the forms they could be written."""
    found: set[str] = {STRANGER, MENTOR_PHONE, PRINCIPAL}
    for line in (ROSTER + STAFF).splitlines()[1:]:
        for value in line.split(","):
            if value.startswith("+"):
                found |= {value, value[1:], "0" + value[3:]}
            elif " " in value:  # a full name: the whole of it and each part
                found |= {value, *value.split()}
    return sorted(found - {"Mentor", "Rektor"})  # a role word in a staff name


def formatted(record: logging.LogRecord) -> str:
    """The record as a handler would write it, traceback included."""
    return logging.Formatter("%(name)s %(message)s").format(record)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything logged, from DEBUG on; the libraries' loggers are put back as they were."""
    saved = {name: logging.getLogger(name).level for name in NOISY}
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def as_if_main_never_ran() -> None:
    """The libraries' loggers unset, as `main` leaves them only when it ran: the runtime
    must quiet them itself."""
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.NOTSET)


async def test_a_full_day_logs_no_name_number_reason_or_token(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, tmp_path: Path,
    logs: pytest.LogCaptureFixture,
) -> None:
    """Roll call, notices, a report with a note on Telegram and by SMS, the mentor's answer,
    a stranger's text and forged webhooks: ids in the logs, nothing else."""
    school_setting("mass_alert_share=1")
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N003,absent,,,",
              "2026-11-23,N005,absent,08:15,09:00,")
    as_if_main_never_ran()
    async with both(telegram, twilio, NARVARO_TELEGRAM_MODE="webhook",
                    NARVARO_API_TOKEN=API_TOKEN) as bot:
        lena = Chat(telegram, telegram.add_user(7001, "Lena", language_code="sv"), 7001)
        await lena.link(LENA)
        text = (await bot.sms_in(METTE, "Emil syg i dag")).body
        assert text.startswith("Registreret") and REFERENCE.search(text)
        notice = await lena.reply()
        assert notice.buttons == ["Ange orsaken"]
        await lena.tap("Ange orsaken")
        receipt = await lena.tap("Sjuk")
        assert REFERENCE.search(receipt.text) and "Lägg till en anteckning" in receipt.buttons
        await lena.tap("Lägg till en anteckning")
        assert (await lena.say(NOTE)).text == "Tack, anteckningen sparas med anmälan."
        await bot.sms_out(KARI)
        await bot.sms_out(JOHN)
        assert (await bot.sms_in(STRANGER, "Hej, Ali Hassan är sjuk")).body
        async with httpx.AsyncClient(base_url=bot.public_url) as client:
            forged = await client.post("/twilio/sms", data={
                "From": OMAR, "Body": "Ali tandläkare"}, headers={
                "X-Twilio-Signature": "Zm9yZ2Vk"})
            assert forged.status_code == 403
            wrong = await client.post(WEBHOOK_PATH, json={"update_id": 1}, headers={
                SECRET_HEADER: "not-the-secret"})
            assert wrong.status_code == 403
            refused = await client.post("/api/attendance", json={"records": []},
                                        headers={"Authorization": "Bearer wrong"})
            assert refused.status_code == 401
        await twilio.wait_until(lambda: any(
            m.body.startswith("Ring hem i dag") for m in twilio.messages(MENTOR_PHONE)) or None)
        await twilio.asms_to_bot(f"{bot.public_url}/twilio/sms", from_=MENTOR_PHONE,
                                 to=SCHOOL_NUMBER, body="1")
        await twilio.wait_until(lambda: any(
            m.body.startswith("Noterat") for m in twilio.messages(MENTOR_PHONE)) or None)
        # Staff look a student up and take roll call by SMS.
        assert "Ali Hassan" in (await bot.sms_in(PRINCIPAL, "/student Ali")).body
        assert (await bot.sms_in(PRINCIPAL, "/roll")).body

    assert logs.records, "nothing was logged at all"
    tokens = [telegram.token, twilio.auth_token, API_TOKEN, telegram.token.split(":")[-1]]
    for record in logs.records:
        text = formatted(record)
        for token in tokens:
            assert token not in text, f"a token in {record.name}: {text[:200]}"
        if record.levelno < logging.INFO:
            continue
        for secret in roster_secrets():
            assert not re.search(rf"(?<![\w+]){re.escape(secret)}(?!\w)", text), (
                f"{secret!r} in a {record.levelname} record of {record.name}: {text[:300]}")
        lowered = text.casefold()
        for word in (NOTE.casefold(), *REASON_WORDS):
            assert word not in lowered, f"{word!r} in {record.name}: {text[:300]}"


@pytest.mark.postgresql
def test_a_database_error_is_logged_without_the_values_it_quotes(engine: Engine) -> None:
    """Two people with one number: PostgreSQL's error quotes the number ("Key (phone)=(…)
    already exists"), SQLite's only the column. Logged through `narvaro`'s handler, the
    traceback names the error and the column, never the number."""
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError) as raised, session_scope(engine) as session:
        for name in ("First", "Second"):
            session.add(Person(name=name, phone=STRANGER, language="sv", created_at=now,
                               updated_at=now))
            session.flush()
    quoted = STRANGER in str(raised.value)
    assert quoted is (engine.dialect.name == "postgresql")
    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.setFormatter(RedactingFormatter(FORMAT))
    log = logging.getLogger("narvaro.test.redact")
    log.addHandler(handler)
    try:
        log.error("person %s could not be saved", 7, exc_info=raised.value)
    finally:
        log.removeHandler(handler)
    assert "person 7 could not be saved" in written.getvalue()
    assert "IntegrityError" in written.getvalue() and "phone" in written.getvalue()
    assert STRANGER not in written.getvalue() and STRANGER[1:] not in written.getvalue()
