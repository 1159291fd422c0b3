"""Graceful deletion: what one DELETE does to a stored object (pod-semantics.md §6).

Pure: :func:`plan_delete` looks at the object, the grace period its kind grants, the options
and the clock and says which writes to make — an update carrying ``deletionTimestamp`` (a
MODIFIED event), a removal (DELETED), both in that order, or nothing. The registry performs the
plan with compare-and-swap writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchcache.machinery import errors
from watchcache.machinery.objects import Object
from watchcache.machinery.rest import ordered_metadata, timestamp

PROPAGATION_POLICIES = ["Foreground", "Background", "Orphan", "nil"]


@dataclass(frozen=True, slots=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False


@dataclass(frozen=True, slots=True)
class DeletePlan:
    """``update`` is written first (MODIFIED), then the pod is removed if ``remove``."""

    update: Object | None
    remove: bool

    @property
    def changes_nothing(self) -> bool:
        return self.update is None and not self.remove


def validate_options(opts: DeleteOptions) -> None:
    problems = []
    if opts.propagation_policy is not None and opts.propagation_policy not in PROPAGATION_POLICIES[:3]:
        problems.append(
            errors.not_supported("propagationPolicy", opts.propagation_policy, PROPAGATION_POLICIES)
        )
    if opts.propagation_policy is not None and opts.orphan_dependents is not None:
        problems.append(
            errors.invalid_value(
                "propagationPolicy",
                opts.propagation_policy,
                "orphanDependents and deletionPropagation cannot be both set",
            )
        )
    if problems:
        raise errors.invalid_options("DeleteOptions", problems)


def check_preconditions(kind: str, obj: Object, opts: DeleteOptions) -> None:
    meta = obj["metadata"]
    name = meta["name"]
    if opts.precondition_uid and opts.precondition_uid != meta["uid"]:
        raise errors.delete_precondition_conflict(kind, name, "UID", opts.precondition_uid, meta["uid"])
    rv = meta["resourceVersion"]
    if opts.precondition_rv and opts.precondition_rv != rv:
        raise errors.delete_precondition_conflict(kind, name, "ResourceVersion", opts.precondition_rv, rv)


def plan_delete(
    pod: Object, opts: DeleteOptions, grace: int | None, now: datetime, *, held: bool = False
) -> DeletePlan:
    """``grace``: the seconds the kind grants this deletion (its ``grace_period``; None for a
    kind without graceful deletion); ``held``: the kind keeps the object for now whatever its
    metadata says (``Kind.deletion_held``)."""
    meta = pod["metadata"]
    finalizers = bool(meta.get("finalizers")) or held
    if grace is None:  # only what finalizers hold is marked first (kube's non-graceful path)
        if "deletionTimestamp" not in meta and not finalizers:
            return DeletePlan(None, remove=True)
        grace = 0
    if "deletionTimestamp" not in meta:
        return DeletePlan(
            _mark(pod, now + timedelta(seconds=grace), grace), remove=grace == 0 and not finalizers
        )
    pending = meta.get("deletionGracePeriodSeconds")
    if not pending:
        return DeletePlan(None, remove=not finalizers)
    if grace >= pending:
        return DeletePlan(None, remove=False)
    deleted_at = (
        parse_timestamp(meta["deletionTimestamp"]) - timedelta(seconds=pending) + timedelta(seconds=grace)
    )
    return DeletePlan(_mark(pod, deleted_at, grace), remove=grace == 0 and not finalizers)


def removes_after_update(pod: Object) -> bool:
    """An update that drops the last finalizer of a pod pending deletion with grace 0 deletes it."""
    meta = pod["metadata"]
    return (
        "deletionTimestamp" in meta
        and not meta.get("finalizers")
        and not meta.get("deletionGracePeriodSeconds")
    )


def _mark(pod: Object, when: datetime, grace: int) -> Object:
    meta: dict[str, Any] = dict(pod["metadata"])
    meta["deletionTimestamp"] = timestamp(when)
    meta["deletionGracePeriodSeconds"] = grace
    return {**pod, "metadata": ordered_metadata(meta)}


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
