"""The watch endpoint: a chunked 200 stream of newline-terminated JSON events (list-watch §5-8).

Each watch runs in its request's task: it sends the initial state if asked, catches up from its
start rv, then writes what the dispatcher buffers for it — many events per ``send`` — plus
bookmarks, until its deadline, a client disconnect or server shutdown. Writing is a raw ASGI
send loop (cheaper than ``StreamingResponse``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import time
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from watchcache.cache.changes import (
    Change,
    WatchFilter,
    bookmark_line,
    error_line,
    event_line,
    table_event_object,
)
from watchcache.cache.dispatcher import CATCH_UP_BATCH, SEND_CHUNK_BYTES, Broadcaster, Ending, Watcher
from watchcache.cache.view import Entry
from watchcache.http import resources
from watchcache.http.responses import JSON, negotiate, until_disconnect
from watchcache.machinery import errors, params
from watchcache.machinery.kinds import Kind
from watchcache.machinery.options import ListOptions, parse_list_options
from watchcache.registry.resource import ResourceRegistry, parse_resource_version

BOOKMARK_BEFORE_DEADLINE_S = 2.0  # the watch cache sends a last bookmark ~2 s before the deadline
DEFAULT_TIMEOUT_RANGE_S = (1800.0, 3600.0)  # server default watch duration: random in [30, 60) min
INITIAL_EVENTS_END = "k8s.io/initial-events-end"
LIST_BLUEPRINT = "kubernetes.io/initial-events-list-blueprint"
VIEW_REBUILT = "the server rebuilt its view of the storage, whose history changed: list again"


def wants_watch(query: Mapping[str, str]) -> bool:
    return params.flag(query, "watch")


async def watch(request: Request, namespace: str | None, query: Mapping[str, str]) -> Response:
    """Validate before streaming (errors here are plain HTTP errors), then stream."""
    as_table = negotiate(request.headers.get("accept")) == "table"
    state = request.app.state
    registry = resources.registry(request)
    kind = registry.kind
    opts = parse_list_options(query, watch=True, fields=kind.fields)
    if opts.resource_version:
        parse_resource_version(opts.resource_version)
    served = kind if kind.stored_as is not None else None
    flt = WatchFilter(kind.storage_resource, namespace, opts.label_selector, opts.field_selector, served)
    # watch-list requests get plain JSON even when a Table was asked for (list-watch §8)
    as_table = as_table and opts.send_initial_events is None
    return WatchResponse(
        registry, state.broadcaster, flt, opts, as_table, state.settings.bookmark_interval_seconds
    )


class WatchResponse(Response):
    def __init__(
        self,
        registry: ResourceRegistry,
        broadcaster: Broadcaster,
        flt: WatchFilter,
        opts: ListOptions,
        as_table: bool,
        bookmark_interval: float,
    ) -> None:
        self.bookmark_interval = bookmark_interval
        self.registry = registry  # its kind's, for the start rv's read rules
        self.kind = registry.kind
        self.broadcaster = broadcaster
        self.filter = flt
        self.opts = opts
        self.as_table = as_table
        self.columns_sent = False
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stream = WatchStream(self, send)
        try:
            # the start position is fixed before the 200 goes out: any write the client makes
            # once it holds the response is after it
            start: tuple[int, list[Entry] | None] | errors.APIError = await stream.position()
        except errors.APIError as exc:
            start = exc
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", JSON.encode()), (b"cache-control", b"no-cache, private")],
            }
        )
        if isinstance(start, errors.APIError):
            await send({"type": "http.response.body", "body": error_line(start), "more_body": False})
            return
        listener = asyncio.ensure_future(until_disconnect(receive))
        try:
            await stream.run(listener, *start)
        finally:
            listener.cancel()
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


class WatchStream:
    """The life of one watch after the 200 has been sent."""

    def __init__(self, response: WatchResponse, send: Send) -> None:
        self.r = response
        self.send = send
        self.broadcaster = response.broadcaster
        self.kind = response.kind
        opts = response.opts
        timeout = opts.timeout_seconds or random.uniform(*DEFAULT_TIMEOUT_RANGE_S)
        self.deadline = time.monotonic() + timeout
        self.interval = response.bookmark_interval
        self.next_bookmark = time.monotonic() + self.interval if opts.allow_bookmarks else None

    async def write(self, chunk: bytes) -> None:
        await self.send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def run(self, disconnected: asyncio.Future[Any], cursor: int, initial: list[Entry] | None) -> None:
        watcher = Watcher(self.r.filter, self.r.as_table, cursor=cursor)
        disconnected.add_done_callback(lambda _: watcher.close())
        if initial is not None:
            await self.send_initial(initial, cursor)
        self.broadcaster.register(watcher)
        try:
            await self.loop(watcher)
            await self.end(watcher)
        except errors.APIError as exc:
            if exc.code == 410:  # fell out of retention, or the view was rebuilt: the client relists
                terminated = self.broadcaster.metrics.terminated
                terminated[self.r.filter.resource] = terminated.get(self.r.filter.resource, 0) + 1
            await self.write(error_line(exc))
        finally:
            self.broadcaster.unregister(watcher)

    async def position(self) -> tuple[int, list[Entry] | None]:
        """Where the watch starts, and the initial state to send first (None: none).

        Raises APIError (sent as an ERROR event) when a requested rv is not reached in time.
        """
        opts, b = self.r.opts, self.broadcaster
        rv_param = opts.resource_version
        initial = (
            opts.send_initial_events if opts.send_initial_events is not None else rv_param in (None, "0")
        )
        if rv_param and rv_param != "0" and not initial:
            return self.r.registry.resumable_rv(rv_param), None
        reached = await self.r.registry.read_rv(rv_param)  # a list's rules: unset, "0" or N
        if initial:
            return b.rv, b.initial_entries(self.r.filter)  # one synchronous step: no gap, no overlap
        return (reached if not rv_param else b.rv), None

    async def send_initial(self, entries: list[Entry], rv: int) -> None:
        for start in range(0, len(entries), CATCH_UP_BATCH):  # lines built per batch, not all at once
            batch = entries[start : start + CATCH_UP_BATCH]
            await self.write(b"".join(self.line_for("ADDED", e.json) for e in batch))
        if self.r.opts.send_initial_events and self.r.opts.allow_bookmarks:
            annotations = {INITIAL_EVENTS_END: "true", LIST_BLUEPRINT: _empty_list_b64(self.kind)}
            await self.write(bookmark_line(self.kind, rv, annotations))

    def line_for(self, event_type: str, stored: bytes) -> bytes:
        obj = self.kind.served_json(stored)
        if not self.r.as_table:
            return event_line(event_type, obj)
        table_obj = table_event_object(self.kind, orjson.loads(obj), with_columns=not self.r.columns_sent)
        self.r.columns_sent = True
        return event_line(event_type, table_obj)

    async def loop(self, watcher: Watcher) -> None:
        b = self.broadcaster
        while not watcher.closed:
            if not watcher.live and not watcher.buffer:
                await self.broadcaster.replay(watcher, self.change_line, self.write)
                continue
            if watcher.buffer:
                await self.flush(watcher)
                continue
            now = time.monotonic()
            if now >= self.deadline:
                return
            if self.next_bookmark is not None and now >= self.next_bookmark:
                await self.write(bookmark_line(self.kind, b.rv))
                self.next_bookmark = min(now + self.interval, self.deadline - BOOKMARK_BEFORE_DEADLINE_S)
                if self.next_bookmark <= now:
                    self.next_bookmark = self.deadline + 1
                continue
            # no timer per wait: the broadcaster's ticker wakes watchers whose time has come
            b.schedule(
                watcher,
                self.deadline if self.next_bookmark is None else min(self.deadline, self.next_bookmark),
            )
            await watcher.sleep()

    async def end(self, watcher: Watcher) -> None:
        """The last words of a watch the server ends: on shutdown, what is buffered and a
        bookmark at the position reached, so the client resumes on another replica from there
        (kube-apiserver's watch cache does the same); after the view was rebuilt, 410 Expired,
        so it relists."""
        if watcher.ending is Ending.RESET:
            raise errors.expired(VIEW_REBUILT)
        if watcher.ending is not Ending.SHUTDOWN:
            return
        while watcher.live and watcher.buffer:
            await self.flush(watcher)
        if self.next_bookmark is not None:
            reached = self.broadcaster.rv if watcher.live else watcher.cursor
            await self.write(bookmark_line(self.kind, reached))

    async def flush(self, watcher: Watcher) -> None:
        buffer = watcher.buffer
        lines, size = [], 0
        while buffer and size < SEND_CHUNK_BYTES:  # bounded sends: a stalled client's socket
            line = buffer.popleft()[1]  # holds one chunk, the rest stays releasable
            lines.append(line)
            size += len(line)
        chunk = b"".join(lines)  # one line: the same bytes object, no copy
        if self.r.as_table and not self.r.columns_sent:
            chunk = _with_columns(self.kind, chunk)
            self.r.columns_sent = True
        await self.send({"type": "http.response.body", "body": chunk, "more_body": True})  # once per delivery

    def change_line(self, change: Change, event_type: str) -> bytes:
        served = self.r.filter.served
        if self.r.as_table and not self.r.columns_sent:
            self.r.columns_sent = True
            return _with_columns(self.kind, change.line(event_type, True, served))
        return change.line(event_type, self.r.as_table, served)


def _empty_list_b64(kind: Kind) -> str:
    """The watch-list blueprint: the kind's empty list, base64 of its JSON (list-watch §8)."""
    empty: dict[str, Any] = {
        "kind": kind.list_kind,
        "apiVersion": kind.api_version,
        "metadata": {},
        "items": None,
    }
    return base64.b64encode(orjson.dumps(empty)).decode()


def _with_columns(kind: Kind, chunk: bytes) -> bytes:
    """Give the first Table event of a watch its column definitions (kubectl needs them once)."""
    first, sep, rest = chunk.partition(b"\n")
    event = orjson.loads(first)
    event["object"]["columnDefinitions"] = kind.printer.columns
    return orjson.dumps(event) + sep + rest
