"""The Node strategy (``pkg/registry/core/node/strategy.go``, ``ValidateNode`` and
``ValidateNodeUpdate``): nodes are written by their kubelet (or a simulator) with their status;
users change the spec (cordon, taints, labels) and the status only goes through ``/status``.
A node's pod CIDRs and provider ID may be set once, never changed."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

import orjson

from watchcache.machinery import errors, rest
from watchcache.machinery.errors import (
    FieldError,
    duplicate,
    forbidden,
    internal_error,
    invalid_each,
    invalid_value,
    not_supported,
    required,
)
from watchcache.machinery.names import label_value_errors, qualified_name_errors
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object

RESOURCE = "nodes"
KIND = "Node"
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
# ValidateNodeUpdate's words: the controller manager may assign a CIDR or a provider ID once
CIDR_CHANGED = 'node updates may not change podCIDR except from "" to valid'
PROVIDER_CHANGED = 'node updates may not change providerID except from "" to valid'
CIDR_DETAIL = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


def canonical(node: Object) -> Object:
    return rest.canonical(node, KIND, "v1", ("spec", "status"))


def defaults(node: Object) -> None:
    """``SetDefaults_NodeStatus``: allocatable is the capacity unless given."""
    status = node.get("status") or {}
    if status.get("capacity") and status.get("allocatable") is None:
        status["allocatable"] = dict(status["capacity"])
    node["status"] = status


def with_pod_cidrs(spec: dict[str, Any]) -> dict[str, Any]:
    """The spec as kube stores and serves it: v1's ``podCIDR`` and ``podCIDRs`` become the one
    internal list and back (``Convert_v1_NodeSpec_To_core_NodeSpec`` and the reverse). A
    ``podCIDR`` alone, or one that is not the list's first, is the list; the first of the list
    is ``podCIDR``. A new dict when something changes, ``spec`` itself otherwise."""
    cidr, cidrs = spec.get("podCIDR") or "", pod_cidrs(spec)
    if not cidrs or (spec.get("podCIDRs") == cidrs and cidr == cidrs[0]):
        return spec
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key != "podCIDRs":
            out[key] = value
        if key == "podCIDR":
            out["podCIDRs"] = cidrs  # Go's field order: podCIDR, podCIDRs
    out["podCIDR"], out["podCIDRs"] = cidrs[0], cidrs
    return out


def pod_cidrs(spec: dict[str, Any]) -> list[str]:
    """The internal ``podCIDRs`` of a v1 spec: ``podCIDR`` wins when both are given and differ,
    for older clients that only know ``podCIDR``."""
    cidr, cidrs = spec.get("podCIDR") or "", spec.get("podCIDRs") or []
    return [cidr] if cidr and (not cidrs or cidrs[0] != cidr) else list(cidrs)


def prepare_create(node: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    meta = rest.prepare_create_metadata(node, None, now)
    node["spec"] = with_pod_cidrs(node.get("spec") or {})
    defaults(node)
    node = canonical(node)
    _raise_if_invalid(meta.get("name") or "", validate_node(node))
    return node, []


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """PUT/PATCH of the node: the status stays as stored (ValidateNode, then ValidateNodeUpdate)."""
    rest.prepare_update_metadata(RESOURCE, new, old, None, name)
    new["status"] = old.get("status") or {}
    new["spec"] = with_pod_cidrs(new.get("spec") or {})
    new = canonical(new)
    _raise_if_invalid(name, validate_node(new) + validate_node_update(new, old))
    return new


def prepare_status_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """``/status``: the status from the body (defaulted), everything else as stored; only
    ValidateNodeUpdate, as kube's status strategy."""
    rest.check_identity(new, None, name)
    rest.check_preconditions(RESOURCE, new.setdefault("metadata", {}), old["metadata"], None, name)
    result: Object = {**old, "status": new.get("status") or {}}
    result["spec"] = with_pod_cidrs(old.get("spec") or {})
    defaults(result)
    result = canonical(result)
    _raise_if_invalid(name, validate_node_update(result, old))
    return result


def validate_node(node: Object) -> list[FieldError]:
    spec: dict[str, Any] = node.get("spec") or {}
    problems = validate_object_meta(node["metadata"], namespaced=False)
    # kube validates a node's taints under metadata (fldPath is ValidateNode's "metadata")
    problems += _validate_taints(spec.get("taints") or [], "metadata.taints")
    problems += _validate_resources(node.get("status") or {})
    problems += _validate_cidrs(spec.get("podCIDRs") or [])
    return problems


