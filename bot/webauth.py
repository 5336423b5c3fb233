"""Staff sign-in for an exposed web chat and for the overview: a one-time link sent to a
staff member's phone, then a session cookie. Nobody else signs in, and a signed-in person
acts only as themselves, for as long as they are staff.

Links are HMAC-signed with NARVARO_WEBCHAT_SECRET (or a key made at start-up); a link's
nonce is recorded when used, so it works once. Sessions live in the database
(`storage.web_sessions`): every request looks its session up and checks that the person
still has a staff role, so sign-out, a roster change and `narvaro forget` end it at once.

Ids in the pages' addresses (a person in the web chat, a student in the overview) are
`WebIds`: the id with an HMAC of it, which nobody without the key can make.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from locales import N_, gettext_for
from policy.phones import to_e164
from policy.routing import AUTO
from storage.inbound import mark_seen
from storage.models import Person, StaffRole
from storage.outbox import MessageKind, enqueue
from storage.web_sessions import end_session, open_session, session_person

LINK_VALID = timedelta(minutes=10)
SESSION_VALID = timedelta(hours=12)
COOKIE = "narvaro_session"
LOGIN_PATH = "/webchat/login/"
#: Where a signed-in link leads (`?to=` names it; a closed list, so no open redirect), and
#: the message that carries it.
TARGETS = {
    "": ("/", N_("Your sign-in link to the Närvaro web chat (valid for 10 minutes): {link}")),
    "overview": ("/overview", N_("Your sign-in link to the Närvaro overview (valid for 10 "
                                 "minutes): {link}")),
}


class SignIn:
    """Makes and checks sign-in links and session cookies."""

    def __init__(self, public_url: str, *, key: bytes | None = None) -> None:
        """Links point to `public_url`; `key` signs (a fresh random one by default)."""
        self.public_url = public_url.rstrip("/")
        self._key = key or secrets.token_bytes(32)

    def _sign(self, kind: str, payload: str) -> str:
        # 128 bits are plenty, and the link must fit in an SMS with its text (UCS-2 too).
        return hmac.new(self._key, f"{kind}:{payload}".encode(), hashlib.sha256).hexdigest()[:32]

    def _check(self, kind: str, token: str) -> list[str] | None:
        payload, _, signature = token.rpartition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(kind, payload)):
            return None
        return payload.split(".")

    def send_link(self, session: Session, phone: str, *, country: str, now: datetime,
                  to: str = "") -> None:
        """Queue a sign-in link to `phone` if it is a staff member's; nothing otherwise (the
        caller answers the same either way). At most one link a minute per person. With
        `to` (a key of TARGETS) the link leads there, and its message says so."""
        number = to_e164(phone, country)
        if number is None:
            return
        person = session.execute(
            select(Person).join(StaffRole, col(StaffRole.person_id) == Person.id)
            .where(Person.phone == number)).scalars().first()
        if person is None or person.id is None:
            return
        expires = int((now + LINK_VALID).timestamp())
        payload = f"{person.id}.{expires}.{secrets.token_urlsafe(12)}"
        link = f"{self.public_url}{LOGIN_PATH}{payload}.{self._sign('link', payload)}"
        _target, wording = TARGETS.get(to, TARGETS[""])
        if to in TARGETS and to:
            link += f"?to={to}"
        enqueue(session, dedupe_key=f"sign-in:{person.id}:{now:%Y%m%d%H%M}",
                kind=MessageKind.SIGN_IN,
                recipient_id=person.id, channel=AUTO, language=person.language, now=now,
                text=gettext_for(person.language, wording, link=link))

    def redeem(self, session: Session, token: str, *, now: datetime) -> int | None:
        """The person a link signs in, once and in time; None otherwise."""
        parts = self._check("link", token)
        if parts is None or len(parts) != 3 or not parts[0].isdecimal():
            return None
        person_id, expires, nonce = parts
        if not expires.isdecimal() or now.timestamp() > int(expires):
            return None
        if not mark_seen(session, channel="sign-in", ref=nonce, now=now):
            return None  # used already
        return int(person_id)

    def start_session(self, session: Session, person_id: int, *, now: datetime) -> str:
        """A new session for `person_id`; returns the cookie's value."""
        return open_session(session, person_id, now=now, valid=SESSION_VALID)

    def signed_in(self, session: Session, value: str | None, *, now: datetime) -> Person | None:
        """The staff member a session cookie signs in: the session must exist and not have
        run out, and the person must still have a staff role (checked on every request)."""
        person_id = session_person(session, value, now=now)
        if person_id is None:
            return None
        person = session.get(Person, person_id)
        if person is None or session.execute(select(StaffRole.id).where(
                StaffRole.person_id == person_id)).first() is None:
            return None
        return person

    def sign_out(self, session: Session, value: str | None) -> bool:
        """End the session of a cookie (sign-out); False when there was none."""
        return end_session(session, value)


class WebIds:
    """Ids for the pages' addresses that cannot be guessed: `7.<HMAC of "kind:7">`, so a
    page elsewhere cannot name a person or a student without having been shown the id."""

    def __init__(self, key: bytes | None = None) -> None:
        """Sign with `key` (a fresh random one by default: ids change at a restart)."""
        self._key = key or secrets.token_bytes(32)

    def _mac(self, kind: str, number: int) -> str:
        digest = hmac.new(self._key, f"web-id:{kind}:{number}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()[:16]).decode().rstrip("=")

    def make(self, kind: str, number: int) -> str:
        """The address id of row `number` of `kind` ("person", "student")."""
        return f"{number}.{self._mac(kind, number)}"

    def read(self, kind: str, token: str) -> int | None:
        """The row an address id names, if it is genuine; None otherwise."""
        number, _, mac = token.partition(".")
        if not (number.isascii() and number.isdigit()) or len(number) > 18:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(kind, int(number)).encode()):
            return None
        return int(number)
