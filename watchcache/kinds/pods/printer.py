"""The Pod printer (kube's ``printers.go`` for pods): the columns and cells ``kubectl get pods``
shows (spec README "Cell rules", the 1.32 printer)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from watchcache.kinds.pods.fields import pod_ip
from watchcache.machinery.table import (
    NONE,
    ColumnDefinition,
    Printer,
    RowCondition,
    TableRow,
    age,
    column,
    parse_time,
)

COLUMN_DEFINITIONS: list[ColumnDefinition] = [
    column("Name", "Name of the pod, unique within its namespace.", fmt="name"),
    column("Ready", "Ready containers out of all regular and sidecar containers of the pod."),
    column("Status", "Aggregate state of the pod, derived from its phase and container states."),
    column("Restarts", "Container restarts of the pod, and how long ago the latest one was."),
    column("Age", "Time since the pod was created (metadata.creationTimestamp)."),
    column("IP", "The pod's first IP address (status.podIPs[0]).", priority=1),
    column("Node", "The node the pod is bound to (spec.nodeName).", priority=1),
    column(
        "Nominated Node",
        "The node the scheduler nominated for the pod after preemption.",
        priority=1,
    ),
    column(
        "Readiness Gates",
        "Readiness gates whose condition is True, out of all gates of the pod.",
        priority=1,
    ),
]

# The printer marks finished pods with a Completed row condition (kubectl dims such rows).
_SUCCEEDED: list[RowCondition] = [
    {
        "type": "Completed",
        "status": "True",
        "reason": "Succeeded",
        "message": "The pod has completed successfully.",
    }
]
_FAILED: list[RowCondition] = [
    {"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}
]


def pod_row(pod: dict[str, Any], now: datetime) -> TableRow:
    """The cells of ``pod`` as of ``now`` (an aware datetime; ages are relative to it)."""
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    summary = _summarize(pod)
    row: TableRow = {
        "cells": [
            meta.get("name") or "",
            f"{summary.ready}/{summary.total}",
            summary.reason,
            _restarts_cell(summary, now),
            age(parse_time(meta.get("creationTimestamp")), now),
            pod_ip(status) or NONE,
            spec.get("nodeName") or NONE,
            status.get("nominatedNodeName") or NONE,
            _readiness_gates(spec, status),
        ]
    }
    phase = status.get("phase")
    if phase == "Succeeded":
        row["conditions"] = _SUCCEEDED
    elif phase == "Failed":
        row["conditions"] = _FAILED
    return row


# ------------------------------------------------------------- READY / STATUS / RESTARTS


@dataclass(slots=True)
class _Summary:
    """What the printer accumulates while walking the container statuses."""

    reason: str
    total: int
    ready: int = 0
    restarts: int = 0
    last_restart: datetime | None = None
    sidecar_restarts: int = 0
    sidecar_last_restart: datetime | None = None


def _summarize(pod: dict[str, Any]) -> _Summary:
    """READY, STATUS and RESTARTS together, since one walk over the statuses decides all three.

    Order of the printer: phase, then ``status.reason``, then ``SchedulingGated``; init
    containers (stopping at the first unfinished one); regular containers if initialised;
    finally the deletion overrides (``Unknown`` for NodeLost, else ``Terminating``).
    """
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    init_specs = spec.get("initContainers") or []
    sidecars = {c.get("name") for c in init_specs if _is_sidecar(c)}
    summary = _Summary(
        reason=_base_reason(status),
        total=len(spec.get("containers") or []) + sum(1 for c in init_specs if _is_sidecar(c)),
    )
    initializing = _walk_init_containers(status, sidecars, len(init_specs), summary)
    if not initializing or _condition_true(status, "Initialized"):
        # Once initialised, only sidecars (which keep running) count towards restarts.
        summary.restarts = summary.sidecar_restarts
        summary.last_restart = summary.sidecar_last_restart
        _walk_containers(status, summary)
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            summary.reason = "Unknown"
        elif status.get("phase") not in ("Succeeded", "Failed"):
            summary.reason = "Terminating"
    return summary


def _base_reason(status: dict[str, Any]) -> str:
    reason = status.get("reason") or status.get("phase") or ""
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    return reason


def _walk_init_containers(
    status: dict[str, Any], sidecars: set[str | None], count: int, summary: _Summary
) -> bool:
    """Scan init statuses in order; True (initializing) at the first unfinished one."""
    for index, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts, finished = _restart_info(cs)
        summary.restarts += restarts
        summary.last_restart = _later(summary.last_restart, finished)
        sidecar = cs.get("name") in sidecars
        if sidecar:
            summary.sidecar_restarts += restarts
            summary.sidecar_last_restart = _later(summary.sidecar_last_restart, finished)
        waiting, terminated = _state(cs)
        if terminated is not None and _int(terminated.get("exitCode")) == 0:
            continue
        if sidecar and cs.get("started") is True:
            summary.ready += 1 if cs.get("ready") else 0
            continue
        if terminated is not None:
            summary.reason = "Init:" + (terminated.get("reason") or _exit_text(terminated))
        elif waiting is not None and waiting.get("reason") not in (None, "", "PodInitializing"):
            summary.reason = f"Init:{waiting['reason']}"
        else:
            summary.reason = f"Init:{index}/{count}"
        return True
    return False


def _walk_containers(status: dict[str, Any], summary: _Summary) -> None:
    """Last container first, so the first container's problem is the one shown."""
    has_running = False
    for cs in reversed(status.get("containerStatuses") or []):
        restarts, finished = _restart_info(cs)
        summary.restarts += restarts
        summary.last_restart = _later(summary.last_restart, finished)
        waiting, terminated = _state(cs)
        if waiting is not None and waiting.get("reason"):
            summary.reason = waiting["reason"]
        elif terminated is not None:
            summary.reason = terminated.get("reason") or _exit_text(terminated)
        elif cs.get("ready") and isinstance((cs.get("state") or {}).get("running"), dict):
            has_running = True
            summary.ready += 1
    # A finished container next to a still-running one must not make the pod look done.
    if summary.reason == "Completed" and has_running:
        summary.reason = "Running" if _condition_true(status, "Ready") else "NotReady"


