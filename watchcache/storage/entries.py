"""The event: one entry of the Redis stream, the unit of truth, and the stored object format.

An event carries the pod version's JSON as every reader serves it and, for MODIFIED/DELETED,
the previous version's labels and selectable fields, so that a watcher can judge selector
transitions (ADDED/DELETED when a pod enters or leaves a selector) without a lookup.

A version's JSON is encoded once, by its writer, with ``metadata.resourceVersion`` empty: the
rv is the stream position, known only inside the write transaction, which splices its digits
in (:class:`Unstamped`). The stream, the Redis-side view, the writer's response, every
replica's view and every watcher then use those same bytes; nobody decodes and re-encodes.

The writer also notes where in those bytes each managedFields entry's field set lies (its
``noted``, packed once and carried as it is beside the JSON: the stream, the view's entry). An
update parses the rest of the version and takes each field set from :data:`FIELD_SETS`, parsed
once per distinct text: a field set names fields, never values, so one template's pods share
them, and they were most of the objects a stored pod parsed into.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Literal, cast

import msgpack
import orjson

from watchcache.machinery.memo import SharedParses
from watchcache.machinery.objects import Object, with_resource_version
from watchcache.machinery.selectors import SelectorState

EventType = Literal["ADDED", "MODIFIED", "DELETED"]
LEGACY_RESOURCE = "pods"  # the resource of entries written before the log held other kinds


class Event:
    """One log entry. The pod is parsed from its JSON only when someone asks for it: a replica
    applying its own write already holds the entry the writer built, and never parses it."""

    __slots__ = (
        "_pod", "_previous", "author", "json", "key", "noted", "packed_previous", "previous_rv", "resource",
        "rv", "summary", "time_ms", "type",
    )  # fmt: skip

    def __init__(
        self,
        rv: int,
        type: EventType,
        key: str,
        json: bytes,
        packed_previous: bytes = b"",  # the replaced version's selector state, packed (b"": none)
        previous_rv: int = 0,  # the rv of the version this event replaced (0: none)
        time_ms: int = 0,  # when Redis appended it (its clock, ms)
        summary: bytes = b"",  # the writer's packed view summary (``view.Summary``), if any
        resource: str = LEGACY_RESOURCE,  # the kind's qualified resource: keys are unique within it
        author: bytes = b"",  # who wrote it (``registry.authors``; "": the server itself, or older)
        noted: bytes = b"",  # where its managedFields' field sets lie in ``json`` (``Unstamped.noted``)
    ) -> None:
        self.rv = rv
        self.author = author
        self.resource = resource
        self.type = type
        self.key = key
        self.json = json  # the version (for DELETED: its last state), stamped with this rv
        self.packed_previous = packed_previous
        self._previous: SelectorState | None = None
        self.previous_rv = previous_rv
        self.time_ms = time_ms
        self.summary = summary
        self.noted = noted
        self._pod: Object | None = None

    @property
    def pod(self) -> Object:
        if self._pod is None:
            self._pod = orjson.loads(self.json)
        return self._pod

    @property
    def previous(self) -> SelectorState | None:
        """The replaced version's labels and selectable fields, unpacked when first asked: only
        a watcher's selector reads them, and most events meet none."""
        if self._previous is None and self.packed_previous:
            self._previous = unpack_previous(self.packed_previous)
        return self._previous


# Where the rv goes: a value no client can know, so its one occurrence is metadata's own
_RV_MARK = secrets.token_hex(16)
_RV_MARK_BYTES = _RV_MARK.encode()
_FIELDS_MARK = secrets.token_hex(16)  # where managedFields go, as the rv's mark
_FIELDS_MARK_JSON = b'"%b"' % _FIELDS_MARK.encode()
_FIELDS_KEY = b'"fieldsV1":'  # what precedes a noted field set (the check of a note)

# Per managedFields entry, in order: how far its field set starts from the end of the JSON and
# its length (from the end: the rv's digits go in before it). Empty: not noted. Carried packed
# (msgpack, ~13 bytes for two entries) as the log holds it.
FieldSets = tuple[int, ...]
FIELD_SETS = SharedParses()


@dataclass(frozen=True, slots=True)
class Unstamped:
    """A version's JSON with ``"resourceVersion":""``; the rv's digits go in at ``at``.

    The write transaction stamps it (``WRITE_SCRIPT``, with the rv it assigns); the writer
    stamps its own copy the same way (:meth:`stamped`) instead of encoding the pod again.
    """

    json: bytes
    at: int
    noted: bytes = b""  # the field sets' places, packed (b"": none)

    def stamped(self, rv: int) -> bytes:
        return b"%b%d%b" % (self.json[: self.at], rv, self.json[self.at :])


