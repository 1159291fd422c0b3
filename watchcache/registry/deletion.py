"""Graceful pod deletion: what one DELETE does to a stored pod (pod-semantics.md §6).

Pure: :func:`plan_delete` looks at the pod, the options and the clock and says which writes to
make — an update carrying ``deletionTimestamp`` (a MODIFIED event), a removal (DELETED), both in
that order, or nothing. The registry performs the plan with compare-and-swap writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from watchcache.kinds.pods.strategy import canonical, timestamp
from watchcache.machinery import errors
from watchcache.machinery.objects import Pod

DEFAULT_GRACE_S = 30  # v1 default of spec.terminationGracePeriodSeconds
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

    update: Pod | None
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


def check_preconditions(pod: Pod, opts: DeleteOptions) -> None:
    meta = pod["metadata"]
    name = meta["name"]
    if opts.precondition_uid and opts.precondition_uid != meta["uid"]:
        raise errors.delete_precondition_conflict(name, "UID", opts.precondition_uid, meta["uid"])
    rv = meta["resourceVersion"]
    if opts.precondition_rv and opts.precondition_rv != rv:
        raise errors.delete_precondition_conflict(name, "ResourceVersion", opts.precondition_rv, rv)


def effective_grace(pod: Pod, requested: int | None) -> int:
    """Unscheduled and terminal pods go at once; negative periods mean 1 second."""
    spec = pod.get("spec") or {}
    grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", DEFAULT_GRACE_S)
    phase = (pod.get("status") or {}).get("phase")
    if not spec.get("nodeName") or phase in ("Succeeded", "Failed"):
        grace = 0
    return 1 if grace < 0 else grace


def plan_delete(pod: Pod, opts: DeleteOptions, now: datetime) -> DeletePlan:
    meta = pod["metadata"]
    grace = effective_grace(pod, opts.grace_period_seconds)
    finalizers = bool(meta.get("finalizers"))
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


def removes_after_update(pod: Pod) -> bool:
    """An update that drops the last finalizer of a pod pending deletion with grace 0 deletes it."""
    meta = pod["metadata"]
    return (
        "deletionTimestamp" in meta
        and not meta.get("finalizers")
        and not meta.get("deletionGracePeriodSeconds")
    )


def _mark(pod: Pod, when: datetime, grace: int) -> Pod:
    meta: dict[str, Any] = dict(pod["metadata"])
    meta["deletionTimestamp"] = timestamp(when)
    meta["deletionGracePeriodSeconds"] = grace
    return canonical({**pod, "metadata": meta})


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
