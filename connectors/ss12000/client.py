"""An SS 12000 client over httpx: bearer tokens from an OAuth2 client-credentials endpoint
(fetched again when they expire or are refused), or a client certificate; paging by
`pageToken` until it is null or missing; `/lookup` calls split in halves while the server
answers 503 (too large).

Errors name the path and the status, never a body (it may hold personal data) and never
a secret.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)
Params = Mapping[str, str | Sequence[str]]
#: Transient answers are asked again after these pauses (seconds).
RETRY_PAUSES = (0.5, 2.0)
LOOKUP_SIZE = 500
TOKEN_MARGIN_SECONDS = 30


class SS12000Error(Exception):
    """The server could not be used for this call; `str()` is safe to log and show."""

    def __init__(self, message: str, *, status: int | None = None, path: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.path = path


class AccessDenied(SS12000Error):
    """403: these credentials may not do this (the vendor must allow it)."""


class NotOffered(SS12000Error):
    """404 or 501 on an endpoint: this server does not offer it."""


class MaybeDone(SS12000Error):
    """The request went out and no answer came: the server may have done it."""


@dataclass(frozen=True)
class Credentials:
    """How to authenticate: OAuth2 client credentials, a client certificate, or both."""

    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None
    cert: tuple[str, str] | None = None


class Client:
    """A synchronous SS 12000 client (the connector runs in a worker thread)."""

    def __init__(self, base_url: str, credentials: Credentials, *, timeout: float = 30.0,
                 page_size: int = 1000, lookup_size: int = LOOKUP_SIZE) -> None:
        """Connect to `base_url` (the API base, e.g. https://host/v2)."""
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/", cert=credentials.cert,
                                  timeout=timeout, headers={"Accept": "application/json"})
        self._credentials = credentials
        self._token: str | None = None
        self._token_expires = 0.0
        self.page_size = page_size
        self.lookup_size = lookup_size
        #: The server's own time, from the Date header of its first answer.
        self.server_time: datetime | None = None

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> Client:
        """`with Client(...) as client:`."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close on leaving."""
        self.close()

    # -- authentication -------------------------------------------------------------------------

    def _bearer(self, *, renew: bool = False) -> dict[str, str]:
        credentials = self._credentials
        if not credentials.token_url:
            return {}
        if renew or self._token is None or time.monotonic() >= self._token_expires:
            self._fetch_token()
        return {"Authorization": f"Bearer {self._token}"}

    def _fetch_token(self) -> None:
        credentials = self._credentials
        assert credentials.token_url is not None
        form = {"grant_type": "client_credentials", "client_id": credentials.client_id or "",
                "client_secret": credentials.client_secret or ""}
        if credentials.scope:
            form["scope"] = credentials.scope
        try:
            response = self._http.post(credentials.token_url, data=form)
        except httpx.HTTPError as error:
            raise SS12000Error(f"token endpoint unreachable ({type(error).__name__})",
                               path="token") from None
        if response.status_code != 200:
            raise AccessDenied(f"token endpoint refused the client credentials "
                               f"({response.status_code})", status=response.status_code,
                               path="token")
        try:
            body = response.json()
            self._token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 300)
        except (ValueError, KeyError, TypeError):
            raise SS12000Error("token endpoint answered without an access_token",
                               path="token") from None
        self._token_expires = time.monotonic() + max(lifetime - TOKEN_MARGIN_SECONDS, 1.0)

    # -- requests -------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Params | None = None,
                body: Any = None) -> Any:
        """One call; the decoded JSON answer (None for an empty one).

        401 fetches a new token and asks once more; a read (GET, or a lookup) that meets
        429, 5xx (but a lookup's 503) or no connection is asked again after a pause; a write
        is not (its caller decides, after checking whether it went through); 403, 404 and
        other refusals raise at once.
        """
        renewed = False
        pauses = list(RETRY_PAUSES) if method == "GET" or path.endswith("/lookup") else []
        while True:
            try:
                response = self._http.request(method, path.lstrip("/"), params=params,
                                              json=body, headers=self._bearer())
            except httpx.TimeoutException:
                if pauses:
                    time.sleep(pauses.pop(0))
                    continue
                raise MaybeDone(f"{method} {path}: no answer in time", path=path) from None
            except httpx.HTTPError as error:
                if pauses:
                    time.sleep(pauses.pop(0))
                    continue
                raise SS12000Error(f"{method} {path}: unreachable ({type(error).__name__})",
                                   path=path) from None
            self._note_time(response)
            status = response.status_code
            if status == 401 and not renewed and self._credentials.token_url:
                self._bearer(renew=True)
                renewed = True
                continue
            if (status == 429 or (status >= 500 and status not in (501, 503))
                    or (status == 503 and not path.endswith("/lookup"))) and pauses:
                time.sleep(pauses.pop(0))
                continue
            if status < 300:
                return response.json() if response.content else None
            raise _error(method, path, status)

    def _note_time(self, response: httpx.Response) -> None:
        if self.server_time is not None:
            return
        header = response.headers.get("date")
        try:
            self.server_time = (parsedate_to_datetime(header).astimezone(UTC) if header
                                else datetime.now(UTC))
        except (TypeError, ValueError):
            self.server_time = datetime.now(UTC)

    def pages(self, path: str, params: Params | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page by page. A `pageToken` carries the query it
        came from, so later pages send only it (and `limit`)."""
        query: dict[str, str | Sequence[str]] = {**(params or {}), "limit": str(self.page_size)}
        while True:
            answer = self.request("GET", path, params=query)
            if isinstance(answer, list):  # some servers answer a bare array
                yield from answer
                return
            yield from (answer or {}).get("data") or []
            token = (answer or {}).get("pageToken")
            if not token:  # null, or left out
                return
            query = {"pageToken": str(token), "limit": str(self.page_size)}

    def lookup(self, path: str, ids: Sequence[str], key: str = "ids") -> list[dict[str, Any]]:
        """`POST {path}/lookup` for many ids, in parts; a part the server finds too large
        (503) is split in two."""
        found: list[dict[str, Any]] = []
        parts = [list(ids[i:i + self.lookup_size]) for i in range(0, len(ids), self.lookup_size)]
        while parts:
            part = parts.pop()
            try:
                answer = self.request("POST", f"{path}/lookup", body={key: part})
            except SS12000Error as error:
                if error.status == 503 and len(part) > 1:
                    middle = len(part) // 2
                    parts += [part[:middle], part[middle:]]
                    continue
                raise
            found += answer if isinstance(answer, list) else (answer or {}).get("data") or []
        return found


def _error(method: str, path: str, status: int) -> SS12000Error:
    where = f"{method} {path}"
    if status == 403:
        return AccessDenied(f"{where}: not allowed for these credentials (403)", status=status,
                            path=path)
    if status in (404, 405, 501):
        return NotOffered(f"{where}: not offered by this server ({status})", status=status,
                          path=path)
    if status == 503:
        return SS12000Error(f"{where}: unavailable or too large (503)", status=status, path=path)
    return SS12000Error(f"{where}: refused ({status})", status=status, path=path)
