"""HTTP endpoints of every resource: translate requests, delegate to the kind's registry.

Checks run in kube-apiserver's order (objects-and-errors.md §5): route → Accept (406) →
Content-Type (415) → body size (413) → options (400/422) → body decode (400) → the registry.
"""

from __future__ import annotations

import dataclasses
import functools
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from itertools import accumulate
from operator import attrgetter
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from watchcache.http.request import parsed_query
from watchcache.http.responses import JSON, is_pretty, json_response, negotiate, plain_json
from watchcache.machinery import errors, params, protobuf
from watchcache.machinery.decode import DecodeError, check_fields, decode_object, decode_object_json
from watchcache.machinery.kinds import Kind, Prepare
from watchcache.machinery.names import path_segment_name_errors
from watchcache.machinery.objects import Object
from watchcache.machinery.options import parse_list_options
from watchcache.machinery.patches import APPLY_PATCH, PATCH_TYPES, apply_patch, parse_patch
from watchcache.machinery.rest import check_identity, timestamp
from watchcache.machinery.selectors import FieldSet, parse_field_selector
from watchcache.machinery.server_side_apply import apply, parse_apply_body
from watchcache.machinery.table import parse_include_object
from watchcache.registry.deletion import DeleteOptions, validate_options
from watchcache.registry.resource import ListResult, ResourceRegistry, WriteOptions

MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's request body limit
OPTIONS_CACHED = 1024  # distinct (query, User-Agent, route) of writes whose options are kept
LIST_CHUNK_BYTES = 1 << 20  # a streamed list is sent in ~1 MiB chunks
LIST_TAIL = b"]}"
BODY_TYPES = ("application/json", "application/yaml")
BODY_TYPES_TEXT = "application/json, application/yaml, application/vnd.kubernetes.protobuf"
PATCH_TYPES_TEXT = ", ".join(PATCH_TYPES)
JSON_BYTES = JSON.encode()
_JSON_OF = attrgetter("json")


def registry(request: Request) -> ResourceRegistry:
    return scope_registry(request.scope)


def scope_registry(scope: Scope) -> ResourceRegistry:
    """The registry of the route's resource (``Route.resource``, put in the scope by the router),
    looked up once a request and kept in its scope (a write's handler asks about nine times)."""
    found: ResourceRegistry | None = scope.get("registry")
    if found is None:
        found = scope["registry"] = scope["app"].state.registries[scope["resource"]]
    return found


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past 3 MiB without reading it all."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise errors.too_large(f"limit is {MAX_BODY_BYTES}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise errors.too_large(f"limit is {MAX_BODY_BYTES}")
        chunks.append(chunk)
    return b"".join(chunks)


def path_name(request: Request) -> str:
    return checked_name(request.path_params["name"])


def checked_name(name: str) -> str:
    """The pod name of a request path, or 400 if it cannot be one."""
    problems = path_segment_name_errors(name)
    if problems:
        raise errors.BadRequest(f'Name parameter invalid: "{name}": {problems[0]}')
    return name


def user_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def write_options(request: Request, kind: str, subresource: str | None = None) -> tuple[WriteOptions, str]:
    """dryRun, fieldManager and fieldValidation of a create/update/patch (kind: *Options)."""
    return _write_options(request.scope.get("query_string", b""), user_agent(request), kind, subresource)


@functools.lru_cache(maxsize=OPTIONS_CACHED)
def _write_options(query: bytes, agent: str, kind: str, subresource: str | None) -> tuple[WriteOptions, str]:
    """A write's options follow from its query, its User-Agent and its route alone, and a
    cluster's writers send a handful of each: worked out once each, and shared (frozen)."""
    parsed = parsed_query(query)
    dry_run = params.dry_run(parsed.getlist("dryRun"), kind)
    validation = params.field_validation(parsed, kind)
    manager = params.field_manager(parsed, agent, kind)
    return WriteOptions(manager=manager, dry_run=dry_run, subresource=subresource), validation


def check_body_type(request: Request) -> str:
    """The body's media type: JSON, YAML, or protobuf for kinds with a field table; else 415."""
    return body_type(request, protobuf_ok=registry(request).kind.protobuf is not None)


