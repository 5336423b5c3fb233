"""Hostile webhooks against the running bot: forged or missing Twilio signatures and
Telegram secrets get 403 and nothing is processed; oversized bodies 413; a stranger who
texts 100 times gets one answer."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from twilio.request_validator import RequestValidator

from bot.telegram import SECRET_HEADER, WEBHOOK_PATH
from bot.web import MAX_TELEGRAM_BODY, MAX_WEBHOOK_BODY
from storage.models import AbsenceReport, InboundSeen, OutboxMessage
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.test_absence_notices import OMAR, SCHOOL_NUMBER, both
from tests.test_absence_notices import db as db  # the fixture

STRANGER = "+46709998877"


async def test_forged_oversized_and_repeated_webhooks(
    telegram: FakeTelegram, twilio: FakeTwilio, db: Engine, tmp_path: Path
) -> None:
    """Nothing a forger sends is handled, however it is shaped; a flood from one unknown
    number is answered once."""
    async with both(telegram, twilio, NARVARO_TELEGRAM_MODE="webhook") as bot:
        url = f"{bot.public_url}/twilio/sms"
        form = twilio.inbound_form(from_=OMAR, to=SCHOOL_NUMBER, body="Ali sjuk idag")
        signer = RequestValidator(twilio.auth_token)
        async with httpx.AsyncClient(base_url=bot.public_url) as http:
            for headers in ({}, {"X-Twilio-Signature": ""},
                            {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}):
                for path in ("/twilio/sms", "/twilio/status"):
                    answer = await http.post(path, data=form, headers=headers)
                    assert answer.status_code == 403
            # signed for another address (a proxy's, or a replay from elsewhere)
            elsewhere = signer.compute_signature("https://evil.example/twilio/sms", form)
            assert (await http.post("/twilio/sms", data=form, headers={
                "X-Twilio-Signature": elsewhere})).status_code == 403
            # signed right, then one field changed
            signed = signer.compute_signature(url, form)
            assert (await http.post("/twilio/sms", data={**form, "Body": "Sara sjuk"}, headers={
                "X-Twilio-Signature": signed})).status_code == 403
            big = await http.post("/twilio/sms", content=b"Body=" + b"x" * MAX_WEBHOOK_BODY,
                                  headers={"X-Twilio-Signature": signed,
                                           "content-type": "application/x-www-form-urlencoded"})
            assert big.status_code == 413
            update = {"update_id": 99, "message": {
                "message_id": 1, "date": 0, "chat": {"id": 7001, "type": "private"},
                "from": {"id": 7001, "is_bot": False, "first_name": "X"}, "text": "hej"}}
            assert (await http.post(WEBHOOK_PATH, json=update)).status_code == 403
            assert (await http.post(WEBHOOK_PATH, json=update, headers={
                SECRET_HEADER: "x" * 64})).status_code == 403
            [hook] = telegram.calls("setWebhook")
            secret = {SECRET_HEADER: str(hook.params["secret_token"])}
            huge = b'{"update_id": 100, "x": "' + b"y" * MAX_TELEGRAM_BODY + b'"}'
            assert (await http.post(WEBHOOK_PATH, content=huge, headers={
                **secret, "content-type": "application/json"})).status_code == 413
        with Session(db) as session:
            assert session.exec(select(AbsenceReport)).all() == []
            assert session.exec(select(InboundSeen)).all() == []
        assert twilio.unread(OMAR) == 0

        for n in range(100):
            answer = await twilio.asms_to_bot(url, from_=STRANGER, to=SCHOOL_NUMBER,
                                              body=f"hallå {n}")
            assert answer.status_code == 200
        first = await bot.sms_out(STRANGER)
        assert first.body.startswith("Det här numret")
    with Session(db) as session:
        answers = session.exec(select(OutboxMessage).where(
            col(OutboxMessage.recipient_id).is_(None))).all()
    assert len(answers) == 1
    assert twilio.unread(STRANGER) == 0
