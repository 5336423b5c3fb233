"""The staff web overview at /overview: for a staff member signed in with a one-time link,
their schools' classes with absence this term, their open tasks and the students they may
see; a student's page with the term's counters and timeline picture. Nobody else learns
anything: a student they may not see is a plain 404.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.dispatcher import Dispatcher
from bot.webauth import COOKIE, SignIn, WebIds
from handlers.student_view import STATES, term_counts, visible_student, visible_students
from locales import N_, RIGHT_TO_LEFT, gettext_for, ngettext_for, normalize_language
from locales.formats import format_day, format_percent, task_kind
from policy.clock import Clock
from policy.text import clean_text
from storage.audit import audit
from storage.connectors import health as connector_health
from storage.db import session_scope
from storage.models import Person, School, Student
from storage.overview import (
    Term,
    class_shares,
    open_tasks,
    student_counters,
    term_for,
    timeline,
)
from storage.people import roles_of
from storage.plan_tasks import plan_words
from storage.schools import school_zone
from storage.tasks import student_label

OVERVIEW = "/overview"
TIMELINE_LABELS = {
    "unexcused": STATES[("absent", "unexcused")], "reported": STATES[("absent", "reported")],
    "late": STATES[("late", "unexcused")], "leave": STATES[("absent", "leave")],
    "notice": N_("Notice sent"), "call": N_("Call home"), "meeting": N_("Meeting"),
    "plan": N_("Return plan day"),
}
#: Texts the pages use inside f-strings, where the catalog's extraction does not look.
TEXTS = (N_("Absence this term (%)"), N_("Class"), N_("My students"), N_("Show the name"),
         N_("Timeline of the term"), N_("Sign out"), N_("Granted leave"))
#: The web chat's look (bot/static/webchat.html): the same bar, cards and type, for a phone.
STYLE = (
    ":root{--brand:#1f4e79;--bg:#f3f4f6;--card:#fff;--muted:#555}*{box-sizing:border-box}"
    "body{font-family:system-ui,sans-serif;margin:0;background:var(--bg);color:#111;"
    "line-height:1.4}"
    "header{background:var(--brand);color:#fff;padding:.6rem 1rem;position:sticky;top:0}"
    "header a{color:#fff;text-decoration:none;font-weight:600}"
    "main{max-width:50rem;margin:0 auto;padding:.8rem}"
    "section{background:var(--card);border-radius:.5rem;padding:.6rem .9rem;margin:.7rem 0}"
    "h1{font-size:1.25rem;margin:.4rem 0}h2{font-size:1.05rem;margin:.2rem 0 .5rem;"
    "color:var(--brand)}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}"
    "td,th{padding:.4rem .5rem;text-align:start;border-bottom:1px solid #e5e7eb}"
    "td.n,th.n{text-align:end;font-variant-numeric:tabular-nums}"
    "th{cursor:pointer;user-select:none;white-space:nowrap}"
    "th[aria-sort=ascending]::after{content:' ▲'}th[aria-sort=descending]::after{content:' ▼'}"
    "caption{text-align:start;color:var(--muted);padding-bottom:.3rem}"
    "ul{padding-inline-start:1.2rem;margin:.3rem 0}li{margin:.3rem 0}"
    "a{color:var(--brand)}img{max-width:100%;height:auto}"
    "input,button{font-size:1rem;padding:.55rem;border-radius:.4rem;border:1px solid #bbb}"
    "button{background:var(--brand);color:#fff;border-color:var(--brand)}"
)
#: Tables sort by a column when its heading is tapped (numbers by their value, not text).
SORTING = (
    "document.querySelectorAll('table.sortable').forEach(t=>t.querySelectorAll('th')"
    ".forEach((th,i)=>th.onclick=()=>{const up=th.getAttribute('aria-sort')!=='ascending';"
    "t.querySelectorAll('th').forEach(h=>h.removeAttribute('aria-sort'));"
    "th.setAttribute('aria-sort',up?'ascending':'descending');"
    "const key=r=>{const c=r.children[i];return c.dataset.sort!==undefined?"
    "Number(c.dataset.sort):c.textContent.toLocaleLowerCase()};"
    "const rows=[...t.tBodies[0].rows].sort((a,b)=>{const x=key(a),y=key(b);"
    "return (x<y?-1:x>y?1:0)*(up?1:-1)});rows.forEach(r=>t.tBodies[0].appendChild(r))}))"
)
T = TypeVar("T")


def _language(request: Request) -> str:
    """The language the browser asks for first (before anyone is signed in)."""
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip()
    return normalize_language(first)


def _page(language: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    """A whole page around `body` (already escaped), in `language` and its direction."""
    direction = "rtl" if language in RIGHT_TO_LEFT else "ltr"
    home = html.escape(gettext_for(language, "Närvaro overview"))
    bar = f'<header><a href="{OVERVIEW}">{home}</a></header>'
    return HTMLResponse(
        f'<!doctype html><html lang="{language}" dir="{direction}"><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style><body>{bar}<main>{body}"
        f"</main><script>{SORTING}</script></body></html>",
        status_code=status, headers={"cache-control": "no-store"})


class OverviewPages:
    """The overview's routes; holds what they need."""

    def __init__(self, engine: Engine, clock: Clock, sign_in: SignIn,
                 dispatcher: Dispatcher | None, *, country: str, ids: WebIds) -> None:
        """Pages on `engine` as of `clock`; `sign_in` checks sessions and sends links
        (phones read as in `country`), `dispatcher` is woken to send them; `ids` makes the
        students' ids in addresses."""
        self.engine, self.clock, self.sign_in = engine, clock, sign_in
        self.dispatcher, self.country, self.ids = dispatcher, country, ids
        self.routes = [
            Route(OVERVIEW, self.overview),
            Route(OVERVIEW + "/login", self.ask_link, methods=["POST"]),
            Route(OVERVIEW + "/sign-out", self.sign_out, methods=["POST"]),
            Route(OVERVIEW + "/student/{student}", self.student),
            Route(OVERVIEW + "/student/{student}/timeline.png", self.picture),
        ]

    async def _run(self, work: Callable[[Session, Person, datetime], T],
                   request: Request) -> T | None:
        """`work` for the signed-in staff member in one transaction; None for nobody (no
        session, or no longer staff: checked on every request)."""
        now, cookie = self.clock.now(), request.cookies.get(COOKIE)
        if not cookie:
            return None

        def run() -> T | None:
            with session_scope(self.engine) as session:
                person = self.sign_in.signed_in(session, cookie, now=now)
                if person is None:
                    return None
                return work(session, person, now)

        return await asyncio.to_thread(run)

    async def overview(self, request: Request) -> Response:
        """The signed-in staff member's overview; the sign-in form for anyone else."""

        def build(session: Session, person: Person, now: datetime) -> HTMLResponse:
            language = person.language
            t = _say(language)
            roles = roles_of(session, person)
            parts = [f"<h1>{html.escape(person.name)}</h1>",
                     f'<form method="post" action="{OVERVIEW}/sign-out"><button>'
                     f"{t('Sign out')}</button></form>"]
            schools = {school.id: school for school, _role in roles.staff}
            for school in sorted(schools.values(), key=lambda found: found.name):
                term = term_for(session, school, now)
                rows = "".join(
                    f"<tr><td>{html.escape(name)}</td>"
                    f'<td class="n" data-sort="{share.reported}">'
                    f"{html.escape(format_percent(share.reported, language))}</td>"
                    f'<td class="n" data-sort="{share.unexcused}">'
                    f"{html.escape(format_percent(share.unexcused, language))}</td>"
                    f'<td class="n" data-sort="{share.leave}">'
                    f"{html.escape(format_percent(share.leave, language))}</td></tr>"
                    for name, share in class_shares(session, term, now=now).items())
                parts.append(
                    f'<section><h2>{html.escape(school.name)}</h2><div class="scroll">'
                    f'<table class="sortable"><caption>{t("Absence this term (%)")}</caption>'
                    f'<thead><tr><th>{t("Class")}</th><th class="n">{t("Reported")}</th>'
                    f'<th class="n">{t("Unexcused")}</th><th class="n">{t("Granted leave")}</th>'
                    f"</tr></thead><tbody>{rows}</tbody>"
                    "</table></div></section>")
            if any(role in ("principal", "coordinator") for _school, role in roles.staff):
                parts.append(_school_systems(session, language, next(iter(
                    schools.values())).timezone if schools else "UTC"))
            tasks = open_tasks(session, person.id or 0)
            parts.append(f"<section><h2>{t('My tasks')}</h2><p>" + html.escape(ngettext_for(
                language, "You have {n} open task.", "You have {n} open tasks.", len(tasks)))
                + "</p><ul>")
            for task in tasks:
                student = session.get(Student, task.student_id) if task.student_id else None
                zone = school_zone(session, task.school_id)
                parts.append("<li>" + html.escape(gettext_for(
                    language, "{task}: {student}, due {day}",
                    task=plan_words(session, task) or task_kind(task.kind, language),
                    student=student_label(session, student) if student else "-",
                    day=format_day(task.due_at.astimezone(zone).date(), language))) + "</li>")
            parts.append(f"</ul></section><section><h2>{t('My students')}</h2><ul>")
            for student, _name in sorted(visible_students(session, person, roles),
                                         key=lambda found: student_label(session, found[0])):
                parts.append(f'<li><a href="{OVERVIEW}/student/{self._id(student)}">'
                             f"{html.escape(student_label(session, student))}</a></li>")
            parts.append("</ul></section>")
            return _page(language, gettext_for(language, "Närvaro overview"), "".join(parts))

        page = await self._run(build, request)
        return page if page is not None else self._form(_language(request))

    def _id(self, student: Student) -> str:
        """A student's id in the overview's addresses."""
        return self.ids.make("student", student.id or 0)

    async def sign_out(self, request: Request) -> Response:
        """End this browser's session; back to the sign-in form."""
        cookie, sign_in = request.cookies.get(COOKIE), self.sign_in

        def end() -> None:
            with session_scope(self.engine) as session:
                sign_in.sign_out(session, cookie)

        if cookie:
            await asyncio.to_thread(end)
        response = RedirectResponse(OVERVIEW, status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    def _form(self, language: str) -> HTMLResponse:
        t = _say(language)
        return _page(language, gettext_for(language, "Närvaro overview"), (
            f'<section><form method="post" action="{OVERVIEW}/login"><p><label>'
            f"{t('Staff sign in with their phone number')}<br>"
            '<input name="phone" type="tel" autocomplete="tel" required maxlength="40">'
            f"</label></p><p><button>{t('Send me a sign-in link')}</button></p></form>"
            "</section>"))

    async def ask_link(self, request: Request) -> Response:
        """A sign-in link to a staff member's phone; the same neutral page for any number."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > 4096:
                return Response(status_code=413)
        fields = dict(parse_qsl(body.decode("utf-8", "replace")))
        phone = clean_text(fields.get("phone", ""))[:40]
        sign_in = self.sign_in

        def send() -> None:
            with session_scope(self.engine) as session:
                sign_in.send_link(session, phone, country=self.country, now=self.clock.now(),
                                  to="overview")

        if phone:
            await asyncio.to_thread(send)
            if self.dispatcher is not None:
                self.dispatcher.wake()
        language = _language(request)
        t = _say(language)
        return _page(language, gettext_for(language, "Närvaro overview"), (
            "<section><p>"
            + t("If the number belongs to school staff, a sign-in link is on its way.")
            + "</p></section>"))

    async def student(self, request: Request) -> Response:
        """One student the staff member may see: name (or the school's id for a protected
        identity until opened with `?open=1`), the term's counters and the timeline."""
        student_id = self.ids.read("student", str(request.path_params["student"])[:100])
        opened = request.query_params.get("open") == "1"

        def build(session: Session, person: Person, now: datetime) -> Response:
            seen = _visible_in_term(session, person, student_id, now)
            if seen is None:
                return Response(status_code=404)
            student, term = seen
            language = person.language
            t = _say(language)
            found = student_counters(session, student, term)
            audit(session, at=now, actor=f"person:{person.id}", action="student.view",
                  entity="student", entity_id=student.id, student_id=student.id,
                  via="overview", opened=opened and student.protected)
            label = student_label(session, student, opened=opened)
            parts = [f"<h1>{html.escape(label)}</h1>"]
            if student.protected and not opened:
                parts.append(f'<p><a href="?open=1">{t("Show the name")}</a></p>')
            parts.append("<section><p>" + html.escape(term_counts(found, language)) + "</p>")
            parts.append(f'<img id="timeline" src="{OVERVIEW}/student/{self._id(student)}/'
                         f'timeline.png" alt="{t("Timeline of the term")}"></section>')
            return _page(language, label, "".join(parts))

        page = await self._run(build, request)
        return page if page is not None else RedirectResponse(OVERVIEW, status_code=303)

    async def picture(self, request: Request) -> Response:
        """The student's term as a PNG: a row per kind of event, a mark per day."""
        student_id = self.ids.read("student", str(request.path_params["student"])[:100])
        opened = request.query_params.get("open") == "1"

        def build(session: Session, person: Person, now: datetime) -> Response:
            seen = _visible_in_term(session, person, student_id, now)
            if seen is None:
                return Response(status_code=404)
            student, term = seen
            days = timeline(session, student, term)
            audit(session, at=now, actor=f"person:{person.id}", action="student.view",
                  entity="student", entity_id=student.id, student_id=student.id,
                  via="overview", part="timeline")
            language = person.language
            rows = [(gettext_for(language, TIMELINE_LABELS[kind]), sorted(found))
                    for kind, found in days.items()]
            title = (f"{student_label(session, student, opened=opened)}: "
                     f"{gettext_for(language, 'Timeline of the term')}")
            from bot.charts import timeline_png  # matplotlib: loaded the first time only

            return Response(timeline_png(title, rows, term.range.start, term.last),
                            media_type="image/png", headers={"cache-control": "no-store"})

        found = await self._run(build, request)
        return found if found is not None else Response(status_code=401)


def _say(language: str) -> Callable[[str], str]:
    """A page text in `language`, escaped for HTML."""
    return lambda message: html.escape(gettext_for(language, message))


def _visible_in_term(session: Session, person: Person, student_id: int | None,
                     now: datetime) -> tuple[Student, Term] | None:
    """The student, if the person may see them, with their school's current term; None
    otherwise (whether they exist or not, or the id in the address is not genuine)."""
    if student_id is None:
        return None
    student = visible_student(session, person, roles_of(session, person), student_id)
    school = session.get(School, student.school_id) if student else None
    if student is None or school is None:
        return None
    return student, term_for(session, school, now)


def _school_systems(session: Session, language: str, timezone: str) -> str:
    """The school systems Närvaro syncs with: the last successful sync, the last error and
    the reports waiting to be written back (no personal data), for principals and
    coordinators. Empty without a connector."""
    found = connector_health(session)
    if not found:
        return ""
    zone = ZoneInfo(timezone)
    lines = []
    for name, state in sorted(found.items()):
        success = state.get("last_success")
        when = (datetime.fromisoformat(success).astimezone(zone).strftime("%Y-%m-%d %H:%M")
                if success else None)
        said = [gettext_for(language, "Last successful sync: {time}", time=when) if when
                else gettext_for(language, "Not synced yet.")]
        if state.get("error"):
            said.append(gettext_for(language, "Last error: {error}", error=state["error"]))
        reports = state.get("reports", {})
        said.append(gettext_for(language, "Reports waiting to be written back: {waiting}; "
                                          "failed: {failed}", waiting=reports.get("waiting", 0),
                                failed=reports.get("failed", 0)))
        lines.append(f"<li><strong>{html.escape(name.upper())}</strong>: "
                     + html.escape(" ".join(said)) + "</li>")
    heading = gettext_for(language, "School system")
    return (f"<section><h2>{html.escape(heading)}</h2><ul>" + "".join(lines)
            + "</ul></section>")
