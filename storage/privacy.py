"""A person's data: everything stored about them and their children (GDPR access), forgetting
someone who has left, and purging report notes and message texts past their retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, null, update
from sqlmodel import Session, col, or_, select

from policy.calendar import DateRange
from policy.retention import DEFAULT_GRACE_DAYS, note_kept_until, texts_kept_from
from storage.audit import audit
from storage.models import (
    Absence,
    AbsenceReport,
    AuditLog,
    CalendarPeriod,
    CauseMapping,
    ConcernNote,
    ConnectorLink,
    ConnectorRecord,
    ConversationState,
    Guardianship,
    InboundSeen,
    LeaveApplication,
    LeaveDay,
    Measure,
    MentorLink,
    OutboxMessage,
    Person,
    PlanCheckIn,
    PlanEncouragement,
    ReturnPlan,
    School,
    SchoolClass,
    StaffRole,
    StaffTask,
    Student,
)
from storage.outbox import MessageKind
from storage.web_sessions import end_sessions_of

#: A school's own retention setting: days a note is kept after the end of the school year.
RETENTION_SETTING = "note_retention_days"
FORGOTTEN = ""


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def school_system_ids(session: Session, person: Person) -> list[tuple[str, str]]:
    """The person's ids in the school systems Närvaro syncs with."""
    return [tuple(row) for row in session.execute(
        select(ConnectorLink.connector, ConnectorLink.external_id).where(
            ConnectorLink.kind == "person", ConnectorLink.local_id == person.id)
        .order_by(col(ConnectorLink.connector))).all()]


def forget_school_system_person(session: Session, person: Person) -> int:
    """Delete the school systems' records of the person, and the links to them."""
    gone = 0
    for connector, external_id in school_system_ids(session, person):
        gone += int(session.exec(delete(ConnectorRecord).where(
            col(ConnectorRecord.connector) == connector, col(ConnectorRecord.kind) == "person",
            col(ConnectorRecord.external_id) == external_id)).rowcount)
    session.exec(delete(ConnectorLink).where(
        col(ConnectorLink.kind) == "person", col(ConnectorLink.local_id) == person.id))
    return gone


def export_person(session: Session, person: Person) -> dict[str, Any]:
    """Everything stored about `person` and the students they are guardian of (or are),
    as JSON-ready data. Another guardian's number and notes are left out."""
    assert person.id is not None
    children = session.execute(
        select(Student).join(Guardianship, col(Guardianship.student_id) == Student.id)
        .where(Guardianship.guardian_id == person.id).order_by(col(Student.id))).scalars().all()
    own = session.execute(select(Student).where(Student.person_id == person.id)).scalars().all()
    messages = session.execute(select(OutboxMessage).where(
        or_(OutboxMessage.recipient_id == person.id, OutboxMessage.address == person.phone)
        if person.phone else OutboxMessage.recipient_id == person.id,
    ).order_by(col(OutboxMessage.id))).scalars().all()
    state = session.get(ConversationState, person.id)
    return {
        "person": {
            "id": person.id, "name": person.name, "phone": person.phone,
            "language": person.language,
            "telegram_linked": person.telegram_chat_id is not None,
            "telegram_chat_id": person.telegram_chat_id,
            "telegram_user_id": person.telegram_user_id,
            "telegram_blocked_at": _when(person.telegram_blocked_at),
            "sms_opted_out_at": _when(person.sms_opted_out_at),
            "sms_unreachable_at": _when(person.sms_unreachable_at),
            "created_at": _when(person.created_at), "updated_at": _when(person.updated_at),
        },
        "staff_roles": [
            {"school": school, "role": role} for school, role in session.execute(
                select(School.name, StaffRole.role).join(
                    StaffRole, col(StaffRole.school_id) == School.id)
                .where(StaffRole.person_id == person.id))],
        "students": [_student(session, student, person) for student in [*own, *children]],
        "messages": [
            {"id": m.id, "created_at": _when(m.created_at), "channel": m.channel,
             "language": m.language, "text": m.text, "status": m.status,
             "sent_at": _when(m.sent_at)} for m in messages],
        "written": _written(session, person),
        "school_systems": [{"connector": connector, "id": external_id}
                           for connector, external_id in school_system_ids(session, person)],
        "conversation": None if state is None else {
            "dialog": state.dialog, "step": state.step, "data": state.data,
            "updated_at": _when(state.updated_at)},
        "audit": [
            {"at": _when(row.at), "actor": row.actor, "action": row.action,
             "entity": row.entity, "entity_id": row.entity_id}
            for row in session.execute(select(AuditLog).where(or_(
                AuditLog.actor == f"person:{person.id}",
                (col(AuditLog.entity) == "person") & (AuditLog.entity_id == str(person.id)),
            )).order_by(col(AuditLog.id))).scalars()],
    }


