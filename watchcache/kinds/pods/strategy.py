"""The Pod strategy: what create and update do to a pod before it is stored.

Pure functions over plain dicts (``pkg/registry/core/pod/strategy.go``'s role): on top of the
metadata rules every kind shares (:mod:`watchcache.machinery.rest`), the status reset,
defaulting, the update reset rules and validation of pods, for the main resource and its
``status`` and ``ephemeralcontainers`` subresources, and the grace period of a deletion.
The store's compare-and-swap turns the checks made here on one stored version into guarantees.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from watchcache.kinds.pods import subresources
from watchcache.kinds.pods.defaults import apply_defaults, qos_class
from watchcache.kinds.pods.validation import validate_pod_create
from watchcache.kinds.pods.validation_update import validate_pod_update
from watchcache.kinds.pods.warnings import create_warnings
from watchcache.machinery import errors, rest
from watchcache.machinery.objects import Object

RESOURCE = "pods"
KIND = "Pod"
DEFAULT_GRACE_S = 30  # v1 default of spec.terminationGracePeriodSeconds


def canonical(pod: Object) -> Object:
    """The pod's keys in the Go struct's order (:func:`rest.canonical`)."""
    return rest.canonical(pod, KIND, "v1", ("spec", "status"))


def reset_status(pod: Object) -> None:
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


def prepare_create(pod: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    """Turn a decoded POST body (defaulted, as kube's decoder leaves it: the registry runs
    :func:`apply_defaults` first) into the pod to store; return it with its warnings.

    A ``generateName`` is resolved here (validation sees the generated name); the caller
    draws a new suffix on collision. Raises ``errors.Invalid`` / ``errors.BadRequest``.
    """
    meta = rest.prepare_create_metadata(pod, namespace, now)
    pod.setdefault("spec", {})
    reset_status(pod)
    pod = canonical(pod)
    problems = validate_pod_create(pod)
    if problems:
        raise errors.invalid(KIND, meta.get("name") or "", problems)
    return pod, create_warnings(pod)


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """PUT rules for the main resource: keep what clients may not change, then validate.

    ``new`` is a decoded body; ``old`` the stored pod (with resourceVersion). Raises
    ``errors.Conflict`` for a uid or resourceVersion precondition, ``errors.Invalid``.
    """
    rest.prepare_update_metadata(RESOURCE, new, old, namespace, name)
    new.setdefault("spec", {})
    apply_defaults(new)
    new["status"] = old.get("status") or {}
    new = canonical(new)
    problems = validate_pod_update(new, old)
    if problems:
        raise errors.invalid(KIND, name, problems)
    return new


def prepare_status_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """``/status`` PUT/PATCH: status and (for pods) labels/annotations/finalizers change; spec,
    ownerReferences and deletion fields are kept (pod-semantics.md §4). Same contract as
    ``prepare_update``."""
    return _prepare_subresource(
        new, old, namespace, name, subresources.merge_status_write, subresources.validate_status_update
    )


def prepare_ephemeral_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """``/ephemeralcontainers`` PUT/PATCH: only ``spec.ephemeralContainers`` is taken from the
    body, appended to at most (pod-semantics.md §5). Same contract as ``prepare_update``."""
    return _prepare_subresource(
        new, old, namespace, name, subresources.merge_ephemeral_write, subresources.validate_ephemeral_update
    )


def _prepare_subresource(
    new: Object,
    old: Object,
    namespace: str | None,
    name: str,
    merge: Callable[[Object, Object], Object],
    validate: Callable[[Object, Object], list[errors.FieldError]],
) -> Object:
    rest.check_identity(new, namespace, name)
    rest.check_preconditions(RESOURCE, new.setdefault("metadata", {}), old["metadata"], namespace, name)
    result = canonical(merge(new, old))
    problems = validate(result, old)
    if problems:
        raise errors.invalid(KIND, name, problems)
    return result


def grace_period(pod: Object, requested: int | None) -> int:
    """``CheckGracefulDelete``: unscheduled and terminal pods go at once; negative means 1 s."""
    spec = pod.get("spec") or {}
    grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_S)
    phase = (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        grace = 0
    return 1 if grace < 0 else grace
