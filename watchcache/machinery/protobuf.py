"""Request bodies in Kubernetes' protobuf encoding, read into the JSON form the decoder checks.

kubectl's typed commands (``kubectl create namespace``) and client-go's typed clients send
``application/vnd.kubernetes.protobuf``: the magic ``k8s\\0``, then a ``runtime.Unknown``
envelope (type meta, the object's bytes). The object is decoded against a small field table
(k8s.io/api's ``generated.proto`` numbers) into the dict the JSON body would have been, Go's
``omitempty`` applied, and then takes the same road as JSON: schema check, strategy, validation.
Only the kinds that carry a table accept it; a field the table lacks is skipped, as protobuf
readers do.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Union

import orjson

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """A body that is not the protobuf it claims to be."""


# a field's type: a scalar name, a message, or ("repeated", type) / ("map", value type)
FieldType = Union[str, "Message", tuple[str, Any]]


@dataclass(frozen=True, slots=True)
class Message:
    name: str
    fields: dict[int, tuple[str, FieldType]] = field(default_factory=dict)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _entries(data: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of every field; fixed-width values are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == BYTES:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError("truncated field")
            yield number, wire, data[pos : pos + size]
            pos += size
        elif wire in (FIXED64, FIXED32):
            pos += 8 if wire == FIXED64 else 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")


def _scalar(kind: str, value: int | bytes) -> Any:
    if kind in ("string", "json"):
        if not isinstance(value, bytes):
            raise ProtobufError(f"expected bytes for a {kind}")
        text = value.decode("utf-8", "replace")
        return orjson.loads(value) if kind == "json" and value else text
    if not isinstance(value, int):
        raise ProtobufError(f"expected a varint for a {kind}")
    if kind == "bool":
        return bool(value)
    return value - (1 << 64) if value >= 1 << 63 else value  # int64, two's complement


def _time(data: bytes, micro: bool = False) -> str | None:
    """A ``Time`` (seconds) or ``MicroTime`` (seconds and nanos, shown to the microsecond), as
    their JSON forms; the zero time is null."""
    seconds = nanos = 0
    for number, _, value in _entries(data):
        if isinstance(value, int):
            if number == 1:
                seconds = value
            elif number == 2:
                nanos = value
    if not seconds and not nanos:
        return None
    when = datetime.fromtimestamp(seconds, UTC)
    if micro:
        return when.replace(microsecond=nanos // 1000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _value(kind: FieldType, raw: int | bytes) -> Any:
    if isinstance(kind, Message):
        if not isinstance(raw, bytes):
            raise ProtobufError(f"expected a message {kind.name}")
        return decode_message(raw, kind)
    if kind in ("time", "microtime"):
        if not isinstance(raw, bytes):
            raise ProtobufError("expected a Time")
        return _time(raw, micro=kind == "microtime")
    if kind == "raw":  # bytes kept as they are (the envelope's object)
        return raw
    if isinstance(kind, str):
        return _scalar(kind, raw)
    raise ProtobufError(f"cannot read {kind}")


def decode_message(data: bytes, message: Message) -> dict[str, Any]:
    """The message's fields by JSON name; empty values left out, as Go's JSON omits them."""
    out: dict[str, Any] = {}
    for number, _, raw in _entries(data):
        spec = message.fields.get(number)
        if spec is None:
            continue
        name, kind = spec
        if isinstance(kind, tuple) and kind[0] == "repeated":
            out.setdefault(name, []).append(_value(kind[1], raw))
        elif isinstance(kind, tuple) and kind[0] == "map":
            if not isinstance(raw, bytes):
                raise ProtobufError(f"expected a map entry for {name}")
            entry = {n: v for n, _, v in _entries(raw)}
            key = _scalar("string", entry.get(1, b""))
            out.setdefault(name, {})[key] = _value(kind[1], entry.get(2, b""))
        else:
            value = _value(kind, raw)
            if value not in ("", 0, None, {}):  # (False == 0: a false bool is left out too)
                out[name] = value
    return out


TYPE_META = Message("TypeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")})
ENVELOPE = Message("Unknown", {1: ("typeMeta", TYPE_META), 2: ("raw", "raw")})  # runtime.Unknown
OWNER_REFERENCE = Message("OwnerReference", {
    1: ("kind", "string"), 3: ("name", "string"), 4: ("uid", "string"), 5: ("apiVersion", "string"),
    6: ("controller", "bool"), 7: ("blockOwnerDeletion", "bool"),
})  # fmt: skip
FIELDS_V1 = Message("FieldsV1", {1: ("raw", "json")})
MANAGED_FIELDS_ENTRY = Message("ManagedFieldsEntry", {
    1: ("manager", "string"), 2: ("operation", "string"), 3: ("apiVersion", "string"), 4: ("time", "time"),
    6: ("fieldsType", "string"), 7: ("fieldsV1", FIELDS_V1), 8: ("subresource", "string"),
})  # fmt: skip
OBJECT_META = Message("ObjectMeta", {
    1: ("name", "string"), 2: ("generateName", "string"), 3: ("namespace", "string"),
    4: ("selfLink", "string"), 5: ("uid", "string"), 6: ("resourceVersion", "string"),
    7: ("generation", "int"), 8: ("creationTimestamp", "time"), 9: ("deletionTimestamp", "time"),
    10: ("deletionGracePeriodSeconds", "int"), 11: ("labels", ("map", "string")),
    12: ("annotations", ("map", "string")), 13: ("ownerReferences", ("repeated", OWNER_REFERENCE)),
    14: ("finalizers", ("repeated", "string")), 17: ("managedFields", ("repeated", MANAGED_FIELDS_ENTRY)),
})  # fmt: skip
OBJECT_REFERENCE = Message("ObjectReference", {
    1: ("kind", "string"), 2: ("namespace", "string"), 3: ("name", "string"), 4: ("uid", "string"),
    5: ("apiVersion", "string"), 6: ("resourceVersion", "string"), 7: ("fieldPath", "string"),
})  # fmt: skip


def decode_body(body: bytes, message: Message) -> dict[str, Any]:
    """A whole request body (magic, envelope, object) to the object's JSON form."""
    if not body.startswith(MAGIC):
        raise ProtobufError("the body does not start with the protobuf magic number")
    envelope = decode_message(body[len(MAGIC) :], ENVELOPE)
    raw = envelope.get("raw", b"")
    obj = decode_message(raw if isinstance(raw, bytes) else b"", message)
    type_meta = envelope.get("typeMeta") or {}
    return {"kind": type_meta.get("kind", ""), "apiVersion": type_meta.get("apiVersion", ""), **obj}
