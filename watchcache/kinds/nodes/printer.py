"""The Node printer (``kubectl get nodes``, the 1.32 ``printNode``): STATUS from the Ready
condition (and SchedulingDisabled when cordoned), ROLES from the role labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery.table import NONE, ColumnDefinition, Printer, TableRow, age, column, parse_time

UNKNOWN = "<unknown>"
ROLE_PREFIX = "node-role.kubernetes.io/"
ROLE_LABEL = "kubernetes.io/role"

COLUMN_DEFINITIONS: list[ColumnDefinition] = [
    column("Name", "Name must be unique within a namespace.", fmt="name"),
    column("Status", "The status of the node"),
    column("Roles", "The roles of the node"),
    column("Age", "Time since the node was created (metadata.creationTimestamp)."),
    column("Version", "Kubelet Version reported by the node."),
    column("Internal-IP", "The node's first InternalIP address.", priority=1),
    column("External-IP", "The node's first ExternalIP address.", priority=1),
    column("OS-Image", "OS Image reported by the node from /etc/os-release.", priority=1),
    column("Kernel-Version", "Kernel Version reported by the node from 'uname -r'.", priority=1),
    column("Container-Runtime", "ContainerRuntime Version reported by the node.", priority=1),
]


def node_status(node: dict[str, Any]) -> str:
    status = node.get("status") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    parts = ["Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")]
    if (node.get("spec") or {}).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def node_roles(labels: dict[str, str]) -> str:
    roles = {key[len(ROLE_PREFIX) :] for key in labels if key.startswith(ROLE_PREFIX)} - {""}
    if labels.get(ROLE_LABEL):
        roles.add(labels[ROLE_LABEL])
    return ",".join(sorted(roles)) or NONE


def _address(status: dict[str, Any], kind: str) -> str:
    found = (a.get("address") for a in status.get("addresses") or [] if a.get("type") == kind)
    return next(found, None) or NONE


def node_row(node: dict[str, Any], now: datetime) -> TableRow:
    meta = node.get("metadata") or {}
    status = node.get("status") or {}
    info = status.get("nodeInfo") or {}
    cells: list[str | int] = [
        meta.get("name") or "",
        node_status(node),
        node_roles(meta.get("labels") or {}),
        age(parse_time(meta.get("creationTimestamp")), now),
        info.get("kubeletVersion") or "",
        _address(status, "InternalIP"),
        _address(status, "ExternalIP"),
        info.get("osImage") or UNKNOWN,
        info.get("kernelVersion") or UNKNOWN,
        info.get("containerRuntimeVersion") or UNKNOWN,
    ]
    return {"cells": cells}


NODE_PRINTER = Printer(COLUMN_DEFINITIONS, node_row)
