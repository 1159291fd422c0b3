"""The conditions kube's namespace controller keeps on a Terminating namespace, so that
``kubectl describe ns`` shows what holds it (``pkg/controller/namespace/deletion``:
``status_condition_utils.go`` and ``deleteAllContent``).

After each pass over a namespace's content the controller sets five conditions: each is True
with what failed or remains, else False with its "all is well" words. A condition changes only
when its status, reason or message does; its ``lastTransitionTime`` only when its status does.
Discovery and group versions cannot fail here (the kinds are compiled in), so those two are
always their False form.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watchcache.machinery.objects import Object

DISCOVERY = "NamespaceDeletionDiscoveryFailure"
GROUP_VERSIONS = "NamespaceDeletionGroupVersionParsingFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"
# (reason, message) of each condition when nothing is wrong, in the order kube adds them
SUCCEEDED: dict[str, tuple[str, str]] = {
    DISCOVERY: ("ResourcesDiscovered", "All resources successfully discovered"),
    GROUP_VERSIONS: ("ParsedGroupVersions", "All legacy kube types successfully parsed"),
    CONTENT_FAILURE: ("ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentRemoved", "All content successfully removed"),
}
# kube's finalizerEstimateSeconds: objects held by finalizers are expected to go, not a failure
FINALIZER_ESTIMATE_S = 15


@dataclass(frozen=True, slots=True)
class Remaining:
    """What one served resource still lists in the namespace after a pass (kube lists every
    group version discovery serves: events count once as core, once as events.k8s.io)."""

    resource: str
    group: str
    version: str
    count: int
    finalizers: Counter[str] = field(default_factory=Counter)
    estimate_s: int = 0  # graceful termination still granted (pods: see pods_estimate)

    def failure(self, namespace: str) -> str:
        """kube's error for objects left with neither a grace period to wait for nor a
        finalizer: something should have deleted them. "" when that is not the case."""
        if not self.count or self.estimate_s or self.finalizers:
            return ""
        gvr = f"{self.group}/{self.version}, Resource={self.resource}"
        return f"unexpected items still remain in namespace: {namespace} for gvr: {gvr}"


def remaining(
    resource: str, group: str, version: str, objects: list[Object], estimate_s: int = 0
) -> Remaining:
    finalizers: Counter[str] = Counter()
    for obj in objects:
        finalizers.update(obj["metadata"].get("finalizers") or [])
    return Remaining(resource, group, version, len(objects), finalizers, estimate_s if objects else 0)


def pods_estimate(pods: list[Object], namespace_deleted: datetime, now: datetime) -> int:
    """``estimateGracefulTerminationForPods``: the longest grace period of the namespace's pods
    not yet terminal, or 0 once that long has passed since the namespace was deleted."""
    estimate = 0
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        if isinstance(grace, int) and grace > estimate:
            estimate = grace
    return 0 if now - namespace_deleted >= timedelta(seconds=estimate) else estimate


def failing(namespace: str, left: list[Remaining]) -> dict[str, tuple[str, str]]:
    """The conditions that are True after a pass, by type: (reason, message)."""
    out: dict[str, tuple[str, str]] = {}
    counts = sorted(f"{r.resource}.{r.group} has {r.count} resource instances" for r in left if r.count)
    if counts:
        out[CONTENT_REMAINING] = ("SomeResourcesRemain", "Some resources are remaining: " + ", ".join(counts))
    by_finalizer: Counter[str] = Counter()
    for r in left:
        by_finalizer.update(r.finalizers)
    if by_finalizer:
        held = sorted(f"{name} in {n} resource instances" for name, n in by_finalizer.items())
        out[FINALIZERS_REMAINING] = (
            "SomeFinalizerRemain",
            "Some finalizers are remaining: " + ", ".join(held),
        )
    failures = sorted(text for r in left if (text := r.failure(namespace)))
    if failures:
        message = f"Failed to delete all resource types, {len(failures)} remaining: {', '.join(failures)}"
        out[CONTENT_FAILURE] = ("ContentDeletionFailed", message)
    return out


def updated_conditions(
    conditions: list[dict[str, Any]], failed: dict[str, tuple[str, str]], now: str
) -> list[dict[str, Any]] | None:
    """The status conditions after a pass (``updateConditions``), or None if none changed.
    Conditions of other types stay as they are."""
    out = [dict(c) for c in conditions]
    changed = False
    for kind, (reason, message) in SUCCEEDED.items():
        status = "True" if kind in failed else "False"
        reason, message = failed.get(kind, (reason, message))
        old = next((c for c in out if c.get("type") == kind), None)
        if old is None:
            out.append(
                {
                    "type": kind,
                    "status": status,
                    "lastTransitionTime": now,
                    "reason": reason,
                    "message": message,
                }
            )
            changed = True
        elif (old.get("status"), old.get("reason"), old.get("message")) != (status, reason, message):
            if old.get("status") != status:
                old["lastTransitionTime"] = now
            old.update(status=status, reason=reason, message=message)
            changed = True
    return out if changed else None
