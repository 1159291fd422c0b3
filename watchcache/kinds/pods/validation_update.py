"""Pod update validation: ``ValidatePodUpdate`` (pod-semantics.md §3).

The new pod must be valid on its own (``validation.validate_pod``), its metadata may only change
as ``ValidateObjectMetaUpdate`` allows, and its spec only in the few fields kube-apiserver lets a
PUT change (the spec mutability rule). Plain functions over defaulted v1 Pod dicts.
"""

from __future__ import annotations

from typing import Any

from watchcache.kinds.pods.validation import MAX_INT32, image_whitespace_errors, validate_pod_spec
from watchcache.machinery.errors import FieldError, forbidden, invalid_value, required
from watchcache.machinery.jsonshape import dicts as _dicts
from watchcache.machinery.jsonshape import mapping as _mapping
from watchcache.machinery.jsonshape import text as _text
from watchcache.machinery.names import inclusive_range_error
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.semantic import semantic_form, spec_diff


def validate_pod_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidatePodUpdate``: metadata update rules, the new pod's validity, then the spec
    mutability rule. Both pods are defaulted; ``status`` is not looked at."""
    new_meta, new_spec = _mapping(new.get("metadata")), _mapping(new.get("spec"))
    old_spec = _mapping(old.get("spec"))
    errors = validate_object_meta_update(new_meta, _mapping(old.get("metadata")))
    errors += validate_object_meta(new_meta)
    if new_spec != old_spec:
        # An unchanged spec is the stored one, which passed these very rules when it was
        # written, and one that did not change broke no rule of change; most updates (status,
        # labels, annotations) skip every walk of the containers.
        errors += validate_pod_spec(new_spec)
        errors += _validate_spec_update(new_spec, old_spec)
    return errors


# --- the spec mutability rule ------------------------------------------------------------------

_SPEC_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
    "to 1 if it was previously negative)"
)


def _validate_spec_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Only images, activeDeadlineSeconds, toleration additions, gate removals, a negative
    grace period → 1 and (while gated) nodeSelector additions may change (of a changed spec)."""
    errors: list[FieldError] = []
    for list_name in ("containers", "initContainers"):
        list_errors, stop = _container_updates(
            list_name, _dicts(new.get(list_name)), _dicts(old.get(list_name))
        )
        errors += list_errors
        if stop:
            return errors
    deadline_errors = _active_deadline_update(
        new.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    )
    errors += deadline_errors
    if deadline_errors and new.get("activeDeadlineSeconds") is not None:
        return errors
    errors += _toleration_updates(_dicts(new.get("tolerations")), _dicts(old.get("tolerations")))
    errors += _scheduling_gate_updates(_dicts(new.get("schedulingGates")), _dicts(old.get("schedulingGates")))
    munged = _munge_allowed_changes(new, old)
    if old.get("schedulingGates"):
        errors += _node_selector_update(munged.get("nodeSelector"), old.get("nodeSelector"))
        _copy_field(munged, old, "nodeSelector")
    if semantic_form(munged) != semantic_form(old):
        errors.append(forbidden("spec", _SPEC_FORBIDDEN + "\n" + spec_diff(old, munged)))
    return errors


def _container_updates(
    list_name: str, new: list[dict[str, Any]], old: list[dict[str, Any]]
) -> tuple[list[FieldError], bool]:
    """``ValidateContainerUpdates``: same count (else stop), every image non-empty."""
    path = f"spec.{list_name}"
    if len(new) != len(old):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errors: list[FieldError] = []
    for i, container in enumerate(new):
        if not container.get("image"):
            errors.append(required(f"{path}[{i}].image"))
        errors += image_whitespace_errors(container, f"{path}[{i}]")
    return errors, False


def _active_deadline_update(new: Any, old: Any) -> list[FieldError]:
    """nil → positive, or positive → smaller non-negative; never back to nil."""
    path = "spec.activeDeadlineSeconds"
    if new is not None:
        if not isinstance(new, int) or not 0 <= new <= MAX_INT32:
            return [invalid_value(path, new, inclusive_range_error(0, MAX_INT32))]
        if isinstance(old, int) and old < new:
            return [invalid_value(path, new, "must be less than or equal to previous value")]
    elif old is not None:
        return [invalid_value(path, None, "must not update from a positive integer to nil value")]
    return []


def _toleration_key(toleration: dict[str, Any]) -> tuple[str, ...]:
    """A toleration without ``tolerationSeconds``, Go zero values for absent fields."""
    return tuple(_text(toleration.get(f)) for f in ("key", "operator", "value", "effect"))


def _toleration_updates(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[FieldError]:
    """Every existing toleration must survive, changed at most in ``tolerationSeconds``."""
    present = {_toleration_key(t) for t in new}
    if all(_toleration_key(t) in present for t in old):
        return []
    return [
        forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
    ]


def _scheduling_gate_updates(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[FieldError]:
    """Gates may only be removed, never added (the scheduler waits for all to go)."""
    old_names = {_text(g.get("name")) for g in old}
    return [
        forbidden(
            f"spec.schedulingGates[{i}].name",
            f"only deletion is allowed, but found new scheduling gate '{name}'",
        )
        for i, name in enumerate(_text(g.get("name")) for g in new)
        if name not in old_names
    ]


def _node_selector_update(new: Any, old: Any) -> list[FieldError]:
    """While gated, nodeSelector entries may be added but not changed or removed."""
    new_map, old_map = _mapping(new), _mapping(old)
    if any(key not in new_map or new_map[key] != value for key, value in old_map.items()):
        return [
            invalid_value(
                "spec.nodeSelector",
                new_map,
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            )
        ]
    return []


def _munge_allowed_changes(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``new`` with every allowed change reverted to ``old``'s value."""
    munged = dict(new)
    for list_name in ("containers", "initContainers"):
        if list_name in munged:
            munged[list_name] = [
                _with_field(c, o, "image")
                for c, o in zip(_dicts(new.get(list_name)), _dicts(old.get(list_name)), strict=False)
            ]
    for field in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        _copy_field(munged, old, field)
    old_grace = old.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and new.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _with_field(new: dict[str, Any], old: dict[str, Any], field: str) -> dict[str, Any]:
    copy = dict(new)
    _copy_field(copy, old, field)
    return copy


def _copy_field(target: dict[str, Any], source: dict[str, Any], field: str) -> None:
    if field in source:
        target[field] = source[field]
    else:
        target.pop(field, None)
