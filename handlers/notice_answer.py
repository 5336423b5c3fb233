"""A guardian answers the same-day absence notice (sent by `scheduler.notices`): its button,
or words the day it came ("hon är sjuk", "vi vet"). A report is recorded for that day and
child; the mentor whose call is still to be made hears how the notice was answered. See
`notice_answer.mmd`."""

from __future__ import annotations

from datetime import date, timedelta

from handlers import report_dialog
from handlers.mentor_notices import notify_notice_answered
from handlers.messages import Context, Reply
from policy.choices import NoticeAnswer
from storage.attendance import NOTICE_DIALOG, record_notice_answer

#: The dialog a notice opens (its state's data: the students and the day).
DIALOG = NOTICE_DIALOG
#: Free text answers a notice only the day it came; the notice's button works as long as
#: the three-day rule lets the report count.
ANSWER_WINDOW = timedelta(hours=16)


def answer(context: Context) -> Reply | None:
    """The notice's answer: a report, a word that they know, or words for the mentor's call;
    None when the open notice's data cannot be read (the message goes on)."""
    notice = _answered(context)
    if notice is None:
        return None
    students, day = notice
    reply, how, words = report_dialog.answer_notice(
        context.session, context.person, context.students,
        "" if context.tapped else context.text, student_ids=students, day=day,
        channel=context.incoming.channel, now=context.now)
    answered = record_notice_answer(context.session, students, day, answer=how,
                                    now=context.now)
    # Words are news even when the other guardian's answer came first.
    notify_notice_answered(context.session, students if words else answered, day,
                           guardian=context.person, answer=how, now=context.now,
                           words=words, ref=context.incoming.ref)
    return reply


def _answered(context: Context) -> tuple[list[int], date] | None:
    """The students and day of the notice this message answers."""
    if isinstance(context.choice, NoticeAnswer):
        return [context.choice.student], context.choice.day
    state = context.state
    if state is None:
        return None
    try:
        return ([int(s) for s in state.data["students"]],
                date.fromisoformat(str(state.data["day"])))
    except (KeyError, ValueError, TypeError):
        return None
