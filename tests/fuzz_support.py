"""Arbitrary pods for the fuzz tests: a rich, valid pod with arbitrary JSON values put at
arbitrary places of it (``damaged_pods``), as the rules' and the HTTP fuzz tests send them."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "labels": {"app": "web", "tier": "front"},
        "annotations": {"team": "a"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-1"}],
    },
    "spec": {
        "nodeName": "node-1",
        "containers": [
            {
                "name": "app",
                "image": "nginx:1.27",
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [{"name": "MODE", "value": "fast"}],
                "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                "securityContext": {"runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}},
            }
        ],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["sh", "-c", "true"]}],
        "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}}],
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}
                    ]
                }
            }
        },
        "topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}
        ],
    },
}

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the pod a value sits (dict keys and list indexes)."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


PATHS = _paths(POD)


def _slot(pod: dict[str, Any], path: tuple[Any, ...]) -> tuple[Any, Any] | None:
    """Where ``path`` ends in ``pod`` now, if an earlier damage left it there."""
    parent: Any = pod
    for step in path[:-1]:
        if not _holds(parent, step):
            return None
        parent = parent[step]
    last = path[-1]
    if (isinstance(parent, dict) and isinstance(last, str)) or _holds(parent, last):
        return parent, last
    return None


def _holds(parent: Any, step: Any) -> bool:
    if isinstance(parent, dict):
        return isinstance(step, str) and step in parent
    return isinstance(parent, list) and isinstance(step, int) and step < len(parent)


@st.composite
def damaged_pods(draw: st.DrawFn) -> dict[str, Any]:
    """The rich pod with one to three values replaced by arbitrary JSON (or a new key added)."""
    pod = copy.deepcopy(POD)
    for _ in range(draw(st.integers(1, 3))):
        slot = _slot(pod, draw(st.sampled_from(PATHS)))
        if slot is None:
            continue
        parent, key = slot
        if isinstance(parent, dict) and draw(st.booleans()):
            key = draw(st.text(min_size=1, max_size=8))
        parent[key] = draw(JSON_VALUES)
    return pod
