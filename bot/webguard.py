"""What the pages for people (the web chat, the overview, sign-in) accept, checked before
any route runs. Webhooks and the API are for machines and prove themselves otherwise
(signatures, secrets, a bearer token), so they pass untouched.

- **Host names.** Only configured names are served: loopback names, and the host of
  NARVARO_PUBLIC_URL when exposed. A page elsewhere whose name resolves to 127.0.0.1 (DNS
  rebinding) gets 421 and reads nothing.
- **No proxies for the local web chat.** Unless exposed, a request that came through a
  proxy (`Forwarded`, `X-Forwarded-For`, …) is refused: the local web chat lets anyone act
  as anyone, and a proxy set up for Twilio's webhooks must not publish it.
- **Same origin for every change.** A POST (or any method but GET/HEAD/OPTIONS) whose
  `Origin` is another origin (or `null`), or whose `Sec-Fetch-Site` is not `same-origin`,
  is refused: another web page cannot file a report or sign anyone in or out, whatever
  the cookie's SameSite does. A GET from another site is refused too, except a top-level
  navigation (a link followed), so no page can embed or fetch ours.
- **JSON for the API.** A POST to `/webchat/api/` must say `Content-Type:
  application/json` (415 otherwise): a plain form or `text/plain` is what a page elsewhere
  can send without asking the browser first.

Every answer to a person's browser also says: no framing, no content sniffing, and no
`Referer` to other sites (addresses hold ids and one-time links).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import is_loopback

log = logging.getLogger(__name__)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")
JSON_API = "/webchat/api/"
PAGE_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


def host_name(value: str) -> str | None:
    """The host name of a `Host` header or an origin's address (lower case, no port, no
    brackets, no trailing dot); None when it is not one."""
    try:
        name = urlsplit("//" + value).hostname
    except ValueError:
        return None
    return name.rstrip(".") if name else None


@dataclass(frozen=True)
class BrowserRules:
    """The host names served, the origins besides a page's own that may post (the public
    address, behind a proxy that changes `Host`), and whether requests through a proxy are
    refused (the local web chat)."""

    hosts: frozenset[str] = LOOPBACK_NAMES
    origins: frozenset[str] = field(default_factory=frozenset)
    local_only: bool = True

    @classmethod
    def for_address(cls, *, http_host: str, public_url: str | None,
                    exposed: bool) -> BrowserRules:
        """The rules for a server on `http_host`: loopback names (and `http_host` when it is
        one of them); with `exposed`, also the public address's host and origin."""
        hosts = set(LOOPBACK_NAMES)
        if is_loopback(http_host):
            hosts.add(http_host.lower())
        origins: set[str] = set()
        if exposed and public_url:
            parts = urlsplit(public_url)
            if name := host_name(parts.netloc):
                hosts.add(name)
            origins.add(f"{parts.scheme}://{parts.netloc}".lower())
        return cls(frozenset(hosts), frozenset(origins), local_only=not exposed)

    def refusal(self, method: str, path: str, headers: Headers) -> tuple[int, str] | None:
        """Why a request for a person's page is refused (status and reason), or None."""
        host = headers.get("host", "")
        name = host_name(host)
        if name is None or name not in self.hosts:
            return 421, "this server does not serve that host name"
        if self.local_only and any(header in headers for header in PROXY_HEADERS):
            return 403, "the local web chat is not served through a proxy"
        site = headers.get("sec-fetch-site")
        if method not in SAFE_METHODS:
            origin = headers.get("origin")
            if site is not None and site not in ("same-origin", "none"):
                return 403, "a change must come from this site's own pages"
            if origin is not None and not self._same_origin(origin, host):
                return 403, "a change must come from this site's own pages"
            if path.startswith(JSON_API) and _media_type(headers) != "application/json":
                return 415, "send JSON (Content-Type: application/json)"
        elif site in ("cross-site", "same-site") and not (
                headers.get("sec-fetch-mode") == "navigate"
                and headers.get("sec-fetch-dest") in ("document", None)):
            return 403, "these pages are not shown inside other sites"
        return None

    def _same_origin(self, origin: str, host: str) -> bool:
        if origin.rstrip("/").lower() in self.origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


class BrowserGuard:
    """ASGI middleware: checks `rules` for every request except to `machine_paths`."""

    def __init__(self, app: ASGIApp, *, rules: BrowserRules,
                 machine_paths: Collection[str]) -> None:
        """Guard `app`; `machine_paths` (webhooks, API, health) pass untouched; a path
        ending in "/" stands for every path under it (a webhook whose address carries a
        secret)."""
        self.app = app
        self.rules = rules
        self.machine_paths = frozenset(path for path in machine_paths
                                       if not path.endswith("/"))
        self.machine_prefixes = tuple(path for path in machine_paths if path.endswith("/"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse what the rules refuse; add the page headers to everything else."""
        if scope["type"] != "http" or scope["path"] in self.machine_paths or (
                self.machine_prefixes and scope["path"].startswith(self.machine_prefixes)):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        refused = self.rules.refusal(method, scope["path"], Headers(scope=scope))
        if refused is not None:
            status, reason = refused
            # The path may hold an id or a one-time link: only the first part is logged.
            log.warning("web: %s /%s… refused (%d): %s", method,
                        scope["path"].lstrip("/").split("/")[0], status, reason)
            response = PlainTextResponse(reason, status_code=status)
            await response(scope, receive, self._with_headers(send))
            return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *PAGE_HEADERS]
            await send(message)

        return sending
