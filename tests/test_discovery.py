"""Discovery and OpenAPI documents hold what kubectl 1.32 looks for (spec README "Discovery")."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
import pytest

from watchcache.http import discovery
from watchcache.http.app import KINDS

POD_GVK = {"group": "", "kind": "Pod", "version": "v1"}
NAMESPACE_GVK = {"group": "", "kind": "Namespace", "version": "v1"}
DOCS = discovery.documents(KINDS)
V1_DOCUMENT = "/openapi/v3/api/v1"
OPENAPI: dict[str, Any] = orjson.loads(DOCS.openapi_v3[V1_DOCUMENT])
METHODS = ("get", "put", "post", "patch", "delete")


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in OPENAPI["paths"].items()
        for method in METHODS
        if method in item
    ]


def query_names(op: dict[str, Any]) -> set[str]:
    return {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}


def test_version_says_v1_32_with_a_real_looking_build() -> None:
    version = orjson.loads(discovery.VERSION)
    assert (version["major"], version["minor"], version["gitVersion"]) == ("1", "32", "v1.32.0")
    assert re.fullmatch(r"[0-9a-f]{40}", version["gitCommit"])
    assert version["gitTreeState"] == "clean"
    assert set(version) == {
        "major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
        "compiler", "platform",
    }  # fmt: skip


def test_legacy_api_versions_list_v1_and_the_server_address() -> None:
    assert orjson.loads(discovery.API_VERSIONS) == {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }
    custom = orjson.loads(discovery.api_versions("10.0.0.1:8443"))
    assert custom["serverAddressByClientCIDRs"][0]["serverAddress"] == "10.0.0.1:8443"
    assert discovery.api_versions("10.0.0.1:8443") is discovery.api_versions("10.0.0.1:8443")


def test_apis_lists_the_named_groups_and_the_core_group_alone_lists_only_authorization() -> None:
    names = [g["name"] for g in orjson.loads(DOCS.api_group_list)["groups"]]
    assert names == ["events.k8s.io", "authorization.k8s.io", "coordination.k8s.io"]  # kube's order
    core_only = discovery.documents([k for k in KINDS if not k.group])
    version = {"groupVersion": "authorization.k8s.io/v1", "version": "v1"}
    assert orjson.loads(core_only.api_group_list) == {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [{"name": "authorization.k8s.io", "versions": [version], "preferredVersion": version}],
    }
    reviews = orjson.loads(core_only.resource_lists["/apis/authorization.k8s.io/v1"])["resources"]
    assert [(r["name"], r["verbs"]) for r in reviews] == [("selfsubjectaccessreviews", ["create"])]


def test_api_v1_lists_each_kind_and_the_served_subresources_exactly() -> None:
    body = orjson.loads(DOCS.resource_lists["/api/v1"])
    assert body["kind"] == "APIResourceList"
    assert body["groupVersion"] == "v1"
    assert "apiVersion" not in body
    names = [r["name"] for r in body["resources"]]
    assert names == ["bindings", "events", "namespaces", "namespaces/finalize", "namespaces/status", "nodes",
                     "nodes/status", "pods", "pods/binding", "pods/ephemeralcontainers", "pods/log",
                     "pods/status"]  # fmt: skip
    assert body["resources"][0]["verbs"] == ["create"]
    assert body["resources"][1] == {
        "name": "events",
        "singularName": "event",
        "namespaced": True,
        "kind": "Event",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["ev"],
    }
    namespaces = body["resources"][2]
    assert namespaces == {
        "name": "namespaces",
        "singularName": "namespace",
        "namespaced": False,
        "kind": "Namespace",
        "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        "shortNames": ["ns"],
    }
    pods, *subresources = body["resources"][7:]
    assert pods == {
        "name": "pods",
        "singularName": "pod",
        "namespaced": True,
        "kind": "Pod",
        "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        "shortNames": ["po"],
        "categories": ["all"],
        "storageVersionHash": "xPOwRZ+Yhw8=",
    }
    assert [(r["name"], r["verbs"], r["singularName"]) for r in subresources] == [
        ("pods/binding", ["create"], ""),
        ("pods/ephemeralcontainers", ["get", "patch", "update"], ""),
        ("pods/log", ["get"], ""),
        ("pods/status", ["get", "patch", "update"], ""),
    ]
    assert all(r["kind"] == "Pod" and r["namespaced"] for r in subresources)


def test_the_openapi_root_points_at_each_group_versions_document_by_its_hash() -> None:
    root = orjson.loads(DOCS.openapi_v3_root)
    assert list(root["paths"]) == ["api/v1", "apis/events.k8s.io/v1", "apis/coordination.k8s.io/v1"]
    for path, entry in root["paths"].items():
        digest = hashlib.sha512(DOCS.openapi_v3[f"/openapi/v3/{path}"]).hexdigest().upper()
        assert entry["serverRelativeURL"] == f"/openapi/v3/{path}?hash={digest}"


def test_the_v1_document_is_openapi_3_for_kubernetes_1_32() -> None:
    assert OPENAPI["openapi"].startswith("3.")
    assert OPENAPI["info"] == {"title": "Kubernetes", "version": "v1.32.0"}


def test_the_pod_patch_operation_advertises_field_validation() -> None:
    """kubectl's server-side validation check: a Pod patch with a fieldValidation query param."""
    patch = OPENAPI["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == POD_GVK
    assert patch["x-kubernetes-action"] == "patch"
    assert {"name": "fieldValidation", "in": "query"}.items() <= next(
        p for p in patch["parameters"] if p["name"] == "fieldValidation"
    ).items()


def test_every_patch_operation_has_field_validation() -> None:
    # kubectl stops at the first patch operation of a kind it meets, in map order: all must qualify.
    patches = [op for _, method, op in operations() if method == "patch"]
    kinds = [op["x-kubernetes-group-version-kind"]["kind"] for op in patches]
    assert sorted(kinds) == ["Event", "Namespace", "Namespace", "Node", "Node", "Pod", "Pod", "Pod"]
    for op in patches:
        assert {"dryRun", "fieldManager", "fieldValidation", "force"} <= query_names(op)


def test_no_operation_has_a_request_body() -> None:
    # With a strategic-merge request body kubectl apply would compute patches from these schemas;
    # without one it uses its compiled-in types, which carry every patch strategy.
    assert all("requestBody" not in op for _, _, op in operations())


def test_each_kind_has_a_component_schema_tagged_with_its_kind_for_kubectl_explain() -> None:
    schemas = OPENAPI["components"]["schemas"]
    tagged = {
        name: s["x-kubernetes-group-version-kind"]
        for name, s in schemas.items()
        if "x-kubernetes-group-version-kind" in s
    }
    assert tagged == {
        **{
            f"io.k8s.api.core.v1.{kind}": [{"group": "", "kind": kind, "version": "v1"}]
            for kind in ("Event", "Namespace", "Node", "Pod")
        },
        "io.k8s.api.events.v1.Event": [{"group": "events.k8s.io", "kind": "Event", "version": "v1"}],
        "io.k8s.api.coordination.v1.Lease": [
            {"group": "coordination.k8s.io", "kind": "Lease", "version": "v1"}
        ],
    }
    node_name = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["nodeName"]
    assert node_name["type"] == "string" and node_name["description"].startswith("NodeName indicates")
    spec = schemas["io.k8s.api.core.v1.Pod"]["properties"]["spec"]
    assert spec == {  # as kube-openapi writes a described struct field in v3
        "allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}],
        "default": {},
        "description": "Specification of the desired behavior of the pod. More info: "
        "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status",
    }
    probe = schemas["io.k8s.api.core.v1.Container"]["properties"]["livenessProbe"]  # a pointer: no default
    assert set(probe) == {"allOf", "description"}
    assert schemas["io.k8s.api.core.v1.Container"]["required"] == ["name"]
    assert schemas["io.k8s.api.core.v1.PodSpec"]["required"] == ["containers"]
    assert schemas["io.k8s.api.core.v1.Event"]["required"] == ["metadata", "involvedObject"]
    assert schemas["io.k8s.api.core.v1.PodSpec"]["description"] == "PodSpec is a description of a pod."
    refs = {r["$ref"].rsplit("/", 1)[1] for r in _refs(schemas)}
    assert refs <= set(schemas), refs - set(schemas)  # every reference resolves
    assert all(len(r) == 1 for r in _refs(schemas))  # OpenAPI 3.0 ignores what is beside a $ref
    described = [p for s in schemas.values() for p in (s.get("properties") or {}).values()]
    assert all(p.get("description") for p in described)


def _refs(value: Any) -> list[dict[str, str]]:
    if isinstance(value, dict):
        own = [value] if "$ref" in value else []
        return own + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


EXPECTED_OPERATIONS = [
    ("/api/v1/pods", "get", "list", "listCoreV1PodForAllNamespaces"),
    ("/api/v1/namespaces/{namespace}/pods", "get", "list", "listCoreV1NamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods", "post", "post", "createCoreV1NamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods", "delete", "deletecollection",
     "deleteCoreV1CollectionNamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "get", "get", "readCoreV1NamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "put", "put", "replaceCoreV1NamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "patch", "patch", "patchCoreV1NamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods/{name}", "delete", "delete",
     "deleteCoreV1NamespacedPod"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/status", "get", "get",
     "readCoreV1NamespacedPodStatus"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/status", "put", "put",
     "replaceCoreV1NamespacedPodStatus"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patch",
     "patchCoreV1NamespacedPodStatus"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers", "get", "get",
     "readCoreV1NamespacedPodEphemeralcontainers"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers", "put", "put",
     "replaceCoreV1NamespacedPodEphemeralcontainers"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/ephemeralcontainers", "patch", "patch",
     "patchCoreV1NamespacedPodEphemeralcontainers"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/log", "get", "get",
     "readCoreV1NamespacedPodLog"),
    ("/api/v1/watch/pods", "get", "watchlist", "watchCoreV1PodListForAllNamespaces"),
    ("/api/v1/watch/namespaces/{namespace}/pods", "get", "watchlist",
     "watchCoreV1NamespacedPodList"),
    ("/api/v1/watch/namespaces/{namespace}/pods/{name}", "get", "watch",
     "watchCoreV1NamespacedPod"),
    ("/api/v1/namespaces", "get", "list", "listCoreV1Namespace"),
    ("/api/v1/namespaces", "post", "post", "createCoreV1Namespace"),
    ("/api/v1/namespaces/{name}", "get", "get", "readCoreV1Namespace"),
    ("/api/v1/namespaces/{name}", "put", "put", "replaceCoreV1Namespace"),
    ("/api/v1/namespaces/{name}", "patch", "patch", "patchCoreV1Namespace"),
    ("/api/v1/namespaces/{name}", "delete", "delete", "deleteCoreV1Namespace"),
    ("/api/v1/namespaces/{name}/status", "get", "get", "readCoreV1NamespaceStatus"),
    ("/api/v1/namespaces/{name}/status", "put", "put", "replaceCoreV1NamespaceStatus"),
    ("/api/v1/namespaces/{name}/status", "patch", "patch", "patchCoreV1NamespaceStatus"),
    ("/api/v1/namespaces/{name}/finalize", "put", "put", "replaceCoreV1NamespaceFinalize"),
    ("/api/v1/watch/namespaces", "get", "watchlist", "watchCoreV1NamespaceList"),
    ("/api/v1/watch/namespaces/{name}", "get", "watch", "watchCoreV1Namespace"),
    ("/api/v1/events", "get", "list", "listCoreV1EventForAllNamespaces"),
    ("/api/v1/namespaces/{namespace}/events", "get", "list", "listCoreV1NamespacedEvent"),
    ("/api/v1/namespaces/{namespace}/events", "post", "post", "createCoreV1NamespacedEvent"),
    ("/api/v1/namespaces/{namespace}/events", "delete", "deletecollection",
     "deleteCoreV1CollectionNamespacedEvent"),
    ("/api/v1/namespaces/{namespace}/events/{name}", "get", "get", "readCoreV1NamespacedEvent"),
    ("/api/v1/namespaces/{namespace}/events/{name}", "put", "put", "replaceCoreV1NamespacedEvent"),
    ("/api/v1/namespaces/{namespace}/events/{name}", "patch", "patch", "patchCoreV1NamespacedEvent"),
    ("/api/v1/namespaces/{namespace}/events/{name}", "delete", "delete", "deleteCoreV1NamespacedEvent"),
    ("/api/v1/watch/events", "get", "watchlist", "watchCoreV1EventListForAllNamespaces"),
    ("/api/v1/watch/namespaces/{namespace}/events", "get", "watchlist", "watchCoreV1NamespacedEventList"),
    ("/api/v1/watch/namespaces/{namespace}/events/{name}", "get", "watch", "watchCoreV1NamespacedEvent"),
    ("/api/v1/nodes", "get", "list", "listCoreV1Node"),
    ("/api/v1/nodes", "post", "post", "createCoreV1Node"),
    ("/api/v1/nodes", "delete", "deletecollection", "deleteCoreV1CollectionNode"),
    ("/api/v1/nodes/{name}", "get", "get", "readCoreV1Node"),
    ("/api/v1/nodes/{name}", "put", "put", "replaceCoreV1Node"),
    ("/api/v1/nodes/{name}", "patch", "patch", "patchCoreV1Node"),
    ("/api/v1/nodes/{name}", "delete", "delete", "deleteCoreV1Node"),
    ("/api/v1/nodes/{name}/status", "get", "get", "readCoreV1NodeStatus"),
    ("/api/v1/nodes/{name}/status", "put", "put", "replaceCoreV1NodeStatus"),
    ("/api/v1/nodes/{name}/status", "patch", "patch", "patchCoreV1NodeStatus"),
    ("/api/v1/watch/nodes", "get", "watchlist", "watchCoreV1NodeList"),
    ("/api/v1/watch/nodes/{name}", "get", "watch", "watchCoreV1Node"),
    ("/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "post", "createCoreV1NamespacedPodBinding"),
    ("/api/v1/namespaces/{namespace}/bindings", "post", "post", "createCoreV1NamespacedBinding"),
]  # fmt: skip

GVK_BY_SEGMENT = {"binding": "Binding", "pods": "Pod", "events": "Event", "nodes": "Node"}


def test_every_endpoint_is_described_and_nothing_else() -> None:
    found = {(path, method): op for path, method, op in operations()}
    assert set(found) == {(path, method) for path, method, _, _ in EXPECTED_OPERATIONS}


@pytest.mark.parametrize(("path", "method", "action", "operation_id"), EXPECTED_OPERATIONS)
def test_each_operation_carries_its_action_and_its_kind(
    path: str, method: str, action: str, operation_id: str
) -> None:
    op = OPENAPI["paths"][path][method]
    assert op["operationId"] == operation_id
    assert op["x-kubernetes-action"] == action
    kind = next((k for seg, k in GVK_BY_SEGMENT.items() if f"/{seg}" in path), "Namespace")
    assert op["x-kubernetes-group-version-kind"] == {"group": "", "kind": kind, "version": "v1"}
    assert "200" in op["responses"]


@pytest.mark.parametrize(
    ("path", "method", "params"),
    [
        ("/api/v1/namespaces/{namespace}/pods", "get",
         {"labelSelector", "fieldSelector", "limit", "continue", "resourceVersion",
          "resourceVersionMatch", "watch", "allowWatchBookmarks", "sendInitialEvents",
          "timeoutSeconds"}),
        ("/api/v1/namespaces/{namespace}/pods", "post",
         {"dryRun", "fieldManager", "fieldValidation"}),
        ("/api/v1/namespaces/{namespace}/pods", "delete",
         {"labelSelector", "fieldSelector", "gracePeriodSeconds", "propagationPolicy", "dryRun"}),
        ("/api/v1/namespaces/{namespace}/pods/{name}", "put",
         {"dryRun", "fieldManager", "fieldValidation"}),
        ("/api/v1/namespaces/{namespace}/pods/{name}", "delete",
         {"dryRun", "gracePeriodSeconds", "orphanDependents", "propagationPolicy"}),
        ("/api/v1/namespaces/{namespace}/pods/{name}/log", "get",
         {"container", "follow", "previous", "sinceSeconds", "sinceTime", "timestamps",
          "tailLines", "limitBytes"}),
    ],
)  # fmt: skip
def test_operations_list_the_query_parameters_the_server_honours(
    path: str, method: str, params: set[str]
) -> None:
    assert params <= query_names(OPENAPI["paths"][path][method])


def test_path_parameters_are_declared_on_each_path() -> None:
    for path, item in OPENAPI["paths"].items():
        declared = {p["name"] for p in item["parameters"] if p["in"] == "path"}
        assert declared == set(re.findall(r"{(\w+)}", path)), path
        assert all(p["required"] for p in item["parameters"] if p["in"] == "path")
