"""Static discovery and OpenAPI documents, encoded once at import (spec README "Discovery").

kubectl 1.32 resolves ``pods``/``po`` through *legacy* discovery (``/api``, ``/apis``,
``/api/v1``) and, before ``create``/``apply``/``replace``/``edit``, reads ``/openapi/v3`` to learn
whether the server validates fields itself: it looks for a ``patch`` operation tagged with the
Pod group-version-kind that lists a ``fieldValidation`` query parameter. Every document here is
served as pre-encoded bytes because none of them ever changes while the process runs.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Literal

import orjson

_POD_GVK = {"group": "", "kind": "Pod", "version": "v1"}
_OPENAPI_INFO = {"title": "Kubernetes", "version": "v1.32.0"}

VERSION: bytes = orjson.dumps(
    {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0",
        "gitCommit": "70d3cc986aa8221cd1dfb1121852688902d3bf53",
        "gitTreeState": "clean",
        "buildDate": "2024-12-11T17:59:15Z",
        "goVersion": "go1.23.3",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
)

DEFAULT_SERVER_ADDRESS = "127.0.0.1:6443"


@lru_cache(maxsize=8)
def api_versions(server_address: str = DEFAULT_SERVER_ADDRESS) -> bytes:
    """``/api`` (legacy ``APIVersions``, no ``apiVersion`` field, as a real server answers)."""
    return orjson.dumps(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        }
    )


API_VERSIONS: bytes = api_versions()

# ``/apis`` must not 404 (that fails every kubectl command); no groups are served.
API_GROUP_LIST: bytes = orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})


def _subresource(name: str, verbs: list[str]) -> dict[str, Any]:
    return {"name": name, "singularName": "", "namespaced": True, "kind": "Pod", "verbs": verbs}


# Only the subresources watchcache serves; verbs sorted, as the apiserver lists them.
API_RESOURCE_LIST: bytes = orjson.dumps(
    {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": True,
                "kind": "Pod",
                "verbs": [
                    "create",
                    "delete",
                    "deletecollection",
                    "get",
                    "list",
                    "patch",
                    "update",
                    "watch",
                ],
                "shortNames": ["po"],
                "categories": ["all"],
                "storageVersionHash": "xPOwRZ+Yhw8=",
            },
            _subresource("pods/ephemeralcontainers", ["get", "patch", "update"]),
            _subresource("pods/log", ["get"]),
            _subresource("pods/status", ["get", "patch", "update"]),
        ],
    }
)

# --------------------------------------------------------------------------- OpenAPI v3

ParamType = Literal["string", "boolean", "integer"]


def _query(name: str, kind: ParamType, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": kind, "uniqueItems": True},
    }


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "description": description,
        "required": True,
        "schema": {"type": "string", "uniqueItems": True},
    }


_P = _query
_PRETTY = _P("pretty", "string", "If 'true', the output is indented.")
_NAMESPACE = _path_param("namespace", "object name and auth scope, such as for teams and projects")
_NAME = _path_param("name", "name of the Pod")

_LIST_PARAMS = [
    _P("allowWatchBookmarks", "boolean", "Ask for BOOKMARK watch events (servers may not send)."),
    _P("continue", "string", "Opaque token from a previous page to fetch the next one."),
    _P("fieldSelector", "string", "Restrict the result by pod fields, e.g. spec.nodeName=n1."),
    _P("labelSelector", "string", "Restrict the result by labels, e.g. app=web,tier!=db."),
    _P("limit", "integer", "Maximum number of items per page; a continue token follows."),
    _P("resourceVersion", "string", "Which state to serve (list) or to start after (watch)."),
    _P("resourceVersionMatch", "string", "How resourceVersion applies: Exact or NotOlderThan."),
    _P("sendInitialEvents", "boolean", "Start a watch with the current state, then a bookmark."),
    _P("timeoutSeconds", "integer", "Duration of a list or watch call, in seconds."),
    _P("watch", "boolean", "Stream add, update and delete events instead of listing."),
]
_DRY_RUN = _P("dryRun", "string", "'All' runs every stage but does not persist the change.")
_FIELD_MANAGER = _P("fieldManager", "string", "Name of the actor making the change.")
_FIELD_VALIDATION = _P(
    "fieldValidation",
    "string",
    "Ignore, Warn or Strict: what to do with unknown or duplicate fields in the body.",
)
_WRITE_PARAMS = [_DRY_RUN, _FIELD_MANAGER, _FIELD_VALIDATION]
_PATCH_PARAMS = [
    *_WRITE_PARAMS,
    _P("force", "boolean", "Apply patches only: take over fields owned by other managers."),
]
_DELETE_OPTION_PARAMS = [
    _P("gracePeriodSeconds", "integer", "Seconds before the pod is removed; 0 = immediately."),
    _P("orphanDependents", "boolean", "Deprecated, use propagationPolicy."),
    _P("propagationPolicy", "string", "Orphan, Background or Foreground garbage collection."),
]
_DELETE_PARAMS = [_DRY_RUN, *_DELETE_OPTION_PARAMS]
_DELETE_COLLECTION_PARAMS = [
    _DRY_RUN,
    *_DELETE_OPTION_PARAMS,
    *(p for p in _LIST_PARAMS if p["name"] not in ("allowWatchBookmarks", "watch")),
]
_LOG_PARAMS = [
    _P("container", "string", "Container to read; optional when the pod has only one."),
    _P("follow", "boolean", "Keep the stream open and send new lines as they are written."),
    _P("insecureSkipTLSVerifyBackend", "boolean", "Accepted and ignored (no kubelet backend)."),
    _P("limitBytes", "integer", "Stop after this many bytes."),
    _P("previous", "boolean", "Logs of the previous terminated instance of the container."),
    _P("sinceSeconds", "integer", "Only lines newer than this many seconds."),
    _P("sinceTime", "string", "Only lines at or after this RFC3339 time."),
    _P("stream", "string", "All, Stdout or Stderr (alpha in 1.32; ignored)."),
    _P("tailLines", "integer", "Only the last this many lines."),
    _P("timestamps", "boolean", "Prefix every line with its RFC3339Nano timestamp."),
]

_RESPONSES = {
    "get": {"200": {"description": "OK"}},
    "list": {"200": {"description": "OK"}},
    "watch": {"200": {"description": "OK"}},
    "watchlist": {"200": {"description": "OK"}},
    "post": {
        "200": {"description": "OK"},
        "201": {"description": "Created"},
        "202": {"description": "Accepted"},
    },
    "put": {"200": {"description": "OK"}, "201": {"description": "Created"}},
    "patch": {"200": {"description": "OK"}, "201": {"description": "Created"}},
    "delete": {"200": {"description": "OK"}, "202": {"description": "Accepted"}},
    "deletecollection": {"200": {"description": "OK"}},
}


def _operation(
    operation_id: str, action: str, description: str, params: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One operation, deliberately without ``requestBody``.

    kubectl computes ``apply`` patches from the v3 schema only when a Pod patch operation
    advertises a strategic-merge request body; without one it falls back to its compiled-in
    types, which are complete. A partial schema would make it merge lists wrongly.
    """
    op: dict[str, Any] = {
        "tags": ["core_v1"],
        "description": description,
        "operationId": operation_id,
    }
    if params:
        op["parameters"] = params
    op["responses"] = {**_RESPONSES[action], "401": {"description": "Unauthorized"}}
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = _POD_GVK
    return op


