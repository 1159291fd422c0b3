"""``POST pods/{name}/binding`` and the deprecated ``POST namespaces/{ns}/bindings``: how a
scheduler assigns a pod to a node. The pod changes through its registry (a CAS update, like
any write); the answer is a ``Success`` Status with code 201, as kube-apiserver's."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from watchcache.http.resources import body_type, read_body, registry, user_agent
from watchcache.http.responses import JSON, negotiate
from watchcache.kinds.pods.binding import bind, check_binding
from watchcache.kinds.pods.protobuf import BINDING_MESSAGE
from watchcache.machinery import errors, params, protobuf
from watchcache.machinery.decode import decode_object_json
from watchcache.machinery.objects import Object
from watchcache.machinery.rest import timestamp
from watchcache.registry.resource import WriteOptions

CREATED = orjson.dumps(
    {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
)


async def pod_binding(request: Request) -> Response:
    return await _bind(request, request.path_params.get("name"))


async def namespace_bindings(request: Request) -> Response:
    return await _bind(request, None)


async def _bind(request: Request, name: str | None) -> Response:
    negotiate(request.headers.get("accept"))
    content_type = body_type(request, protobuf_ok=True)  # a Binding has its message
    query = request.query_params
    dry_run = params.dry_run(query.getlist("dryRun"), "CreateOptions")
    manager = params.field_manager(query, user_agent(request), "CreateOptions")
    raw = _binding_body(await read_body(request), content_type)
    name = name if name is not None else ((raw or {}).get("metadata") or {}).get("name") or ""
    binding = check_binding(raw, name)
    reg = registry(request)
    namespace = request.path_params["namespace"]

    def mutate(current: Object) -> Object:
        return bind(current, binding, timestamp(reg.clock()))

    # a binding is not a field manager's write: managedFields stay as they were (as in kube)
    await reg.update(namespace, name, mutate, WriteOptions(manager=manager, dry_run=dry_run, applied=True))
    return Response(CREATED, status_code=201, media_type=JSON)


def _binding_body(body: bytes, content_type: str) -> Any:
    """The Binding as JSON decodes it; a protobuf one (client-go's typed clients) read into it."""
    if content_type != protobuf.MEDIA_TYPE:
        return decode_object_json(body)
    try:
        return protobuf.decode_body(body, BINDING_MESSAGE)
    except protobuf.ProtobufError as exc:
        raise errors.BadRequest(
            f"the object provided is unrecognized (must be of type Binding): {exc}"
        ) from None
