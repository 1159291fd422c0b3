"""ObjectMeta rules of pods: apimachinery's ``ValidateObjectMeta`` and ``ValidateObjectMetaUpdate``.

Shared by pod create/update validation and the ``/status`` and ``/ephemeralcontainers``
subresources (pod-semantics.md §2-§5). Plain functions over metadata dicts returning field errors
in kube-apiserver's order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from watchcache.machinery.errors import (
    FieldError,
    forbidden,
    go_value,
    invalid_each,
    invalid_value,
    required,
    too_long,
)
from watchcache.machinery.jsonshape import mapping as _mapping
from watchcache.machinery.jsonshape import text as _text
from watchcache.machinery.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    qualified_name_errors,
)

TOTAL_ANNOTATION_SIZE_B = 256 * 1024  # all annotation keys + values of one object


# --- create ------------------------------------------------------------------------------------


def validate_object_meta(
    meta: dict[str, Any],
    *,
    namespaced: bool = True,
    name_errors: Callable[[str], list[str]] = dns1123_subdomain_errors,
) -> list[FieldError]:
    """apimachinery ``ValidateObjectMetaAccessor``; names are DNS-1123 subdomains unless the
    kind says otherwise (namespaces: labels)."""
    errors: list[FieldError] = []
    generate_name = _text(meta.get("generateName"))
    if generate_name:
        # A generated suffix follows, so a trailing '-' is fine (maskTrailingDash).
        masked = generate_name
        if len(masked) > 1 and masked.endswith("-"):
            masked = masked[:-1] + "a"
        errors += invalid_each("metadata.generateName", generate_name, name_errors(masked))
    name = _text(meta.get("name"))
    if not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors += invalid_each("metadata.name", name, name_errors(name))
    namespace = _text(meta.get("namespace"))
    if not namespaced:
        if namespace:
            errors.append(forbidden("metadata.namespace", "not allowed on this type"))
    elif not namespace:
        errors.append(required("metadata.namespace"))
    else:
        errors += invalid_each("metadata.namespace", namespace, dns1123_label_errors(namespace))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        errors.append(invalid_value("metadata.generation", generation, "must be greater than or equal to 0"))
    errors += validate_labels(_mapping(meta.get("labels")), "metadata.labels")
    errors += _validate_annotations(_mapping(meta.get("annotations")))
    errors += _validate_finalizers(meta.get("finalizers"))
    return errors


def validate_labels(labels: dict[str, Any], path: str) -> list[FieldError]:
    """apimachinery ``ValidateLabels``: keys are qualified names, values label values."""
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors += invalid_each(path, key, qualified_name_errors(key))
        errors += invalid_each(path, value, label_value_errors(_text(value)))
    return errors


def _validate_annotations(annotations: dict[str, Any]) -> list[FieldError]:
    """Keys are qualified names (case-insensitive); keys + values at most 256 KiB in total."""
    errors: list[FieldError] = []
    total = 0
    for key, value in annotations.items():
        errors += invalid_each("metadata.annotations", key, qualified_name_errors(key.lower()))
        total += len(key.encode()) + len(_text(value).encode())
    if total > TOTAL_ANNOTATION_SIZE_B:
        errors.append(too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE_B))
    return errors


def _validate_finalizers(finalizers: Any) -> list[FieldError]:
    if not isinstance(finalizers, list):
        return []
    errors: list[FieldError] = []
    for finalizer in finalizers:
        errors += invalid_each("metadata.finalizers", finalizer, qualified_name_errors(_text(finalizer)))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errors.append(
            invalid_value(
                "metadata.finalizers",
                finalizers,
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    return errors


# --- update ------------------------------------------------------------------------------------


def _immutable(field: str, value: Any) -> FieldError:
    return invalid_value(f"metadata.{field}", value, "field is immutable")


def validate_object_meta_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateObjectMetaUpdate`` after the registry's silent resets (objects-and-errors §1):
    an absent uid/creationTimestamp is filled from storage, a stored deletionTimestamp wins,
    an omitted deletionGracePeriodSeconds is restored."""
    errors: list[FieldError] = []
    if old.get("deletionTimestamp"):
        added = sorted(set(_texts(new.get("finalizers"))) - set(_texts(old.get("finalizers"))))
        if added:
            errors.append(
                forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {go_value(added)}",
                )
            )
    for field in ("name", "namespace"):
        if new.get(field) != old.get(field):
            errors.append(_immutable(field, new.get(field)))
    if new.get("uid") and new.get("uid") != old.get("uid"):
        errors.append(_immutable("uid", new["uid"]))
    created = new.get("creationTimestamp")
    if created and not _same_instant(created, old.get("creationTimestamp")):
        errors.append(_immutable("creationTimestamp", created))
    if new.get("deletionTimestamp") and not old.get("deletionTimestamp"):
        errors.append(_immutable("deletionTimestamp", new["deletionTimestamp"]))
    grace = new.get("deletionGracePeriodSeconds")
    if grace is not None and grace != old.get("deletionGracePeriodSeconds"):
        errors.append(_immutable("deletionGracePeriodSeconds", grace))
    return errors


def _texts(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _same_instant(a: Any, b: Any) -> bool:
    """RFC 3339 texts naming the same second (clients may resend ``+00:00`` for ``Z``)."""
    if a == b:
        return True
    try:
        return _parse_time(a) == _parse_time(b)
    except (TypeError, ValueError):
        return False


def _parse_time(text: Any) -> datetime:
    return datetime.fromisoformat(text).replace(microsecond=0)