def unstamped(pod: Object) -> Unstamped:
    """Encode ``pod`` once, leaving its resourceVersion to the transaction, with its field sets
    noted (``pod`` is as it was, but for managedFields coming last in its metadata, where
    kube-apiserver puts them)."""
    meta = pod["metadata"]
    held = meta.get("resourceVersion")  # (assigning keeps its place among the keys)
    meta["resourceVersion"] = _RV_MARK
    managed = meta.pop("managedFields", None)
    noted = _notable(managed)
    if managed is not None:
        meta["managedFields"] = _FIELDS_MARK if noted else managed
    encoded = orjson.dumps(pod)
    if held is None:
        del meta["resourceVersion"]
    else:
        meta["resourceVersion"] = held
    if managed is not None:
        meta["managedFields"] = managed
    at = encoded.index(_RV_MARK_BYTES)
    encoded = encoded[:at] + encoded[at + len(_RV_MARK_BYTES) :]
    if not noted:
        return Unstamped(encoded, at)
    mark = encoded.index(_FIELDS_MARK_JSON)
    listing, spans = _managed_fields_json(managed)
    json = encoded[:mark] + listing + encoded[mark + len(_FIELDS_MARK_JSON) :]
    end = len(json) - mark
    return Unstamped(
        json, at, pack_field_sets(tuple(n for start, size in spans for n in (end - start, size)))
    )


def _notable(managed: Any) -> bool:
    """Whether each entry's field set can be noted: every entry an object with one."""
    return (
        type(managed) is list
        and bool(managed)
        and all(type(e) is dict and type(e.get("fieldsV1")) is dict for e in managed)
    )


def _managed_fields_json(entries: list[dict[str, Any]]) -> tuple[bytes, list[tuple[int, int]]]:
    """The entries' JSON, each with its field set last, and where each field set lies in it."""
    parts: list[bytes] = [b"["]
    spans: list[tuple[int, int]] = []
    at = 1
    for entry in entries:
        if at > 1:
            parts.append(b",")
            at += 1
        head = orjson.dumps({k: v for k, v in entry.items() if k != "fieldsV1"})
        head = head[:-1] + (b',"fieldsV1":' if len(head) > 2 else b'"fieldsV1":')
        fields = FIELD_SETS.text(entry["fieldsV1"])
        parts += (head, fields, b"}")
        spans.append((at + len(head), len(fields)))
        at += len(head) + len(fields) + 1
    parts.append(b"]")
    return b"".join(parts), spans


def parsed(json: bytes, noted: bytes = b"") -> Object:
    """A fresh dict of a stored version, its noted field sets shared (:data:`FIELD_SETS`): the
    rest is parsed anew, a private copy for whoever changes it. Notes that do not fit the JSON
    (never seen: they are made with it) are passed over for a whole parse."""
    if not noted:
        return cast(Object, orjson.loads(json))
    field_sets = unpack_field_sets(noted)
    parts: list[bytes] = []
    texts: list[bytes] = []
    last, end = 0, len(json)
    for i in range(0, len(field_sets), 2):
        start = end - field_sets[i]
        if json[start - len(_FIELDS_KEY) : start] != _FIELDS_KEY or start < last:
            return cast(Object, orjson.loads(json))
        parts += (json[last:start], b"{}")
        last = start + field_sets[i + 1]
        texts.append(json[start:last])
    parts.append(json[last:])
    obj = cast(Object, orjson.loads(b"".join(parts)))
    entries = obj["metadata"]["managedFields"]
    if len(entries) != len(texts):
        return cast(Object, orjson.loads(json))
    for entry, text in zip(entries, texts, strict=True):
        entry["fieldsV1"] = FIELD_SETS.parse(text)
    return obj


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


# One packer, reused: ``msgpack.packb`` makes a Packer per call, and each allocates (and frees)
# a 256 KiB buffer; a write packs three times. (Used from the event loop's thread only.)
_PACKER = msgpack.Packer(use_bin_type=True)


def pack(value: Any) -> bytes:
    return _PACKER.pack(value)


def unpack(data: bytes) -> Any:
    return msgpack.unpackb(data, raw=False)


def pack_previous(previous: SelectorState | None) -> bytes:
    return b"" if previous is None else pack([previous.labels, previous.fields])


def unpack_previous(data: bytes) -> SelectorState | None:
    if not data:
        return None
    labels, fields = unpack(data)
    return SelectorState(labels, fields)


def pack_field_sets(field_sets: FieldSets) -> bytes:
    return pack(field_sets) if field_sets else b""


def unpack_field_sets(data: bytes) -> FieldSets:
    return tuple(unpack(data)) if data else ()


def decode_entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> Event:
    """Turn one XRANGE/XREAD entry (``<rv>-0``, fields t/k/o/p/r/ts/s/g/a/f) into an :class:`Event`."""
    raw_id = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    rv = int(raw_id.partition("-")[0])
    return Event(
        rv,
        fields[b"t"].decode(),  # type: ignore[arg-type]
        fields[b"k"].decode(),
        stored_json(fields[b"o"], rv),
        fields[b"p"],
        int(fields.get(b"r", b"0")),
        int(fields.get(b"ts", b"0")),
        fields.get(b"s", b""),
        fields[b"g"].decode() if b"g" in fields else LEGACY_RESOURCE,
        fields.get(b"a", b""),
        fields.get(b"f", b""),
    )
