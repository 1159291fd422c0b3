"""The core/v1 Event strategy (``pkg/registry/core/event/strategy.go`` and the legacy event rules
of ``pkg/apis/core/validation``): events are plain records, checked lightly, kept in Go's
field order, and expired by the registry ``--event-ttl`` after their last write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery import errors, rest
from watchcache.machinery.errors import FieldError, invalid_each, invalid_value
from watchcache.machinery.names import qualified_name_errors
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object

RESOURCE = "events"
KIND = "Event"
MAX_REASON = MAX_ACTION = 128  # kube's ReasonMaxLength / ActionMaxLength
# v1.Event's fields in Go's order, and what Go writes for the ones it never omits
FIELD_ORDER = (
    "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count",
    "type", "eventTime", "series", "action", "related", "reportingComponent", "reportingInstance",
)  # fmt: skip
ALWAYS: dict[str, Any] = {
    "involvedObject": {},
    "source": {},
    "firstTimestamp": None,
    "lastTimestamp": None,
    "eventTime": None,
    "reportingComponent": "",
    "reportingInstance": "",
}


def canonical(event: Object) -> Object:
    ordered = rest.canonical(event, KIND, "v1", ())
    out: Object = {key: ordered[key] for key in ("kind", "apiVersion", "metadata")}
    for key in FIELD_ORDER:
        value = event.get(key)
        if value is not None:
            out[key] = value
        elif key in ALWAYS:  # Go writes these even when empty (no omitempty)
            default = ALWAYS[key]
            out[key] = dict(default) if isinstance(default, dict) else default  # never shared
    return out


def prepare_create(event: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    meta = rest.prepare_create_metadata(event, namespace, now)
    event = canonical(event)
    _raise_if_invalid(meta.get("name") or "", validate_event(event))
    return event, []


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    rest.prepare_update_metadata(RESOURCE, new, old, namespace, name)
    new = canonical(new)
    problems = validate_object_meta_update(new["metadata"], old["metadata"]) + validate_event(new)
    _raise_if_invalid(name, problems)
    return new


def validate_event(event: Object) -> list[FieldError]:
    """``legacyValidateEvent``: all the v1 API checks (newer rules apply to events.k8s.io only)."""
    meta = event["metadata"]
    namespace = meta.get("namespace") or ""
    involved = event.get("involvedObject") or {}
    involved_ns = involved.get("namespace") or ""
    problems: list[FieldError] = []
    # the event lives in its object's namespace ("default" too, for old clients' cluster objects)
    if involved_ns != namespace and (involved_ns or namespace not in ("", "default")):
        problems.append(
            invalid_value("involvedObject.namespace", involved_ns, "does not match event.namespace")
        )
    problems += validate_object_meta(meta)
    controller = event.get("reportingComponent") or ""
    if controller:
        problems += invalid_each("reportingComponent", controller, qualified_name_errors(controller))
    for field, limit in (("action", MAX_ACTION), ("reason", MAX_REASON)):
        value = event.get(field) or ""
        if len(value) > limit:
            problems.append(invalid_value(field, value, f"can have at most {limit} characters"))
    return problems


def _raise_if_invalid(name: str, problems: list[FieldError]) -> None:
    if problems:
        raise errors.invalid(KIND, name, problems)
