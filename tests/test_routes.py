"""The routing table keeps the promises its docstring makes (handlers/routes.py)."""

from __future__ import annotations

from handlers.router import ANYTHING, Role
from handlers.routes import ROUTES


def test_the_last_route_answers_anything() -> None:
    assert ROUTES[-1].match is ANYTHING
    assert ROUTES[-1].handler.__name__ == "not_a_report"


def test_whoever_does_not_report_gets_the_menu_from_the_first_reporter_route_on() -> None:
    """Once a route needs a reporter, every later one does: the menu answers the others
    whatever they wrote (as before the router: one gate, then the guardian's routes)."""
    roles = [route.role for route in ROUTES]
    first = roles.index(Role.REPORTER)
    assert all(role is Role.REPORTER for role in roles[first:])


def test_every_handler_says_what_it_answers() -> None:
    for route in ROUTES:
        assert (route.handler.__doc__ or "").strip(), route.handler.__qualname__
