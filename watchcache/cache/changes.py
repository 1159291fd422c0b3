"""A change: one event as readers of history and watchers see it.

Its wire lines (``{"type":…,"object":…}\n``, JSON or one-row Table) are built lazily, once per
change, and the same bytes go to every watcher (design.md invariant 6). A change also knows
the selector state before and after, so it can say what it is for any watch filter — ADDED,
MODIFIED, DELETED, or DELETED because the pod left the selector — without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from watchcache.cache.replica import Applied
from watchcache.machinery import errors
from watchcache.machinery.kinds import Kind
from watchcache.machinery.selectors import FieldSelector, LabelSelector, SelectorState
from watchcache.storage.entries import Event, EventType

LEFT = "LEFT"  # a MODIFIED event after which the pod no longer matches: sent as DELETED


@dataclass(frozen=True, slots=True)
class WatchFilter:
    """Which objects a watch sees: a resource, a namespace (or all) and its selectors; and
    the version it sees them in, when not the stored one (events.k8s.io/v1's Events)."""

    resource: str  # the stored resource
    namespace: str | None
    label: LabelSelector
    field: FieldSelector
    served: Kind | None = None

    def matches(self, key: str, state: SelectorState) -> bool:
        if self.namespace is not None and not key.startswith(self.namespace + "/"):
            return False
        return self.label.matches(state.labels) and self.field.matches(state.fields)


def event_line(event_type: str, obj: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + obj + b"}\n"


def bookmark_line(kind: Kind, rv: int, annotations: dict[str, str] | None = None) -> bytes:
    """An empty object of the kind carrying the rv, as Go serializes a zero value."""
    meta: dict[str, Any] = {"resourceVersion": str(rv), "creationTimestamp": None}
    if annotations:
        meta["annotations"] = annotations
    obj = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": meta, **kind.empty}
    return event_line("BOOKMARK", orjson.dumps(obj))


def error_line(error: errors.APIError) -> bytes:
    return event_line("ERROR", orjson.dumps(error.status()))


class Change:
    """One event as watchers see it; its wire lines are built lazily, once, and shared."""

    __slots__ = (
        "_lines", "json", "key", "kind", "previous", "previous_json", "previous_rv", "resource", "rv",
        "state", "type",
    )  # fmt: skip

    def __init__(
        self,
        kind: Kind,
        rv: int,
        event_type: EventType,
        key: str,
        json: bytes,
        state: SelectorState,
        previous: SelectorState | None,
        previous_json: bytes | None,
        previous_rv: int = 0,
    ) -> None:
        self.kind = kind
        self.resource = kind.qualified_resource  # judged per filter: looked up once per change
        self.rv = rv
        self.type = event_type
        self.key = key
        self.json = json
        self.state = state
        self.previous = previous
        self.previous_json = previous_json
        self.previous_rv = previous_rv
        self._lines: dict[tuple[str, bool, Kind | None], bytes] = {}

    @classmethod
    def from_applied(cls, applied: Applied) -> Change:
        kind, event, entry, prev = applied.kind, applied.event, applied.entry, applied.previous
        # the replaced version's selector state: the view's entry of it holds it already, so the
        # event's packed copy is unpacked only when the view did not hold that version
        previous = (
            prev.selector_state if prev is not None and prev.rv == event.previous_rv else event.previous
        )
        if entry is not None:
            json, state = entry.json, entry.selector_state
        else:
            json = event.json
            state = previous if event.type == "DELETED" and previous else _state_of(kind, event)
        prev_json = prev.json if prev is not None and prev.rv < event.rv else None
        return cls(kind, event.rv, event.type, event.key, json, state, previous, prev_json, event.previous_rv)

    @classmethod
    def from_event(cls, kind: Kind, event: Event) -> Change:
        """A change replayed from the Redis stream (older than the in-memory window)."""
        state = event.previous if event.type == "DELETED" and event.previous else _state_of(kind, event)
        return cls(
            kind, event.rv, event.type, event.key, event.json, state, event.previous, None, event.previous_rv
        )

    def judge(self, flt: WatchFilter) -> str | None:
        """The event type this change is for a watcher with ``flt``, or None (list-watch §5)."""
        if flt.resource != self.resource:
            return None
        if self.type == "DELETED":
            return "DELETED" if flt.matches(self.key, self.state) else None
        now = flt.matches(self.key, self.state)
        before = self.previous is not None and flt.matches(self.key, self.previous)
        if now:
            return "MODIFIED" if before and self.type == "MODIFIED" else "ADDED"
        return LEFT if before else None

    def line(self, event_type: str, as_table: bool, served: Kind | None = None) -> bytes:
        """The watch line of this change as ``event_type``, in ``served``'s version (None: stored)."""
        key = (event_type, as_table, served)
        cached = self._lines.get(key)
        if cached is None:
            cached = self._lines[key] = self._build(event_type, as_table, served or self.kind)
        return cached

    def _build(self, event_type: str, as_table: bool, served: Kind) -> bytes:
        obj = self.json
        if event_type == LEFT:
            event_type = "DELETED"
            if self.previous_json is not None:
                # the previous content, stamped with this event's rv (as the watch cache does)
                previous = orjson.loads(self.previous_json)
                previous["metadata"]["resourceVersion"] = str(self.rv)
                obj = orjson.dumps(previous)
        obj = served.served_json(obj)
        if as_table:
            obj = table_event_object(served, orjson.loads(obj), with_columns=False)
        return event_line(event_type, obj)


def table_event_object(kind: Kind, obj: dict[str, Any], *, with_columns: bool) -> bytes:
    """A one-row Table for ``kubectl get -w`` (only the first event carries the columns)."""
    row = kind.printer.table_row(obj, datetime.now(UTC), "Metadata")
    meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
    return orjson.dumps(kind.printer.table([row], meta, with_columns=with_columns))


def _state_of(kind: Kind, event: Event) -> SelectorState:
    obj = event.pod
    return SelectorState(obj["metadata"].get("labels") or {}, kind.fields.of(obj))