def _written(session: Session, person: Person) -> dict[str, Any]:
    """What the person wrote or answered that is kept elsewhere than their reports."""
    def external(student_id: int) -> str | None:
        student = session.get(Student, student_id)
        return student.external_id if student else None

    return {
        "concerns_raised": [
            {"student_id": external(n.student_id), "at": _when(n.at), "source": n.source,
             "signals": n.signals, "note": n.note}
            for n in session.execute(select(ConcernNote).where(
                ConcernNote.raised_by == person.id).order_by(col(ConcernNote.id))).scalars()],
        "cause_mappings_answered": [
            {"student_id": external(m.student_id), "created_at": _when(m.created_at),
             "finished_at": _when(m.finished_at), "answers": m.answers}
            for m in session.execute(select(CauseMapping).where(
                CauseMapping.respondent_id == person.id).order_by(col(CauseMapping.id)))
            .scalars()],
        "measures_owned": [
            {"what": m.what, "level": m.level, "due_on": m.due_on.isoformat()}
            for m in session.execute(select(Measure).where(
                Measure.owner_id == person.id).order_by(col(Measure.id))).scalars()],
        "morning_texts_written": [
            {"text": e.text, "created_at": _when(e.created_at)}
            for e in session.execute(select(PlanEncouragement).where(
                PlanEncouragement.added_by == person.id).order_by(col(PlanEncouragement.id)))
            .scalars()],
    }


def _student(session: Session, student: Student, viewer: Person) -> dict[str, Any]:
    me = session.get(Person, student.person_id)
    school = session.get(School, student.school_id)
    klass = session.get(SchoolClass, student.class_id)
    absences = session.execute(select(Absence).where(Absence.student_id == student.id)
                               .order_by(col(Absence.day), col(Absence.slot))).scalars()
    reports = session.execute(select(AbsenceReport).where(
        AbsenceReport.student_id == student.id).order_by(col(AbsenceReport.id))).scalars()
    plans = session.execute(select(ReturnPlan).where(
        ReturnPlan.student_id == student.id).order_by(col(ReturnPlan.id))).scalars()
    tasks = session.execute(select(StaffTask).where(
        StaffTask.student_id == student.id).order_by(col(StaffTask.id))).scalars()
    return {
        "student_id": student.external_id, "name": me.name if me else None,
        "school": school.name if school else None, "class": klass.name if klass else None,
        "adult": student.adult, "protected": student.protected,
        "own_phone": me.phone if me and me.id == viewer.id else None,
        "absences": [
            {"date": a.day.isoformat(), "slot": a.slot, "kind": a.kind,
             "minutes_late": a.minutes_late, "state": a.state, "source": a.source}
            for a in absences],
        "reports": [
            {"reference": r.reference, "reported_at": _when(r.reported_at),
             "first_day": r.first_day.isoformat(), "last_day": r.last_day.isoformat(),
             # another guardian's reason (health data) and note are theirs, not this
             # person's
             "reason": r.reason if r.reporter_id == viewer.id else None,
             "channel": r.channel, "on_time": r.on_time,
             "cancelled_at": _when(r.cancelled_at), "by_you": r.reporter_id == viewer.id,
             "note": r.note if r.reporter_id == viewer.id else None}
            for r in reports],
        "leave_applications": [
            {"reference": a.reference, "applied_at": _when(a.applied_at),
             "first_day": a.first_day.isoformat(), "last_day": a.last_day.isoformat(),
             "status": a.status, "channel": a.channel, "by_you": a.applicant_id == viewer.id,
             "days": {d.day.isoformat(): d.decision for d in session.execute(select(
                 LeaveDay).where(LeaveDay.application_id == a.id)).scalars()},
             "refusal": a.refusal, "refusal_note": a.refusal_note,
             # another guardian's words are theirs, not this person's
             "note": a.note if a.applicant_id == viewer.id else None}
            for a in session.execute(select(LeaveApplication).where(
                LeaveApplication.student_id == student.id).order_by(
                col(LeaveApplication.id))).scalars()],
        "return_plans": [
            {"starts_on": p.starts_on.isoformat(),
             "ends_on": p.ends_on.isoformat() if p.ends_on else None, "status": p.status,
             "morning_time": p.morning_time.strftime("%H:%M"), "goal": p.goal,
             "check_ins": [
                 {"day": c.day.isoformat(), "answer": c.answer}
                 for c in session.execute(select(PlanCheckIn).where(
                     PlanCheckIn.plan_id == p.id).order_by(col(PlanCheckIn.day))).scalars()]}
            for p in plans],
        "staff_tasks": [
            {"kind": t.kind, "status": t.status, "outcome": t.outcome,
             "due_at": _when(t.due_at)} for t in tasks],
    }


