"""The Event strategy (``pkg/registry/core/event/strategy.go``, ``pkg/apis/core/validation/events.go``):
events are plain records, kept in core/v1's Go field order and expired by the registry
``--event-ttl`` after their last write. Both versions store the same object; what a write must
pass depends on the version it came through, as in kube-apiserver: core/v1 keeps the lenient
legacy rules, events.k8s.io/v1 adds strict ones. Objects here are always in the stored
(core/v1) form, so error paths name core/v1's fields as kube's (internal) validation does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery import errors, rest
from watchcache.machinery.errors import FieldError, invalid_each, invalid_value, required
from watchcache.machinery.names import (
    dns1123_subdomain_errors,
    path_segment_name_errors,
    qualified_name_errors,
)
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object

RESOURCE, V1_RESOURCE = "events", "events.events.k8s.io"
KIND = "Event"
V1_GROUP = "events.k8s.io"
# kube's ReportingInstanceLengthLimit, ActionLengthLimit, ReasonLengthLimit, NoteLengthLimit
MAX_INSTANCE = MAX_ACTION = MAX_REASON = 128
MAX_NOTE = 1024
EVENT_TYPES = ("Normal", "Warning")
# what an events.k8s.io/v1 update may not change (kube's ValidateEventUpdate), in its order
IMMUTABLE = (
    "involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp", "count",
    "type", "eventTime", "action", "related", "reportingComponent", "reportingInstance",
)  # fmt: skip
# how kube's validation names a field, where the stored (core/v1) JSON name differs
VALIDATION_NAMES = {"reportingComponent": "reportingController"}
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
    """A create through core/v1: the legacy rules, then the generic metadata rules."""
    event = _created(event, namespace, now)
    _raise_if_invalid(event, legacy_problems(event) or _metadata_problems(event))
    return event, []


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    rest.prepare_update_metadata(RESOURCE, new, old, namespace, name)
    new = canonical(new)
    _raise_if_invalid(new, _update_problems(new, old))
    return new


def prepare_create_v1(event: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    """A create through events.k8s.io/v1: the legacy rules and the strict ones (kube's
    ``ValidateEventCreate`` for a request version past v1beta1)."""
    event = _created(event, namespace, now)
    problems = legacy_problems(event) + strict_problems(event)
    _raise_if_invalid(event, problems or _metadata_problems(event), V1_GROUP)
    return event, []


def prepare_update_v1(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """An update through events.k8s.io/v1: what the event says may not change, but a series."""
    rest.prepare_update_metadata(V1_RESOURCE, new, old, namespace, name)
    new = canonical(new)
    problems = _update_problems(new, old)
    if new.get("series") != old.get("series"):
        problems += series_problems(new)
    for field in IMMUTABLE:
        if new.get(field) != old.get(field):
            name_ = VALIDATION_NAMES.get(field, field)
            problems.append(invalid_value(name_, new.get(field), "field is immutable"))
    _raise_if_invalid(new, problems, V1_GROUP)
    return new


def _created(event: Object, namespace: str | None, now: datetime) -> Object:
    rest.prepare_create_metadata(event, namespace, now)
    return canonical(event)


def _metadata_problems(event: Object) -> list[FieldError]:
    """kube's generic ``ValidateObjectMetaAccessor``: an event's name need only be a path segment."""
    return validate_object_meta(event["metadata"], name_errors=path_segment_name_errors)


def _update_problems(new: Object, old: Object) -> list[FieldError]:
    """The generic metadata rules of any update, then the legacy ones (kube's ``BeforeUpdate``)."""
    meta = new["metadata"]
    return (
        validate_object_meta(meta, name_errors=path_segment_name_errors)
        + validate_object_meta_update(meta, old["metadata"])
        + legacy_problems(new)
    )


def legacy_problems(event: Object) -> list[FieldError]:
    """``legacyValidateEvent``, which every write passes: an event without an ``eventTime`` is
    an old-style one, checked for its namespace alone; one with it must say who reported it."""
    namespace = event["metadata"].get("namespace") or ""
    involved_ns = (event.get("involvedObject") or {}).get("namespace") or ""
    mismatch = invalid_value("involvedObject.namespace", involved_ns, "does not match event.namespace")
    problems: list[FieldError] = []
    if not event.get("eventTime"):
        # the event lives in its object's namespace ("default" too, for old clients' cluster objects)
        if involved_ns != namespace and (involved_ns or namespace not in ("", "default")):
            problems.append(mismatch)
        return problems
    if not involved_ns and namespace not in ("default", "kube-system"):
        problems.append(mismatch)
    controller = event.get("reportingComponent") or ""
    if not controller:
        problems.append(required("reportingController"))
    problems += invalid_each("reportingController", controller, qualified_name_errors(controller))
    for field, limit in (("reportingInstance", MAX_INSTANCE), ("action", MAX_ACTION), ("reason", MAX_REASON)):
        value = event.get(field) or ""
        if not value:
            problems.append(required(field))
        if len(value) > limit:
            problems.append(invalid_value(field, "", f"can have at most {limit} characters"))
    if len(event.get("message") or "") > MAX_NOTE:
        problems.append(invalid_value("message", "", f"can have at most {MAX_NOTE} characters"))
    return problems


def strict_problems(event: Object) -> list[FieldError]:
    """What events.k8s.io/v1 adds on create: a well-formed new-style event, none of the
    deprecated fields set."""
    problems = validate_object_meta(event["metadata"], name_errors=dns1123_subdomain_errors)
    problems += series_problems(event)
    if not event.get("eventTime"):
        problems.append(required("eventTime"))
    kind = event.get("type") or ""
    if kind not in EVENT_TYPES:
        problems.append(invalid_value("type", "", f"has invalid value: {kind}"))
    for field in ("firstTimestamp", "lastTimestamp", "count"):
        if event.get(field):
            problems.append(invalid_value(field, "", "needs to be unset"))
    source = event.get("source") or {}
    if source.get("component") or source.get("host"):
        problems.append(invalid_value("source", "", "needs to be unset"))
    return problems


def series_problems(event: Object) -> list[FieldError]:
    series = event.get("series")
    if series is None:
        return []
    problems: list[FieldError] = []
    if (series.get("count") or 0) < 2:
        problems.append(invalid_value("series.count", "", "should be at least 2"))
    if not series.get("lastObservedTime"):
        problems.append(required("series.lastObservedTime"))
    return problems


def _raise_if_invalid(event: Object, problems: list[FieldError], group: str = "") -> None:
    if problems:
        raise errors.invalid(KIND, event["metadata"].get("name") or "", problems, group=group)
