"""Watch fan-out: one dispatcher per replica, bounded per-watcher buffers, parking.

The :class:`Broadcaster` is a replica listener: the tailer hands it every applied event, in log
order, synchronously. It turns each event into a :class:`Change` (the event's lines are built
once and shared by every watcher), keeps the recent ones in a bounded in-memory window, and
appends the shared bytes to the buffer of every *live* watcher that the event concerns —
found by index (name, node, namespace), so an event costs in proportion to the watchers it
matches. The dispatcher never awaits a client.

A watcher whose buffer is full is *parked*: it stops receiving live events and keeps only its
position (the rv before the event that did not fit). Its own writer task later catches up from
the window, or from the Redis stream for older history, and rejoins live delivery. Only a
position that has fallen out of the log's retention ends the watch, with 410 (design.md
invariants 5 and 7).
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncio

import orjson

from . import errors, table
from .events import Event, EventType, SelectorState
from .replica import Applied, Replica
from .selectors import FieldSelector, LabelSelector
from .view import Entry

WINDOW_EVENTS = 20_000  # recent changes kept in memory (~3 KB each: ~60 MB at most)
BUFFER_EVENTS = 1_000  # per-watcher buffer of shared byte strings (references, not copies)

WatchType = EventType | str  # plus "DELETED_PREVIOUS": left the selector (old content, new rv)
LEFT = "LEFT"


@dataclass(frozen=True, slots=True)
class WatchFilter:
    """Which pods a watch sees: a namespace (or all) and its selectors."""

    namespace: str | None
    label: LabelSelector
    field: FieldSelector

    def matches(self, key: str, state: SelectorState) -> bool:
        if self.namespace is not None and not key.startswith(self.namespace + "/"):
            return False
        return self.label.matches(state.labels) and self.field.matches(state.fields)


def event_line(event_type: str, obj: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + obj + b"}\n"


def bookmark_line(rv: int, annotations: dict[str, str] | None = None) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if annotations:
        meta["annotations"] = annotations
    obj = {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": {"containers": None}, "status": {}}
    return event_line("BOOKMARK", orjson.dumps(obj))


def error_line(error: errors.APIError) -> bytes:
    return event_line("ERROR", orjson.dumps(error.status()))


class Change:
    """One event as watchers see it; its wire lines are built lazily, once, and shared."""

    __slots__ = ("_lines", "json", "key", "previous", "previous_json", "rv", "state", "type")

    def __init__(
        self,
        rv: int,
        event_type: EventType,
        key: str,
        json: bytes,
        state: SelectorState,
        previous: SelectorState | None,
        previous_json: bytes | None,
    ) -> None:
        self.rv = rv
        self.type = event_type
        self.key = key
        self.json = json
        self.state = state
        self.previous = previous
        self.previous_json = previous_json
        self._lines: dict[tuple[str, bool], bytes] = {}

    @classmethod
    def from_applied(cls, applied: Applied) -> Change:
        event, entry, prev = applied.event, applied.entry, applied.previous
        if entry is not None:
            json, state = entry.json, entry.selector_state
        else:
            json = orjson.dumps(event.pod)
            state = event.previous if event.type == "DELETED" and event.previous else _state_of(event)
        prev_json = prev.json if prev is not None and prev.rv < event.rv else None
        return cls(event.rv, event.type, event.key, json, state, event.previous, prev_json)

    @classmethod
    def from_event(cls, event: Event) -> Change:
        """A change replayed from the Redis stream (older than the in-memory window)."""
        state = event.previous if event.type == "DELETED" and event.previous else _state_of(event)
        return cls(event.rv, event.type, event.key, orjson.dumps(event.pod), state, event.previous, None)

    def judge(self, flt: WatchFilter) -> str | None:
        """The event type this change is for a watcher with ``flt``, or None (list-watch §5)."""
        if self.type == "DELETED":
            return "DELETED" if flt.matches(self.key, self.state) else None
        now = flt.matches(self.key, self.state)
        before = self.previous is not None and flt.matches(self.key, self.previous)
        if now:
            return "MODIFIED" if before and self.type == "MODIFIED" else "ADDED"
        return LEFT if before else None

    def line(self, kind: str, as_table: bool) -> bytes:
        cached = self._lines.get((kind, as_table))
        if cached is None:
            cached = self._lines[(kind, as_table)] = self._build(kind, as_table)
        return cached

    def _build(self, kind: str, as_table: bool) -> bytes:
        obj = self.json
        if kind == LEFT:
            kind = "DELETED"
            if self.previous_json is not None:
                # the previous content, stamped with this event's rv (as the watch cache does)
                previous = orjson.loads(self.previous_json)
                previous["metadata"]["resourceVersion"] = str(self.rv)
                obj = orjson.dumps(previous)
        if as_table:
            obj = table_event_object(orjson.loads(obj), with_columns=False)
        return event_line(kind, obj)


def table_event_object(pod: dict[str, Any], *, with_columns: bool) -> bytes:
    """A one-row Table for ``kubectl get -w`` (only the first event carries the columns)."""
    row = table.pod_row(pod, datetime.now(UTC), "Metadata")
    meta = {"resourceVersion": pod["metadata"].get("resourceVersion", "")}
    return orjson.dumps(table.table([row], meta, with_columns=with_columns))


def _state_of(event: Event) -> SelectorState:
    from .selectors import pod_fields

    return SelectorState(event.pod["metadata"].get("labels") or {}, pod_fields(event.pod))


@dataclass(eq=False)
class Watcher:
    """One open watch. ``live``: the dispatcher appends to ``buffer`` changes with rv > ``cursor``.

    Not live (starting or parked): the watcher's own task catches up from ``cursor``.
    """

    filter: WatchFilter
    as_table: bool
    cursor: int
    live: bool = False
    closed: bool = False
    buffer: deque[bytes] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    index_keys: tuple[tuple[str, str], ...] = ()

    def close(self) -> None:
        self.closed = True
        self.wake.set()


@dataclass
class Metrics:
    """Counters for ``/metrics`` (see docs/architecture.md)."""

    events_dispatched: int = 0
    deliveries: int = 0
    parked: int = 0
    resumed: int = 0
    delivery_lag_s: float = 0.0


class Broadcaster:
    """The replica's dispatcher and in-memory window of recent changes."""

    def __init__(self, replica: Replica, *, window: int = WINDOW_EVENTS, buffer: int = BUFFER_EVENTS) -> None:
        self.replica = replica
        self.window_size = window
        self.buffer_size = buffer
        self.window: list[Change] = []
        self.window_rvs: list[int] = []
        self.metrics = Metrics()
        self._index: dict[tuple[str, str], set[Watcher]] = {}
        self._everyone: set[Watcher] = set()
        self.watchers: set[Watcher] = set()
        replica.add_listener(self.dispatch)
        replica.add_reset_listener(self.reset)

    @property
    def rv(self) -> int:
        """Every change up to this rv has been dispatched (the view's rv)."""
        return self.replica.view.rv

    async def close(self) -> None:
        self.reset()

    def reset(self) -> None:
        """End every watch and forget the window (shutdown, or the view is rebuilt)."""
        for watcher in list(self.watchers):
            watcher.close()
        self.window.clear()
        self.window_rvs.clear()

    # ---- registration ----------------------------------------------------------------------

    def register(self, watcher: Watcher) -> None:
        keys = _index_keys(watcher.filter)
        watcher.index_keys = keys
        self.watchers.add(watcher)
        if not keys:
            self._everyone.add(watcher)
        for key in keys:
            self._index.setdefault(key, set()).add(watcher)

    def unregister(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        self._everyone.discard(watcher)
        for key in watcher.index_keys:
            bucket = self._index.get(key)
            if bucket is not None:
                bucket.discard(watcher)
                if not bucket:
                    del self._index[key]

    # ---- dispatch (called by the tailer; never awaits) -----------------------------------------

    def dispatch(self, applied: list[Applied]) -> None:
        for item in applied:
            change = Change.from_applied(item)
            self._remember(change)
            self._fan_out(change)
        self.metrics.events_dispatched += len(applied)

    def _remember(self, change: Change) -> None:
        self.window.append(change)
        self.window_rvs.append(change.rv)
        if len(self.window) > 2 * self.window_size:
            del self.window[: self.window_size]
            del self.window_rvs[: self.window_size]

    def _candidates(self, change: Change) -> Iterable[Watcher]:
        index = self._index
        if not index:
            return self._everyone
        found = set(self._everyone)
        keys = [("key", change.key), ("ns", change.key.partition("/")[0]), ("node", change.state.fields.get("spec.nodeName", ""))]
        if change.previous is not None:
            keys.append(("node", change.previous.fields.get("spec.nodeName", "")))
        for key in keys:
            bucket = index.get(key)
            if bucket:
                found |= bucket
        return found

    def _fan_out(self, change: Change) -> None:
        limit = self.buffer_size
        delivered = 0
        for watcher in self._candidates(change):
            if not watcher.live or change.rv <= watcher.cursor:
                continue
            kind = change.judge(watcher.filter)
            if kind is None:
                continue
            if len(watcher.buffer) >= limit:
                self._park(watcher, change.rv - 1)
                continue
            watcher.buffer.append(change.line(kind, watcher.as_table))
            watcher.wake.set()
            delivered += 1
        self.metrics.deliveries += delivered

    def _park(self, watcher: Watcher, cursor: int) -> None:
        """Stop live delivery; the watcher resumes from ``cursor`` once it has drained."""
        watcher.live = False
        watcher.cursor = cursor
        watcher.wake.set()
        self.metrics.parked += 1

    # ---- catching up -------------------------------------------------------------------------

    def go_live_if_current(self, watcher: Watcher) -> bool:
        """Atomic with dispatch (no await): a watcher at the head becomes live."""
        if watcher.cursor >= self.rv:
            watcher.live = True
            return True
        return False

    async def changes_after(self, rv: int, limit: int) -> list[Change]:
        """Up to ``limit`` changes with rv > ``rv``, from the window or else the Redis stream.

        Only changes this replica has dispatched (rv ≤ ``self.rv``) are returned, so a watcher
        that catches up through here and then goes live never sees a change twice.
        """
        oldest = await self.replica.store.oldest_rv()
        if oldest is not None and rv + 1 < oldest:
            # retention is the log's, not the window's: what the log dropped is gone everywhere
            raise self.expired(rv, oldest)
        rvs = self.window_rvs
        if rvs and rv + 1 >= rvs[0]:
            start = bisect.bisect_right(rvs, rv)
            return self.window[start : start + limit]
        events = await self.replica.store.read_range(rv, limit)
        if events and rv + 1 < events[0].rv:
            raise self.expired(rv, events[0].rv)
        ceiling = rvs[0] if rvs else self.rv + 1
        return [Change.from_event(e) for e in events if e.rv < ceiling and e.rv <= self.rv]

    @staticmethod
    def expired(requested: int, oldest: int) -> errors.APIError:
        return errors.expired(f"too old resource version: {requested} ({oldest - 1})")

    def initial_entries(self, flt: WatchFilter) -> list[Entry]:
        return [e for e in self.replica.view.entries(flt.namespace) if flt.matches(e.key, e.selector_state)]


def _index_keys(flt: WatchFilter) -> tuple[tuple[str, str], ...]:
    """The most selective index bucket for a watcher; () means it must see every change."""
    name = flt.field.exact("metadata.name")
    namespace = flt.namespace or flt.field.exact("metadata.namespace")
    if name is not None and namespace is not None:
        return (("key", f"{namespace}/{name}"),)
    node = flt.field.exact("spec.nodeName")
    if node is not None:
        return (("node", node),)
    if namespace is not None:
        return (("ns", namespace),)
    return ()
