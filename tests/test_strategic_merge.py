"""Strategic merge patch (patch.md §4) and JSON merge patch (RFC 7386) on Pod documents."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from watchcache.machinery import errors
from watchcache.machinery.strategic_merge import (
    PATCH_RULES,
    ListRule,
    apply_json_merge_patch,
    apply_strategic_merge,
)

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def spec(**fields: Any) -> dict[str, Any]:
    return {"spec": fields}


def names(items: list[dict[str, Any]], key: str = "name") -> list[Any]:
    return [item[key] for item in items]


def smp(original: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Apply, and prove neither input was touched (every case runs through here)."""
    before = copy.deepcopy((original, patch))
    result = apply_strategic_merge(original, patch)
    assert (original, patch) == before
    return result


WEB = {"name": "web", "image": "nginx:1.26", "resources": {}}
LOG = {"name": "log", "image": "busybox", "resources": {}}


# --- merges that need the whole result to be checked ------------------------------------------

CASES = [
    pytest.param(
        spec(containers=[WEB, LOG]),
        spec(containers=[{"name": "web", "image": "nginx:1.27"}]),
        spec(containers=[{**WEB, "image": "nginx:1.27"}, LOG]),
        id="container-image-by-name-keeps-others",
    ),
    pytest.param(
        spec(containers=[WEB, LOG]),
        spec(containers=[{"name": "side", "image": "envoy", "args": None}]),
        # Without $setElementOrder a new element is placed ahead of server-only ones (Go's
        # mergeSortedSlice; the k8s patch tutorial shows the added container first).
        spec(containers=[{"name": "side", "image": "envoy"}, WEB, LOG]),
        id="container-added-without-order",
    ),
    pytest.param(
        spec(containers=[WEB, LOG]),
        spec(
            **{
                "$setElementOrder/containers": [{"name": "web"}, {"name": "log"}, {"name": "side"}],
                "containers": [{"name": "side", "image": "envoy"}],
            }
        ),
        spec(containers=[WEB, LOG, {"name": "side", "image": "envoy"}]),
        id="container-added-with-order",
    ),
    pytest.param(
        spec(containers=[WEB, LOG]),
        spec(containers=[{"name": "log", "$patch": "delete"}]),
        spec(containers=[WEB]),
        id="container-patch-delete",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(containers=[{"name": "ghost", "$patch": "delete"}]),
        spec(containers=[WEB]),
        id="container-delete-of-missing-is-noop",
    ),
    pytest.param(
        spec(containers=[{**WEB, "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]),
        spec(
            containers=[
                {
                    "name": "web",
                    "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                }
            ]
        ),
        spec(
            containers=[
                {
                    **WEB,
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "B", "value": "3"},
                        {"name": "C", "value": "4"},
                    ],
                }
            ]
        ),
        id="env-merged-by-name",
    ),
    pytest.param(
        spec(
            containers=[
                {
                    **WEB,
                    "env": [
                        {"name": "A", "value": "1"},
                        {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                    ],
                }
            ]
        ),
        spec(containers=[{"name": "web", "env": [{"name": "S", "valueFrom": None, "value": "v"}]}]),
        spec(containers=[{**WEB, "env": [{"name": "A", "value": "1"}, {"name": "S", "value": "v"}]}]),
        id="env-null-removes-field-of-element",
    ),
    pytest.param(
        spec(
            containers=[
                {
                    **WEB,
                    "ports": [
                        {"containerPort": 80, "protocol": "TCP"},
                        {"containerPort": 443, "protocol": "TCP"},
                    ],
                }
            ]
        ),
        spec(containers=[{"name": "web", "ports": [{"containerPort": 443, "name": "https"}]}]),
        spec(
            containers=[
                {
                    **WEB,
                    "ports": [
                        {"containerPort": 80, "protocol": "TCP"},
                        {"containerPort": 443, "protocol": "TCP", "name": "https"},
                    ],
                }
            ]
        ),
        id="ports-merged-by-containerPort",
    ),
    pytest.param(
        spec(containers=[{**WEB, "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]),
        spec(containers=[{"name": "web", "volumeMounts": [{"mountPath": "/data", "readOnly": True}]}]),
        spec(
            containers=[{**WEB, "volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True}]}]
        ),
        id="volumeMounts-merged-by-mountPath",
    ),
    pytest.param(
        spec(volumes=[{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}]),
        spec(
            volumes=[
                {
                    "$retainKeys": ["configMap", "name"],
                    "name": "data",
                    "configMap": {"name": "cfg"},
                    "emptyDir": None,
                }
            ]
        ),
        spec(volumes=[{"name": "data", "configMap": {"name": "cfg"}}, {"name": "tmp", "emptyDir": {}}]),
        id="volume-retainKeys-switches-source",
    ),
    pytest.param(
        spec(volumes=[{"name": "data", "hostPath": {"path": "/x", "type": ""}}]),
        spec(volumes=[{"$retainKeys": ["name", "emptyDir"], "name": "data", "emptyDir": {}}]),
        spec(volumes=[{"name": "data", "emptyDir": {}}]),
        id="volume-retainKeys-drops-unlisted-without-null",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a.io/x", "b.io/y"]}},
        {"metadata": {"finalizers": ["b.io/y", "c.io/z"]}},
        {"metadata": {"finalizers": ["a.io/x", "b.io/y", "c.io/z"]}},
        id="finalizers-union",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a.io/x", "b.io/y", "b.io/y"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b.io/y", "nope"]}},
        {"metadata": {"finalizers": ["a.io/x"]}},
        id="finalizers-deleteFromPrimitiveList-removes-all-copies",
    ),
    pytest.param(
        {"metadata": {"name": "p"}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/x"]}},
        {"metadata": {"name": "p"}},
        id="deleteFromPrimitiveList-never-adds-the-list",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {
            "metadata": {
                "$setElementOrder/finalizers": ["a", "d"],
                "$deleteFromPrimitiveList/finalizers": ["b"],
                "finalizers": ["d"],
            }
        },
        {"metadata": {"finalizers": ["a", "d", "c"]}},
        id="finalizers-add-delete-and-order",
    ),
    pytest.param(
        spec(containers=[{"name": "a"}, {"name": "b"}, {"name": "c"}]),
        spec(**{"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}]}),
        spec(containers=[{"name": "c"}, {"name": "a"}, {"name": "b"}]),
        id="setElementOrder-reorders-without-content",
    ),
    pytest.param(
        spec(containers=[{"name": "a"}, {"name": "b"}, {"name": "x"}, {"name": "c"}, {"name": "d"}]),
        spec(
            **{
                "$setElementOrder/containers": [
                    {"name": "b"},
                    {"name": "a"},
                    {"name": "d"},
                    {"name": "c"},
                ]
            }
        ),
        # the server-only "x" keeps its place between its neighbours as far as the order allows
        spec(containers=[{"name": "b"}, {"name": "a"}, {"name": "x"}, {"name": "d"}, {"name": "c"}]),
        id="setElementOrder-interleaves-server-only",
    ),
    pytest.param(
        spec(containers=[{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]),
        spec(containers=[{"name": "b", "image": "3"}, {"name": "a", "image": "4"}]),
        spec(containers=[{"name": "b", "image": "3"}, {"name": "a", "image": "4"}]),
        id="patch-order-wins-for-patched-items",
    ),
    pytest.param(
        spec(containers=[WEB, LOG]),
        spec(containers=[{"$patch": "replace"}, {"name": "only", "image": "x", "tty": None}]),
        spec(containers=[{"name": "only", "image": "x"}]),
        id="list-patch-replace",
    ),
    pytest.param(
        spec(containers=[WEB, LOG]),
        spec(containers=[{"$patch": "replace"}]),
        spec(containers=[]),
        id="list-patch-replace-to-empty",
    ),
    pytest.param(
        {"metadata": {"labels": {"app": "web", "tier": "fe"}}},
        {"metadata": {"labels": {"$patch": "replace", "app": "api", "new": "1"}}},
        {"metadata": {"labels": {"app": "api", "new": "1"}}},
        id="map-patch-replace",
    ),
    pytest.param(
        {"metadata": {"labels": {"app": "web"}, "name": "p"}},
        {"metadata": {"labels": {"$patch": "delete"}}},
        {"metadata": {"labels": {}, "name": "p"}},
        id="map-patch-delete-empties",
    ),
    pytest.param(
        {"metadata": {"name": "p"}},
        {"metadata": {"labels": {"$patch": "delete"}}},
        {"metadata": {"name": "p"}},
        id="map-patch-delete-of-absent-map-adds-nothing",
    ),
    pytest.param(
        {"metadata": {"labels": {"app": "web", "tier": "fe"}}},
        {"metadata": {"labels": {"tier": None, "absent": None, "env": "prod"}}},
        {"metadata": {"labels": {"app": "web", "env": "prod"}}},
        id="null-deletes-labels",
    ),
    pytest.param(
        spec(
            tolerations=[
                {"key": "a", "operator": "Exists"},
                {"key": "b", "operator": "Exists", "effect": "NoSchedule"},
            ]
        ),
        spec(tolerations=[{"key": "b", "operator": "Exists"}]),
        spec(tolerations=[{"key": "b", "operator": "Exists"}]),
        id="tolerations-atomic",
    ),
    pytest.param(
        spec(containers=[{**WEB, "command": ["sh", "-c", "a"], "args": ["x", "y"]}]),
        spec(containers=[{"name": "web", "args": ["z"]}]),
        spec(containers=[{**WEB, "command": ["sh", "-c", "a"], "args": ["z"]}]),
        id="args-atomic",
    ),
    pytest.param(
        {
            "status": {
                "phase": "Pending",
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady"},
                ],
                "containerStatuses": [{"name": "web", "ready": False}, {"name": "log"}],
            }
        },
        {
            "status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True", "reason": None}],
                "containerStatuses": [{"name": "web", "ready": True}],
            }
        },
        {
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "True"},
                ],
                "containerStatuses": [{"name": "web", "ready": True}],
            }
        },
        id="status-conditions-by-type-containerStatuses-atomic",
    ),
    pytest.param(
        {"status": {"podIPs": [{"ip": "10.0.0.1"}]}},
        {"status": {"podIPs": [{"ip": "fd00::1"}]}},
        {"status": {"podIPs": [{"ip": "fd00::1"}, {"ip": "10.0.0.1"}]}},
        id="podIPs-by-ip",
    ),
    pytest.param(
        {"metadata": {"ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "name": "rs"}]}},
        {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}]}},
        {
            "metadata": {
                "ownerReferences": [{"uid": "u1", "kind": "ReplicaSet", "name": "rs", "controller": True}]
            }
        },
        id="ownerReferences-by-uid",
    ),
    pytest.param(
        spec(
            initContainers=[{"name": "init", "env": [{"name": "A", "value": "1"}]}],
            ephemeralContainers=[{"name": "dbg", "env": [{"name": "A", "value": "1"}]}],
        ),
        spec(
            initContainers=[{"name": "init", "env": [{"name": "B", "value": "2"}]}],
            ephemeralContainers=[{"name": "dbg", "env": [{"name": "A", "$patch": "delete"}]}],
        ),
        spec(
            initContainers=[
                {"name": "init", "env": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}
            ],
            ephemeralContainers=[{"name": "dbg", "env": []}],
        ),
        id="init-and-ephemeral-containers-use-the-same-rules",
    ),
    pytest.param(
        spec(imagePullSecrets=[{"name": "a"}], schedulingGates=[{"name": "g1"}, {"name": "g2"}]),
        spec(imagePullSecrets=[{"name": "b"}], schedulingGates=[{"name": "g1", "$patch": "delete"}]),
        spec(imagePullSecrets=[{"name": "b"}, {"name": "a"}], schedulingGates=[{"name": "g2"}]),
        id="imagePullSecrets-and-schedulingGates-by-name",
    ),
    pytest.param(
        spec(nodeSelector={"disk": "ssd"}, containers=[{**WEB, "resources": {"limits": {"cpu": "1"}}}]),
        spec(
            nodeSelector={"zone": "a"},
            containers=[{"name": "web", "resources": {"limits": {"memory": "1Gi"}}}],
        ),
        spec(
            nodeSelector={"disk": "ssd", "zone": "a"},
            containers=[{**WEB, "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
        ),
        id="maps-merge-key-by-key",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(
            containers=[
                {
                    "name": "new",
                    "$setElementOrder/env": [{"name": "A"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "Z", "$patch": "delete"}],
                    "securityContext": {"$patch": "replace", "runAsUser": 1, "x": None},
                    "lifecycle": {"$patch": "delete"},
                    "$retainKeys": ["name"],
                }
            ]
        ),
        spec(
            containers=[
                {
                    "name": "new",
                    "env": [{"name": "A", "value": "1"}],
                    "securityContext": {"runAsUser": 1},
                },
                WEB,
            ]
        ),
        id="directives-never-reach-the-output-of-new-values",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(containers={"name": "web"}),
        spec(containers={"name": "web"}),
        id="type-change-replaces",
    ),
    pytest.param(
        {"metadata": {"name": "p"}, "spec": {"a": 1}},
        {"$patch": "replace", "metadata": {"name": "q"}},
        {"metadata": {"name": "q"}},
        id="root-patch-replace",
    ),
    pytest.param(
        {"metadata": {"name": "p"}},
        None,
        {"metadata": {"name": "p"}},
        id="null-patch-is-a-noop",
    ),
]


@pytest.mark.parametrize(("original", "patch", "expected"), CASES)
def test_strategic_merge(original: dict[str, Any], patch: Any, expected: dict[str, Any]) -> None:
    assert smp(original, patch) == expected


# --- realistic client patches ---------------------------------------------------------------


def stored_pod() -> dict[str, Any]:
    applied = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"annotations": {}, "labels": {"app": "web", "tier": "fe"}, "name": "web"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.26",
                    "env": [{"name": "A", "value": "1"}, {"name": "OLD", "value": "x"}],
                },
                {"name": "log", "image": "busybox"},
            ],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
    }
    container_defaults = {
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
    }
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": "6f1c5a4e-0000-4000-8000-000000000001",
            "resourceVersion": "",
            "creationTimestamp": "2024-05-01T10:00:00Z",
            "labels": {"app": "web", "tier": "fe"},
            "annotations": {LAST_APPLIED: json.dumps(applied) + "\n", "owner": "team-a"},
            "finalizers": ["example.com/keep"],
        },
        "spec": {
            "volumes": [{"name": "data", "emptyDir": {}}],
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.26",
                    "env": [{"name": "A", "value": "1"}, {"name": "OLD", "value": "x"}],
                    **container_defaults,
                },
                {"name": "log", "image": "busybox", **container_defaults},
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