def forget_person(session: Session, person: Person, *, now: datetime) -> dict[str, int]:
    """Remove a person who has left: their links, roles, chats, dialog and the messages to
    them; their notes; their name and number (also where staff messages quoted them).

    The row itself stays, nameless, because the school's record of absence reports
    points to who reported.
    """
    assert person.id is not None
    counts: dict[str, int] = {}

    def count(name: str, rowcount: int) -> None:
        counts[name] = int(rowcount)

    count("guardian links", session.exec(delete(Guardianship).where(
        col(Guardianship.guardian_id) == person.id)).rowcount)
    count("school system records", forget_school_system_person(session, person))
    count("mentor links", session.exec(delete(MentorLink).where(
        col(MentorLink.mentor_id) == person.id)).rowcount)
    count("staff roles", session.exec(delete(StaffRole).where(
        col(StaffRole.person_id) == person.id)).rowcount)
    count("dialogs", session.exec(delete(ConversationState).where(
        col(ConversationState.person_id) == person.id)).rowcount)
    count("web sessions", end_sessions_of(session, [person.id]))
    addressed = [col(OutboxMessage.recipient_id) == person.id]
    if person.phone:
        addressed.append(col(OutboxMessage.address) == person.phone)
    count("messages", session.exec(delete(OutboxMessage).where(or_(*addressed))).rowcount)
    notes = [note for note in session.execute(select(AbsenceReport.note).where(
        AbsenceReport.reporter_id == person.id, col(AbsenceReport.note).is_not(None)))
        .scalars() if note]
    count("notes", session.exec(update(AbsenceReport).where(
        col(AbsenceReport.reporter_id) == person.id, col(AbsenceReport.note).is_not(None))
        .values(note=None)).rowcount)
    # A leave application's words, and the deciders' messages that carried them.
    leave_notes = [note for note in session.exec(select(col(LeaveApplication.note)).where(
        col(LeaveApplication.applicant_id) == person.id,
        col(LeaveApplication.note).is_not(None))).all() if note]
    notes += leave_notes
    count("leave notes", session.exec(update(LeaveApplication).where(
        col(LeaveApplication.applicant_id) == person.id, col(LeaveApplication.note).is_not(None))
        .values(note=None)).rowcount)
    # A guardian's own words about a worry, and the mentors' messages that carried them.
    # The kind and the student narrow the messages to this child's worries (and let the
    # student's index find them); which worry is only in the key: the other guardian's
    # words about the same child, alike or not, are theirs to keep.
    # (A staff member's note about a student is the school's case record: it stays.)
    worries = session.execute(select(ConcernNote).where(
        ConcernNote.raised_by == person.id, ConcernNote.source == "guardian",
        col(ConcernNote.note).is_not(None))).scalars().all()
    for worry in worries:
        words = worry.note or ""
        notes.append(words)
        for message in session.execute(select(OutboxMessage).where(
                OutboxMessage.kind == MessageKind.CONCERN,
                OutboxMessage.student_id == worry.student_id,
                col(OutboxMessage.dedupe_key).startswith(f"concern:{worry.id}:"))).scalars():
            message.text = message.text.replace(words, "…")  # however short the words
            session.add(message)
        worry.note = None
        session.add(worry)
    counts["worries"] = len(worries)
    # Mappings the person answered, and the summaries sent about them (the mapping is
    # only in the key: the other respondents' mappings of the same child stay).
    mappings = session.execute(select(CauseMapping.id, CauseMapping.student_id).where(
        CauseMapping.respondent_id == person.id)).all()
    for mapping_id, student_id in mappings:
        session.exec(delete(OutboxMessage).where(
            col(OutboxMessage.kind) == MessageKind.MAPPING,
            col(OutboxMessage.student_id) == student_id,
            col(OutboxMessage.dedupe_key).startswith(f"mapping:{mapping_id}:")))
    count("cause mappings", session.exec(delete(CauseMapping).where(
        col(CauseMapping.respondent_id) == person.id)).rowcount)
    if person.telegram_chat_id is not None:
        chat = str(person.telegram_chat_id)
        # handled updates' ids (u<update>:<chat>:<message>), and what went to the chat
        # before it was linked (a stranger's address) or was sent to it (<chat>:<message>)
        count("inbound ids", session.exec(delete(InboundSeen).where(
            col(InboundSeen.ref).like(f"u%:{chat}:%"))).rowcount)
        counts["messages"] += int(session.exec(delete(OutboxMessage).where(or_(
            col(OutboxMessage.address) == chat,
            col(OutboxMessage.provider_ref).startswith(f"{chat}:"),
            col(OutboxMessage.dedupe_key).contains(f":{chat}:")))).rowcount)
    counts["quoted"] = _cut_quotes(session, [person.phone, person.name, *notes])
    person.name, person.phone = FORGOTTEN, None
    person.telegram_chat_id = person.telegram_user_id = None
    person.telegram_blocked_at = person.sms_opted_out_at = person.sms_unreachable_at = None
    person.updated_at = now
    session.add(person)
    audit(session, at=now, actor="cli", action="person.forget", entity="person",
          entity_id=person.id, **{k: v for k, v in counts.items() if v})
    return counts


