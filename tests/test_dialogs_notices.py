"""Roll call → same-day notices on Telegram and SMS: in-process transcripts
(tests/transcript.py), the sweeps run as the scheduler would, at the moments that matter.
The commands, the quiet hours and the ticks are in tests/test_absence_notices.py.

Monday 23 November 2026 in Stockholm; the first lesson is at 08:15, so a whole-day
absence without a report becomes unexcused at 08:45.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from storage.models import AbsenceReport, Student
from tests.telegram_harness import MENTOR_PHONE
from tests.test_absence_notices import (
    BEFORE_CUTOFF,
    JOHN,
    KARI,
    LENA,
    METTE,
    OMAR,
    PRINCIPAL,
    REFERENCE,
    SCHOOL_NUMBER,
    roll_call,
    school_setting,
    states,
    tasks,
)
from tests.test_absence_notices import (
    db as db,  # the transcript roster, imported; the database, to check
)
from tests.transcript import House

AFTER_CUTOFF = "2026-11-23T08:45:05+01:00"


def test_notices_at_the_cutoff_in_each_language_and_channel(
    db: Engine, tmp_path: Path
) -> None:
    """Roll call before 08:45: at the cutoff each guardian of an absent child hears it in
    their language, on Telegram when linked and by SMS otherwise; a report given before the
    cutoff stops its notice; the mentor gets one prompt per student; answers work."""
    school_setting("mass_alert_share=1")  # four of five in 7A: not a false alarm here
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N003,absent,,,",
              "2026-11-23,N004,absent,,,", "2026-11-23,N005,absent,08:15,09:00,")
    with House.open(now=BEFORE_CUTOFF) as bot:
        bot.tick()
        lena = bot.telegram(LENA)
        lena.link()
        # Mette reports Emil before the cutoff: no notice for him.
        receipt = bot.sms(METTE).say("Emil syg i dag")
        assert receipt.startswith("Registreret: Emil fraværende")
        assert REFERENCE.search(receipt)

        bot.tick(AFTER_CUTOFF)
        on_telegram = lena.reply()
        assert on_telegram.text.startswith("Ali är inte i skolan idag, och vi har ingen "
                                           "frånvaroanmälan.")
        assert f"Skolan: {SCHOOL_NUMBER}" in on_telegram.text
        assert on_telegram.buttons == ["Ange orsaken"]
        omar = bot.sms(OMAR).reply()
        assert omar.body.startswith("Ali är inte i skolan idag")
        assert "Svara 1 för Ange orsaken" in omar.body
        kari = bot.sms(KARI).reply()
        assert kari.body.startswith("Noor er ikke på skolen i dag")
        john = bot.sms(JOHN).reply()
        assert john.body.startswith("Adam was not in the lesson at 08:15 today")
        for notice in (on_telegram.text, omar.body, kari.body, john.body):
            assert len(notice) < 320 and "sjuk" not in notice.lower()
        # Besides the three prompts, the morning summary (Emil is reported) may come.
        mentor = bot.sms(MENTOR_PHONE)
        prompts = [m.text for m in mentor.unread() if m.text.startswith("Ring hem i dag")]
        assert len(prompts) == 3
        assert any("Ali Hassan (7A)" in p and OMAR in p and LENA in p for p in prompts)
        assert all("Svara 1 för Nådde vårdnadshavaren, 2 för Inget svar" in p
                   for p in prompts)
        for _ in mentor.unread():
            mentor.reply()

        # Omar answers the notice in his own words: a report for Ali today, at once.
        receipt = bot.sms(OMAR).say("Han är sjuk")
        assert receipt.startswith("Registrerat: Ali frånvarande mån 23 nov, sjuk.")
        assert REFERENCE.search(receipt)
        # Omar's report takes the call about Ali off (the mentor is told, whenever that text
        # arrives); the mentor reached a guardian about the last prompt.
        heard = [mentor.say("1")]
        bot.tick()
        heard += [m.text for m in mentor.unread()]
        # the "1" answered the latest prompt: the answer says which student it was
        assert any(re.fullmatch(r"Noterat: \w+ \w+ \(7A\)\. Tack!", h) for h in heard), heard
        assert any(h.startswith("Du behöver inte ringa om Ali Hassan (7A)") for h in heard)
        assert len(heard) <= 4, heard

        assert bot.sms(METTE).unread() == [] and bot.sms(LENA).unread() == []
    found = states(db)
    assert found["N001"] == ["reported"] and found["N004"] == ["reported"]
    assert found["N003"] == ["unexcused"] and found["N005"] == ["unexcused"]
    calls = tasks(db, "call_home")
    assert len(calls) == 3
    assert [t.outcome for t in calls].count("reached") == 1
    with Session(db) as session:
        [ali_report] = session.exec(select(AbsenceReport).join(
            Student, col(Student.id) == AbsenceReport.student_id).where(
            Student.external_id == "N001")).all()
        assert ali_report.reason == "sick" and ali_report.channel == "sms"


def test_a_guard_holds_a_burst_until_the_principal_confirms(
    db: Engine, tmp_path: Path
) -> None:
    """Three of six in the school at once is over 40 %: nothing goes to guardians until the
    principal answers "Send them"."""
    school_setting()
    roll_call(tmp_path, "2026-11-23,N001,absent,,,", "2026-11-23,N003,absent,,,",
              "2026-11-23,N005,absent,,,")
    with House.open(now=BEFORE_CUTOFF) as bot:
        bot.tick()
        bot.tick(AFTER_CUTOFF)
        principal = bot.sms(PRINCIPAL)
        held = principal.reply()
        assert held.body.startswith(
            "Närvaron för Norrskolan skulle meddela vårdnadshavarna till 3 av 6 elever")
        assert "Svara 1 för Skicka dem" in held.body
        assert bot.sms(KARI).unread() == [] and bot.sms(JOHN).unread() == []
        assert principal.say("1").startswith("Meddelandena skickas")
        bot.tick()
        assert bot.sms(KARI).reply().body.startswith("Noor er ikke på skolen i dag")
        assert bot.sms(JOHN).reply().body.startswith("Adam is not at school today")
    [guard] = tasks(db, "confirm_notices")
    assert (guard.status, guard.outcome) == ("done", "confirmed")


def test_a_correction_after_the_notice(db: Engine, tmp_path: Path) -> None:
    """Noor was marked absent, then turned up: Kari gets a correction, the call is off."""
    school_setting()
    roll_call(tmp_path, "2026-11-23,N003,absent,,,")
    with House.open(now=BEFORE_CUTOFF) as bot:
        bot.tick()
        bot.tick(AFTER_CUTOFF)
        kari = bot.sms(KARI)
        assert kari.reply().body.startswith("Noor er ikke på skolen i dag")
        bot.sms(MENTOR_PHONE).reply()
        roll_call(tmp_path, "2026-11-23,N003,present,,,", name="fix.csv")
        bot.tick()
        correction = kari.reply()
        assert correction.body.startswith("Rettelse: Noor er registrert som til stede")
    assert states(db)["N003"] == ["withdrawn"]
    [call] = tasks(db, "call_home")
    assert (call.status, call.outcome) == ("not_needed", "corrected")
