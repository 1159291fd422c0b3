"""A segment-matching ASGI router for the fixed set of Kubernetes paths, and the error mapping.

The API has a handful of path shapes, so routes are matched by splitting the path once and
comparing segments, not by scanning regexes. Endpoints take a Starlette ``Request`` (an
``ApiRequest``: its headers indexed, its query's parse shared) and return a
``Response``; every exception they raise leaves through :func:`error_response`, the one place
that turns errors into a Kubernetes ``Status``. A route may also name a raw handler for its
commonest GET (the pod GET of informers and controllers): it answers straight on the ASGI scope
or declines, and the endpoint then serves the request with every rule. Profiling showed
Starlette's generic routing and exception middleware costing several times the handler on a
GET; this is what remains of them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from redis.exceptions import RedisError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from watchcache.http.request import ApiRequest
from watchcache.http.responses import status_response
from watchcache.machinery import errors
from watchcache.machinery.params import default_field_manager
from watchcache.registry import authors
from watchcache.storage.store import HistoryChanged

log = logging.getLogger("watchcache.router")

Endpoint = Callable[[Request], Awaitable[Response]]
# a hot path's handler on the raw ASGI scope: True if it answered, False to take the endpoint
# (it may also raise, as an endpoint would)
RawEndpoint = Callable[[Scope, dict[str, str], Send], Awaitable[bool]]
API_PREFIXES = ("/api", "/apis", "/openapi", "/version")


@dataclass(frozen=True, slots=True)
class Route:
    path: str
    endpoint: Endpoint
    methods: tuple[str, ...]
    raw: RawEndpoint | None = None  # tried first for GET; handles only the commonest form
    resource: str | None = None  # the resource served: its registry is the handlers' (scope["resource"])

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.path.strip("/").split("/")) if self.path != "/" else ()


class Router:
    """The ASGI app: lifespan, route matching, error mapping."""

    def __init__(
        self, routes: list[Route], lifespan: Callable[[Router], AbstractAsyncContextManager[None]]
    ) -> None:
        self.state = State()
        self.lifespan = lifespan
        self._by_length: dict[int, list[tuple[tuple[str, ...], Route]]] = {}
        for route in routes:
            self._by_length.setdefault(len(route.segments), []).append((route.segments, route))

    def match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        parts = path.strip("/").split("/") if path != "/" else []
        for segments, route in self._by_length.get(len(parts), ()):
            params: dict[str, str] = {}
            for pattern, part in zip(segments, parts, strict=True):
                if pattern[0] == "{":
                    if not part:
                        break
                    params[pattern[1:-1]] = part
                elif pattern != part:
                    break
            else:
                return route, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        scope["app"] = self
        found = self.match(scope["path"])
        try:
            route, params = found if found is not None else (None, {})
            scope["resource"] = route.resource if route is not None else None
            scope["route"] = route.path if route is not None else None  # (request_metrics' labels)
            raw = route.raw if route is not None and scope["method"] == "GET" else None
            if raw is not None and await raw(scope, params, send):
                return
            request = ApiRequest(scope, receive)
            if scope["method"] in AUTHORED:
                _record_author(request)
            response = await self._dispatch(scope, request, found)
        except Exception as exc:
            response = error_response(ApiRequest(scope, receive), exc)
        await response(scope, receive, send)

    async def _dispatch(
        self, scope: Scope, request: Request, found: tuple[Route, dict[str, str]] | None
    ) -> Response:
        if found is None:
            if scope["path"].startswith(API_PREFIXES):
                raise errors.path_not_found()
            return PlainTextResponse("404 page not found\n", status_code=404)
        route, params = found
        method = scope["method"]
        if method not in route.methods and not (method == "HEAD" and "GET" in route.methods):
            response = status_response(request, errors.method_not_allowed())
            response.headers["Allow"] = ", ".join(route.methods)
            return response
        scope["path_params"] = params
        return await route.endpoint(request)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        context: AbstractAsyncContextManager[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    context = self.lifespan(self)
                    await context.__aenter__()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if context is not None:
                    await context.__aexit__(None, None, None)
                await send({"type": "lifespan.shutdown.complete"})
                return


AUTHORED = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
APPLY_PATCH = "application/apply-patch+yaml"


def _record_author(request: Request) -> None:
    """Who the versions this request writes are by (``registry.authors``): its user, verb
    (apply is server-side apply's patch), field manager (as given, else as derived from the
    User-Agent) and User-Agent."""
    user = request.scope.get("user")
    agent = request.headers.get("user-agent", "")
    verb = AUTHORED[request.scope["method"]]
    if verb == "patch" and request.headers.get("content-type", "").startswith(APPLY_PATCH):
        verb = "apply"
    manager = request.query_params.get("fieldManager") or default_field_manager(agent)
    authors.writing_as(user.name if user is not None else "system:anonymous", verb, manager, agent)


def error_response(request: Request, exc: Exception) -> Response:
    """The one mapping from an exception to a Kubernetes ``Status`` response."""
    if isinstance(exc, errors.APIError):
        return status_response(request, exc)
    if isinstance(exc, HistoryChanged):  # a consistent read found it: the view is being rebuilt
        return status_response(request, errors.initializing())
    if isinstance(exc, RedisError):
        log.warning("Redis error on %s %s: %s", request.method, request.url.path, exc)
        unavailable = errors.APIError(
            503, "ServiceUnavailable", f"storage unavailable: {exc}", {"retryAfterSeconds": 1}
        )
        return status_response(request, unavailable)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return status_response(request, errors.APIError(500, "InternalError", f"Internal error occurred: {exc}"))