def test_kubectl_apply_three_way_patch() -> None:
    """New config: image bump, env A changed and OLD dropped, sidecar added between web and log,
    label tier dropped, volume switched to a ConfigMap, a toleration added."""
    pod = stored_pod()
    last_applied = '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"}}\n'
    patch = {
        "metadata": {"annotations": {LAST_APPLIED: last_applied}, "labels": {"tier": None}},
        "spec": {
            "$setElementOrder/containers": [{"name": "web"}, {"name": "side"}, {"name": "log"}],
            "$setElementOrder/volumes": [{"name": "data"}],
            "containers": [
                {
                    "$setElementOrder/env": [{"name": "A"}],
                    "env": [{"name": "A", "value": "2"}, {"$patch": "delete", "name": "OLD"}],
                    "image": "nginx:1.27",
                    "name": "web",
                },
                {"image": "envoyproxy/envoy:v1.30", "name": "side"},
            ],
            "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "operator": "Exists"}],
            "volumes": [
                {
                    "$retainKeys": ["configMap", "name"],
                    "configMap": {"name": "web-config"},
                    "emptyDir": None,
                    "name": "data",
                }
            ],
        },
    }
    result = smp(pod, patch)

    meta = result["metadata"]
    assert meta["labels"] == {"app": "web"}
    assert meta["annotations"] == {LAST_APPLIED: last_applied, "owner": "team-a"}
    assert meta["finalizers"] == ["example.com/keep"]
    containers = result["spec"]["containers"]
    assert names(containers) == ["web", "side", "log"]
    web = containers[0]
    assert web["image"] == "nginx:1.27"
    assert web["env"] == [{"name": "A", "value": "2"}]
    assert web["terminationMessagePath"] == "/dev/termination-log"  # untouched fields kept
    assert containers[1] == {"image": "envoyproxy/envoy:v1.30", "name": "side"}
    assert containers[2] == pod["spec"]["containers"][1]
    assert result["spec"]["volumes"] == [{"name": "data", "configMap": {"name": "web-config"}}]
    assert result["spec"]["tolerations"] == patch["spec"]["tolerations"]
    assert result["status"] == pod["status"]
    assert "$setElementOrder" not in json.dumps(result) and "$patch" not in json.dumps(result)


