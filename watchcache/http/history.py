"""An object's history: every version the log retains, with who wrote it, and when.

``GET /apis/history.watchcache.io/v1/namespaces/NS/RESOURCE/NAME`` (``/apis/history.watchcache.io
/v1/RESOURCE/NAME`` for a cluster-scoped kind; RESOURCE qualified by its group outside the core
one: ``leases.coordination.k8s.io``) lists the versions oldest first: resourceVersion, event
type, time, user, verb, field manager and user agent; ``?objects=true`` adds each version's
object, ``?diff=RV1,RV2`` answers the JSON Patch from one version to the other instead. An
extension path (kube has no such API), authorized as a ``get`` of the object.

The versions are found from the newest back: each log entry records the rv of the version it
replaced (``r``), so the walk reads one entry per version; the newest is the view's, or for an
object deleted since, the last event of it in the log. It ends at the object's creation or where
retention has dropped the older ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonpatch
import orjson
from starlette.requests import Request
from starlette.responses import Response

from watchcache.http.responses import JSON, negotiate
from watchcache.machinery import errors
from watchcache.machinery.objects import object_key
from watchcache.registry import authors
from watchcache.registry.resource import ResourceRegistry
from watchcache.storage.entries import Event

GROUP = "history.watchcache.io"
ROOT = f"/apis/{GROUP}/v1"
MAX_VERSIONS = 10_000  # a walk reads at most this many entries


async def object_history(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    namespace = request.path_params.get("namespace")
    resource, name = request.path_params["resource"], request.path_params["name"]
    registries: dict[str, ResourceRegistry] = request.app.state.registries
    reg = registries.get(resource)
    if reg is None or reg.kind.namespaced != (namespace is not None):
        raise errors.not_found(resource, name)
    events = await _versions(reg, object_key(namespace, name))
    if not events:
        raise errors.not_found(reg.resource, name)
    diff = request.query_params.get("diff")
    if diff is not None:
        return _diff(reg, name, events, diff)
    with_objects = request.query_params.get("objects", "").lower() in ("true", "1")
    items = [_item(reg, event, with_objects) for event in events]
    body = {"kind": "ObjectHistory", "apiVersion": f"{GROUP}/v1", "resource": reg.resource,
            "namespace": namespace or "", "name": name, "items": items}  # fmt: skip
    return Response(orjson.dumps(body), media_type=JSON)


async def _versions(reg: ResourceRegistry, key: str) -> list[Event]:
    """The object's retained versions, oldest first."""
    await reg.read_rv(None)  # everything written before this request is in the view
    store = reg.store
    entry = reg.view.get(key)
    newest = await store.event(entry.rv) if entry is not None else await store.last_event_of(reg.stored, key)
    found: list[Event] = []
    event = newest
    while event is not None and len(found) < MAX_VERSIONS:
        found.append(event)
        event = await store.event(event.previous_rv) if event.previous_rv else None
    return found[::-1]


def _item(reg: ResourceRegistry, event: Event, with_object: bool) -> dict[str, Any]:
    user, verb, manager, agent = authors.parse(event.author)
    item: dict[str, Any] = {
        "resourceVersion": str(event.rv),
        "type": event.type,
        "time": _rfc3339(event.time_ms),
        "user": user,
        "verb": verb,
        "fieldManager": manager,
        "userAgent": agent,
    }
    if with_object:
        item["object"] = orjson.Fragment(reg.kind.served_json(event.json))
    return item


def _rfc3339(ms: int) -> str:
    """Redis's clock at the write, as kube's MicroTime-like RFC 3339 in UTC with milliseconds."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _diff(reg: ResourceRegistry, name: str, events: list[Event], wanted: str) -> Response:
    by_rv = {str(e.rv): e for e in events}
    ends = wanted.split(",")
    if len(ends) != 2 or any(rv not in by_rv for rv in ends):
        raise errors.BadRequest(
            f"diff: want two of this object's resourceVersions, RV1,RV2 (retained: {', '.join(by_rv)})"
        )
    before, after = (orjson.loads(reg.kind.served_json(by_rv[rv].json)) for rv in ends)
    patch = jsonpatch.make_patch(before, after).patch
    body = {"kind": "ObjectDiff", "apiVersion": f"{GROUP}/v1", "name": name, "from": ends[0], "to": ends[1],
            "patch": patch}  # fmt: skip
    return Response(orjson.dumps(body), media_type=JSON)
