"""``GET .../pods/{name}/log``: stored container logs as ``text/plain``, optionally followed.

Steps 1-4 of log.md §2 exactly (codes and texts); then, there being no kubelet, the lines come
from the container's log stream in Redis. An unscheduled pod answers 204, as the apiserver does.
A followed log ends when the pod is gone or terminal, when ``limitBytes`` is spent, or when the
client goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from watchcache.http.resources import path_name, registry
from watchcache.http.responses import negotiate, until_disconnect
from watchcache.kinds.pods.logs import LogOptions, parse_log_options, render, resolve_container
from watchcache.machinery import errors
from watchcache.machinery.objects import object_key
from watchcache.storage.store import Store

FOLLOW_BLOCK_MS = 1_000  # each XREAD BLOCK of a followed log; also how often the pod is rechecked
TERMINAL_PHASES = ("Succeeded", "Failed")


async def pod_log(request: Request) -> Response:
    negotiate(request.headers.get("accept"))
    namespace, name = request.path_params["namespace"], path_name(request)
    opts = parse_log_options(request.query_params, name)
    reg = registry(request)
    pod = (await reg.get(namespace, name, None)).pod()
    container = resolve_container(pod, opts.container)
    if not (pod.get("spec") or {}).get("nodeName"):
        return Response(status_code=204)
    key = reg.store.container_log_key(namespace, name, container, previous=opts.previous)
    if opts.previous and not await reg.store.log_exists(key):
        raise errors.BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
    return LogResponse(reg.store, key, opts, lambda: _pod_running(request, namespace, name))


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
