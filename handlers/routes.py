"""Which handler answers a message: one table, read top to bottom (`handlers.router`).

The order, and why (drawn in `routes.mmd`):

1. The chat was just linked: the welcome.
2. Cancel (the button, or "avbryt" / "cancel" written): ends any dialog; right after a
   receipt it takes the report back.
3. A task's buttons (done, call outcomes, meetings, hand-over, the held burst of notices):
   they work whenever they are tapped.
4. `/start`: the greeting, any dialog closed.
4a. A student whose return plan's morning message went out today: their words answer it
   (a button's label or number) or reach the trusted adult at once, before anything else
   reads them ("hjälp" is the check-in's "I need help", not the school's number); a
   greeting or thanks, and an adult student's absence report, go on down.
5. A day written for a meeting being booked (asked within 30 minutes).
6. Language: `/language`, the menu's entry, a pick, the word "language"; while the list
   is open a language's name; anything else closes the list and goes on down.
7. Roll call (staff): `/roll`, the menu's entry, its buttons, words while it is open.
8. Help words; `/tasks` (staff).
9. Staff dialogs, each command, buttons, then the words of its open dialog: action plan,
   cause mapping, return plan (its buttons for anyone: the student's check-in, a
   guardian's say; then a setting asked for within the hour), concern, `/student`.
10. Leave applications (anyone: `handlers.leave.act` checks that a decision's tapper
    decides it or is a principal): the child picks and the decider's buttons; then the
    words of an open leave dialog, unless a guardian asked a question writes that a
    child is sick (the question is closed and the words go on to be a report).
11. Whoever does not report absence gets the menu from here on.
12. A guardian's reports (`/reports`, cancel one), a receipt's undo and note, the undo
    word, a new report (`/report`, the menu), a worry (the menu, a child picked, the
    words asked for, or refusal or bullying said in plain words outside another dialog),
    leave (`/leave`, the menu; withdrawing one: the receipt's button, `/withdraw`, a reference
    with a word that takes it back, also while a leave question is open; words that ask
    for leave, after a worry), the menu's other entries.
13. An absence notice's answer (its button; words the day it came).
14. Yes or no to cancelling a report; anything else closes that question.
15. The next answer in an open report.
16. A button from a finished conversation, or a greeting: the greeting.
17. Words that report an absence start a report; anything else: thanks, help or the
    greeting.
"""

from __future__ import annotations

from handlers import (
    action_plan,
    cause_mapping,
    concern,
    conversation,
    language,
    leave,
    meeting_booking,
    mentor_notices,
    menu,
    my_reports,
    notice_answer,
    plan_consent,
    plan_settings,
    report_dialog,
    return_plan,
    roll_call,
    student_view,
    task_actions,
    worry,
)
from handlers.router import (
    ANYTHING,
    LINKED,
    PLAIN,
    STAFF_MEMBER,
    TAP,
    TEXT,
    Role,
    Route,
    choice,
    command,
    dialog,
    said,
    when,
)
from policy import choices as c
from policy.freetext import is_cancel, is_undo
from policy.leave import is_leave_request, withdrawal_reference

STAFF, REPORTER = Role.STAFF, Role.REPORTER


def is_withdrawal(text: str) -> bool:
    """Words that take a leave application back, with its reference ("återkalla L-7K3QF")."""
    return withdrawal_reference(text) is not None

