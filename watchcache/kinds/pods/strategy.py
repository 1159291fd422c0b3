"""The pod registry strategy: what create and update do to a pod before it is stored.

Pure functions over plain dicts (``pkg/registry/core/pod/strategy.go``'s role): server-owned
metadata, status reset, defaulting, the update reset rules, validation, and no-op detection.
The store's compare-and-swap turns the checks made here on one stored version into guarantees.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from watchcache.kinds.pods import subresources
from watchcache.kinds.pods.defaults import apply_defaults, qos_class
from watchcache.kinds.pods.validation import validate_pod_create
from watchcache.kinds.pods.validation_update import validate_pod_update
from watchcache.kinds.pods.warnings import create_warnings
from watchcache.machinery import errors
from watchcache.machinery.objects import Pod

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


def timestamp(now: datetime) -> str:
    """RFC 3339, UTC, second precision: how metav1.Time serializes."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def generate_name(prefix: str) -> str:
    suffix = "".join(secrets.choice(GENERATE_NAME_ALPHABET) for _ in range(5))
    return prefix[:GENERATE_NAME_MAX_PREFIX] + suffix


def canonical(pod: Pod) -> Pod:
    """Top-level and metadata keys in the Go structs' order, with an empty resourceVersion slot.

    The stored form never carries a resourceVersion (the write transaction assigns it); keeping
    the key as ``""`` lets the rv be stamped in place without reordering.
    """
    meta = pod.get("metadata") or {}
    ordered_meta: dict[str, Any] = {k: meta[k] for k in METADATA_ORDER if k in meta}
    ordered_meta.update((k, v) for k, v in meta.items() if k not in ordered_meta)
    ordered_meta["resourceVersion"] = ""
    out: Pod = {"kind": "Pod", "apiVersion": "v1", "metadata": ordered_meta}
    out["spec"] = pod.get("spec") or {}
    out["status"] = pod.get("status") or {}
    for key, value in pod.items():
        if key not in out:
            out[key] = value
    return out


def reset_status(pod: Pod) -> None:
    """Create-time status: only phase and QoS class survive (a client qosClass is kept, sic)."""
    sent = pod.get("status") or {}
    status: dict[str, Any] = {"phase": "Pending"}
    if pod["spec"].get("schedulingGates"):
        status["conditions"] = [
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "SchedulingGated",
                "message": "Scheduling is blocked due to non-empty scheduling gates",
            }
        ]
    status["qosClass"] = sent.get("qosClass") or qos_class(pod)
    pod["status"] = status


def prepare_create(pod: Pod, namespace: str, *, now: datetime) -> tuple[Pod, list[str]]:
    """Turn a decoded POST body into the pod to store; return it with its warnings.

    A ``generateName`` is resolved here (validation sees the generated name); the caller
    draws a new suffix on collision. Raises ``errors.Invalid`` / ``errors.BadRequest``.
    """
    meta = pod.setdefault("metadata", {})
    if meta.get("namespace") not in (None, "", namespace):
        raise errors.BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
        )
    if meta.get("resourceVersion"):
        raise errors.BadRequest("resourceVersion should not be set on objects to be created")
    for key in SERVER_OWNED_ON_CREATE:
        meta.pop(key, None)
    meta["namespace"] = namespace
    meta["uid"] = _new_uid()
    meta["creationTimestamp"] = timestamp(now)
    pod.setdefault("spec", {})
    apply_defaults(pod)
    reset_status(pod)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = generate_name(meta["generateName"])
    pod = canonical(pod)
    name = meta.get("name") or ""
    problems = validate_pod_create(pod)
    if problems:
        raise errors.invalid(name, problems)
    return pod, create_warnings(pod)


def _new_uid() -> str:
    return str(uuid.uuid4())


