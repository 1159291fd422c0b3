"""The conditions of a Terminating namespace (kube's namespace controller), as pure functions:
what is left after a pass becomes five conditions, rewritten only when they change."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watchcache.registry.namespace_conditions import (
    SUCCEEDED,
    Remaining,
    failing,
    pods_estimate,
    remaining,
    updated_conditions,
)

DELETED = datetime(2025, 1, 1, tzinfo=UTC)


def _pod(grace: int, phase: str = "Pending", finalizers: tuple[str, ...] = ()) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "finalizers": list(finalizers)} if finalizers else {"name": "p"}
    return {"metadata": meta, "spec": {"terminationGracePeriodSeconds": grace}, "status": {"phase": phase}}


def test_pods_grant_their_longest_grace_period_from_the_namespace_deletion() -> None:
    pods = [_pod(30), _pod(60), _pod(600, phase="Succeeded")]  # terminal pods wait for nothing
    assert pods_estimate(pods, DELETED, DELETED + timedelta(seconds=10)) == 60
    assert pods_estimate(pods, DELETED, DELETED + timedelta(seconds=60)) == 0
    assert pods_estimate([], DELETED, DELETED) == 0


@pytest.mark.parametrize(
    ("left", "failed"),
    [
        ([Remaining("pods", "", "v1", 0)], {}),
        # pods in their grace period, one held by a finalizer: remaining, not a failure
        ([remaining("pods", "", "v1", [_pod(30), _pod(30, finalizers=("example.com/a",))], 30),
          remaining("leases", "coordination.k8s.io", "v1", [])],
         {"NamespaceContentRemaining": ("SomeResourcesRemain",
                                        "Some resources are remaining: pods. has 2 resource instances"),
          "NamespaceFinalizersRemaining": ("SomeFinalizerRemain",
                                           "Some finalizers are remaining: example.com/a in 1 resource instances")}),
        # events are listed as both versions, as kube's controller lists each group version
        ([Remaining("events", "", "v1", 1, Counter({"x.io/b": 1})),
          Remaining("events", "events.k8s.io", "v1", 1, Counter({"x.io/b": 1})),
          Remaining("leases", "coordination.k8s.io", "v1", 3)],
         {"NamespaceContentRemaining": (
             "SomeResourcesRemain",
             "Some resources are remaining: events. has 1 resource instances, "
             "events.events.k8s.io has 1 resource instances, leases.coordination.k8s.io has 3 resource instances"),
          "NamespaceFinalizersRemaining": ("SomeFinalizerRemain",
                                           "Some finalizers are remaining: x.io/b in 2 resource instances"),
          "NamespaceDeletionContentFailure": (
             "ContentDeletionFailed",
             "Failed to delete all resource types, 1 remaining: unexpected items still remain in namespace: "
             "ns for gvr: coordination.k8s.io/v1, Resource=leases")}),
    ],
)  # fmt: skip
def test_what_is_left_is_said_in_true_conditions(
    left: list[Remaining], failed: dict[str, tuple[str, str]]
) -> None:
    assert failing("ns", left) == failed


def test_conditions_change_only_when_their_status_reason_or_message_does() -> None:
    held = {
        "NamespaceContentRemaining": (
            "SomeResourcesRemain",
            "Some resources are remaining: pods. has 1 resource instances",
        )
    }
    first = updated_conditions([{"type": "Other", "status": "True"}], held, "T1")
    assert first is not None
    assert first[0] == {"type": "Other", "status": "True"}  # another's condition is left alone
    assert [(c["type"], c["status"], c["reason"], c["lastTransitionTime"]) for c in first[1:]] == [
        (kind, "True" if kind in held else "False", held.get(kind, ok)[0], "T1")
        for kind, ok in SUCCEEDED.items()
    ]
    assert updated_conditions(first, held, "T2") is None
    fewer = {
        "NamespaceContentRemaining": (
            "SomeResourcesRemain",
            "Some resources are remaining: pods. has 2 resource instances",
        )
    }
    moved = updated_conditions(first, fewer, "T2")
    assert moved is not None and moved[4]["lastTransitionTime"] == "T1"  # same status: same time
    done = updated_conditions(first, {}, "T3")
    assert done is not None and done[4] == {
        "type": "NamespaceContentRemaining", "status": "False", "lastTransitionTime": "T3",
        "reason": "ContentRemoved", "message": "All content successfully removed",
    }  # fmt: skip