def validate_node_update(new: Object, old: Object) -> list[FieldError]:
    """``ValidateNodeUpdate``: pod CIDRs and the provider ID may go from none to a value, and
    never change after (kube reports each changed CIDR, so one message may have two causes)."""
    spec: dict[str, Any] = new.get("spec") or {}
    status: dict[str, Any] = new.get("status") or {}
    problems = validate_object_meta_update(new["metadata"], old["metadata"])
    problems += _validate_resources(status)
    seen: list[Any] = []
    for i, address in enumerate(status.get("addresses") or []):
        if address in seen:
            body = f"Duplicate value: {_go_address(address)}"
            problems.append(FieldError("FieldValueDuplicate", f"status.addresses[{i}]", body))
        seen.append(address)
    old_spec: dict[str, Any] = old.get("spec") or {}
    old_cidrs, cidrs = pod_cidrs(old_spec), spec.get("podCIDRs") or []
    if old_cidrs and len(old_cidrs) != len(cidrs):
        problems.append(forbidden("spec.podCIDRs", CIDR_CHANGED))
    elif old_cidrs:
        problems += [
            forbidden("spec.podCIDRs", CIDR_CHANGED) for a, b in zip(old_cidrs, cidrs, strict=True) if a != b
        ]
    old_provider = old_spec.get("providerID") or ""
    if old_provider and (spec.get("providerID") or "") != old_provider:
        problems.append(forbidden("spec.providerID", PROVIDER_CHANGED))
    problems += _validate_taints(spec.get("taints") or [], "metadata.taints")
    return problems


def _go_address(address: Any) -> str:
    """A NodeAddress as a field error prints a struct (Go's ``%#v``)."""
    fields = address if isinstance(address, dict) else {}
    kind, value = (orjson.dumps(fields.get(key) or "").decode() for key in ("type", "address"))
    return f"core.NodeAddress{{Type:{kind}, Address:{value}}}"


def _validate_resources(status: dict[str, Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    for field in ("capacity", "allocatable"):
        for resource, value in (status.get(field) or {}).items():
            if isinstance(value, str) and value.startswith("-"):
                detail = "must be greater than or equal to 0"
                problems.append(invalid_value(f"status.{field}.{resource}", value, detail))
    return problems


def _validate_cidrs(cidrs: list[str]) -> list[FieldError]:
    """Each a CIDR (Go's ParseCIDR, IPv4 parts with leading zeros allowed); two at most, one
    of each IP family, no repeats."""
    problems: list[FieldError] = []
    families: set[int] = set()
    unparsed = ""
    for i, cidr in enumerate(cidrs):
        family = cidr_family(cidr)
        if family is None:
            problems.append(invalid_value(f"spec.podCIDRs[{i}]", cidr, CIDR_DETAIL))
            unparsed = unparsed or cidr
        families.add(family or 0)
    if len(cidrs) < 2:
        return problems
    if unparsed:
        quoted = orjson.dumps(unparsed).decode()
        cause = f"failed to parse cidr value:{quoted} with error:invalid CIDR address: {unparsed}"
        detail = f"invalid PodCIDRs. failed to check with dual stack with error:{cause}"
        problems.append(internal_error("spec.podCIDRs", detail))
    if unparsed or families != {4, 6} or len(cidrs) > 2:
        detail = "may specify no more than one CIDR for each IP family"
        problems.append(invalid_value("spec.podCIDRs", cidrs, detail))
    for i, cidr in enumerate(cidrs):
        if cidr in cidrs[:i]:
            problems.append(duplicate(f"spec.podCIDRs[{i}]", cidr))
    return problems


def cidr_family(cidr: str) -> int | None:
    """4 or 6 for a CIDR as k8s.io/utils/net's ParseCIDRSloppy reads one, else None. An
    IPv4-mapped IPv6 address is of the IPv4 family there (its ``To4`` is not nil)."""
    address, slash, bits = cidr.partition("/")
    if not slash or not (bits.isascii() and bits.isdigit()) or "%" in address:
        return None
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        parts = address.split(".")
        if len(parts) != 4 or not all(p.isascii() and p.isdigit() and int(p) <= 255 for p in parts):
            return None
        ip = ipaddress.IPv4Address(".".join(str(int(p)) for p in parts))  # "010" is 10, as in Go
    if int(bits) > ip.max_prefixlen:
        return None
    mapped = isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None
    return 4 if ip.version == 4 or mapped else 6


def _validate_taints(taints: list[Any], where: str) -> list[FieldError]:
    problems: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        path = f"{where}[{i}]"
        key, effect, value = taint.get("key") or "", taint.get("effect") or "", taint.get("value") or ""
        problems += invalid_each(f"{path}.key", key, qualified_name_errors(key))
        if value:
            problems += invalid_each(f"{path}.value", value, label_value_errors(value))
        if not effect:
            problems.append(required(f"{path}.effect"))
        elif effect not in TAINT_EFFECTS:
            problems.append(not_supported(f"{path}.effect", effect, TAINT_EFFECTS))
        if (key, effect) in seen:
            detail = "taints must be unique by key and effect pair"
            problems.append(
                FieldError("FieldValueDuplicate", path, f"Duplicate value: {key}:{effect}: {detail}")
            )
        seen.add((key, effect))
    return problems


def _raise_if_invalid(name: str, problems: list[FieldError]) -> None:
    if problems:
        raise errors.invalid(KIND, name, problems)
