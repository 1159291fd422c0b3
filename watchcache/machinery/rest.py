"""What create and update do to any object's metadata (kube-apiserver's ``rest.BeforeCreate`` /
``rest.BeforeUpdate`` and ``ObjectMetaUpdateValidation``), before a kind's own strategy runs.

Pure functions over plain dicts. A kind's strategy calls them for the server-owned metadata,
the identity of the object against its URL, the body's uid/resourceVersion preconditions and
the canonical key order every stored version has; what is left to the kind is its own defaults,
reset rules and validation.
"""

from __future__ import annotations

import math
import os
import secrets
from datetime import UTC, datetime
from typing import Any

from watchcache.machinery import errors
from watchcache.machinery.objects import Object

GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery: no vowels, no 0/1/3
GENERATE_NAME_MAX_PREFIX = 58  # 63-char DNS label minus the 5 random characters
GENERATE_NAME_ATTEMPTS = 8  # kube-apiserver 1.32 retries a generated-name collision 8 times

METADATA_ORDER = (
    "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
    "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
    "annotations", "ownerReferences", "finalizers", "managedFields",
)  # fmt: skip
SERVER_OWNED_ON_CREATE = (
    "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink",
)  # fmt: skip


_stamped: tuple[int, str] = (-1, "")  # the last second formatted, and its text


def timestamp(now: datetime) -> str:
    """RFC 3339, UTC, second precision: how metav1.Time serializes. A write stamps several
    fields in the same second, and writes come many to a second: the text is made once."""
    global _stamped
    second = math.floor(now.timestamp())
    if second != _stamped[0]:
        _stamped = (second, now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _stamped[1]


def generate_name(prefix: str) -> str:
    suffix = "".join(secrets.choice(GENERATE_NAME_ALPHABET) for _ in range(5))
    return prefix[:GENERATE_NAME_MAX_PREFIX] + suffix


def new_uid() -> str:
    """A random (version 4) UUID's text, as ``str(uuid.uuid4())`` without building a ``UUID``."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ordered_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata keys in ObjectMeta's order, with an empty resourceVersion slot.

    The stored form never carries a resourceVersion (the write transaction assigns it); keeping
    the key as ``""`` lets the rv be stamped in place without reordering.
    """
    ordered: dict[str, Any] = {k: meta[k] for k in METADATA_ORDER if k in meta}
    ordered.update((k, v) for k, v in meta.items() if k not in ordered)
    ordered["resourceVersion"] = ""
    return ordered


def canonical(obj: Object, kind: str, api_version: str, parts: tuple[str, ...]) -> Object:
    """Top-level keys in the Go struct's order: kind, apiVersion, metadata, then ``parts``
    (``spec``, ``status`` for most kinds, present even when empty), then anything else."""
    out: Object = {
        "kind": kind,
        "apiVersion": api_version,
        "metadata": ordered_metadata(obj.get("metadata") or {}),
    }
    for part in parts:
        out[part] = obj.get(part) or {}
    for key, value in obj.items():
        if key not in out:
            out[key] = value
    return out


def prepare_create_metadata(obj: Object, namespace: str | None, now: datetime) -> dict[str, Any]:
    """Server-owned metadata of a new object; a ``generateName`` gets its first name here (the
    registry draws another on collision). Returns the metadata (changed in place)."""
    meta: dict[str, Any] = obj.setdefault("metadata", {})
    if namespace is not None and meta.get("namespace") not in (None, "", namespace):
        raise errors.BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if meta.get("resourceVersion"):
        raise errors.BadRequest("resourceVersion should not be set on objects to be created")
    for key in SERVER_OWNED_ON_CREATE:
        meta.pop(key, None)
    if namespace is None:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = namespace
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = timestamp(now)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(meta["generateName"])
    return meta


def prepare_update_metadata(
    resource: str, new: Object, old: Object, namespace: str | None, name: str
) -> dict[str, Any]:
    """What a PUT keeps of the stored metadata whatever the body says; checks the body's
    identity and preconditions first. Returns the new metadata (changed in place)."""
    check_identity(new, namespace, name)
    meta: dict[str, Any] = new.setdefault("metadata", {})
    old_meta = old["metadata"]
    check_preconditions(resource, meta, old_meta, namespace, name)
    meta.setdefault("uid", old_meta["uid"])
    meta["creationTimestamp"] = old_meta.get("creationTimestamp")
    keep_deletion_fields(meta, old_meta)
    keep(meta, old_meta, "generation")
    keep(meta, old_meta, "managedFields")
    meta.pop("selfLink", None)
    return meta


def check_identity(obj: Object, namespace: str | None, name: str) -> None:
    """A PUT body or PATCH result must address the object of the URL (handlers ``checkName``)."""
    meta = obj.get("metadata") or {}
    body_ns = meta.get("namespace")
    if namespace is not None and body_ns not in (None, "", namespace):
        raise errors.BadRequest(
            f"the namespace of the object ({body_ns}) does not match the namespace on the request "
            f"({namespace})"
        )
    body_name = meta.get("name") or ""
    if body_name != name:
        raise errors.BadRequest(
            f"the name of the object ({body_name}) does not match the name on the URL ({name})"
        )
    if namespace is None:
        meta.pop("namespace", None)
    else:
        meta["namespace"] = namespace


def check_preconditions(
    resource: str, meta: dict[str, Any], old_meta: dict[str, Any], namespace: str | None, name: str
) -> None:
    """uid and resourceVersion in a body are preconditions; an empty rv means unconditional."""
    uid = meta.get("uid")
    if uid and uid != old_meta["uid"]:
        raise errors.uid_conflict(resource, namespace, name, uid, old_meta["uid"])
    rv = meta.get("resourceVersion")
    if rv and rv != old_meta["resourceVersion"]:
        raise errors.conflict(resource, name)


def keep(meta: dict[str, Any], old_meta: dict[str, Any], key: str) -> None:
    if key in old_meta:
        meta[key] = old_meta[key]
    else:
        meta.pop(key, None)


def keep_deletion_fields(meta: dict[str, Any], old_meta: dict[str, Any]) -> None:
    """Once deletion started the stored deletionTimestamp wins; an omitted grace is restored."""
    if "deletionTimestamp" in old_meta:
        meta["deletionTimestamp"] = old_meta["deletionTimestamp"]
    if "deletionGracePeriodSeconds" in old_meta and "deletionGracePeriodSeconds" not in meta:
        meta["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]


def same_content(new: Object, old: Object) -> bool:
    """No-op detection: equal apart from the resourceVersion slot and managedFields."""
    return _comparable(new) == _comparable(old)


def _comparable(obj: Object) -> Object:
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    return {**obj, "metadata": meta}
