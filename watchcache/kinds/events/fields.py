"""An event's selectable fields (``EventToSelectableFields`` and the v1 field-label conversion):
what ``kubectl describe`` asks for (``involvedObject.name``/``namespace``/``uid``) and more."""

from __future__ import annotations

from typing import Any

from watchcache.machinery.selectors import FieldSet

EVENT_FIELD_NAMES = (
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_INVOLVED = ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")


def event_fields(event: dict[str, Any]) -> dict[str, str]:
    meta = event.get("metadata") or {}
    involved = event.get("involvedObject") or {}
    fields = {
        "metadata.name": meta.get("name") or "",
        "metadata.namespace": meta.get("namespace") or "",
    }
    for key in _INVOLVED:
        fields[f"involvedObject.{key}"] = involved.get(key) or ""
    fields["reason"] = event.get("reason") or ""
    fields["reportingComponent"] = event.get("reportingComponent") or ""
    # the reporter of a new-style event stands in for the old-style source
    fields["source"] = (event.get("source") or {}).get("component") or fields["reportingComponent"]
    fields["type"] = event.get("type") or ""
    return fields


EVENT_FIELDS = FieldSet(EVENT_FIELD_NAMES, event_fields)

# events.k8s.io/v1's field labels and the stored fields they select on; no other label is taken
V1_LABELS = (
    ("metadata.name", "metadata.name"),
    ("metadata.namespace", "metadata.namespace"),
    *((f"regarding.{key}", f"involvedObject.{key}") for key in _INVOLVED),
    ("reason", "reason"),
    ("reportingController", "reportingComponent"),
    ("source", "source"),
    ("type", "type"),
)
EVENT_V1_FIELDS = FieldSet(EVENT_FIELD_NAMES, event_fields, V1_LABELS, aliases_only=True)