def test_kubectl_apply_removes_finalizer_and_keeps_foreign_one() -> None:
    pod = stored_pod()
    pod["metadata"]["finalizers"] = ["example.com/keep", "example.com/gone", "other.io/x"]
    patch = {
        "metadata": {
            "$setElementOrder/finalizers": ["example.com/keep"],
            "$deleteFromPrimitiveList/finalizers": ["example.com/gone"],
        }
    }
    assert smp(pod, patch)["metadata"]["finalizers"] == ["example.com/keep", "other.io/x"]


def debugger(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": "busybox",
        "stdin": True,
        "tty": True,
        "targetContainerName": "web",
        "terminationMessagePolicy": "File",
        "resources": {},
    }


def test_kubectl_debug_adds_ephemeral_container() -> None:
    pod = stored_pod()
    patch = spec(
        **{
            "$setElementOrder/ephemeralContainers": [{"name": "debugger-x7k2p"}],
            "ephemeralContainers": [debugger("debugger-x7k2p")],
        }
    )
    result = smp(pod, patch)
    assert result["spec"]["ephemeralContainers"] == [debugger("debugger-x7k2p")]
    assert {k: v for k, v in result["spec"].items() if k != "ephemeralContainers"} == pod["spec"]
    assert result["metadata"] == pod["metadata"] and result["status"] == pod["status"]


