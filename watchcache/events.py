"""The event: one entry of the Redis stream, the unit of truth.

An event carries the pod as it was written (without ``metadata.resourceVersion``: the rv is the
stream position and is assigned inside the write transaction) and, for MODIFIED/DELETED, the
previous version's labels and selectable fields, so that a watcher can judge selector
transitions (ADDED/DELETED when a pod enters or leaves a selector) without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import msgpack

EventType = Literal["ADDED", "MODIFIED", "DELETED"]

Pod = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SelectorState:
    """What selectors look at: labels and the pod's selectable fields."""

    labels: dict[str, str]
    fields: dict[str, str]


class Event:
    """One log entry. The pod is decoded from msgpack only when someone asks for it: a replica
    applying its own write already holds the entry the writer built, and never unpacks it."""

    __slots__ = ("_packed", "_pod", "key", "previous", "previous_rv", "rv", "time_ms", "type")

    def __init__(
        self,
        rv: int,
        type: EventType,
        key: str,
        pod: Pod | None = None,
        previous: SelectorState | None = None,
        previous_rv: int = 0,  # the rv of the version this event replaced (0: none)
        time_ms: int = 0,  # when Redis appended it (its clock, ms)
        packed: bytes = b"",
    ) -> None:
        self.rv = rv
        self.type = type
        self.key = key
        self.previous = previous
        self.previous_rv = previous_rv
        self.time_ms = time_ms
        self._pod = pod
        self._packed = packed

    @property
    def pod(self) -> Pod:
        if self._pod is None:
            self._pod = with_resource_version(unpack(self._packed), self.rv)
        return self._pod


def object_key(namespace: str, name: str) -> str:
    """The storage key; its byte order is the list order (etcd's ``/registry/pods/<ns>/<name>``)."""
    return f"{namespace}/{name}"


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


def pack_previous(previous: SelectorState | None) -> bytes:
    return b"" if previous is None else pack([previous.labels, previous.fields])


def unpack_previous(data: bytes) -> SelectorState | None:
    if not data:
        return None
    labels, fields = unpack(data)
    return SelectorState(labels, fields)


def with_resource_version(pod: Pod, rv: int) -> Pod:
    """Stamp the event's rv into the pod (the stored bytes never carry it)."""
    pod["metadata"]["resourceVersion"] = str(rv)
    return pod


def decode_entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Event:
    """Turn one XRANGE/XREAD entry (``<rv>-0``, fields t/k/o/p/r) into an :class:`Event`."""
    raw_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return Event(
        int(raw_id.partition("-")[0]),
        fields[b"t"].decode(),  # type: ignore[arg-type]
        fields[b"k"].decode(),
        None,
        unpack_previous(fields[b"p"]),
        int(fields.get(b"r", b"0")),
        int(fields.get(b"ts", b"0")),
        fields[b"o"],
    )
