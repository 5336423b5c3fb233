"""The router's parts: a route is what a message must be (`Match`), the role it needs, and
the handler that answers it. The table itself, in its order, is `handlers.routes`.

Matches combine with `|` and `&`:

- `command("/plan")`: the message starts with that command;
- `choice(Kind, VALUE)`: a tapped choice of that kind (`policy.choices`) or that value;
- `TAP`: anything tapped, known or not; `TEXT`: nothing tapped; `PLAIN`: words that are
  no command; `LINKED`: the chat was just linked; `STAFF_MEMBER`: the writer is staff (a
  match, not a role: others are not refused, the message goes on);
- `dialog(name, within=…)`: the person's open dialog is `name` (updated within the time);
- `said(test)`: the words pass `test`; `when(test)`: the Context passes it.

`Route(match, handler, role)`: the first route that matches answers. When the person
lacks the route's role, the role's refusal answers instead (staff: "This is for school
staff.", closing the route's dialog if it is open; reporter: the menu). A handler that
returns None passes the message on to the next routes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from enum import Enum

from handlers.messages import Context, Reply
from locales import gettext_for
from policy.choices import ChoiceKey, unpack
from storage.conversations import clear_state

Handler = Callable[[Context], Reply | None]


@dataclass(frozen=True)
class Match:
    """A test on a message, and the dialogs it continues (closed when a role refuses)."""

    test: Callable[[Context], bool]
    dialogs: frozenset[str] = field(default_factory=frozenset)

    def __call__(self, context: Context) -> bool:
        return self.test(context)

    def __or__(self, other: Match) -> Match:
        return Match(lambda c: self.test(c) or other.test(c), self.dialogs | other.dialogs)

    def __and__(self, other: Match) -> Match:
        return Match(lambda c: self.test(c) and other.test(c), self.dialogs | other.dialogs)


def command(*names: str) -> Match:
    """The message starts with one of these commands."""
    return Match(lambda c: c.command in names)


def choice(*wanted: type[ChoiceKey] | ChoiceKey) -> Match:
    """A tapped choice of one of these kinds, or equal to one of these values."""
    kinds = tuple(w for w in wanted if isinstance(w, type))
    values = tuple(w for w in wanted if not isinstance(w, type))
    return Match(lambda c: c.choice is not None and (isinstance(c.choice, kinds)
                                                     or c.choice in values))


def dialog(name: str, *, within: timedelta | None = None) -> Match:
    """The person's open dialog is `name` (and, with `within`, was moved on that lately)."""
    return Match(lambda c: c.state is not None and c.state.dialog == name and (
        within is None or c.now - c.state.updated_at < within), frozenset({name}))


def said(test: Callable[[str], bool]) -> Match:
    """The words written pass `test` (on their own: combine with TEXT)."""
    return Match(lambda c: test(c.text))


def when(test: Callable[[Context], bool]) -> Match:
    """The message, with what the router loaded, passes `test`."""
    return Match(test)


TAP = Match(lambda c: c.tapped)
TEXT = Match(lambda c: not c.tapped)
PLAIN = Match(lambda c: not c.tapped and not c.command)
ANYTHING = Match(lambda c: True)
LINKED = Match(lambda c: c.linked)
STAFF_MEMBER = Match(lambda c: bool(c.roles.staff))


class Role(Enum):
    """Who a route is for."""

    ANY = "any"
    STAFF = "staff"
    #: Guardians of a minor, and adult students: those who report absence.
    REPORTER = "reporter"


@dataclass(frozen=True)
class Route:
    """One line of the table: what the message must be, what answers it, for whom."""

    match: Match
    handler: Handler
    role: Role = Role.ANY


def has_role(context: Context, role: Role) -> bool:
    """Whether the writer has `role`."""
    if role is Role.STAFF:
        return bool(context.roles.staff)
    if role is Role.REPORTER:
        return bool(context.students)
    return True


def refuse(context: Context, route: Route, menu: Handler) -> Reply | None:
    """The answer to someone who lacks the route's role."""
    if route.role is Role.REPORTER:
        return menu(context)
    state = context.state
    if state is not None and state.dialog in route.match.dialogs:
        clear_state(context.session, context.person_id)
        context.state = None
    return Reply(gettext_for(context.language, "This is for school staff."))


def dispatch(context: Context, routes: Sequence[Route], menu: Handler) -> Reply:
    """The answer of the first route that matches and answers (the routes in order).

    `menu` answers whoever lacks a reporter's role; the last route must match anything
    and answer.
    """
    for route in routes:
        if not route.match(context):
            continue
        if not has_role(context, route.role):
            refused = refuse(context, route, menu)
            if refused is not None:
                return refused
            continue
        reply = route.handler(context)
        if reply is not None:
            return reply
    raise LookupError("no route answered")


def with_text(context: Context, text: str, choice: str | None = None) -> Context:
    """The same message as if it said `text` (and tapped `choice`) instead."""
    return replace(context, incoming=replace(context.incoming, text=text, choice=choice),
                   choice=unpack(choice))