def test_kubectl_debug_second_debugger_goes_last() -> None:
    pod = stored_pod()
    pod["spec"]["ephemeralContainers"] = [debugger("debugger-aaaaa")]
    patch = spec(
        **{
            "$setElementOrder/ephemeralContainers": [
                {"name": "debugger-aaaaa"},
                {"name": "debugger-bbbbb"},
            ],
            "ephemeralContainers": [debugger("debugger-bbbbb")],
        }
    )
    result = smp(pod, patch)["spec"]["ephemeralContainers"]
    assert names(result) == ["debugger-aaaaa", "debugger-bbbbb"]


def test_python_client_patch_changes_only_what_it_names() -> None:
    pod = stored_pod()
    result = smp(pod, {"metadata": {"labels": {"env": "prod"}}, "spec": {"activeDeadlineSeconds": 60}})
    assert result["metadata"]["labels"] == {"app": "web", "tier": "fe", "env": "prod"}
    assert result["spec"] == {**pod["spec"], "activeDeadlineSeconds": 60}


def test_untouched_subtrees_are_shared_not_copied() -> None:
    """Copy-on-write: only the patched path is new (callers must copy before mutating)."""
    pod = stored_pod()
    result = smp(pod, {"metadata": {"labels": {"env": "prod"}}})
    assert result["spec"] is pod["spec"]
    assert result["metadata"] is not pod["metadata"]
    assert result["metadata"]["labels"] is not pod["metadata"]["labels"]