def prepare_update(new: Pod, old: Pod, namespace: str, name: str) -> Pod:
    """PUT rules for the main resource: keep what clients may not change, then validate.

    ``new`` is a decoded body; ``old`` the stored pod (with resourceVersion). Raises
    ``errors.Conflict`` for a uid or resourceVersion precondition, ``errors.Invalid``.
    """
    check_identity(new, namespace, name)
    meta = new.setdefault("metadata", {})
    old_meta = old["metadata"]
    check_preconditions(meta, old_meta, namespace, name)
    meta.setdefault("uid", old_meta["uid"])
    meta["creationTimestamp"] = old_meta.get("creationTimestamp")
    _keep_deletion_fields(meta, old_meta)
    _keep(meta, old_meta, "generation")
    _keep(meta, old_meta, "managedFields")
    meta.pop("selfLink", None)
    new.setdefault("spec", {})
    apply_defaults(new)
    new["status"] = old.get("status") or {}
    new = canonical(new)
    problems = validate_pod_update(new, old)
    if problems:
        raise errors.invalid(name, problems)
    return new


def prepare_status_update(new: Pod, old: Pod, namespace: str, name: str) -> Pod:
    """``/status`` PUT/PATCH: status and (for pods) labels/annotations/finalizers change; spec,
    ownerReferences and deletion fields are kept (pod-semantics.md §4). Same contract as
    ``prepare_update``."""
    return _prepare_subresource(
        new, old, namespace, name, subresources.merge_status_write, subresources.validate_status_update
    )


def prepare_ephemeral_update(new: Pod, old: Pod, namespace: str, name: str) -> Pod:
    """``/ephemeralcontainers`` PUT/PATCH: only ``spec.ephemeralContainers`` is taken from the
    body, appended to at most (pod-semantics.md §5). Same contract as ``prepare_update``."""
    return _prepare_subresource(
        new, old, namespace, name, subresources.merge_ephemeral_write, subresources.validate_ephemeral_update
    )


def _prepare_subresource(
    new: Pod,
    old: Pod,
    namespace: str,
    name: str,
    merge: Callable[[Pod, Pod], Pod],
    validate: Callable[[Pod, Pod], list[errors.FieldError]],
) -> Pod:
    check_identity(new, namespace, name)
    check_preconditions(new.setdefault("metadata", {}), old["metadata"], namespace, name)
    result = canonical(merge(new, old))
    problems = validate(result, old)
    if problems:
        raise errors.invalid(name, problems)
    return result


def check_identity(pod: Pod, namespace: str, name: str) -> None:
    """A PUT body or PATCH result must address the pod of the URL (handlers ``checkName``)."""
    meta = pod.get("metadata") or {}
    body_ns = meta.get("namespace")
    if body_ns not in (None, "", namespace):
        raise errors.BadRequest(
            f"the namespace of the object ({body_ns}) does not match the namespace on the request "
            f"({namespace})"
        )
    body_name = meta.get("name") or ""
    if body_name != name:
        raise errors.BadRequest(
            f"the name of the object ({body_name}) does not match the name on the URL ({name})"
        )
    meta["namespace"] = namespace


def check_preconditions(meta: dict[str, Any], old_meta: dict[str, Any], namespace: str, name: str) -> None:
    """uid and resourceVersion in a body are preconditions; empty rv = unconditional for pods."""
    uid = meta.get("uid")
    if uid and uid != old_meta["uid"]:
        raise errors.uid_conflict(namespace, name, uid, old_meta["uid"])
    rv = meta.get("resourceVersion")
    if rv and rv != old_meta["resourceVersion"]:
        raise errors.conflict(name)


def _keep(meta: dict[str, Any], old_meta: dict[str, Any], key: str) -> None:
    if key in old_meta:
        meta[key] = old_meta[key]
    else:
        meta.pop(key, None)


def _keep_deletion_fields(meta: dict[str, Any], old_meta: dict[str, Any]) -> None:
    """Once deletion started the stored deletionTimestamp wins; an omitted grace is restored."""
    if "deletionTimestamp" in old_meta:
        meta["deletionTimestamp"] = old_meta["deletionTimestamp"]
    if "deletionGracePeriodSeconds" in old_meta and "deletionGracePeriodSeconds" not in meta:
        meta["deletionGracePeriodSeconds"] = old_meta["deletionGracePeriodSeconds"]


def same_content(new: Pod, old: Pod) -> bool:
    """No-op detection: equal apart from the resourceVersion slot and managedFields."""
    return _comparable(new) == _comparable(old)


def _comparable(pod: Pod) -> Pod:
    meta = {k: v for k, v in pod["metadata"].items() if k not in ("resourceVersion", "managedFields")}
    return {**pod, "metadata": meta}