#: Shorter than this, a name or words would match other people's texts too.
MIN_QUOTE = 6


def _cut_quotes(session: Session, needles: list[str | None]) -> int:
    """Cut the needles (a name, a number, words someone wrote) out of every text that may
    quote them: messages and their buttons, measures, plan goals and morning texts; an
    inbound message id holding one is deleted."""
    wanted = sorted({n for n in needles if n and len(n) >= MIN_QUOTE}, key=len, reverse=True)
    cut = 0

    def without(text: str) -> str:
        for needle in wanted:
            text = text.replace(needle, "…")
        return text

    for needle in wanted:
        # a client's own id for a message it sent (the web chat's) may hold anything
        cut += int(session.exec(delete(InboundSeen).where(
            col(InboundSeen.ref).contains(needle))).rowcount)
        for message in session.execute(select(OutboxMessage).where(
                col(OutboxMessage.text).contains(needle))).scalars():
            message.text = without(message.text)
            session.add(message)
            cut += 1
        for model, name in ((Measure, "what"), (ReturnPlan, "goal"),
                            (PlanEncouragement, "text")):
            for row in session.execute(select(model).where(
                    col(getattr(model, name)).contains(needle))).scalars():
                setattr(row, name, without(getattr(row, name)))
                session.add(row)
                cut += 1
    if wanted:  # buttons are JSON: read them all (there are few with choices)
        for message in session.execute(select(OutboxMessage).where(
                col(OutboxMessage.choices).is_not(None))).scalars():
            if message.choices is None:  # JSON null is no SQL NULL: it matched; none to cut
                continue
            choices = [{**c, "label": without(c.get("label", ""))} for c in message.choices]
            if choices != message.choices:
                message.choices = choices
                session.add(message)
                cut += 1
    return cut