def _path(params: list[dict[str, Any]], **operations: dict[str, Any]) -> dict[str, Any]:
    return {**operations, "parameters": [*params, _PRETTY]}


def _item_subresource(suffix: str, noun: str) -> dict[str, Any]:
    """GET/PUT/PATCH of ``pods/{name}/status`` or ``/ephemeralcontainers``."""
    return _path(
        [_NAME, _NAMESPACE],
        get=_operation(f"readCoreV1NamespacedPod{suffix}", "get", f"read {noun} of the Pod"),
        put=_operation(
            f"replaceCoreV1NamespacedPod{suffix}",
            "put",
            f"replace {noun} of the Pod",
            _WRITE_PARAMS,
        ),
        patch=_operation(
            f"patchCoreV1NamespacedPod{suffix}",
            "patch",
            f"partially update {noun} of the Pod",
            _PATCH_PARAMS,
        ),
    )


def _openapi_v1() -> dict[str, Any]:
    ns_pods = "/api/v1/namespaces/{namespace}/pods"
    paths = {
        "/api/v1/pods": _path(
            [],
            get=_operation("listCoreV1PodForAllNamespaces", "list", "list or watch Pods", _LIST_PARAMS),
        ),
        ns_pods: _path(
            [_NAMESPACE],
            get=_operation("listCoreV1NamespacedPod", "list", "list or watch Pods", _LIST_PARAMS),
            post=_operation("createCoreV1NamespacedPod", "post", "create a Pod", _WRITE_PARAMS),
            delete=_operation(
                "deleteCoreV1CollectionNamespacedPod",
                "deletecollection",
                "delete collection of Pod",
                _DELETE_COLLECTION_PARAMS,
            ),
        ),
        ns_pods + "/{name}": _path(
            [_NAME, _NAMESPACE],
            get=_operation("readCoreV1NamespacedPod", "get", "read the specified Pod"),
            put=_operation("replaceCoreV1NamespacedPod", "put", "replace the specified Pod", _WRITE_PARAMS),
            patch=_operation(
                "patchCoreV1NamespacedPod",
                "patch",
                "partially update the specified Pod",
                _PATCH_PARAMS,
            ),
            delete=_operation("deleteCoreV1NamespacedPod", "delete", "delete a Pod", _DELETE_PARAMS),
        ),
        ns_pods + "/{name}/ephemeralcontainers": _item_subresource(
            "Ephemeralcontainers", "ephemeralcontainers"
        ),
        ns_pods + "/{name}/log": _path(
            [_NAME, _NAMESPACE],
            get=_operation("readCoreV1NamespacedPodLog", "get", "read log of the Pod", _LOG_PARAMS),
        ),
        ns_pods + "/{name}/status": _item_subresource("Status", "status"),
        "/api/v1/watch/namespaces/{namespace}/pods": _path(
            [_NAMESPACE],
            get=_operation(
                "watchCoreV1NamespacedPodList",
                "watchlist",
                "watch changes to a list of Pod; deprecated: use watch on the list",
                _LIST_PARAMS,
            ),
        ),
        "/api/v1/watch/namespaces/{namespace}/pods/{name}": _path(
            [_NAME, _NAMESPACE],
            get=_operation(
                "watchCoreV1NamespacedPod",
                "watch",
                "watch changes to a Pod; deprecated: use watch on the list with a field selector",
                _LIST_PARAMS,
            ),
        ),
        "/api/v1/watch/pods": _path(
            [],
            get=_operation(
                "watchCoreV1PodListForAllNamespaces",
                "watchlist",
                "watch changes to a list of Pod; deprecated: use watch on the list",
                _LIST_PARAMS,
            ),
        ),
    }
    # No component schemas: a partial Pod schema carrying the Pod GVK would mislead kubectl.
    return {
        "openapi": "3.0.0",
        "info": _OPENAPI_INFO,
        "paths": paths,
        "components": {"schemas": {}},
    }


OPENAPI_V3_API_V1: bytes = orjson.dumps(_openapi_v1())

# The URL carries the document's hash so clients may cache it forever (kube-openapi uses the
# upper-case hex SHA-512); serve it with this ETag.
OPENAPI_V3_API_V1_HASH: str = hashlib.sha512(OPENAPI_V3_API_V1).hexdigest().upper()

OPENAPI_V3_API_V1_URL = f"/openapi/v3/api/v1?hash={OPENAPI_V3_API_V1_HASH}"
OPENAPI_V3_ROOT: bytes = orjson.dumps({"paths": {"api/v1": {"serverRelativeURL": OPENAPI_V3_API_V1_URL}}})