# --- errors -----------------------------------------------------------------------------------

ERRORS = [
    pytest.param(
        spec(containers=[WEB]),
        spec(containers=[{"image": "x"}]),
        "map: map[image:x] does not contain declared merge key: name",
        id="missing-merge-key",
    ),
    pytest.param(
        spec(containers=[{**WEB, "ports": [{"containerPort": 80}]}]),
        spec(containers=[{"name": "web", "ports": [{"name": "http", "hostPort": 8080}]}]),
        "map: map[hostPort:8080 name:http] does not contain declared merge key: containerPort",
        id="missing-merge-key-nested",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(containers=[{"$patch": "delete"}]),
        "map: map[$patch:delete] does not contain declared merge key: name",
        id="delete-without-merge-key",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(containers=[{"name": "web", "$patch": "remove"}]),
        "unknown patch type: remove in map: map[$patch:remove name:web]",
        id="bad-patch-in-list-element",
    ),
    pytest.param(
        {"metadata": {"labels": {"a": "b"}}},
        {"metadata": {"labels": {"$patch": "merge", "a": "c"}}},
        "unknown patch type: merge in map: map[$patch:merge a:c]",
        id="patch-merge-in-map-is-unknown",
    ),
    pytest.param(
        {"metadata": {"labels": {"a": "b"}}},
        {"metadata": {"labels": {"$patch": 1}}},
        "unknown patch type: %!s(int64=1) in map: map[$patch:1]",
        id="non-string-patch-type",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(containers=[{"$patch": "merge"}]),
        "merging lists cannot yet be specified in the patch",
        id="patch-merge-in-list",
    ),
    pytest.param(
        spec(volumes=[{"name": "data", "emptyDir": {}}]),
        spec(volumes=[{"$retainKeys": ["name"], "name": "data", "configMap": {"name": "c"}}]),
        "invalid patch format of retainKeys",
        id="retainKeys-missing-patched-key",
    ),
    pytest.param(
        spec(volumes=[{"name": "data", "emptyDir": {}}]),
        spec(volumes=[{"$retainKeys": "name", "name": "data"}]),
        "invalid patch format of retainKeys",
        id="retainKeys-not-a-list",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}},
        "invalid patch format of primitive list",
        id="deleteFromPrimitiveList-not-a-list",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}},
        "invalid patch format of primitive list",
        id="deleteFromPrimitiveList-without-slash",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(**{"$setElementOrder/containers": {"name": "web"}}),
        "invalid patch format of setElementOrder list",
        id="setElementOrder-not-a-list",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(**{"$setElementOrder/containers": ["web"]}),
        "invalid patch format of setElementOrder list",
        id="setElementOrder-of-scalars-for-a-keyed-list",
    ),
    pytest.param(
        spec(containers=[{"name": "a"}, {"name": "b"}]),
        spec(
            **{
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
                "containers": [{"name": "b", "image": "2"}, {"name": "a", "image": "1"}],
            }
        ),
        "The order in patch list:\n[map[image:2 name:b] map[image:1 name:a]]\n doesn't match "
        "$setElementOrder list:\n[map[name:a] map[name:b]]\n",
        id="setElementOrder-contradicts-patch",
    ),
    pytest.param(
        spec(containers=[WEB]),
        spec(containers=["web"]),
        "list element types are not identical: [[map[image:nginx:1.26 name:web resources:map[]]] [web]]",
        id="mixed-element-types",
    ),
    pytest.param(
        {},
        ["not", "an", "object"],
        "json: cannot unmarshal array into Go value of type map[string]interface {}",
        id="patch-is-an-array",
    ),
    pytest.param(
        {},
        "x",
        "json: cannot unmarshal string into Go value of type map[string]interface {}",
        id="patch-is-a-string",
    ),
]