def body_type(request: Request, *, protobuf_ok: bool) -> str:
    """The media type of an object in a request body (a create, an update, a binding): JSON,
    YAML, or protobuf when the object has a message; else 415. No Content-Type is JSON, as
    kube-apiserver's NegotiateInputSerializer takes an empty one as the first type it serves
    (``kubectl create --raw -f`` sends none). Patches name their own type: not this rule."""
    if not request.headers.get("content-type"):
        return BODY_TYPES[0]
    content_type = media_type(request)
    if content_type in BODY_TYPES or (protobuf_ok and content_type == protobuf.MEDIA_TYPE):
        return content_type
    raise errors.unsupported_media_type(BODY_TYPES_TEXT)


def decoded(
    request: Request, body: bytes, content_type: str, field_validation: str
) -> tuple[Object, list[str]]:
    """The object a request body holds, in the kind's stored form, and the decoder's warnings."""
    kind = registry(request).kind
    if content_type == protobuf.MEDIA_TYPE and kind.protobuf is not None:
        try:
            decoded = protobuf.decode_body(body, kind.protobuf)
        except protobuf.ProtobufError as exc:
            raise errors.BadRequest(
                f"the object provided is unrecognized (must be of type {kind.kind}): {exc}"
            ) from None
        body, content_type = orjson.dumps(decoded), "application/json"  # then every JSON rule
    result = decode_object(body, kind.schema, field_validation=field_validation, content_type=content_type)
    return kind.to_stored(result.obj), result.warnings


# ---- representation ------------------------------------------------------------------------


def object_response(
    request: Request, stored: bytes, status_code: int = 200, warnings: list[str] | tuple[str, ...] = ()
) -> Response:
    """An object's answer, from its stored JSON: in the version of the route, or a Table."""
    kind = registry(request).kind
    body = kind.served_json(stored)
    if negotiate(request.headers.get("accept")) == "table":
        obj = orjson.loads(body)
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        body = table_bytes(request, kind, [obj], meta)
    return json_response(request, body, status_code, warnings=warnings)


def table_bytes(request: Request, kind: Kind, objs: list[Object], metadata: dict[str, Any]) -> bytes:
    """A Table of ``objs``, in the kind's version (its printer reads that version)."""
    include = parse_include_object(request.query_params.get("includeObject"))
    now = datetime.now(UTC)
    rows = [kind.printer.table_row(obj, now, include) for obj in objs]
    return orjson.dumps(kind.printer.table(rows, metadata))


def list_metadata(result: ListResult) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": str(result.rv)}
    if result.continue_token:
        meta["continue"] = result.continue_token
    if result.remaining is not None:
        meta["remainingItemCount"] = result.remaining
    return meta


def list_head(kind: Kind, result: ListResult) -> bytes:
    return (
        b'{"kind":"%b","apiVersion":"%b","metadata":' % (kind.list_kind.encode(), kind.api_version.encode())
        + orjson.dumps(list_metadata(result))
        + b',"items":['
    )


class ListBody:
    """A list's bytes, joined from the entries' pre-encoded JSON in C-level passes.

    Per pod it keeps a reference and the running total of the lengths (8 bytes each): enough
    for the Content-Length up front and for where each ~``LIST_CHUNK_BYTES`` chunk ends. Each
    chunk is one ``bytes.join``; a Python loop per pod cost more than the copying.
    """

    def __init__(self, kind: Kind, result: ListResult) -> None:
        self.head = list_head(kind, result)
        self.items = list(map(_JSON_OF, result.entries))
        if kind.stored_as is not None:
            self.items = list(map(kind.served_json, self.items))
        self.ends = array("q", accumulate(map(len, self.items)))
        commas = max(len(self.items) - 1, 0)
        self.size = len(self.head) + (self.ends[-1] if self.items else 0) + commas + len(LIST_TAIL)

    def pieces(self) -> Iterator[bytes]:
        """The body in sends: one piece if it is small, else the head, the chunks, the tail."""
        items, ends, count = self.items, self.ends, len(self.items)
        if self.size <= LIST_CHUNK_BYTES:
            yield b"".join((self.head, b",".join(items), LIST_TAIL))
            return
        yield self.head
        start, sent = 0, 0
        while start < count:
            stop = min(bisect_left(ends, sent + LIST_CHUNK_BYTES, start) + 1, count)
            chunk = items[start:stop]
            yield b",".join(chunk if start == 0 else [b"", *chunk])  # [b"", ...]: a leading comma
            sent, start = ends[stop - 1], stop
        yield LIST_TAIL


