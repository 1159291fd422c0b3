"""The Namespace strategy (``pkg/registry/core/namespace/strategy.go`` and the namespace rules of
``pkg/apis/core/validation``): what create, update, ``status`` and ``finalize`` do to a namespace.

A namespace is created Active with the ``kubernetes`` finalizer in its spec; its status and its
spec finalizers change only through their subresources. Deleting it marks it Terminating; it is
removed once the namespace lifecycle controller has emptied it and finalized it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery import errors, rest
from watchcache.machinery.errors import FieldError, invalid_each, invalid_value
from watchcache.machinery.names import dns1123_label_errors, qualified_name_errors
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object

RESOURCE = "namespaces"
KIND = "Namespace"
FINALIZER = "kubernetes"  # the spec finalizer the namespace controller removes once it is empty
NAME_LABEL = "kubernetes.io/metadata.name"  # kept equal to the name, whatever clients send
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")
ACTIVE, TERMINATING = "Active", "Terminating"


def canonical(ns: Object) -> Object:
    return rest.canonical(ns, KIND, "v1", ("spec", "status"))


def _name_label(meta: dict[str, Any]) -> None:
    """``SetDefaults_Namespace``: the name label, set on every write."""
    labels = meta.get("labels") or {}
    meta["labels"] = {**labels, NAME_LABEL: meta.get("name") or ""}


def defaults(ns: Object) -> None:
    """What kube's decoder defaults in a namespace body: the name label when it has a name
    (``SetDefaults_Namespace``; a generated name gets it from the strategy) and the Active
    phase (``SetDefaults_NamespaceStatus``)."""
    meta = ns.get("metadata")
    if isinstance(meta, dict) and meta.get("name"):
        _name_label(meta)
    status = ns.get("status") or {}
    ns["status"] = {**status, "phase": status.get("phase") or ACTIVE}


def prepare_create(ns: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    meta = rest.prepare_create_metadata(ns, None, now)
    _name_label(meta)
    spec = ns.get("spec") or {}
    finalizers = list(spec.get("finalizers") or [])
    if FINALIZER not in finalizers:
        finalizers.append(FINALIZER)
    ns["spec"] = {**spec, "finalizers": finalizers}
    ns["status"] = {"phase": ACTIVE}
    ns = canonical(ns)
    _raise_if_invalid(ns, validate_namespace(ns))
    return ns, []


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """PUT/PATCH of the namespace: spec finalizers and status stay as stored."""
    meta = rest.prepare_update_metadata(RESOURCE, new, old, None, name)
    _name_label(meta)
    new["spec"] = {**(new.get("spec") or {}), "finalizers": (old.get("spec") or {}).get("finalizers")}
    new["status"] = old.get("status") or {}
    return _validated_update(canonical(_omit_empty_finalizers(new)), old)


def prepare_status_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """``/status``: the status from the body, everything else as stored."""
    _check_target(new, old, name)
    result = canonical({**old, "status": new.get("status") or {}})
    phase = (result["status"] or {}).get("phase")
    problems = []
    if "deletionTimestamp" in result["metadata"]:
        if phase != TERMINATING:
            problems.append(
                invalid_value(
                    "status.phase", phase, "may only be 'Terminating' if `deletionTimestamp` is not empty"
                )
            )
    elif phase != ACTIVE:
        problems.append(
            invalid_value("status.phase", phase, "may only be 'Active' if `deletionTimestamp` is empty")
        )
    _raise_if_invalid(result, problems)
    return result


def prepare_finalize(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    """``/finalize`` (PUT): the spec finalizers from the body, everything else as stored."""
    _check_target(new, old, name)
    finalizers = (new.get("spec") or {}).get("finalizers")
    result = canonical({**old, "spec": {**(old.get("spec") or {}), "finalizers": finalizers}})
    _raise_if_invalid(result, _validate_spec_finalizers(result))
    return _omit_empty_finalizers(result)


def _check_target(new: Object, old: Object, name: str) -> None:
    rest.check_identity(new, None, name)
    rest.check_preconditions(RESOURCE, new.setdefault("metadata", {}), old["metadata"], None, name)


def _omit_empty_finalizers(ns: Object) -> Object:
    """Go omits an empty finalizer list (``omitempty``)."""
    if not (ns.get("spec") or {}).get("finalizers"):
        ns["spec"] = {k: v for k, v in (ns.get("spec") or {}).items() if k != "finalizers"}
    return ns


def _validated_update(new: Object, old: Object) -> Object:
    problems = validate_object_meta_update(new["metadata"], old["metadata"])
    problems += validate_namespace(new)
    _raise_if_invalid(new, problems)
    return new


def validate_namespace(ns: Object) -> list[FieldError]:
    """``ValidateNamespace``: object metadata with a DNS-1123 label as name, spec finalizers."""
    meta = ns["metadata"]
    problems = validate_object_meta(meta, namespaced=False, name_errors=dns1123_label_errors)
    return problems + _validate_spec_finalizers(ns)


def _validate_spec_finalizers(ns: Object) -> list[FieldError]:
    problems: list[FieldError] = []
    for i, finalizer in enumerate((ns.get("spec") or {}).get("finalizers") or []):
        path = f"spec.finalizers[{i}]"
        if not isinstance(finalizer, str):
            problems.append(invalid_value(path, finalizer, "must be a string"))
            continue
        problems += invalid_each(path, finalizer, qualified_name_errors(finalizer))
        if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
            detail = "name is neither a standard finalizer name nor is it fully qualified"
            problems.append(invalid_value(path, finalizer, detail))
    return problems


def _raise_if_invalid(ns: Object, problems: list[FieldError]) -> None:
    if problems:
        raise errors.invalid(KIND, ns["metadata"].get("name") or "", problems)


def deletion_held(ns: Object) -> bool:
    """A deleted namespace stays, Terminating, until its spec finalizers are gone."""
    return bool((ns.get("spec") or {}).get("finalizers"))


def mark_terminating(ns: Object) -> None:
    """What a DELETE does to a namespace besides its deletionTimestamp."""
    ns["status"] = {**(ns.get("status") or {}), "phase": TERMINATING}