def purge_notes(session: Session, now: datetime) -> int:
    """Clear report notes and leave applications' notes past their school's retention (the
    end of the school year the absence fell in, plus `note_retention_days`, default 30).
    Returns how many."""
    purged = 0
    for model in (AbsenceReport, LeaveApplication):
        purged += _purge_notes_of(session, model, now)
    return purged


def _purge_notes_of(session: Session, model: type[AbsenceReport] | type[LeaveApplication],
                    now: datetime) -> int:
    rows = session.execute(
        select(col(model.id), col(model.last_day), col(Student.school_id))
        .join(Student, col(Student.id) == model.student_id)
        # a note about today or later is never due, whatever the school's settings
        .where(col(model.note).is_not(None),
               col(model.last_day) < (now - timedelta(days=1)).date())).all()
    if not rows:
        return 0
    rules = {rule.school_id: rule for rule in _retention_rules(session)}
    expired = []
    for row_id, last_day, school_id in rows:
        rule = rules.get(school_id)
        today = (now.astimezone(rule.zone) if rule else now).date()
        if today > note_kept_until(last_day, rule.terms if rule else [],
                                   rule.grace_days if rule else DEFAULT_GRACE_DAYS):
            expired.append(row_id)
    if expired:
        session.exec(update(model).where(col(model.id).in_(expired)).values(note=None))
        audit(session, at=now, actor="system", action=(
            "report.notes_purged" if model is AbsenceReport else "leave.notes_purged"),
            entity=model.__tablename__, count=len(expired))
    return len(expired)


@dataclass(frozen=True)
class _Retention:
    """What a school's retention depends on: its zone, terms and days of grace."""

    school_id: int
    zone: ZoneInfo
    terms: list[DateRange]
    grace_days: int


def _retention_rules(session: Session) -> list[_Retention]:
    terms: dict[int, list[DateRange]] = {}
    for period in session.execute(select(CalendarPeriod).where(
            CalendarPeriod.kind == "term")).scalars():
        terms.setdefault(period.school_id, []).append(
            DateRange(period.start, period.end, period.name))
    return [_Retention(school.id or 0, ZoneInfo(school.timezone), terms.get(school.id or 0, []),
                       int((school.settings or {}).get(RETENTION_SETTING, DEFAULT_GRACE_DAYS)))
            for school in session.execute(select(School)).scalars()]


#: Messages that may still be sent keep their text (a `maybe_sent` one may be sent again).
_UNSETTLED = ("pending", "sending", "maybe_sent")


def purge_message_texts(session: Session, now: datetime) -> int:
    """Clear the text and picture of every message past retention; returns how many.

    A message may repeat a reason or someone's words (a receipt, a leave application shown
    to whoever decides, an answer passed on), so its text is kept as a note about the day it
    was written would be (`policy.retention.texts_kept_from`), by the rules of every school
    (the longest); a message still to be sent keeps it. The row stays: what went to whom,
    when and about what, for the record and against sending it twice.
    """
    rules = _retention_rules(session)
    if not rules:
        return 0
    cutoff = min(datetime.combine(texts_kept_from(now.astimezone(rule.zone).date(),
                                                  rule.terms, rule.grace_days),
                                  time(0), tzinfo=rule.zone)
                 for rule in rules)
    cleared = int(session.exec(
        update(OutboxMessage).where(col(OutboxMessage.created_at) < cutoff,
                                    col(OutboxMessage.text) != FORGOTTEN,
                                    col(OutboxMessage.status).not_in(_UNSETTLED))
        .values(text=FORGOTTEN, attachment=null())).rowcount)
    if cleared:
        audit(session, at=now, actor="system", action="outbox.texts_purged",
              entity="outbox_message", count=cleared)
    return cleared