ROUTES = (
    Route(LINKED, conversation.welcome),
    Route(choice(c.Cancel) | TEXT & said(is_cancel), conversation.cancel),
    Route(choice(c.TaskDone), mentor_notices.done),
    Route(choice(*task_actions.KINDS), task_actions.act),
    Route(command(conversation.START), conversation.restart),
    Route(PLAIN & when(return_plan.writes_to_check_in), return_plan.answer_in_words),
    Route(PLAIN & dialog(meeting_booking.DIALOG, within=meeting_booking.ANSWER_WINDOW),
          meeting_booking.answer),
    Route(command(language.COMMAND) | choice(c.MENU_LANGUAGE, c.LanguagePick)
          | TEXT & said(language.asks_for_list), language.handle),
    Route(PLAIN & dialog(language.DIALOG) & said(language.names_one), language.handle),
    Route(dialog(language.DIALOG), language.leave),
    Route(command(roll_call.COMMAND) | choice(c.MENU_ROLL, c.RollClass, c.RollMark, c.RollSend)
          | PLAIN & dialog(roll_call.DIALOG), roll_call.handle, STAFF),
    Route(TEXT & said(menu.is_help), menu.show_help),
    Route(command(menu.TASKS_COMMAND) & STAFF_MEMBER, menu.show_tasks),
    Route(command(action_plan.COMMAND), action_plan.start, STAFF),
    Route(choice(*action_plan.KINDS), action_plan.act, STAFF),
    Route(PLAIN & dialog(action_plan.DIALOG) & STAFF_MEMBER, action_plan.write),
    Route(choice(c.MappingAnswer), cause_mapping.answer),
    Route(command(cause_mapping.COMMAND), cause_mapping.handle, STAFF),
    Route(choice(c.CheckIn), return_plan.answer),
    Route(choice(c.PlanOff, c.PlanOn), plan_consent.act),
    Route(choice(*plan_settings.KINDS), plan_settings.act),
    Route(choice(c.PlanEnd, c.PlanExtend), return_plan.act),
    Route(command(return_plan.COMMAND), return_plan.handle),
    Route(PLAIN & dialog(plan_settings.DIALOG, within=plan_settings.ANSWER_WINDOW),
          plan_settings.write),
    Route(command(concern.COMMAND), concern.handle, STAFF),
    Route(choice(*concern.KINDS), concern.act, STAFF),
    Route(PLAIN & dialog(concern.DIALOG) & STAFF_MEMBER, concern.write),
    Route(command(student_view.COMMAND), student_view.show, STAFF),
    Route(choice(c.LeaveChild, c.LeaveAllChildren, c.LeaveDecision), leave.act),
    Route(PLAIN & dialog(leave.DIALOG) & when(leave.claims_text), leave.advance),
    # Whoever lacks REPORTER from here on gets the menu (`menu.answer`).
    Route(choice(c.MENU_REPORTS) | command(my_reports.COMMAND), my_reports.list_reports,
          REPORTER),
    Route(choice(c.ReportCancel), my_reports.ask_cancel, REPORTER),
    Route(choice(c.ReportConfirmCancel), my_reports.confirm_cancel, REPORTER),
    Route(choice(c.ReportKeep), my_reports.keep, REPORTER),
    Route(choice(c.Undo, c.AddNote), report_dialog.act, REPORTER),
    Route(TEXT & said(is_undo), report_dialog.undo_word, REPORTER),
    Route(choice(c.MENU_REPORT) | command(report_dialog.COMMAND), report_dialog.begin,
          REPORTER),
    Route(choice(c.MENU_LEAVE) | command(leave.COMMAND), leave.begin, REPORTER),
    Route(choice(c.LeaveWithdraw) | command(leave.WITHDRAW_COMMAND)
          | TEXT & said(is_withdrawal), leave.withdraw, REPORTER),
    Route(choice(c.MENU_WORRY, c.WorryChild), worry.act, REPORTER),
    Route(TEXT & when(worry.is_worry), worry.write, REPORTER),
    Route(TEXT & said(is_leave_request), leave.start_from_text, REPORTER),
    Route(choice(c.Menu), menu.answer, REPORTER),
    Route(choice(c.NoticeAnswer) | TEXT & dialog(notice_answer.DIALOG,
                                                 within=notice_answer.ANSWER_WINDOW),
          notice_answer.answer, REPORTER),
    Route(TEXT & dialog(my_reports.DIALOG), my_reports.yes_or_no, REPORTER),
    Route(dialog(report_dialog.DIALOG), report_dialog.advance, REPORTER),
    Route(TAP | TEXT & said(menu.is_greeting), menu.greet, REPORTER),
    Route(ANYTHING, report_dialog.start_from, REPORTER),
    Route(ANYTHING, conversation.not_a_report, REPORTER),
)
