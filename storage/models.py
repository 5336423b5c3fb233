"""SQLModel tables: the whole of Närvaro's state.

People are one table (`person`): a guardian, a student and a staff member are
people in different roles, so one phone number links one chat whoever it
belongs to (a teacher may also be a guardian). Instants are UTC
(`UTCDateTime`); school days are plain dates in the school's time zone.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def _instant(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


class School(SQLModel, table=True):
    """A school, with its country (for holidays), time zone, plan and settings."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    country: str = Field(max_length=2)
    timezone: str = Field(max_length=64)
    language: str = Field(max_length=16)
    policy: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _instant()
    #: Set anew by the database whenever a student joins, leaves or moves, or a student's
    #: name changes (migration 0020's triggers): names kept by school and revision are
    #: current. Random, so that no two databases share one by chance.
    revision: int = Field(default_factory=lambda: secrets.randbits(62), sa_type=BigInteger,
                          sa_column_kwargs={"server_default": "0"})


class CalendarPeriod(SQLModel, table=True):
    """A term (school days fall inside terms) or a break (no school), inclusive dates."""

    __tablename__ = "calendar_period"
    __table_args__ = (UniqueConstraint("school_id", "kind", "start"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    kind: str = Field(max_length=8)  # "term" | "break"
    name: str = Field(default="", max_length=100)
    start: date
    end: date


class SchoolClass(SQLModel, table=True):
    """A class (group of students) in a school."""

    __tablename__ = "school_class"
    __table_args__ = (UniqueConstraint("school_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    name: str = Field(max_length=100)


class Person(SQLModel, table=True):
    """Anyone Närvaro talks to: guardian, student or staff. Phone in E.164."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, unique=True, max_length=20)
    language: str = Field(max_length=16)
    telegram_chat_id: int | None = Field(
        default=None, sa_type=BigInteger, unique=True, nullable=True
    )
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger, nullable=True)
    #: Set when Telegram refused delivery (the person blocked the bot); cleared when they write.
    telegram_blocked_at: datetime | None = _instant(nullable=True)
    sms_opted_out_at: datetime | None = _instant(nullable=True)
    #: Set when the carrier could not deliver to the number (Twilio 30003, 30005, …).
    sms_unreachable_at: datetime | None = _instant(nullable=True)
    created_at: datetime = _instant()
    updated_at: datetime = _instant()


class Student(SQLModel, table=True):
    """A student: a person in a class, known by the school's own student id."""

    __table_args__ = (UniqueConstraint("school_id", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    class_id: int = Field(foreign_key="school_class.id", index=True)
    external_id: str = Field(max_length=64)
    person_id: int = Field(foreign_key="person.id", unique=True)
    adult: bool = False
    #: A guardian has asked that the school sends this (minor) student no messages of its own
    #: (a return plan's morning check-in); the guardians still hear everything.
    messages_off: bool = False
    #: Protected identity: no school name or address in any message, and staff see the
    #: student by id until they open the record on purpose.
    protected: bool = False


class Guardianship(SQLModel, table=True):
    """Links a student to one of their guardians."""

    student_id: int = Field(foreign_key="student.id", primary_key=True)
    guardian_id: int = Field(foreign_key="person.id", primary_key=True, index=True)


class StaffRole(SQLModel, table=True):
    """A person's role at a school: mentor, principal, nurse, counsellor or coordinator."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("school_id", "person_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    role: str = Field(max_length=16)


class MentorLink(SQLModel, table=True):
    """Links a student to their mentor (contact teacher)."""

    __tablename__ = "mentor_link"

    student_id: int = Field(foreign_key="student.id", primary_key=True)
    mentor_id: int = Field(foreign_key="person.id", primary_key=True, index=True)


class Absence(SQLModel, table=True):
    """A roll-call record: absent a whole day or a lesson, or late by some minutes.

    `slot` is "day" for a whole day, else the lesson start "HH:MM"; one record per
    student, day and slot.
    """

    __table_args__ = (
        UniqueConstraint("student_id", "day", "slot"),
        Index("ix_absence_day_state", "day", "state"),
        # the ladder sweep reads what changed since it last looked
        Index("ix_absence_updated_at", "updated_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    day: date
    slot: str = Field(max_length=5)
    lesson_start: time | None = None
    lesson_end: time | None = None
    kind: str = Field(max_length=8)  # "absent" | "late"
    minutes_late: int | None = None
    state: str = Field(default="open", max_length=12)  # open|reported|unexcused|withdrawn
    source: str = Field(max_length=12)  # import|api|roll
    recorded_at: datetime = _instant()
    updated_at: datetime = _instant()
    #: When the guardians' same-day notice covering this absence was queued (None: not).
    notified_at: datetime | None = _instant(nullable=True)
    #: When a guardian first answered that notice, and how: "known" (they know of the
    #: absence: a reason, "OK", "he is at home") or "replied" (words that are no report,
    #: which the mentor should hear in the call). A report closes the call instead.
    answered_at: datetime | None = _instant(nullable=True)
    answer: str | None = Field(default=None, max_length=8)


class LadderPosition(SQLModel, table=True):
    """Where a student is on their school's escalation ladder (none: not on it)."""

    __tablename__ = "ladder_position"

    student_id: int = Field(foreign_key="student.id", primary_key=True)
    step_id: str | None = Field(default=None, max_length=32)
    level: int = 0
    entered_at: datetime | None = _instant(nullable=True)
    #: When the counters were last read (only students with newer roll call are read again).
    evaluated_at: datetime = _instant()
    #: The first day of the period (term or school year) the position belongs to: a new
    #: period starts from no step.
    period_start: date | None = None
    #: The first school day the counters were below the step while it holds (its cause is
    #: gone, not yet long enough to leave it).
    below_since: date | None = None


class RollCall(SQLModel, table=True):
    """That a class's roll call for a day has been taken (by import, the API or in chat)."""

    __tablename__ = "roll_call"
    __table_args__ = (UniqueConstraint("class_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    class_id: int = Field(foreign_key="school_class.id", index=True)
    day: date
    source: str = Field(max_length=12)  # import|api|roll
    taken_by: int | None = Field(default=None, foreign_key="person.id")
    taken_at: datetime = _instant()


class AbsenceReport(SQLModel, table=True):
    """A report from a guardian (or adult student): which days, and a reason category."""

    __tablename__ = "absence_report"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=12)
    student_id: int = Field(foreign_key="student.id", index=True)
    reporter_id: int = Field(foreign_key="person.id")
    channel: str = Field(max_length=12)
    reported_at: datetime = _instant()
    first_day: date
    last_day: date
    part_start: time | None = None
    part_end: time | None = None
    reason: str = Field(max_length=12)  # sick|medical|family|other|none
    note: str | None = Field(default=None, max_length=200)
    on_time: bool = True
    #: School days asked for after their deadline (ISO dates): kept, but they excuse nothing.
    late_days: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cancelled_at: datetime | None = _instant(nullable=True)

    def on_time_for(self, day: date) -> bool:
        """Whether this report excuses `day` (it was given within that day's deadline)."""
        return day.isoformat() not in self.late_days


class Concern(SQLModel, table=True):
    """Staff are concerned about a student: the plans' "bekymring", which moves the ladders
    that wait on it (Lyngen, Denmark). Who raised and closed it; no note is kept here."""

    __tablename__ = "concern"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    raised_by: int | None = Field(default=None, foreign_key="person.id")
    raised_at: datetime = _instant()
    closed_by: int | None = Field(default=None, foreign_key="person.id")
    closed_at: datetime | None = _instant(nullable=True)


class StaffTask(SQLModel, table=True):
    """Something a staff member must do (call home, hold a meeting), with a due time."""

    __tablename__ = "staff_task"
    __table_args__ = (Index("ix_staff_task_status_due", "status", "due_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    school_id: int = Field(foreign_key="school.id", index=True)
    student_id: int | None = Field(default=None, foreign_key="student.id", index=True)
    assignee_id: int = Field(foreign_key="person.id", index=True)
    kind: str = Field(max_length=32)
    status: str = Field(default="open", max_length=12)  # open|done|snoozed|not_needed
    outcome: str | None = Field(default=None, max_length=32)
    due_at: datetime = _instant()
    remind_at: datetime | None = _instant(nullable=True)
    created_at: datetime = _instant()
    done_at: datetime | None = _instant(nullable=True)


class ReturnPlan(SQLModel, table=True):
    """A student's return plan: morning messages on school days until it ends."""

    __tablename__ = "return_plan"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    mentor_id: int | None = Field(default=None, foreign_key="person.id")
    starts_on: date
    ends_on: date | None = None
    followup_on: date | None = None
    morning_time: time = time(7, 15)
    status: str = Field(default="active", max_length=12)  # active|ended
    created_at: datetime = _instant()
    #: Who hears at once when the student needs help or stays silent (default the mentor).
    trusted_adult_id: int | None = Field(default=None, foreign_key="person.id")
    #: The day's goal, said in the morning message ("only the first two lessons this week").
    goal: str | None = Field(default=None, max_length=200)
    #: The weekdays it runs on, ISO numbers ("12345": Monday to Friday, school days only).
    weekdays: str = Field(default="12345", max_length=7)
    #: Whether the guardians hear each day how the check-in went.
    guardian_note: bool = False
    #: By when an answer is expected (None: 30 minutes before the school's first lesson).
    answer_by: time | None = None


class PlanEncouragement(SQLModel, table=True):
    """A morning text the mentor wrote for one plan, sent in turn with the built-in ones."""

    __tablename__ = "plan_encouragement"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="return_plan.id", index=True)
    text: str = Field(max_length=200)
    added_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _instant()


class PlanCheckIn(SQLModel, table=True):
    """One school day of a return plan: the morning message sent, and the student's answer."""

    __tablename__ = "plan_check_in"
    __table_args__ = (UniqueConstraint("plan_id", "day"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="return_plan.id", index=True)
    day: date
    #: Which encouragement went out (never the same two days in a row).
    message: int = 0
    sent_at: datetime = _instant()
    answer: str | None = Field(default=None, max_length=12)  # coming|later|help|not_today
    answered_at: datetime | None = _instant(nullable=True)
    #: When the trusted adult was told (an alarming answer, or none in time).
    alerted_at: datetime | None = _instant(nullable=True)


class OutboxMessage(SQLModel, table=True):
    """One outbound message, rendered in the recipient's language, sent by the dispatcher."""

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_status_due", "status", "not_before"),
                      Index("ix_outbox_student_day", "student_id", "day"))

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    #: None for a sender not in the roster; `address` then says where to answer.
    recipient_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    address: str | None = Field(default=None, max_length=32)
    channel: str = Field(max_length=12)  # telegram|sms|webchat|console|auto
    language: str = Field(max_length=16)
    text: str
    choices: list[dict[str, str]] | None = Field(default=None, sa_column=Column(JSON))
    #: pending, sending, sent, delivered, failed, withdrawn, or maybe_sent (the provider
    #: may have it: a timeout after the request went out; not sent again, reported).
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    not_before: datetime = _instant()
    created_at: datetime = _instant()
    sent_at: datetime | None = _instant(nullable=True)
    delivered_at: datetime | None = _instant(nullable=True)
    provider_ref: str | None = Field(default=None, max_length=64, index=True)
    #: The provider's final word on delivery (Twilio: delivered, undelivered, failed).
    provider_status: str | None = Field(default=None, max_length=16)
    error_code: str | None = Field(default=None, max_length=16)
    last_error: str | None = Field(default=None, max_length=200)
    #: 0 for an answer in a conversation (sent before anything else waiting), 1 otherwise.
    priority: int = 1
    #: The claim's lease: a `sending` row whose worker stopped renewing it is taken over.
    claimed_at: datetime | None = _instant(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=64)
    #: A picture that goes with the text where the channel shows pictures (Telegram): a
    #: chart described as data (`{"chart": …}`, drawn by bot.charts when sent).
    attachment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    #: What the message is about, so nothing reads it out of the dedupe key: its kind
    #: (storage.outbox.Kind), and the student, the school day and the staff task it
    #: concerns, where it concerns one (plain ids: a message outlives neither's row).
    kind: str | None = Field(default=None, max_length=16)
    student_id: int | None = None
    day: date | None = None
    task_id: int | None = Field(default=None, index=True)


class ConversationState(SQLModel, table=True):
    """Where a person is in a dialog, kept in the database so a late reply still works."""

    __tablename__ = "conversation_state"

    person_id: int = Field(foreign_key="person.id", primary_key=True)
    dialog: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _instant()


class InboundSeen(SQLModel, table=True):
    """An inbound message already handled (Telegram update_id, Twilio MessageSid…)."""

    __tablename__ = "inbound_seen"

    channel: str = Field(max_length=12, primary_key=True)
    ref: str = Field(max_length=64, primary_key=True)
    at: datetime = _instant(index=True)


class WebSession(SQLModel, table=True):
    """A staff member signed in to the web chat or the overview. The cookie holds a random
    token; only its SHA-256 is stored. Sign-out, a roster change that takes a role away, and
    forgetting the person delete the row, which ends the session at once."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = _instant()
    expires_at: datetime = _instant(index=True)


class IntakeMessage(SQLModel, table=True):
    """An inbound message stored before anything else is done with it, deleted once handled.

    On PostgreSQL it is a table of the database; on SQLite it lives in a small file of its
    own beside the database (`storage.intake`), so that storing a text never waits for a
    long write (a roster import) to the database.
    """

    __tablename__ = "intake_message"
    __table_args__ = (UniqueConstraint("channel", "ref"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=12)
    ref: str = Field(max_length=64)
    sender: str = Field(max_length=64)
    body: str = Field(sa_type=Text)
    #: The worker that stored it handles it; others take over rows left too long.
    worker: str = Field(max_length=64)
    received_at: datetime = _instant()
    #: Failed attempts to handle it (a locked or unreachable database does not count).
    attempts: int = 0


class AuditLog(SQLModel, table=True):
    """Who did what, when. Ids only: never names, phone numbers or reasons."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _instant(index=True)
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: The student the row is about (None: none, or several, as an import).
    student_id: int | None = Field(default=None, index=True)


class ConcernNote(SQLModel, table=True):
    """What someone said when raising a concern: staff's signals and note, or a guardian's
    own words. Health-sensitive: shown only to the student's mentors and the staff on the
    case, never logged."""

    __tablename__ = "concern_note"

    id: int | None = Field(default=None, primary_key=True)
    concern_id: int = Field(foreign_key="concern.id", index=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    raised_by: int | None = Field(default=None, foreign_key="person.id")
    #: Who raised it: staff, or a guardian.
    source: str = Field(default="staff", max_length=12)
    #: The warning signals staff saw (keys of policy.concerns.SIGNALS).
    signals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, max_length=500)
    at: datetime = _instant()


class CauseMapping(SQLModel, table=True):
    """Lyngen's cause mapping ("årsakskartlegging") by chat: seven areas, each answered 0–4
    (0 %–100 %) by the student, or a young child's guardian, one area per message."""

    __tablename__ = "cause_mapping"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    respondent_id: int = Field(foreign_key="person.id", index=True)
    sent_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _instant()
    #: Area key -> 0..4, filled as the answers come.
    answers: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    finished_at: datetime | None = _instant(nullable=True)


class ActionPlan(SQLModel, table=True):
    """The measures agreed in a meeting (Lyngen's "Tiltaksplan", Bengtsfors' "plan för ökad
    närvaro"), evaluated after two weeks: working, or not."""

    __tablename__ = "action_plan"

    id: int | None = Field(default=None, primary_key=True)
    student_id: int = Field(foreign_key="student.id", index=True)
    created_by: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = _instant()
    starts_on: date
    evaluate_on: date
    status: str = Field(default="active", max_length=12)  # active|working|not_working


class Measure(SQLModel, table=True):
    """One measure of an action plan: what, who, by when; at the level of who owns it
    (student, home, school, health)."""

    __tablename__ = "measure"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="action_plan.id", index=True)
    level: str = Field(max_length=12)
    what: str = Field(max_length=200)
    owner_id: int = Field(foreign_key="person.id")
    due_on: date
    reminded_at: datetime | None = _instant(nullable=True)


class ConnectorState(SQLModel, table=True):
    """A school-system connector's sync state: where its change feeds stand, and how the
    last sync went (shown by /healthz: times, counts and errors, never personal data)."""

    __tablename__ = "connector_state"

    name: str = Field(primary_key=True, max_length=32)
    #: Per feed, the school system's own time of the last complete read (its clock, not ours).
    cursor: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    last_attempt_at: datetime | None = _instant(nullable=True)
    last_success_at: datetime | None = _instant(nullable=True)
    last_error: str | None = Field(default=None, max_length=300)
    last_counts: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: The school system's webhook subscription: its id and expiry.
    subscription: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False))


class ConnectorRecord(SQLModel, table=True):
    """One entity of a school system as last read (a person, group, duty, attendance…): the
    copy an incremental sync rebuilds the roster from."""

    __tablename__ = "connector_record"

    connector: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ConnectorLink(SQLModel, table=True):
    """Which of our rows (a person, a school) an entity of a school system is."""

    __tablename__ = "connector_link"
    __table_args__ = (Index("ix_connector_link_local", "connector", "kind", "local_id"),)

    connector: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=32)
    external_id: str = Field(primary_key=True, max_length=64)
    local_id: int


class ConnectorOutbox(SQLModel, table=True):
    """A guardian's report on its way to a school system, written with the report itself:
    retried until it is there, never lost, never sent twice (checked before a retry)."""

    __tablename__ = "connector_outbox"
    __table_args__ = (Index("ix_connector_outbox_status_due", "connector", "status",
                            "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    connector: str = Field(max_length=32)
    dedupe_key: str = Field(unique=True, max_length=200)
    #: The report on its way, or (`leave_day_id`) a day of granted leave (`Beviljad
    #: ledighet`): one of the two.
    report_id: int | None = Field(default=None, foreign_key="absence_report.id", index=True)
    leave_day_id: int | None = Field(default=None, foreign_key="leave_day.id", index=True)
    #: pending, sent, withdrawn (cancelled before it went), failed (refused for good), or
    #: to_correct (cancelled after it went: the school system has no delete).
    status: str = Field(default="pending", max_length=12)
    attempts: int = 0
    not_before: datetime = _instant()
    created_at: datetime = _instant()
    sent_at: datetime | None = _instant(nullable=True)
    #: The school system's id of what we wrote.
    remote_id: str | None = Field(default=None, max_length=64)
    last_error: str | None = Field(default=None, max_length=200)


class LeaveApplication(SQLModel, table=True):
    """A guardian's (or an adult student's) application for leave for one student: which
    days (or hours of a day), the applicant's own words, and the school's decision. Its
    school days are `leave_day` rows, each granted or refused on its own."""

    __tablename__ = "leave_application"

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(unique=True, max_length=12)
    student_id: int = Field(foreign_key="student.id", index=True)
    applicant_id: int = Field(foreign_key="person.id", index=True)
    channel: str = Field(max_length=12)
    applied_at: datetime = _instant()
    first_day: date
    last_day: date
    part_start: time | None = None
    part_end: time | None = None
    #: Why, in the applicant's words: shown only to those who decide, purged like a report's
    #: note.
    note: str | None = Field(default=None, max_length=300)
    status: str = Field(default="pending", max_length=12)  # pending|decided|withdrawn
    #: Who is to decide now, and as what ("mentor" or "principal").
    decider_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    decider_role: str = Field(default="principal", max_length=16)
    escalated_at: datetime | None = _instant(nullable=True)
    decided_by: int | None = Field(default=None, foreign_key="person.id")
    decided_at: datetime | None = _instant(nullable=True)
    #: Why days were refused: a key of policy.leave.REFUSALS, and the decider's own words.
    refusal: str | None = Field(default=None, max_length=16)
    refusal_note: str | None = Field(default=None, max_length=200)


class LeaveDay(SQLModel, table=True):
    """One school day of a leave application: pending, granted or refused."""

    __tablename__ = "leave_day"
    __table_args__ = (UniqueConstraint("application_id", "day"),
                      Index("ix_leave_day_student_day", "student_id", "day"))

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="leave_application.id", index=True)
    student_id: int = Field(foreign_key="student.id")
    day: date
    decision: str = Field(default="pending", max_length=8)  # pending|granted|refused
