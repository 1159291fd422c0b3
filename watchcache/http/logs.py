"""Container logs: read with ``GET .../pods/{name}/log``, written through this server's own
``POST /apis/logs.watchcache.io/v1/namespaces/{ns}/pods/{name}/log``.

Reads take steps 1-4 of log.md §2 exactly (codes and texts); then, there being no kubelet, the
lines come from the container's log stream in Redis. An unscheduled pod answers 204, as the
apiserver does. A followed log ends when the pod is gone or terminal, when ``limitBytes`` is
spent, or when the client goes away.

Writes stand in for the kubelet that would have the lines: a simulator, a test or a log shipper
posts a container's lines; they are kept per container instance (its restart count), the
instance before too (``previous``), within ``--log-retention-lines`` and
``--log-retention-bytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from watchcache.http.resources import media_type, path_name, read_body, registry
from watchcache.http.responses import negotiate, until_disconnect
from watchcache.kinds.pods.logs import (
    LogOptions,
    container_instance,
    parse_log_lines,
    parse_log_options,
    render,
    resolve_container,
)
from watchcache.machinery import errors, params
from watchcache.machinery.objects import object_key
from watchcache.process.tokens import User
from watchcache.storage.store import Store

FOLLOW_BLOCK_MS = 1_000  # each XREAD BLOCK of a followed log; also how often the pod is rechecked
TERMINAL_PHASES = ("Succeeded", "Failed")
LOGS_GROUP = "logs.watchcache.io"
INGEST_PATH = f"/apis/{LOGS_GROUP}/v1/namespaces/{{namespace}}/pods/{{name}}/log"
# who may write logs when requests are authenticated: what a kubelet is, and administrators
LOG_WRITERS = ("system:nodes", "system:masters")


async def pod_log(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    namespace, name = request.path_params["namespace"], path_name(request)
    opts = parse_log_options(request.query_params, name)
    reg = registry(request)
    pod = (await reg.get(namespace, name, None)).pod()
    container = resolve_container(pod, opts.container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return Response(status_code=204)
    key = reg.store.container_log_key(pod["metadata"]["uid"], container, previous=opts.previous)
    if opts.previous and not await reg.store.log_exists(key):
        raise errors.BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
    return LogResponse(reg.store, key, opts, lambda: _pod_running(request, namespace, name))


async def ingest(request: Request) -> Response:
    """POST a container's lines: UTF-8 text, a line per ``\\n``, each starting with its RFC 3339
    time when ``timestamps=true``; ``container`` as for reading. 204 once they are stored."""
    namespace, name = request.path_params["namespace"], path_name(request)
    _authorize(request.scope.get("user"), namespace, name)
    query = request.query_params
    timestamps = params.flag(query, "timestamps")
    if media_type(request) != "text/plain":
        raise errors.unsupported_media_type("text/plain")
    body = await read_body(request)
    reg = registry(request)
    pod = (await reg.get(namespace, name, None)).pod()
    container = resolve_container(pod, query.get("container"))
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.BadRequest(f"pod {name} is not scheduled to a node: its containers have no logs")
    entries = parse_log_lines(body, timestamps=timestamps, now=datetime.now(UTC))
    instance = container_instance(pod, container)
    settings = request.app.state.settings
    held = await reg.store.append_log(
        pod["metadata"]["uid"], container, instance, entries,
        max_lines=settings.log_retention_lines, max_bytes=settings.log_retention_bytes,
    )  # fmt: skip
    if held > instance:  # the log already belongs to a later instance than this replica's pod shows
        raise errors.conflict("pods", name, f"container {container} has restarted since ({held} restarts)")
    return Response(status_code=204)


def _authorize(user: User | None, namespace: str, name: str) -> None:
    """With authentication on, only nodes and administrators write logs (kube's RBAC text)."""
    if user is None or set(user.groups) & set(LOG_WRITERS):
        return
    raise errors.APIError(
        403, "Forbidden",
        f'pods "{name}" is forbidden: User "{user.name}" cannot create resource "pods/log" in API '
        f'group "{LOGS_GROUP}" in the namespace "{namespace}"',
        {"name": name, "group": LOGS_GROUP, "kind": "pods"},
    )  # fmt: skip


def _pod_running(request: Request, namespace: str, name: str) -> bool:
    entry = registry(request).view.get(object_key(namespace, name))
    if entry is None:
        return False
    return (orjson.loads(entry.json).get("status") or {}).get("phase") not in TERMINAL_PHASES


class LogResponse(Response):
    def __init__(self, store: Store, key: str, opts: LogOptions, running: object) -> None:
        self.store, self.key, self.opts, self.running = store, key, opts, running
        self.status_code = 200
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        lines, position = await self.store.read_log(
            self.key, since_ms=self.opts.since_ms(datetime.now(UTC)), tail=self.opts.tail_lines
        )
        body, budget = render(lines, self.opts, self.opts.limit_bytes)
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        more = self.opts.follow and budget != 0
        await send({"type": "http.response.body", "body": body, "more_body": more})
        if not more:
            return
        gone = asyncio.ensure_future(until_disconnect(receive))
        try:
            while budget != 0 and not gone.done() and self.running():  # type: ignore[operator]
                lines, position = await self.store.follow_log(self.key, position, FOLLOW_BLOCK_MS)
                if lines:
                    body, budget = render(lines, self.opts, budget)
                    await send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            gone.cancel()
            with contextlib.suppress(Exception):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