@pytest.mark.parametrize(("original", "patch", "message"), ERRORS)
def test_malformed_patch_is_bad_request(original: dict[str, Any], patch: Any, message: str) -> None:
    before = copy.deepcopy((original, patch))
    with pytest.raises(errors.BadRequest) as caught:
        apply_strategic_merge(original, patch)
    assert caught.value.code == 400
    assert caught.value.message == message
    assert (original, patch) == before


def test_list_of_lists_is_unprocessable() -> None:
    with pytest.raises(errors.APIError) as caught:
        smp({"metadata": {"finalizers": ["a"]}}, {"metadata": {"finalizers": [["b"]]}})
    assert (caught.value.code, caught.value.message) == (422, "lists of lists are not supported")


# --- the metadata table -------------------------------------------------------------------------


def test_table_has_every_row_of_the_spec() -> None:
    containers = ("containers", "initContainers", "ephemeralContainers")
    expected = {
        "metadata.finalizers": ListRule(None),
        "metadata.ownerReferences": ListRule("uid"),
        "spec.volumes": ListRule("name", retain_keys=True),
        "spec.imagePullSecrets": ListRule("name"),
        "spec.hostAliases": ListRule("ip"),
        "spec.topologySpreadConstraints": ListRule("topologyKey"),
        "spec.schedulingGates": ListRule("name"),
        "spec.resourceClaims": ListRule("name", retain_keys=True),
        "status.conditions": ListRule("type"),
        "status.podIPs": ListRule("ip"),
        "status.hostIPs": ListRule("ip"),
        "status.resourceClaimStatuses": ListRule("name", retain_keys=True),
    }
    for c in containers:
        expected[f"spec.{c}"] = ListRule("name")
        expected[f"spec.{c}[].env"] = ListRule("name")
        expected[f"spec.{c}[].ports"] = ListRule("containerPort")
        expected[f"spec.{c}[].volumeMounts"] = ListRule("mountPath")
        expected[f"spec.{c}[].volumeDevices"] = ListRule("devicePath")
    assert dict(PATCH_RULES) == expected


