"""Leave applications, done when: a guardian applies for three days, the mentor is over her
limit so the principal gets it with the national exam in the period, grants two days and
refuses one; the guardian is told; on those days the roll call marks the child absent and
no notice goes out for the granted days, one does for the refused day; the ladder counts
as the preset says. By SMS (signed Twilio webhooks in, the real twilio client out to the
fake REST server) and in Telegram with buttons (real python-telegram-bot against the fake
Bot API), each school day run by the real runtime and its scheduler's sweeps.

Monday 23 November 2026, 18:00 in Stockholm: Omar applies for Ali (7A) for Tuesday 1 to
Thursday 3 December; the school's calendar has a national exam in mathematics on
Wednesday 2 December.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.app import Runtime
from bot.cli import main
from policy.ladder import counters, load_ladder
from storage.attendance import ladder_records
from storage.db import make_engine
from storage.models import (
    Absence,
    LadderPosition,
    LeaveApplication,
    OutboxMessage,
    School,
    Student,
)
from storage.schools import school_calendar
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.rosters import write
from tests.telegram_harness import MENTOR_PHONE, Chat, import_roster, running, settled
from tests.test_sms_report import SCHOOL_NUMBER, sms_bot

OMAR, PRINCIPAL = "+46701234502", "+46701112234"
APPLICATION = "Kan Ali vara ledig 1–3 december? Vi ska på bröllop i Göteborg"
LEAVE_REF = re.compile(r"L-[A-Z0-9]{5}")
DAYS = ("2026-12-01", "2026-12-02", "2026-12-03")


def school(tmp_path: Path, policy: str) -> None:
    """The roster, the school's number and plan, and the national exam in the calendar."""
    import_roster(tmp_path)
    assert main(["school", "set", "Norrskolan", "--phone", SCHOOL_NUMBER,
                 "--policy", policy]) == 0
    assert main(["calendar", "import", write(
        tmp_path, "calendar.csv", "school,kind,name,start,end\n"
        "Norrskolan,exam,Nationellt prov i matematik,2026-12-02,2026-12-02\n")]) == 0


