"""The ``meta.k8s.io/v1`` Table form of pods, which ``kubectl get`` asks for and prints as is.

The cells follow the 1.32 pod printer (spec README "Cell rules"): kubectl does no formatting of
its own for Table responses, so every string here is exactly what the user sees. The server
always fills the wide columns (priority 1); kubectl hides them unless ``-o wide``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, TypedDict

from watchcache.machinery import errors
from watchcache.machinery.selectors import pod_ip

IncludeObject = Literal["None", "Metadata", "Object"]
_INCLUDE_OBJECT_VALUES: tuple[IncludeObject, ...] = ("None", "Metadata", "Object")
NONE = "<none>"
UNKNOWN = "<unknown>"


class ColumnDefinition(TypedDict):
    name: str
    type: str
    format: str
    description: str
    priority: int


class RowCondition(TypedDict):
    type: str
    status: str
    reason: str
    message: str


class TableRow(TypedDict):
    cells: list[str]
    conditions: NotRequired[list[RowCondition]]
    object: NotRequired[dict[str, Any]]


class Table(TypedDict):
    kind: Literal["Table"]
    apiVersion: Literal["meta.k8s.io/v1"]
    metadata: dict[str, Any]
    columnDefinitions: list[ColumnDefinition] | None
    rows: list[TableRow]


def _column(name: str, description: str, *, fmt: str = "", priority: int = 0) -> ColumnDefinition:
    return {
        "name": name,
        "type": "string",
        "format": fmt,
        "description": description,
        "priority": priority,
    }


COLUMN_DEFINITIONS: list[ColumnDefinition] = [
    _column("Name", "Name of the pod, unique within its namespace.", fmt="name"),
    _column("Ready", "Ready containers out of all regular and sidecar containers of the pod."),
    _column("Status", "Aggregate state of the pod, derived from its phase and container states."),
    _column("Restarts", "Container restarts of the pod, and how long ago the latest one was."),
    _column("Age", "Time since the pod was created (metadata.creationTimestamp)."),
    _column("IP", "The pod's first IP address (status.podIPs[0]).", priority=1),
    _column("Node", "The node the pod is bound to (spec.nodeName).", priority=1),
    _column(
        "Nominated Node",
        "The node the scheduler nominated for the pod after preemption.",
        priority=1,
    ),
    _column(
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


def parse_include_object(value: str | None) -> IncludeObject:
    """``includeObject`` query value; absent or empty means ``Metadata``, as in the apiserver."""
    if not value:
        return "Metadata"
    for allowed in _INCLUDE_OBJECT_VALUES:
        if value == allowed:
            return allowed
    raise errors.BadRequest(f"unrecognized includeObject value: {errors.go_value(value)}")


def table(rows: list[TableRow], metadata: dict[str, Any], *, with_columns: bool = True) -> Table:
    """The Table body; watch events after the first send ``columnDefinitions: null``."""
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": COLUMN_DEFINITIONS if with_columns else None,
        "rows": rows,
    }


def pod_row(pod: dict[str, Any], now: datetime, include_object: str = "Metadata") -> TableRow:
    """One Table row for ``pod`` as of ``now`` (an aware datetime; ages are relative to it)."""
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
            _age(_parse_time(meta.get("creationTimestamp")), now),
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
    if include_object == "Metadata":
        row["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": meta,
        }
    elif include_object == "Object":
        row["object"] = pod
    return row


# --------------------------------------------------------------------------- durations


def human_duration(seconds: float) -> str:
    """apimachinery's ``HumanDuration``: coarser the older, two units only while short.

    Up to 1 s in the future still prints ``0s`` (clock skew between machines); seconds are
    truncated toward zero before any comparison, as Go's ``int(d.Seconds())`` does.
    """
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _two_units(minutes, "m", secs % 60, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 8 * 24:
        return _two_units(days, "d", hours % 24, "h")
    if hours < 2 * 365 * 24:
        return f"{days}d"
    years = days // 365
    if hours < 8 * 365 * 24:
        return _two_units(years, "y", days % 365, "d")
    return f"{years}y"


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _age(then: datetime | None, now: datetime) -> str:
    return UNKNOWN if then is None else human_duration((now - then).total_seconds())


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
        return f"{summary.restarts} ({_age(summary.last_restart, now)} ago)"
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
    finished = _parse_time(last.get("finishedAt")) if isinstance(last, dict) else None
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
