"""Discovery and OpenAPI documents of the kinds served, encoded once (spec README "Discovery").

kubectl 1.32 resolves ``pods``/``po`` through *legacy* discovery (``/api``, ``/apis``,
``/api/v1``) and, before ``create``/``apply``/``replace``/``edit``, reads ``/openapi/v3`` to learn
whether the server validates fields itself: it looks for a ``patch`` operation tagged with the
kind's group-version-kind that lists a ``fieldValidation`` query parameter. Every document here
is built from the registered kinds when the app is made and served as pre-encoded bytes: none
of them changes while the process runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import orjson

from watchcache.machinery.kinds import Kind

# component schemas of every kind's types, generated from the official client's models and kube's
# 1.32 descriptions and required fields (scripts/gen_schemas.py)
COMPONENTS: dict[str, Any] = orjson.loads(Path(__file__).with_name("openapi_components.json").read_bytes())

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


def group_version_path(kind: Kind) -> str:
    """Where a kind's group-version is served: ``/api/v1`` (core) or ``/apis/GROUP/VERSION``."""
    return f"/apis/{kind.group}/{kind.version}" if kind.group else f"/api/{kind.version}"


def _api_group(group: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def api_group_list(kinds: Sequence[Kind]) -> bytes:
    """``/apis``: the named groups and their versions (never a 404: that fails all of kubectl)."""
    groups = [_api_group(g, v) for g, v in _group_versions(kinds).items()]
    return orjson.dumps({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


def api_groups(kinds: Sequence[Kind]) -> dict[str, bytes]:
    """``/apis/GROUP`` of each named group: its versions."""
    return {
        f"/apis/{g}": orjson.dumps({"kind": "APIGroup", "apiVersion": "v1", **_api_group(g, v)})
        for g, v in _group_versions(kinds).items()
    }


# group-versions served beside the kinds, with their resources (kubectl auth can-i finds
# selfsubjectaccessreviews through discovery)
SERVED_APART: dict[str, list[dict[str, Any]]] = {
    "authorization.k8s.io/v1": [
        {
            "name": "selfsubjectaccessreviews",
            "singularName": "selfsubjectaccessreview",
            "namespaced": False,
            "kind": "SelfSubjectAccessReview",
            "verbs": ["create"],
        }
    ]
}


# kube-apiserver's order of the groups in /apis (its groups' priorities), of those served here
GROUP_ORDER = ("events.k8s.io", "authorization.k8s.io", "coordination.k8s.io")


def _group_versions(kinds: Sequence[Kind]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for kind in kinds:
        if kind.group and kind.version not in found.setdefault(kind.group, []):
            found[kind.group].append(kind.version)
    for group_version in SERVED_APART:
        group, version = group_version.split("/")
        found.setdefault(group, []).append(version)
    rank = {group: i for i, group in enumerate(GROUP_ORDER)}
    return dict(sorted(found.items(), key=lambda item: rank.get(item[0], len(rank))))


ITEM_VERBS = ["get", "patch", "update"]  # of a subresource that is an object view (status)
# subresources served by a route of their own beside the kind's update rules
EXTRA_SUBRESOURCES = {"pods": {"binding": ["create"], "log": ["get"]}}
# served beside the kinds: a scheduler's deprecated way to bind (POST only)
BINDINGS = {
    "name": "bindings",
    "singularName": "binding",
    "namespaced": True,
    "kind": "Binding",
    "verbs": ["create"],
}


def _verbs(kind: Kind) -> list[str]:
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    if kind.collection_delete:
        verbs.append("deletecollection")
    return sorted(verbs)


def subresource_verbs(kind: Kind) -> dict[str, list[str]]:
    """Each subresource of the kind and its verbs (``finalize`` is PUT only)."""
    found = {sub: (["update"] if sub in kind.put_only else ITEM_VERBS) for sub in kind.updates if sub}
    found.update(EXTRA_SUBRESOURCES.get(kind.qualified_resource, {}))
    return dict(sorted(found.items()))


def _resource_entry(kind: Kind) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": kind.resource,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": _verbs(kind),
    }
    if kind.short_names:
        entry["shortNames"] = list(kind.short_names)
    if kind.categories:
        entry["categories"] = list(kind.categories)
    if kind.storage_version_hash:
        entry["storageVersionHash"] = kind.storage_version_hash
    return entry


def api_resource_lists(kinds: Sequence[Kind]) -> dict[str, bytes]:
    """``/api/v1`` and each ``/apis/GROUP/VERSION``: the resources of that group-version."""
    by_path: dict[str, list[Kind]] = {}
    for kind in kinds:
        by_path.setdefault(group_version_path(kind), []).append(kind)
    head = {"kind": "APIResourceList", "apiVersion": "v1"}
    apart = {
        f"/apis/{gv}": orjson.dumps({**head, "groupVersion": gv, "resources": resources})
        for gv, resources in SERVED_APART.items()
    }
    return {**{path: api_resource_list(found) for path, found in by_path.items()}, **apart}


def api_resource_list(kinds: Sequence[Kind]) -> bytes:
    """One group-version's kinds, then their subresources (verbs sorted, as the apiserver lists
    them). The core group's list has no ``apiVersion``; a named group's has."""
    resources: list[dict[str, Any]] = [BINDINGS] if any(k.resource == "pods" for k in kinds) else []
    for kind in sorted(kinds, key=lambda k: k.resource):
        resources.append(_resource_entry(kind))
        for sub, verbs in subresource_verbs(kind).items():
            resources.append(
                {
                    "name": f"{kind.resource}/{sub}",
                    "singularName": "",
                    "namespaced": kind.namespaced,
                    "kind": kind.kind,
                    "verbs": verbs,
                }
            )
    head: dict[str, Any] = {"kind": "APIResourceList"}
    if kinds[0].group:
        head["apiVersion"] = "v1"
    head["groupVersion"] = kinds[0].api_version
    return orjson.dumps({**head, "resources": resources})


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


def _gvk(kind: Kind) -> dict[str, str]:
    return {"group": kind.group, "kind": kind.kind, "version": kind.version}


BINDING_GVK = {"group": "", "kind": "Binding", "version": "v1"}


def _operation(
    gvk: dict[str, str],
    operation_id: str,
    action: str,
    description: str,
    params: list[dict[str, Any]] | None = None,
    tag: str = "core_v1",
) -> dict[str, Any]:
    """One operation, deliberately without ``requestBody``.

    kubectl computes ``apply`` patches from the v3 schema only when a patch operation
    advertises a strategic-merge request body; without one it falls back to its compiled-in
    types, which are complete. A partial schema would make it merge lists wrongly.
    """
    op: dict[str, Any] = {
        "tags": [tag],
        "description": description,
        "operationId": operation_id,
    }
    if params:
        op["parameters"] = params
    op["responses"] = {**_RESPONSES[action], "401": {"description": "Unauthorized"}}
    op["x-kubernetes-action"] = action
    op["x-kubernetes-group-version-kind"] = gvk
    return op


def _path(params: list[dict[str, Any]], **operations: dict[str, Any]) -> dict[str, Any]:
    return {**operations, "parameters": [*params, _PRETTY]}


def _group_names(kind: Kind) -> tuple[str, str]:
    """How kube's OpenAPI names a group-version: ``CoreV1``/``core_v1``, ``EventsV1``/``events_v1``."""
    words = (kind.group.removesuffix(".k8s.io") or "core").split(".")
    camel = words[0] + "".join(w.capitalize() for w in words[1:])
    return camel[0].upper() + camel[1:] + kind.version.capitalize(), f"{camel}_{kind.version}"


def _kind_paths(kind: Kind) -> dict[str, Any]:
    """Every path of one kind, with kube-apiserver's operation ids (``listCoreV1NamespacedPod``)."""
    k, res, root = kind.kind, kind.resource, group_version_path(kind)
    gv, tag = _group_names(kind)
    scope = "Namespaced" if kind.namespaced else ""
    name = _path_param("name", f"name of the {k}")
    item_params = [name, _NAMESPACE] if kind.namespaced else [name]
    collection_params = [_NAMESPACE] if kind.namespaced else []
    collection = f"{root}/namespaces/{{namespace}}/{res}" if kind.namespaced else f"{root}/{res}"
    watch = f"{root}/watch/namespaces/{{namespace}}/{res}" if kind.namespaced else f"{root}/watch/{res}"

    def operation(
        operation_id: str, action: str, text: str, params: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        return _operation(_gvk(kind), operation_id, action, text, params, tag)

    def op(
        verb: str, action: str, text: str, params: list[dict[str, Any]] | None = None, tail: str = ""
    ) -> Any:
        return operation(f"{verb}{gv}{scope}{k}{tail}", action, text, params)

    collection_ops = {
        "get": op("list", "list", f"list or watch objects of kind {k}", _LIST_PARAMS),
        "post": op("create", "post", f"create a {k}", _WRITE_PARAMS),
    }
    if kind.collection_delete:
        collection_ops["delete"] = operation(
            f"delete{gv}Collection{scope}{k}", "deletecollection", f"delete collection of {k}",
            _DELETE_COLLECTION_PARAMS,
        )  # fmt: skip
    paths: dict[str, Any] = {
        collection: _path(collection_params, **collection_ops),
        f"{collection}/{{name}}": _path(
            item_params,
            get=op("read", "get", f"read the specified {k}"),
            put=op("replace", "put", f"replace the specified {k}", _WRITE_PARAMS),
            patch=op("patch", "patch", f"partially update the specified {k}", _PATCH_PARAMS),
            delete=op("delete", "delete", f"delete a {k}", _DELETE_PARAMS),
        ),
        watch: _path(
            collection_params,
            get=op("watch", "watchlist", f"watch changes to a list of {k}; deprecated: use watch on the list",
                   _LIST_PARAMS, "List"),
        ),
        f"{watch}/{{name}}": _path(
            item_params,
            get=op("watch", "watch",
                   f"watch changes to a {k}; deprecated: use watch on the list with a field selector",
                   _LIST_PARAMS),
        ),
    }  # fmt: skip
    if kind.namespaced:
        paths[f"{root}/{res}"] = _path(
            [], get=operation(f"list{gv}{k}ForAllNamespaces", "list", f"list or watch {k}s", _LIST_PARAMS)
        )
        paths[f"{root}/watch/{res}"] = _path(
            [],
            get=operation(
                f"watch{gv}{k}ListForAllNamespaces", "watchlist",
                f"watch changes to a list of {k}; deprecated: use watch on the list", _LIST_PARAMS,
            ),
        )  # fmt: skip
    for sub, verbs in subresource_verbs(kind).items():
        tail, ops = sub.capitalize(), {}
        if sub == "log":
            ops["get"] = op("read", "get", f"read log of the {k}", _LOG_PARAMS, tail)
        elif sub == "binding":
            text = f"create binding of a {k}"
            ops["post"] = _operation(
                BINDING_GVK, f"createCoreV1Namespaced{k}Binding", "post", text, _WRITE_PARAMS
            )
        else:
            if "get" in verbs:
                ops["get"] = op("read", "get", f"read {sub} of the specified {k}", None, tail)
            ops["put"] = op("replace", "put", f"replace {sub} of the specified {k}", _WRITE_PARAMS, tail)
            if "patch" in verbs:
                ops["patch"] = op(
                    "patch", "patch", f"partially update {sub} of the specified {k}", _PATCH_PARAMS, tail
                )
        paths[f"{collection}/{{name}}/{sub}"] = _path(item_params, **ops)
    return paths


@dataclass(frozen=True, slots=True)
class Documents:
    """The discovery and OpenAPI bodies of one server's kinds, encoded once, by path."""

    api_group_list: bytes  # /apis
    api_groups: dict[str, bytes]  # /apis/GROUP
    resource_lists: dict[str, bytes]  # /api/v1, /apis/GROUP/VERSION
    openapi_v3: dict[str, bytes]  # /openapi/v3/api/v1, /openapi/v3/apis/GROUP/VERSION
    openapi_v3_root: bytes

    def url(self, path: str) -> str:
        """An OpenAPI document's URL as the root lists it: with the hash of its bytes, so clients
        may cache it forever (kube-openapi uses the upper-case hex SHA-512)."""
        return f"{path}?hash={hashlib.sha512(self.openapi_v3[path]).hexdigest().upper()}"


def documents(kinds: Sequence[Kind]) -> Documents:
    by_path: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        by_path.setdefault(group_version_path(kind), {}).update(_kind_paths(kind))
    if any(k.resource == "pods" for k in kinds):
        by_path["/api/v1"]["/api/v1/namespaces/{namespace}/bindings"] = _path(
            [_NAMESPACE],
            post=_operation(
                BINDING_GVK, "createCoreV1NamespacedBinding", "post", "create a Binding", _WRITE_PARAMS
            ),
        )
    # The kinds' component schemas (scripts/gen_schemas.py), for ``kubectl explain``. No operation
    # has a requestBody: kubectl then computes apply patches from its compiled-in types.
    openapi = {
        f"/openapi/v3{path}": orjson.dumps(
            {
                "openapi": "3.0.0",
                "info": _OPENAPI_INFO,
                "paths": dict(sorted(paths.items())),
                "components": {"schemas": COMPONENTS},
            }
        )
        for path, paths in by_path.items()
    }
    docs = Documents(api_group_list(kinds), api_groups(kinds), api_resource_lists(kinds), openapi, b"")
    root = {path.removeprefix("/openapi/v3/"): {"serverRelativeURL": docs.url(path)} for path in openapi}
    return dataclasses.replace(docs, openapi_v3_root=orjson.dumps({"paths": root}))