def _restarts_cell(summary: _Summary, now: datetime) -> str:
    if summary.restarts and summary.last_restart is not None:
        return f"{summary.restarts} ({age(summary.last_restart, now)} ago)"
    return str(summary.restarts)


def _readiness_gates(spec: dict[str, Any], status: dict[str, Any]) -> str:
    gates = spec.get("readinessGates") or []
    if not gates:
        return NONE
    first: dict[str, Any] = {}  # the printer looks only at the first condition of each type
    for condition in status.get("conditions") or []:
        first.setdefault(condition.get("type"), condition.get("status"))
    true = sum(1 for gate in gates if first.get(gate.get("conditionType")) == "True")
    return f"{true}/{len(gates)}"


def _is_sidecar(container: dict[str, Any]) -> bool:
    return container.get("restartPolicy") == "Always"


def _state(cs: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    state = cs.get("state") or {}
    waiting, terminated = state.get("waiting"), state.get("terminated")
    return (
        waiting if isinstance(waiting, dict) else None,
        terminated if isinstance(terminated, dict) else None,
    )


def _restart_info(cs: dict[str, Any]) -> tuple[int, datetime | None]:
    last = (cs.get("lastState") or {}).get("terminated")
    finished = parse_time(last.get("finishedAt")) if isinstance(last, dict) else None
    return _int(cs.get("restartCount")), finished


def _exit_text(terminated: dict[str, Any]) -> str:
    signal = _int(terminated.get("signal"))
    return f"Signal:{signal}" if signal else f"ExitCode:{_int(terminated.get('exitCode'))}"


def _condition_true(status: dict[str, Any], kind: str) -> bool:
    for condition in status.get("conditions") or []:
        if condition.get("type") == kind:
            return condition.get("status") == "True"
    return False


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None or (current is not None and candidate <= current):
        return current
    return candidate


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


POD_PRINTER = Printer(COLUMN_DEFINITIONS, pod_row)
