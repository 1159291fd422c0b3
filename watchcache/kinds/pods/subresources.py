"""Update rules of the pod subresources ``/status`` and ``/ephemeralcontainers``.

Pure functions over defaulted v1 Pod dicts (pod-semantics.md §4, §5), the role of kubernetes'
``podStatusStrategy`` / ``podEphemeralContainersStrategy`` ``PrepareForUpdate`` and of
``ValidatePodStatusUpdate`` / ``ValidatePodEphemeralContainersUpdate``. Each subresource has a
*merge* (what of the body survives, the rest is the stored pod) and a *validate* (field errors of
the merged pod against the stored one); ``strategy`` wires them between its identity and
precondition checks and ``canonical``. Neither merge mutates the stored pod.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from watchcache.kinds.pods.defaults import apply_defaults, sync_pod_ips
from watchcache.kinds.pods.validation import validate_pod
from watchcache.machinery.errors import FieldError, forbidden, go_value, invalid_each, invalid_value
from watchcache.machinery.jsonshape import dicts as _dicts
from watchcache.machinery.jsonshape import mapping as _mapping
from watchcache.machinery.names import dns1123_subdomain_errors, qualified_name_errors
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object
from watchcache.machinery.semantic import semantic_form, spec_diff

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"  # set by the kubelet on static pods' mirrors
# validatePodConditions skips these; every other type (ContainersReady,
# PodReadyToStartContainers, custom readiness gates) must be a qualified name.
SYSTEM_CONDITIONS = frozenset({"PodScheduled", "Ready", "Initialized"})
STATUS_WRITABLE_METADATA = ("labels", "annotations", "finalizers")  # pods do not reset these
_INVALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
_ONE_PER_FAMILY = "may specify no more than one IP for each IP family"
_NON_TERMINATED = "may not be transitioned to non-terminated state"


# --- /status ----------------------------------------------------------------------------------


def merge_status_write(new: Object, old: Object) -> Object:
    """The pod a status write stores: ``new``'s status and labels/annotations/finalizers on the
    stored pod. Spec, ownerReferences (old kubelets corrupted them) and deletion fields stay.

    An empty ``qosClass`` is back-filled (old kubelets dropped it on rejected pods); the
    singular ``podIP``/``hostIP`` wins over the lists as in v1 conversion.
    """
    new_meta = _mapping(new.get("metadata"))
    meta = dict(old["metadata"])
    for key in STATUS_WRITABLE_METADATA:
        if new_meta.get(key) is not None:
            meta[key] = new_meta[key]
        else:
            meta.pop(key, None)
    status = dict(_mapping(new.get("status")))
    sync_pod_ips(status)
    stored_qos = _mapping(old.get("status")).get("qosClass")
    if not status.get("qosClass") and stored_qos:
        status["qosClass"] = stored_qos
    return {"metadata": meta, "spec": old.get("spec") or {}, "status": status}


def validate_status_update(new: Object, old: Object) -> list[FieldError]:
    """``ValidatePodStatusUpdate`` in its order. The spec is the stored one, so neither pod
    validation nor the spec mutability rule runs: a status write can never fail on the spec."""
    new_meta, old_meta = _mapping(new.get("metadata")), _mapping(old.get("metadata"))
    status, old_status = _mapping(new.get("status")), _mapping(old.get("status"))
    old_spec = _mapping(old.get("spec"))
    errors = validate_object_meta_update(new_meta, old_meta) + validate_object_meta(new_meta)
    errors += condition_type_errors(_dicts(status.get("conditions")))
    nominated = status.get("nominatedNodeName")
    if nominated and nominated != old_status.get("nominatedNodeName"):
        errors += invalid_each(
            "status.nominatedNodeName", nominated, dns1123_subdomain_errors(str(nominated))
        )
    if status.get("qosClass") != old_status.get("qosClass"):
        errors.append(invalid_value("status.qosClass", status.get("qosClass"), "field is immutable"))
    errors += state_transition_errors("containerStatuses", status, old_status, old_spec.get("restartPolicy"))
    errors += state_transition_errors(
        "initContainerStatuses",
        status,
        old_status,
        old_spec.get("restartPolicy"),
        sidecars=_sidecar_names(old_spec),
    )
    # The kubelet never restarts an ephemeral container: always treated as restartPolicy Never.
    errors += state_transition_errors("ephemeralContainerStatuses", status, old_status, "Never")
    errors += ip_list_errors(status, "podIPs", "PodIP")
    errors += host_ip_errors(status)
    return errors


def condition_type_errors(conditions: list[dict[str, Any]]) -> list[FieldError]:
    """Custom condition types are qualified names; the path is ``metadata.conditions`` (sic,
    ``validatePodConditions`` is called with the metadata path) and ``Type`` capitalised."""
    errors: list[FieldError] = []
    for i, condition in enumerate(conditions):
        kind = condition.get("type")
        if kind in SYSTEM_CONDITIONS:
            continue
        text = kind if isinstance(kind, str) else ""
        errors += invalid_each(f"metadata.conditions[{i}].Type", text, qualified_name_errors(text))
    return errors


def state_transition_errors(
    field: str,
    status: dict[str, Any],
    old_status: dict[str, Any],
    restart_policy: Any,
    *,
    sidecars: frozenset[str] = frozenset(),
) -> list[FieldError]:
    """``Validate(Init)ContainerStateTransition``: a terminated container may not come back
    unless the pod restarts it (Always; OnFailure after a non-zero exit; sidecars always).

    The index is the *stored* status's, as the real server reports it.
    """
    if restart_policy == "Always":
        return []
    new_statuses = _dicts(status.get(field))
    errors: list[FieldError] = []
    for i, old_entry in enumerate(_dicts(old_status.get(field))):
        terminated = _mapping(old_entry.get("state")).get("terminated")
        if not isinstance(terminated, dict):
            continue
        if restart_policy == "OnFailure" and terminated.get("exitCode"):
            continue
        if old_entry.get("name") in sidecars:
            continue
        errors += [
            forbidden(f"status.{field}[{i}].state", _NON_TERMINATED)
            for entry in new_statuses
            if entry.get("name") == old_entry.get("name")
            and not isinstance(_mapping(entry.get("state")).get("terminated"), dict)
        ]
    return errors


def _sidecar_names(spec: dict[str, Any]) -> frozenset[str]:
    """Init containers with ``restartPolicy: Always`` restart whatever the pod's policy."""
    return frozenset(
        c["name"]
        for c in _dicts(spec.get("initContainers"))
        if c.get("restartPolicy") == "Always" and isinstance(c.get("name"), str)
    )


