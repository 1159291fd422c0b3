"""The event: one entry of the Redis stream, the unit of truth, and the stored object format.

An event carries the pod version's JSON as every reader serves it and, for MODIFIED/DELETED,
the previous version's labels and selectable fields, so that a watcher can judge selector
transitions (ADDED/DELETED when a pod enters or leaves a selector) without a lookup.

A version's JSON is encoded once, by its writer, with ``metadata.resourceVersion`` empty: the
rv is the stream position, known only inside the write transaction, which splices its digits
in (:class:`Unstamped`). The stream, the Redis-side view, the writer's response, every
replica's view and every watcher then use those same bytes; nobody decodes and re-encodes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal

import msgpack
import orjson

from watchcache.machinery.objects import Object, with_resource_version
from watchcache.machinery.selectors import SelectorState

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
LEGACY_RESOURCE = "pods"  # the resource of entries written before the log held other kinds


class Event:
    """One log entry. The pod is parsed from its JSON only when someone asks for it: a replica
    applying its own write already holds the entry the writer built, and never parses it."""

    __slots__ = (
        "_pod", "author", "json", "key", "previous", "previous_rv", "resource", "rv", "summary", "time_ms",
        "type",
    )  # fmt: skip

    def __init__(
        self,
        rv: int,
        type: EventType,
        key: str,
        json: bytes,
        previous: SelectorState | None = None,
        previous_rv: int = 0,  # the rv of the version this event replaced (0: none)
        time_ms: int = 0,  # when Redis appended it (its clock, ms)
        summary: bytes = b"",  # the writer's packed view summary (``view.Summary``), if any
        resource: str = LEGACY_RESOURCE,  # the kind's qualified resource: keys are unique within it
        author: bytes = b"",  # who wrote it (``registry.authors``; "": the server itself, or older)
    ) -> None:
        self.rv = rv
        self.author = author
        self.resource = resource
        self.type = type
        self.key = key
        self.json = json  # the version (for DELETED: its last state), stamped with this rv
        self.previous = previous
        self.previous_rv = previous_rv
        self.time_ms = time_ms
        self.summary = summary
        self._pod: Object | None = None

    @property
    def pod(self) -> Object:
        if self._pod is None:
            self._pod = orjson.loads(self.json)
        return self._pod


# Where the rv goes: a value no client can know, so its one occurrence is metadata's own
_RV_MARK = secrets.token_hex(16)
_RV_MARK_BYTES = _RV_MARK.encode()


@dataclass(frozen=True, slots=True)
class Unstamped:
    """A version's JSON with ``"resourceVersion":""``; the rv's digits go in at ``at``.

    The write transaction stamps it (``WRITE_SCRIPT``, with the rv it assigns); the writer
    stamps its own copy the same way (:meth:`stamped`) instead of encoding the pod again.
    """

    json: bytes
    at: int

    def stamped(self, rv: int) -> bytes:
        return b"%b%d%b" % (self.json[: self.at], rv, self.json[self.at :])


def unstamped(pod: Object) -> Unstamped:
    """Encode ``pod`` once, leaving its resourceVersion to the transaction (``pod`` is as it was)."""
    meta = pod["metadata"]
    held = meta.get("resourceVersion")  # (assigning keeps its place among the keys)
    meta["resourceVersion"] = _RV_MARK
    encoded = orjson.dumps(pod)
    if held is None:
        del meta["resourceVersion"]
    else:
        meta["resourceVersion"] = held
    at = encoded.index(_RV_MARK_BYTES)
    return Unstamped(encoded[:at] + encoded[at + len(_RV_MARK_BYTES) :], at)


def stored_json(raw: bytes, rv: int) -> bytes:
    """The JSON of a version as Redis holds it. Versions written before the JSON format were
    msgpack without their rv (a JSON object starts with ``{``, a msgpack map never does)."""
    if raw[:1] == b"{":
        return raw
    return compact(orjson.dumps(with_resource_version(unpack(raw), rv)))


def compact(encoded: bytes) -> bytes:
    """An exactly-sized copy: orjson's result keeps its growth buffer (~2x the JSON) alive,
    which for bytes held as long as a pod version doubles the view's memory."""
    return bytes(memoryview(encoded))


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


def decode_entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Event:
    """Turn one XRANGE/XREAD entry (``<rv>-0``, fields t/k/o/p/r/ts/s/g/a) into an :class:`Event`."""
    raw_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    rv = int(raw_id.partition("-")[0])
    return Event(
        rv,
        fields[b"t"].decode(),  # type: ignore[arg-type]
        fields[b"k"].decode(),
        stored_json(fields[b"o"], rv),
        unpack_previous(fields[b"p"]),
        int(fields.get(b"r", b"0")),
        int(fields.get(b"ts", b"0")),
        fields.get(b"s", b""),
        fields[b"g"].decode() if b"g" in fields else LEGACY_RESOURCE,
        fields.get(b"a", b""),
    )
