"""A Bot API that breaks: a TCP server that resets an HTTP request at a chosen stage.

The fake Bot API (`telegram_api.py`) is a faithful server; this one is a faulty line. Each
connection it accepts follows the next stage of its plan:

- `reset_before_reading`: reset once the request has begun to arrive (`BEGUN` bytes of it,
  so the client is writing its body), before a byte of it is read;
- `reset_mid_body`: the headers and part of the body read, then reset;
- `reset_unread`: reset once the whole request has arrived in the socket, none of it read
  (the server's process died with the request in its kernel buffer);
- `reset_after_body`: the whole request read, then reset before any answer;
- `answer`: the whole request read and answered as `sendMessage` would be (the connection
  kept alive for more), and `answer_then_reset`: answered, then reset while idle.

Its receive buffer is small (`RECEIVE_BUFFER`), so a large request cannot all be on the way
before the server reads it: with the client's send buffer small too, the client is still
writing when a reset comes. Requests read in full are kept (`requests`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass

#: Bytes of receive buffer asked for (the kernel doubles it): a few kilobytes in flight.
RECEIVE_BUFFER = 4096
#: Bytes in the socket that show a request has begun (more than any request's head).
BEGUN = 2048
STAGES = ("reset_before_reading", "reset_mid_body", "reset_unread", "reset_after_body", "answer",
          "answer_then_reset")


@dataclass
class Received:
    """A request the server read in full: its request line and body."""

    line: str
    body: bytes


class BreakingServer:
    """Serves 127.0.0.1:<port> from a thread; connection n follows `plan[n]` (the last
    stage repeats)."""

    def __init__(self, plan: list[str]) -> None:
        unknown = [stage for stage in plan if stage not in STAGES]
        if unknown or not plan:
            raise ValueError(f"stages are among {STAGES}, not {unknown}")
        self.plan = list(plan)
        self.requests: list[Received] = []
        self.broken = threading.Event()  # set each time a connection was reset
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.05)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections = 0
        self._thread = threading.Thread(target=self._serve, name="breaking-server", daemon=True)

    @property
    def base_url(self) -> str:
        """The Bot API base for python-telegram-bot (`…/bot`)."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}/bot"

    @property
    def connections(self) -> int:
        """How many connections were accepted."""
        with self._lock:
            return self._connections

    def __enter__(self) -> BreakingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)
        self._listener.close()

    def _serve(self) -> None:
        workers: list[threading.Thread] = []
        while not self._stopping.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                stage = self.plan[min(self._connections, len(self.plan) - 1)]
                self._connections += 1
            worker = threading.Thread(target=self._handle, args=(connection, stage), daemon=True)
            worker.start()
            workers.append(worker)
        for worker in workers:
            worker.join(timeout=5)

    def _handle(self, connection: socket.socket, stage: str) -> None:
        connection.settimeout(10)
        try:
            if stage in ("reset_before_reading", "reset_unread"):
                self._wait_for_request(connection, whole=stage == "reset_unread")
                return self._reset(connection)
            head = _read_head(connection)
            if stage == "reset_mid_body":
                connection.recv(512)  # a little of the body, far from all of it
                return self._reset(connection)
            while True:
                body = _read_exactly(connection, _content_length(head[0]) - len(head[1]))
                with self._lock:
                    self.requests.append(Received(_request_line(head[0]), head[1] + body))
                if stage == "reset_after_body":
                    return self._reset(connection)
                connection.sendall(_answer(len(self.requests)))
                if stage == "answer_then_reset":
                    return self._reset(connection)
                head = _read_head(connection)
                if not head[0]:
                    return None
        except OSError:
            return None
        finally:
            with contextlib.suppress(OSError):
                connection.close()

    def _reset(self, connection: socket.socket) -> None:
        """Close with a TCP reset (linger 0), unread data or not."""
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.close()
        self.broken.set()

    def _wait_for_request(self, connection: socket.socket, *, whole: bool) -> None:
        """Until the request has begun to arrive in the socket's buffer (`BEGUN` bytes), or
        (`whole`) all of it has: peeked at, never read."""
        while not self._stopping.is_set():
            seen = connection.recv(RECEIVE_BUFFER * 4, socket.MSG_PEEK)
            head, blank, body = seen.partition(b"\r\n\r\n")
            complete = bool(blank) and len(body) >= _content_length(head)
            if complete or (len(seen) >= BEGUN and not whole):
                return
            time.sleep(0.001)  # a peek returns at once while data waits: poll for the rest


def _read_head(connection: socket.socket) -> tuple[bytes, bytes]:
    """The request's head (up to the blank line) and what of the body came with it; an
    empty head when the client closed the connection."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(1024)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(min(65536, size - len(data)))
        if not chunk:
            raise ConnectionError("closed mid-body")
        data += chunk
    return data


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _request_line(head: bytes) -> str:
    return head.split(b"\r\n", 1)[0].decode("latin-1")


def _answer(message_id: int) -> bytes:
    """A Bot API answer to sendMessage: the message it made."""
    body = json.dumps({"ok": True, "result": {
        "message_id": message_id, "date": int(time.time()), "text": "",
        "chat": {"id": 1, "type": "private"}}}).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