def ip_list_errors(status: dict[str, Any], field: str, go_type: str) -> list[FieldError]:
    """Every entry a valid IP; more than one only as a v4+v6 pair (``validatePodIPs``)."""
    entries = _dicts(status.get(field))
    errors: list[FieldError] = []
    families: list[int | None] = []
    for i, entry in enumerate(entries):
        ip = entry.get("ip")
        text = ip if isinstance(ip, str) else ""
        family = ip_family(text)
        if family is None:
            errors.append(invalid_value(f"status.{field}[{i}]", text, _INVALID_IP))
        families.append(family)
    if len(entries) > 1 and (len(entries) > 2 or set(families) != {4, 6}):
        shown = ", ".join(f"core.{go_type}{{IP:{go_value(e.get('ip') or '')}}}" for e in entries)
        errors.append(
            FieldError(
                "FieldValueInvalid",
                f"status.{field}",
                f"Invalid value: []core.{go_type}{{{shown}}}: {_ONE_PER_FAMILY}",
            )
        )
    return errors


def host_ip_errors(status: dict[str, Any]) -> list[FieldError]:
    """``validateHostIPs``: ``hostIPs[0]`` mirrors ``hostIP``, then the ``podIPs`` rules."""
    host_ips = _dicts(status.get("hostIPs"))
    if not host_ips:
        return []
    errors: list[FieldError] = []
    first = host_ips[0].get("ip") or ""
    if (status.get("hostIP") or "") != first:
        errors.append(invalid_value("status.hostIPs[0].ip", first, "must be equal to `hostIP`"))
    return errors + ip_list_errors(status, "hostIPs", "HostIP")


def ip_family(text: str) -> int | None:
    """4, 6 or None, as ``netutils.ParseIPSloppy`` parses: IPv4 fields may carry leading
    zeros, zones are refused, an IPv4-mapped IPv6 address is IPv4 (Go's ``To4``)."""
    if "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        parts = text.split(".")
        sloppy_v4 = len(parts) == 4 and all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts)
        return 4 if sloppy_v4 else None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
        return 6
    return 4


# --- /ephemeralcontainers ---------------------------------------------------------------------


def merge_ephemeral_write(new: Object, old: Object) -> Object:
    """The stored pod with ``new``'s (defaulted) ``spec.ephemeralContainers``; everything else
    in the body is discarded (``dropNonEphemeralContainerUpdates``)."""
    new.setdefault("spec", {})
    apply_defaults(new)  # every decode defaults; stored entries are already defaulted (idempotent)
    containers = _mapping(new.get("spec")).get("ephemeralContainers")
    spec: dict[str, Any] = {}
    for key, value in _mapping(old.get("spec")).items():
        if key != "ephemeralContainers":
            spec[key] = value
        if key == "containers" and containers:
            spec["ephemeralContainers"] = containers  # Go's PodSpec field order
    if containers and "ephemeralContainers" not in spec:
        spec["ephemeralContainers"] = containers
    return {"metadata": dict(old["metadata"]), "spec": spec, "status": old.get("status") or {}}


def validate_ephemeral_update(new: Object, old: Object) -> list[FieldError]:
    """``ValidatePodEphemeralContainersUpdate``: the merged pod is valid (``validate_pod``
    already checks every ephemeral container: names, target, forbidden fields), a static pod
    gets one error only, and existing entries are neither removed nor changed.

    No spec mutability rule: the only spec difference is the ephemeral list itself.
    """
    new_meta, old_meta = _mapping(new.get("metadata")), _mapping(old.get("metadata"))
    errors = validate_object_meta_update(new_meta, old_meta) + validate_pod(new)
    if MIRROR_POD_ANNOTATION in _mapping(old_meta.get("annotations")):
        # kubernetes#113935: the kubelet cannot run them in a pod it does not own via the API.
        return [forbidden("", "static pods do not support ephemeral containers")]
    return errors + existing_ephemeral_errors(
        _dicts(_mapping(new.get("spec")).get("ephemeralContainers")),
        _dicts(_mapping(old.get("spec")).get("ephemeralContainers")),
    )


def existing_ephemeral_errors(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[FieldError]:
    """Ephemeral containers are append-only: match by name (patches may reorder), compare
    semantically (a spelled-out zero value is no change) and show a diff when changed."""
    by_name = {c.get("name"): c for c in new}
    errors: list[FieldError] = []
    for container in old:
        name = container.get("name")
        current = by_name.get(name)
        if current is None:
            errors.append(
                forbidden(
                    "spec.ephemeralContainers",
                    f"existing ephemeral containers {go_value(name)} may not be removed",
                )
            )
        elif semantic_form(current) != semantic_form(container):
            errors.append(
                forbidden(
                    "spec.ephemeralContainers",
                    f"existing ephemeral containers {go_value(name)} may not be changed\n"
                    + spec_diff(container, current),
                )
            )
    return errors
