"""Bad input never hurts, in the compiled rules too: any value anywhere in a pod gets an API
error or is accepted, never another exception (which the API would answer as a 500).

The rule modules run compiled (setup.py, mypyc), and compiled code checks its annotations at
run time: a value of an unexpected type that the interpreter let through would raise
``TypeError`` there. Hypothesis puts arbitrary JSON values at arbitrary places of a rich pod
and drives them through what a create, an update and a server-side apply run, in the order
the API runs them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchcache.http.resources import _check_applied_fields
from watchcache.kinds.pods import POD as POD_KIND
from watchcache.kinds.pods.schema import POD_SCHEMA
from watchcache.kinds.pods.strategy import prepare_create, prepare_update
from watchcache.machinery import errors, managed_fields
from watchcache.machinery.decode import DecodeResult, decode_object
from watchcache.machinery.server_side_apply import apply, parse_apply_body


def decode_pod(body: bytes, **options: Any) -> DecodeResult:
    """The decoder as the API runs it for pods."""
    return decode_object(body, POD_SCHEMA, **options)


NOW = datetime(2026, 12, 6, tzinfo=UTC)

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


def _stored() -> dict[str, Any]:
    decoded = decode_pod(orjson.dumps(POD), field_validation="Strict").obj
    pod, _ = prepare_create(decoded, "ns", now=NOW)
    managed_fields.record(pod, None, manager="kubectl", operation="Update", subresource=None, time="t")
    pod["metadata"]["resourceVersion"] = "7"
    return pod


STORED = _stored()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(damaged_pods(), st.sampled_from(["Strict", "Warn", "Ignore"]))
def test_a_create_of_any_pod_is_an_api_error_or_a_pod(body: dict[str, Any], validation: str) -> None:
    try:
        pod = decode_pod(orjson.dumps(body), field_validation=validation).obj
        pod, _ = prepare_create(pod, "ns", now=NOW)
        managed_fields.record(pod, None, manager="m", operation="Update", subresource=None, time="t")
    except errors.APIError:
        return
    orjson.dumps(pod)  # what is stored can be encoded


@FUZZ
@given(damaged_pods())
def test_an_update_to_any_pod_is_an_api_error_or_a_pod(body: dict[str, Any]) -> None:
    old = copy.deepcopy(STORED)
    try:
        new = decode_pod(orjson.dumps(body), field_validation="Warn").obj
        new = prepare_update(new, old, "ns", "web")
        managed_fields.record(new, old, manager="m", operation="Update", subresource=None, time="t")
    except errors.APIError:
        return
    orjson.dumps(new)


@FUZZ
@given(damaged_pods())
def test_a_server_side_apply_of_any_configuration_is_an_api_error_or_a_pod(body: dict[str, Any]) -> None:
    live = copy.deepcopy(STORED)
    try:
        config = parse_apply_body(orjson.dumps(body))
        _check_applied_fields(POD_KIND, config, "ns", "web")  # as the API does before merging
        merged = apply(live, config, manager="m", force=False, now="2026-12-06T00:00:00Z")
    except errors.APIError:
        return
    orjson.dumps(merged)