# --- RFC 7386 -----------------------------------------------------------------------------------

RFC7386 = [  # Appendix A, plus the §3 example
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    (
        {"title": "Goodbye!", "author": {"givenName": "John", "familyName": "Doe"},
         "tags": ["example", "sample"], "content": "This will be unchanged"},
        {"title": "Hello!", "phoneNumber": "+01-123-456-7890",
         "author": {"familyName": None}, "tags": ["example"]},
        {"title": "Hello!", "author": {"givenName": "John"}, "tags": ["example"],
         "content": "This will be unchanged", "phoneNumber": "+01-123-456-7890"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("original", "patch", "expected"), RFC7386)
def test_json_merge_patch_rfc7386(original: Any, patch: Any, expected: Any) -> None:
    before = copy.deepcopy((original, patch))
    assert apply_json_merge_patch(original, patch) == expected
    assert (original, patch) == before


def test_json_merge_patch_replaces_merge_lists_whole() -> None:
    """patch.md §3: a merge patch must send the whole containers list."""
    pod = {"spec": {"containers": [WEB, LOG]}, "metadata": {"labels": {"a": "1", "b": "2"}}}
    patch = {"spec": {"containers": [{"name": "web", "image": "x"}]}, "metadata": {"labels": {"b": None}}}
    assert apply_json_merge_patch(pod, patch) == {
        "spec": {"containers": [{"name": "web", "image": "x"}]},
        "metadata": {"labels": {"a": "1"}},
    }
