"""The Node strategy (``pkg/registry/core/node/strategy.go`` and ``ValidateNode``): nodes are
written by their kubelet (or a simulator) with their status; users change the spec (cordon,
taints, labels) and the status only goes through ``/status``."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from watchcache.machinery import errors, rest
from watchcache.machinery.errors import FieldError, invalid_each, invalid_value, not_supported, required
from watchcache.machinery.names import label_value_errors, qualified_name_errors
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object

RESOURCE = "nodes"
KIND = "Node"
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]


def canonical(node: Object) -> Object:
    return rest.canonical(node, KIND, "v1", ("spec", "status"))


def _defaults(node: Object) -> None:
    """``SetDefaults_NodeStatus``: allocatable is the capacity unless given."""
    status = node.get("status") or {}
    if status.get("capacity") and status.get("allocatable") is None:
        status["allocatable"] = dict(status["capacity"])
    node["status"] = status


def prepare_create(node: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    meta = rest.prepare_create_metadata(node, None, now)
    node.setdefault("spec", {})
    _defaults(node)
    node = canonical(node)
    _raise_if_invalid(meta.get("name") or "", validate_node(node))
    return node, []


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """PUT/PATCH of the node: the status stays as stored."""
    rest.prepare_update_metadata(RESOURCE, new, old, None, name)
    new["status"] = old.get("status") or {}
    new = canonical(new)
    _raise_if_invalid(name, _update_problems(new, old))
    return new


def prepare_status_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """``/status``: the status from the body (defaulted), everything else as stored."""
    rest.check_identity(new, None, name)
    rest.check_preconditions(RESOURCE, new.setdefault("metadata", {}), old["metadata"], None, name)
    result: Object = {**old, "status": new.get("status") or {}}
    _defaults(result)
    result = canonical(result)
    _raise_if_invalid(name, _update_problems(result, old))
    return result


def _update_problems(new: Object, old: Object) -> list[FieldError]:
    problems = validate_object_meta_update(new["metadata"], old["metadata"]) + validate_node(new)
    old_provider = (old.get("spec") or {}).get("providerID")
    provider = (new.get("spec") or {}).get("providerID")
    if old_provider and provider != old_provider:
        problems.append(invalid_value("spec.providerID", provider, "update of spec.providerID is forbidden"))
    return problems


def validate_node(node: Object) -> list[FieldError]:
    spec: dict[str, Any] = node.get("spec") or {}
    status: dict[str, Any] = node.get("status") or {}
    problems = validate_object_meta(node["metadata"], namespaced=False)
    problems += _validate_cidrs(spec)
    problems += _validate_taints(spec.get("taints") or [])
    for field in ("capacity", "allocatable"):
        for resource, value in (status.get(field) or {}).items():
            if isinstance(value, str) and value.startswith("-"):
                detail = "must be greater than or equal to 0"
                problems.append(invalid_value(f"status.{field}[{resource}]", value, detail))
    return problems


def _validate_cidrs(spec: dict[str, Any]) -> list[FieldError]:
    cidrs = spec.get("podCIDRs") or ([spec["podCIDR"]] if spec.get("podCIDR") else [])
    problems: list[FieldError] = []
    for i, cidr in enumerate(cidrs):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            detail = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
            problems.append(invalid_value(f"spec.podCIDRs[{i}]", cidr, detail))
    if len(cidrs) > 2:
        detail = "may specify no more than one CIDR for each IP family"
        problems.append(invalid_value("spec.podCIDRs", cidrs, detail))
    return problems


def _validate_taints(taints: list[Any]) -> list[FieldError]:
    problems: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        path = f"spec.taints[{i}]"
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
