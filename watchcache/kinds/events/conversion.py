"""events.k8s.io/v1 ↔ core/v1 Events (kube's ``pkg/apis/events/v1/conversion.go``).

Both versions are one object in kube-apiserver's storage; events.k8s.io/v1 renames a few
fields and marks the old-style ones deprecated. Events are stored here in the core/v1 form,
so a request through events.k8s.io/v1 is converted into it and every answer out of it.
"""

from __future__ import annotations

from typing import Any

from watchcache.machinery.objects import Object

API_VERSION = "events.k8s.io/v1"
# events.k8s.io/v1 field -> core/v1 field, in events.k8s.io/v1's Go field order
RENAMES = (
    ("eventTime", "eventTime"),
    ("series", "series"),
    ("reportingController", "reportingComponent"),
    ("reportingInstance", "reportingInstance"),
    ("action", "action"),
    ("reason", "reason"),
    ("regarding", "involvedObject"),
    ("related", "related"),
    ("note", "message"),
    ("type", "type"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)
# what Go writes for the events.k8s.io/v1 fields it never omits (structs, and eventTime)
ALWAYS: dict[str, Any] = {
    "eventTime": None,
    "regarding": {},
    "deprecatedSource": {},
    "deprecatedFirstTimestamp": None,
    "deprecatedLastTimestamp": None,
}
POINTERS = ("series", "related")  # omitted when nil, written when set even if empty


def to_core(event: Object) -> Object:
    """A request's events.k8s.io/v1 Event as core/v1 (the strategy puts it in Go's order)."""
    out: Object = {"kind": "Event", "apiVersion": "v1"}
    if "metadata" in event:
        out["metadata"] = event["metadata"]
    for v1_name, core_name in RENAMES:
        if v1_name in event:
            out[core_name] = event[v1_name]
    return out


def from_core(event: Object) -> Object:
    """A stored (core/v1) Event as events.k8s.io/v1 shows it, in its Go field order."""
    out: Object = {"kind": "Event", "apiVersion": API_VERSION, "metadata": event["metadata"]}
    for v1_name, core_name in RENAMES:
        value = event.get(core_name)
        if v1_name in ALWAYS:
            out[v1_name] = value if value is not None else _zero(v1_name)
        elif v1_name in POINTERS:
            if value is not None:
                out[v1_name] = _series(value) if v1_name == "series" else value
        elif value:  # strings and counts: omitempty
            out[v1_name] = value
    return out


def _zero(field: str) -> Any:
    default = ALWAYS[field]
    return dict(default) if isinstance(default, dict) else default  # never shared


def _series(series: Any) -> Any:
    """events.k8s.io/v1's series always has its count and lastObservedTime (no omitempty)."""
    if not isinstance(series, dict):
        return series
    return {"count": series.get("count") or 0, "lastObservedTime": series.get("lastObservedTime")}