class ListResponse(Response):
    """A list streamed as it is joined: a 150k-pod list never exists as one string, and
    concurrent large lists cost a chunk each, not a list each. The length is known up front,
    so the body goes out with a Content-Length rather than chunked framing, which would copy
    every chunk once more.
    """

    def __init__(self, kind: Kind, result: ListResult) -> None:
        self.list_body = ListBody(kind, result)
        self.status_code = 200
        self.background = None
        self.raw_headers = [(b"content-type", JSON_BYTES), (b"content-length", b"%d" % self.list_body.size)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        pieces = self.list_body.pieces()
        piece = next(pieces)
        for following in pieces:
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            piece = following
        await send({"type": "http.response.body", "body": piece, "more_body": False})


def list_response(request: Request, kind: Kind, result: ListResult) -> Response:
    if is_pretty(request):
        return json_response(request, b"".join(ListBody(kind, result).pieces()))
    return ListResponse(kind, result)


# ---- collection ----------------------------------------------------------------------------


async def list_objects(
    request: Request, namespace: str | None, query: Mapping[str, str] | None = None
) -> Response:
    representation = negotiate(request.headers.get("accept"))
    reg = registry(request)
    opts = parse_list_options(query or request.query_params, watch=False, fields=reg.kind.fields)
    result = await reg.list(namespace, opts)
    if representation == "table":
        objs = [reg.kind.served(orjson.loads(e.json)) for e in result.entries]
        return json_response(request, table_bytes(request, reg.kind, objs, list_metadata(result)))
    return list_response(request, reg.kind, result)


async def create(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    namespace = request.path_params.get("namespace")
    content_type = check_body_type(request)
    opts, validation = write_options(request, "CreateOptions")
    pod, warnings = decoded(request, await read_body(request), content_type, validation)
    creating = registry(request).create(namespace, pod, opts)
    del pod  # the registry lets go of it before the round trip (ResourceRegistry._encoded)
    written = await creating
    return object_response(request, written.json, 201, warnings + list(written.warnings))


async def delete_collection(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    namespace = request.path_params.get("namespace")
    reg = registry(request)
    list_opts = parse_list_options(request.query_params, watch=False, fields=reg.kind.fields)
    delete_opts = await delete_options(request)
    result = await reg.delete_collection(namespace, list_opts, delete_opts)
    return list_response(request, reg.kind, result)


# ---- item ----------------------------------------------------------------------------------


async def get(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    name = path_name(request)
    entry = await registry(request).get(
        request.path_params.get("namespace"), name, request.query_params.get("resourceVersion")
    )
    return object_response(request, entry.json)


async def get_raw(scope: Scope, path_params: dict[str, str], send: Send) -> bool:
    """The GET informers and controllers send (no query, plain JSON), answered on the raw scope.

    Anything else declines: :func:`get` then applies every rule (``resourceVersion``,
    Table, pretty). Starlette's ``Request`` and ``Response`` cost more than the rest of this
    GET together. A pod that is not there gets :func:`get`'s 400 or 404 from here, so that
    a miss does not pay for a second consistent read.
    """
    if scope["query_string"] or not plain_json(scope["headers"]):
        return False
    reg = scope_registry(scope)
    name = path_params["name"]
    entry = await reg.find(path_params.get("namespace"), name, None)
    if entry is None:
        raise errors.not_found(reg.resource, checked_name(name))
    body = reg.kind.served_json(entry.json)
    headers = [(b"content-type", JSON_BYTES), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return True


async def replace(request: Request, subresource: str | None = None) -> Response:
    negotiate(request.headers.get("accept"))
    namespace, name = request.path_params.get("namespace"), path_name(request)
    content_type = check_body_type(request)
    opts, validation = write_options(request, "UpdateOptions", subresource)
    raw = await read_body(request)
    body, warnings = decoded(request, raw, content_type, validation)
    prepare = _preparer(request, subresource)
    unused = [body]
    del body  # held by ``unused`` until the strategy takes it (ResourceRegistry._encoded)

    def mutate(current: Object) -> Object:
        # the strategy changes its input: the first attempt takes the decoded body, one after a
        # conflict (rare) decodes the request again
        fresh = unused.pop() if unused else decoded(request, raw, content_type, validation)[0]
        return prepare(fresh, current, namespace, name)

    private = subresource is not None  # the main resource's strategy only reads the current pod
    written = await registry(request).update(namespace, name, mutate, opts, private_copy=private)
    return object_response(request, written.json, 200, warnings)


async def patch(request: Request, subresource: str | None = None) -> Response:
    negotiate(request.headers.get("accept"))
    namespace, name = request.path_params.get("namespace"), path_name(request)
    patch_type = media_type(request)
    body = await read_body(request)
    if patch_type not in PATCH_TYPES:
        if body:
            raise errors.APIError(415, "UnsupportedMediaType", "415: Unsupported Media Type", {})
        raise errors.unsupported_media_type(PATCH_TYPES_TEXT)
    opts, validation = write_options(request, "PatchOptions", subresource)
    _check_force(request.query_params, patch_type)
    if patch_type == APPLY_PATCH:
        return await apply_object(request, namespace, name, body, dataclasses.replace(opts, applied=True))
    document = parse_patch(patch_type, body)
    prepare = _preparer(request, subresource)
    kind = registry(request).kind
    warnings: list[str] = []

    def mutate(current: Object) -> Object:
        stored_uid = current["metadata"]["uid"]
        served = kind.served(current)  # in the route's version; apply_patch leaves it as it is
        again = functools.partial(apply_patch, patch_type, served, document)
        patched = checked_patch_result(kind, again(), validation, warnings, again)
        uid = (patched.get("metadata") or {}).get("uid")
        if uid and uid != stored_uid:
            raise errors.invalid(
                kind.kind,
                name,
                [errors.invalid_value("metadata.uid", uid, "field is immutable")],
                group=kind.group,
            )
        return prepare(kind.to_stored(patched), current, namespace, name)

    private = subresource is not None  # the main resource's patch and strategy only read the pod
    written = await registry(request).update(namespace, name, mutate, opts, private_copy=private)
    return object_response(request, written.json, 200, warnings)


async def apply_object(
    request: Request, namespace: str | None, name: str, body: bytes, opts: WriteOptions
) -> Response:
    """Server-side apply (patch.md §5): merge the applied configuration, own its fields, create if absent."""
    reg = registry(request)
    kind = reg.kind
    applied = parse_apply_body(body, kind.kind, kind.api_version)
    _check_applied_fields(kind, applied, namespace, name)
    force = params.flag(request.query_params, "force")
    prepare = _preparer(request, opts.subresource)

    def mutate(current: Object) -> Object:
        merged = apply(
            kind.served(current),  # applied in the route's version, and owned in it
            applied,
            manager=opts.manager,
            force=force,
            now=timestamp(reg.clock()),
            subresource=opts.subresource,
            api_version=kind.api_version,
        )
        owners = merged["metadata"].get("managedFields")
        result = prepare(kind.to_stored(merged), current, namespace, name)
        result["metadata"]["managedFields"] = owners
        return result

    def configuration() -> Object:
        created = apply(
            None, applied, manager=opts.manager, force=force, now=timestamp(reg.clock()),
            api_version=kind.api_version,
        )  # fmt: skip
        check_identity(created, namespace, name)
        return kind.to_stored(created)

    private = opts.subresource is not None  # apply copies what it merges into; the strategy reads
    written, created = await reg.create_or_update(
        namespace, name, mutate, configuration, opts, private_copy=private
    )
    if created:
        return object_response(request, written.json, 201, written.warnings)
    return object_response(request, written.json, 200)


def _check_applied_fields(kind: Kind, applied: Object, namespace: str | None, name: str) -> None:
    """Fields outside the kind's schema cannot be owned: 400, with structured-merge-diff's text."""
    _, problems = check_fields(applied, kind.schema, field_validation="Strict", cleaning=False)
    unknown = [p.split('"')[1] for p in problems if p.startswith("unknown field")]
    if unknown:
        where = f"{namespace}/{name}" if namespace else name
        raise errors.BadRequest(
            f"failed to create typed patch object ({kind.group}/{kind.version}, Kind={kind.kind}) {where}: "
            f".{unknown[0]}: field not declared in schema"
        )


def checked_patch_result(
    kind: Kind, patched: Any, validation: str, warnings: list[str], again: Callable[[], Any]
) -> Object:
    """A patched document must still decode as the kind; else 422 ``patch: Invalid value``
    (patch.md §3, §6), quoting the document as the patch made it: the check changes it in
    place, so an error quotes ``again()``, the patch applied afresh (only errors pay for it)."""
    if not isinstance(patched, dict):
        text = orjson.dumps(patched).decode()
        found = errors.go_json_type(patched)
        raise errors.invalid_patch_result(
            text, f"json: cannot unmarshal {found} into Go value of type {kind.version}.{kind.kind}"
        )
    try:
        result, problems = check_fields(patched, kind.schema, field_validation=validation)
    except DecodeError as exc:
        raise errors.invalid_patch_result(orjson.dumps(again()).decode(), exc.detail) from None
    if problems and validation == "Strict":
        detail = "strict decoding error: " + ", ".join(problems)
        raise errors.invalid_patch_result(orjson.dumps(again()).decode(), detail)
    warnings[:] = problems if validation == "Warn" else []
    return result


def _check_force(query: Mapping[str, str], patch_type: str) -> None:
    problems = []
    if "force" in query and patch_type != APPLY_PATCH:
        problems.append(errors.forbidden("force", "may not be specified for non-apply patch"))
    if patch_type == APPLY_PATCH and not query.get("fieldManager"):
        problems.append(errors.required("fieldManager", "is required for apply patch"))
    if problems:
        raise errors.invalid_options("PatchOptions", problems)


def _preparer(request: Request, subresource: str | None) -> Prepare:
    """The kind's update rules for the object itself or the subresource of the route."""
    return registry(request).kind.updates[subresource]


async def delete(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    namespace, name = request.path_params.get("namespace"), path_name(request)
    opts = await delete_options(request)
    written = await registry(request).delete(namespace, name, opts)
    meta = written.pod()["metadata"] if opts.orphan_dependents is False else {}
    status_code = 202 if "deletionTimestamp" in meta and meta.get("deletionGracePeriodSeconds") else 200
    return object_response(request, written.json, status_code)


async def delete_options(request: Request) -> DeleteOptions:
    """DeleteOptions from a JSON body, or from the query only when the body is empty."""
    body = await read_body(request)
    query = request.query_params
    if body.strip():
        raw = decode_object_json(body)
        if not isinstance(raw, dict):
            raise errors.BadRequest("the object provided is unrecognized (must be of type DeleteOptions)")
        opts = _delete_options_from_body(raw)
    else:
        opts = DeleteOptions(
            grace_period_seconds=params.integer(query, "gracePeriodSeconds"),
            propagation_policy=query.get("propagationPolicy"),
            orphan_dependents=None
            if "orphanDependents" not in query
            else params.flag(query, "orphanDependents"),
            dry_run=params.dry_run(query.getlist("dryRun"), "DeleteOptions"),
        )
    validate_options(opts)
    return opts


def _delete_options_from_body(raw: dict[str, Any]) -> DeleteOptions:
    def typed(key: str, kind: type | tuple[type, ...]) -> Any:
        value = raw.get(key)
        if value is not None and (not isinstance(value, kind) or (isinstance(value, bool) and kind is int)):
            raise errors.BadRequest(
                f"json: cannot unmarshal {type(value).__name__} into Go struct field DeleteOptions.{key}"
            )
        return value

    preconditions = typed("preconditions", dict) or {}
    dry_run = typed("dryRun", list) or []
    return DeleteOptions(
        grace_period_seconds=typed("gracePeriodSeconds", int),
        propagation_policy=typed("propagationPolicy", str),
        orphan_dependents=typed("orphanDependents", bool),
        precondition_uid=preconditions.get("uid"),
        precondition_rv=preconditions.get("resourceVersion"),
        dry_run=params.dry_run([str(v) for v in dry_run], "DeleteOptions"),
    )


def check_watch_name(query: Mapping[str, str], name: str, fields: FieldSet) -> dict[str, str]:
    """``/watch/namespaces/{ns}/pods/{name}``: a watch restricted to that name (list-watch §5)."""
    merged = dict(query)
    given = query.get("fieldSelector", "")
    if given and parse_field_selector(given, fields).exact("metadata.name") != name:
        raise errors.BadRequest("fieldSelector metadata.name doesn't match requested name")
    merged["fieldSelector"] = given or f"metadata.name={name}"
    return merged