def roll_call(tmp_path: Path, day: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ali absent the whole day, imported through the real command at 08:20 that day."""
    monkeypatch.setenv("NARVARO_CLOCK_START", f"{day}T08:20:00+01:00")
    path = write(tmp_path, f"roll-{day}.csv", "date,student_id,status,lesson_start,"
                 f"lesson_end,minutes_late\n{day},N001,absent,,,\n")
    assert main(["attendance", "import", path]) == 0


def states(db: Engine) -> dict[date, str]:
    """Ali's absences by day."""
    with Session(db) as session:
        return dict(session.exec(select(col(Absence.day), col(Absence.state)).join(
            Student, col(Student.id) == Absence.student_id).where(
            Student.external_id == "N001")).all())


def notices(db: Engine) -> list[str]:
    """The days of the absence notices queued for Ali's guardians."""
    with Session(db) as session:
        keys = session.exec(select(OutboxMessage.dedupe_key).where(
            col(OutboxMessage.dedupe_key).startswith("absence-notice:"))).all()
    return sorted({key.split(":")[2] for key in keys})


def ali_counters(db: Engine, today: date) -> tuple[str | None, dict[str, float]]:
    """Ali's step, and his counters as his school's ladder reads them."""
    with Session(db) as session:
        ali = session.exec(select(Student).where(Student.external_id == "N001")).one()
        place = session.get(LadderPosition, ali.id)
        norrskolan = session.exec(select(School)).one()
        ladder = load_ladder(norrskolan.policy)
        records = ladder_records(session, [ali.id or 0], date(2026, 8, 1), today)[ali.id or 0]
        found = counters(records, school_calendar(session, norrskolan), today,
                         counting=ladder.counting)
    return (place.step_id if place else None), found


@asynccontextmanager
async def morning(env: dict[str, str], day: str) -> AsyncIterator[Runtime]:
    """The runtime on `day` from the roll call's cutoff (08:45): its first sweeps decide
    the day's notices, so what has not gone out once it has `settled` never goes out."""
    async with running({**env, "NARVARO_CLOCK_START": f"{day}T08:45:00+01:00",
                        "NARVARO_SWEEP_INTERVAL_SECONDS": "0.3"}) as runtime:
        yield runtime


async def test_leave_by_sms(
    twilio: FakeTwilio, narvaro_env: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Omar applies by SMS; Rut, the principal, decides by numbered answers: days one by
    one, the exam day refused with a chosen reason; Omar hears it. Ljusnarsberg's plan
    does not count granted leave: Ali is on step s1 for one unexcused occasion, and the
    granted days are no absence for the ladder."""
    school(tmp_path, "ljusnarsberg")
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T18:00:00+01:00")
    db = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    async with sms_bot(twilio, NARVARO_SWEEP_INTERVAL_SECONDS="0.3") as bot:
        omar, rut = bot.phone(OMAR), bot.phone(PRINCIPAL)
        receipt = await omar.say(APPLICATION)
        reference = LEAVE_REF.search(receipt)
        assert reference is not None, receipt
        ref = reference.group()
        assert receipt == (f"Ansökan skickad: ledighet för Ali, tis 1 dec. - tors 3 dec (3 "
                           f"skoldagar). Ref. {ref}. Skolan svarar dig här.\n"
                           "Svara 1 för Återkalla ansökan.")
        offered = (await rut.reply()).body
        assert offered.startswith(
            f"Ledighetsansökan {ref}: Ali Hassan (7A), tis 1 dec. - tors 3 dec (3 skoldagar).")
        # (SMS writes quotes and dashes in the GSM alphabet)
        assert f'Från Omar Hassan: "{APPLICATION.replace("–", "-")}"' in offered
        assert "Frånvaro denna termin: 0 dagar (0 ogiltig, 0 beviljad ledighet)." in offered
        assert "Under perioden: Nationellt prov: Nationellt prov i matematik (ons 2 dec)" \
            in offered
        assert offered.endswith(
            "Svara 1 för Bevilja, 2 för Avslå, 3 för Välj dagar, 4 för Ställ en fråga.")
        day_one = await rut.say("3")
        assert day_one.startswith(f"{ref}: ledighet tis 1 dec? (1 av 3)")
        assert day_one.endswith(
            "Svara 1 för Bevilja, 2 för Avslå, 3 för Bevilja resten, 4 för Avslå resten.")
        day_two = await rut.say("1")
        assert day_two.startswith(f"{ref}: ledighet ons 2 dec? (2 av 3)\n"
                                  "Nationellt prov: Nationellt prov i matematik (ons 2 dec)")
        day_three = await rut.say("2")
        assert day_three.startswith(f"{ref}: ledighet tors 3 dec? (3 av 3)")
        assert day_three.endswith("Svara 1 för Bevilja, 2 för Avslå.")
        why = await rut.say("1")
        assert why.startswith("Varför avslås den? Välj, eller skriv ett kort skäl")
        assert "1 för Nationella prov under perioden" in why
        done = await rut.say("1")
        assert done == (f"Beslutat, {ref} (Ali Hassan (7A)): beviljat: tis 1 dec., tors 3 "
                        "dec; avslaget: ons 2 dec. Vårdnadshavaren har fått besked.")
        told = (await omar.reply()).body
        assert told == ("Ledighet beviljad för Ali: tis 1 dec., tors 3 dec.\n"
                        "Ledighet inte beviljad för Ali: ons 2 dec. Frånvaro de dagarna blir "
                        "ogiltig.\nSkäl: Nationella prov under perioden\n"
                        f"Ref. {ref}.")
        assert "bröllop" not in told
        await settled(bot.runtime)
        assert twilio.unread(MENTOR_PHONE) == 0  # the mentor is over her limit: not asked
    sms = {"NARVARO_PUBLIC_URL": bot.public_url,
           "NARVARO_TWILIO_ACCOUNT_SID": twilio.account_sid,
           "NARVARO_TWILIO_AUTH_TOKEN": twilio.auth_token, "NARVARO_TWILIO_FROM": SCHOOL_NUMBER,
           "NARVARO_TWILIO_API_URL": twilio.base_url}
    for day in DAYS:
        roll_call(tmp_path, day, monkeypatch)
        async with morning(sms, day) as runtime:
            if day == "2026-12-02":
                notice = await twilio.next_message(OMAR, timeout=30)
                assert notice.body.startswith("Ali är inte i skolan idag, och vi har ingen "
                                              "frånvaroanmälan.")
            await settled(runtime)
        assert twilio.unread(OMAR) == 0, day
    assert notices(db) == ["2026-12-02"]
    assert states(db) == {date(2026, 12, 1): "leave", date(2026, 12, 2): "unexcused",
                          date(2026, 12, 3): "leave"}
    step, found = ali_counters(db, date(2026, 12, 3))
    assert step == "s1"
    assert (found["unexcused_occasions"], found["absence_occasions"]) == (1, 1)
    assert found["continuous_days"] == 0  # 3 December is granted leave: not absence here
    with Session(db) as session:
        [application] = session.exec(select(LeaveApplication)).all()
        assert (application.channel, application.status, application.refusal) == (
            "sms", "decided", "exam")
    db.dispose()


async def test_leave_in_telegram_with_buttons(
    telegram: FakeTelegram, narvaro_env: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same in Telegram: Omar and Rut tap buttons. Bengtsfors' plan counts all
    absence: the granted days are absence (one occasion of three days) but never
    unexcused."""
    school(tmp_path, "bengtsfors")
    monkeypatch.setenv("NARVARO_CLOCK_START", "2026-11-23T18:00:00+01:00")
    db = make_engine(narvaro_env["NARVARO_DATABASE_URL"])
    env = {"NARVARO_TELEGRAM_TOKEN": telegram.token,
           "NARVARO_TELEGRAM_API_URL": telegram.base_url}
    async with running({**env, "NARVARO_SWEEP_INTERVAL_SECONDS": "0.3"}) as runtime:
        omar = Chat(telegram, telegram.add_user(7101, "Omar", language_code="sv"), 7101)
        rut = Chat(telegram, telegram.add_user(7102, "Rut", language_code="sv"), 7102)
        welcome = await omar.link(OMAR)
        assert "Ansök om ledighet" in welcome.buttons
        await rut.link(PRINCIPAL)
        which = await omar.tap("Ansök om ledighet")  # one child: no need to ask whom
        assert which.text.startswith("Vilka dagar ansöker du om ledighet för Ali?")
        why = await omar.say("1/12–3/12")
        assert why.text.startswith("Varför? Skriv det med några ord.")
        receipt = await omar.say("Vi ska på bröllop i Göteborg")
        reference = LEAVE_REF.search(receipt.text)
        assert reference is not None, receipt.text
        ref = reference.group()
        offered = await rut.reply()
        assert offered.text.startswith(f"Ledighetsansökan {ref}: Ali Hassan (7A)")
        assert "Nationellt prov i matematik (ons 2 dec)" in offered.text
        assert offered.buttons == ["Bevilja", "Avslå", "Välj dagar", "Ställ en fråga"]
        first = await rut.tap("Välj dagar")
        assert first.buttons == ["Bevilja", "Avslå", "Bevilja resten", "Avslå resten"]
        second = await rut.tap("Bevilja")
        assert "Nationellt prov" in second.text
        await rut.tap("Avslå")
        why = await rut.tap("Bevilja")
        assert why.buttons == ["Nationella prov under perioden", "Prov under perioden",
                               "För mycket frånvaro denna termin"]
        done = await rut.say("Provet kan inte göras en annan dag")
        assert done.text.startswith(f"Beslutat, {ref}")
        told = await omar.reply()
        assert told.text == ("Ledighet beviljad för Ali: tis 1 dec., tors 3 dec.\n"
                             "Ledighet inte beviljad för Ali: ons 2 dec. Frånvaro de dagarna "
                             "blir ogiltig.\nSkäl: Provet kan inte göras en annan dag\n"
                             f"Ref. {ref}.")
        await settled(runtime)
    for day in DAYS:
        roll_call(tmp_path, day, monkeypatch)
        async with morning(env, day) as runtime:
            if day == "2026-12-02":
                notice = await omar.reply()
                assert notice.text.startswith("Ali är inte i skolan idag")
                assert notice.buttons == ["Ange orsaken"]
            await settled(runtime)
        assert not telegram.unread(omar.chat_id), day
    assert notices(db) == ["2026-12-02"]
    assert states(db) == {date(2026, 12, 1): "leave", date(2026, 12, 2): "unexcused",
                          date(2026, 12, 3): "leave"}
    step, found = ali_counters(db, date(2026, 12, 3))
    assert step == "s1"
    assert (found["unexcused_occasions"], found["absence_occasions"]) == (1, 1)
    assert found["continuous_days"] == 3  # granted leave is absence in this plan
    assert found["continuous_reported_days"] == 0  # but no report from a guardian
    db.dispose()

