"""kube-apiserver's limits on requests, so that abuse cannot starve normal clients.

- In flight (``--max-requests-inflight``, ``--max-mutating-requests-inflight``, 400 and 200 as
  kube-apiserver's defaults, 0: no limit): a request over its limit is answered at once with
  429 ``TooManyRequests`` and ``Retry-After: 1``, which client-go honours. As kube-apiserver's
  max-in-flight filter: long-running requests (watches, logs) are not counted, nor are
  ``system:masters``' requests, and health endpoints are never refused.
- The request head (:class:`GuardedHttpTools`, uvicorn's httptools protocol): it must arrive
  whole within the head timeout (Go's ``ReadHeaderTimeout``; kube-apiserver 32 s), else the
  connection is closed, so trickling or silent connections do not stay open; and it may be at
  most 1 MiB (Go's ``MaxHeaderBytes``), else 431, never a 5xx.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from watchcache.http.authorization import watch_requested
from watchcache.http.responses import JSON
from watchcache.http.transport import HeadJoiningTransport
from watchcache.machinery import errors

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_HEAD_BYTES = 1 << 20  # Go's http.DefaultMaxHeaderBytes, which kube-apiserver keeps
REQUEST_HEAD_TIMEOUT_S = 32.0  # kube-apiserver's ReadHeaderTimeout
# After refusing a head: how long the rest of the request is read and dropped before closing
# (Go's rstAvoidanceDelay). Closing with unread input sends a reset, which can overtake the 431.
LINGER_S = 0.5
TOO_MANY = errors.APIError(
    429, "TooManyRequests", "Too many requests, please try again later.", {"retryAfterSeconds": 1}
)


READ_ONLY, MUTATING = 0, 1  # the two kinds of request, as indexes of the counts below


@dataclass
class InFlightCounts:
    """Requests being served now and requests refused so far, by kind (read-only, mutating)."""

    current: list[int] = field(default_factory=lambda: [0, 0])
    refused: list[int] = field(default_factory=lambda: [0, 0])


class InFlight:
    """ASGI middleware after authentication: sheds requests over the in-flight limits."""

    def __init__(
        self, app: ASGIApp, max_read_only: int, max_mutating: int, open_paths: frozenset[str]
    ) -> None:
        self.app, self.open_paths = app, open_paths
        self.limits = (max_read_only, max_mutating)  # by kind; 0: no limit
        self.counts = InFlightCounts()
        self.refusal = orjson.dumps(TOO_MANY.status())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths or _exempt(scope):
            await self.app(scope, receive, send)
            return
        kind = MUTATING if scope["method"] in MUTATING_METHODS else READ_ONLY
        current, limit = self.counts.current, self.limits[kind]
        if limit and current[kind] >= limit:
            self.counts.refused[kind] += 1
            response = Response(self.refusal, 429, media_type=JSON, headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        current[kind] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            current[kind] -= 1


def _exempt(scope: Scope) -> bool:
    """Long-running requests (watches, logs) and system:masters' requests are not counted."""
    path: str = scope["path"]
    if "/watch/" in path or path.endswith("/log"):
        return True
    if watch_requested(scope.get("query_string", b"")):
        return True
    user: Any = scope.get("user")
    return user is not None and "system:masters" in user.groups


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit on each request head,
    writing through a :class:`HeadJoiningTransport` (a response in one system call)."""

    head_timeout_s = REQUEST_HEAD_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeadJoiningTransport(transport, self.loop))
        self._head_bytes = 0
        self._head_due: float | None = None  # loop time by which the head being read must be whole
        self._watchdog: asyncio.TimerHandle | None = None
        self._lingering: asyncio.TimerHandle | None = None  # refused: dropping input until closed
        self._start_head()

    def _start_head(self) -> None:
        """A head begins. Its deadline is kept by one timer per connection, re-armed only when
        it fires (a timer scheduled and cancelled per request cost each request ~2 µs)."""
        if self._head_due is None:
            self._head_bytes = 0
            self._head_due = self.loop.time() + self.head_timeout_s
            if self._watchdog is None:
                self._watchdog = self.loop.call_at(self._head_due, self._watch)

    def _watch(self) -> None:
        """The head's deadline has come: too slow if it is still being read, else wait for the
        deadline of the one being read now, if any (the next head arms it otherwise)."""
        self._watchdog = None
        due = self._head_due
        if due is None:
            return
        if self.loop.time() < due:
            self._watchdog = self.loop.call_at(due, self._watch)
            return
        self._head_due = None
        if self.cycle is None or self.cycle.response_complete:  # no request is being served
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:
            return
        if self._head_due is not None:  # reading a head: count it (a body's bytes come after)
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._refuse_head()
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head()  # the next request on a kept-alive connection: its own deadline

    def on_headers_complete(self) -> None:
        self._stop_head()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head()
        for timer in (self._watchdog, self._lingering):
            if timer is not None:
                timer.cancel()
        super().connection_lost(exc)

    def _stop_head(self) -> None:
        self._head_due = None  # (the watchdog, armed, finds nothing due when it fires)

    def _refuse_head(self) -> None:
        self._stop_head()
        body = b"431 Request Header Fields Too Large"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
        )
        # a lingering close, as Go's server does: no more output, the rest of the request read
        # and dropped for a while, so that the client reads the 431 before the connection goes
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self._lingering = self.loop.call_later(LINGER_S, self.transport.close)
