"""Where a person's data lives: every table, and each of its columns, classified for GDPR
access (`narvaro export`) and erasure (`narvaro forget`).

A column is `IDENTITY` (who someone is: a name, a number, a chat id), `WRITTEN` (what
someone wrote, or answered, in their own words), `PERSON` (a pointer to a person row), or
`PLAIN` (ids, dates, states, codes: nothing that says who or what anyone said). Each table
says how the export and the forgetting cover it, or why they need not. A test walks the
schema (SQLModel's metadata): a table or column not in `REGISTRY` fails it, so a new one
cannot be missed silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a column holds, as far as a person's data goes."""

    IDENTITY = "identity"
    WRITTEN = "written"
    PERSON = "person"
    PLAIN = "plain"


@dataclass(frozen=True)
class Coverage:
    """How `export` and `forget` cover a table (or why not), and what each column holds."""

    export: str
    forget: str
    columns: dict[str, Kind]


ID, W, P, _ = Kind.IDENTITY, Kind.WRITTEN, Kind.PERSON, Kind.PLAIN


def _plain(*names: str, **kinds: Kind) -> dict[str, Kind]:
    return {**dict.fromkeys(names, _), **kinds}


REGISTRY: dict[str, Coverage] = {
    "person": Coverage(
        "exported: name, number, language, Telegram chat and user id, reachability",
        "name, number, Telegram ids and reachability cleared; the nameless row stays for "
        "the school's records that point to it",
        _plain("id", "language", "created_at", "updated_at", name=ID, phone=ID,
               telegram_chat_id=ID, telegram_user_id=ID, telegram_blocked_at=ID,
               sms_opted_out_at=ID, sms_unreachable_at=ID)),
    "guardianship": Coverage("exported as the person's students", "deleted",
                             {"student_id": _, "guardian_id": P}),
    "mentor_link": Coverage("irrelevant: a staff member's mentees are the school's record",
                            "deleted", {"student_id": _, "mentor_id": P}),
    "staff_role": Coverage("exported (school and role)", "deleted",
                           _plain("id", "school_id", "role", person_id=P)),
    "student": Coverage(
        "exported for the person's children (or themselves): id, class, flags",
        "irrelevant: a student is never forgotten this way (the roster decides)",
        _plain("id", "school_id", "class_id", "external_id", "adult", "messages_off",
               "protected", person_id=P)),
    "absence": Coverage("exported per child", "irrelevant: the child's record, no one's words",
                        _plain("id", "student_id", "day", "slot", "lesson_start", "lesson_end",
                               "kind", "minutes_late", "state", "source", "recorded_at",
                               "updated_at", "notified_at",
                               # whether the guardians answered the notice ("known" or
                               # "replied"), never their words
                               "answered_at", "answer")),
    "absence_report": Coverage(
        "exported per child; the note only to the guardian who wrote it",
        "their notes cleared (and where a message quoted them); the report stays",
        _plain("id", "reference", "student_id", "channel", "reported_at", "first_day",
               "last_day", "part_start", "part_end", "reason", "on_time", "late_days",
               "cancelled_at", reporter_id=P, note=W)),
    "leave_application": Coverage(
        "exported per child; the note only to the guardian who wrote it",
        "their notes cleared (and where a message to a decider quoted them); the "
        "application and its decision stay, as the school's record",
        _plain("id", "reference", "student_id", "channel", "applied_at", "first_day",
               "last_day", "part_start", "part_end", "status", "decider_role",
               "escalated_at", "decided_at", "refusal", applicant_id=P, decider_id=P,
               decided_by=P, note=W,
               # the decider's reason for a refusal, told to the guardian: the school's
               # record, exported with the application
               refusal_note=W)),
    "leave_day": Coverage("exported per child, with its application",
                          "irrelevant: the child's days and decisions, no one's words",
                          _plain("id", "application_id", "student_id", "day", "decision")),
    "concern": Coverage("irrelevant: who raised or closed it is in concern_note",
                        "irrelevant: ids only; the pointer stays to the nameless row",
                        _plain("id", "student_id", "raised_at", "closed_at", raised_by=P,
                               closed_by=P)),
    "concern_note": Coverage(
        "exported: what the person raised (a guardian's own words, staff's signals and note)",
        "a guardian's words cleared, also in the mentors' messages that carried them; a staff "
        "member's note about a student is the school's case record and stays, nameless",
        _plain("id", "concern_id", "student_id", "source", "signals", "at", raised_by=P,
               note=W)),
    "cause_mapping": Coverage(
        "exported: the mappings the person answered (their answers)",
        "the mappings they answered are deleted, with the summaries sent about them",
        _plain("id", "student_id", "created_at", "finished_at", respondent_id=P, sent_by=P,
               answers=W)),
    "action_plan": Coverage("irrelevant: the school's plan, ids and dates",
                            "irrelevant: the pointer to its author stays to the nameless row",
                            _plain("id", "student_id", "created_at", "starts_on",
                                   "evaluate_on", "status", created_by=P)),
    "measure": Coverage(
        "exported: the measures the person owns",
        "their name is cut from the measures' text; the measure stays in the plan",
        _plain("id", "plan_id", "level", "due_on", "reminded_at", owner_id=P, what=W)),
    "return_plan": Coverage(
        "exported per child (dates, time, goal)",
        "their name is cut from the goal; pointers to staff stay to the nameless row",
        _plain("id", "student_id", "starts_on", "ends_on", "followup_on", "morning_time",
               "status", "created_at", "weekdays", "guardian_note", "answer_by", mentor_id=P,
               trusted_adult_id=P, goal=W)),
    "plan_encouragement": Coverage(
        "exported: the morning texts the person wrote",
        "their name is cut from the texts; a staff member's text for a student stays",
        _plain("id", "plan_id", "created_at", added_by=P, text=W)),
    "plan_check_in": Coverage("exported per child (day and answer)",
                              "irrelevant: the student's own answers, not the guardian's",
                              _plain("id", "plan_id", "day", "message", "sent_at", "answer",
                                     "answered_at", "alerted_at")),
    "staff_task": Coverage("exported per child (kind, status, outcome, due)",
                           "irrelevant: ids and states; the pointer stays to the nameless row",
                           _plain("id", "dedupe_key", "school_id", "student_id", "kind",
                                  "status", "outcome", "due_at", "remind_at", "created_at",
                                  "done_at", assignee_id=P)),
    "outbox_message": Coverage(
        "exported: every message to the person, with its text",
        "messages to them (by id, number or Telegram chat) deleted; their name, number and "
        "words cut from every other message's text and buttons",
        _plain("id", "dedupe_key", "channel", "language", "status", "attempts", "not_before",
               "created_at", "sent_at", "delivered_at", "provider_status", "error_code",
               "last_error", "priority", "claimed_at", "claimed_by", "attachment",
               # what the message is about: a kind, a student's and a task's id, a day
               "kind", "student_id", "day", "task_id",
               recipient_id=P, address=ID, provider_ref=ID, text=W, choices=W)),
    "conversation_state": Coverage("exported: the person's half-done dialog", "deleted",
                                   _plain("dialog", "step", "updated_at", person_id=P,
                                          data=W)),
    "web_session": Coverage(
        "irrelevant: a signed-in browser's session, no words (only the hash of its token)",
        "deleted: forgetting a person ends their sessions",
        _plain("id", "token_hash", "created_at", "expires_at", person_id=P)),
    "intake_message": Coverage(
        "irrelevant: a text held only until it is handled (seconds), then gone",
        "deleted: the person's texts still waiting are removed",
        _plain("id", "channel", "worker", "received_at", "attempts", ref=ID, sender=ID,
               body=W)),
    "inbound_seen": Coverage(
        "irrelevant: ids of handled messages, kept 14 days against replays",
        "the ids that hold their Telegram chat id, number, name or words are deleted",
        {"channel": _, "ref": ID, "at": _}),
    "audit_log": Coverage(
        "exported: the rows about what the person did",
        "irrelevant: ids only, never a name, number or text (tests/test_trust_logs.py); "
        "`person:ID` then names the nameless row",
        _plain("id", "at", "actor", "action", "entity", "entity_id", "detail", "student_id")),
    "school": Coverage("irrelevant: the school's own details", "irrelevant: no person's",
                       _plain("id", "name", "country", "timezone", "language", "policy",
                              "phone", "settings", "created_at", "revision")),
    "school_class": Coverage("exported as each child's class", "irrelevant: no person's",
                             _plain("id", "school_id", "name")),
    "calendar_period": Coverage("irrelevant: the school's calendar", "irrelevant: no person's",
                                _plain("id", "school_id", "kind", "name", "start", "end")),
    "ladder_position": Coverage("irrelevant: derived from the absences exported",
                                "irrelevant: the child's, no one's words",
                                _plain("student_id", "step_id", "level", "entered_at",
                                       "evaluated_at", "period_start", "below_since")),
    "roll_call": Coverage("irrelevant: a class's roll call was taken",
                          "irrelevant: the pointer to who took it stays to the nameless row",
                          _plain("id", "class_id", "day", "source", "taken_at", taken_by=P)),
    "connector_state": Coverage("irrelevant: a school system's sync state, no person's",
                                "irrelevant: no person's",
                                _plain("name", "cursor", "last_attempt_at", "last_success_at",
                                       "last_error", "last_counts", "subscription")),
    "connector_record": Coverage(
        "exported as the person's id in the school system (the rest is the person row's)",
        "deleted (the school system lists them again at its next sync if it still has them: "
        "it is the source)",
        _plain("connector", "kind", external_id=ID, data=ID)),
    "connector_link": Coverage("exported: the person's id in each school system", "deleted",
                               _plain("connector", "kind", external_id=ID, local_id=P)),
    "connector_outbox": Coverage(
        "irrelevant: the report exported, on its way to the school system",
        "irrelevant: ids and states only",
        _plain("id", "connector", "dedupe_key", "report_id", "status", "attempts",
               "not_before", "created_at", "sent_at", "remote_id", "last_error",
               "leave_day_id")),
}
