"""The application of one replica: endpoints, the route table, authentication, lifespan.

Routing and the one error mapping (every failure a Kubernetes ``Status``; Redis outages 503,
anything unexpected a logged 500) live in :mod:`router`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from watchcache.cache.dispatcher import Broadcaster
from watchcache.cache.history import History
from watchcache.cache.pacing import MIB, Pacer
from watchcache.cache.replica import Replica
from watchcache.http import discovery
from watchcache.http import logs as logs_api
from watchcache.http import resources as pods_api
from watchcache.http import watch as watch_api
from watchcache.http.metrics import registry_for
from watchcache.http.responses import JSON, negotiate
from watchcache.http.router import Route, Router
from watchcache.kinds.pods import POD
from watchcache.machinery import errors
from watchcache.process import tasks
from watchcache.process.settings import Settings
from watchcache.process.tokens import TokenFile
from watchcache.registry.reaper import Reaper
from watchcache.registry.resource import ResourceRegistry
from watchcache.storage.compactor import Compactor
from watchcache.storage.store import Store, connect

log = logging.getLogger("watchcache.app")

KINDS = (POD,)  # the kinds this server serves: one view each, one log for all

HEALTH_PATHS = frozenset({"/livez", "/readyz", "/healthz"})  # open to load balancers


# ---- endpoints -----------------------------------------------------------------------------


async def namespaced_pods(request: Request) -> Response:
    if request.method == "POST":
        return await pods_api.create_pod(request)
    if request.method == "DELETE":
        return await pods_api.delete_collection(request)
    return await list_or_watch(request, request.path_params["namespace"])


async def all_pods(request: Request) -> Response:
    return await list_or_watch(request, None)


async def list_or_watch(request: Request, namespace: str | None) -> Response:
    if watch_api.wants_watch(request.query_params):
        return await watch_api.watch(request, namespace, request.query_params)
    return await pods_api.list_pods(request, namespace)


async def watch_all(request: Request) -> Response:
    return await watch_api.watch(request, None, request.query_params)


async def watch_namespaced(request: Request) -> Response:
    return await watch_api.watch(request, request.path_params["namespace"], request.query_params)


async def watch_named(request: Request) -> Response:
    name = pods_api.path_name(request)
    query = pods_api.check_watch_name(request.query_params, name, pods_api.registry(request).kind.fields)
    return await watch_api.watch(request, request.path_params["namespace"], query)


async def pod(request: Request) -> Response:
    return await _item(request, None)


async def pod_status(request: Request) -> Response:
    return await _item(request, "status")


async def pod_ephemeral_containers(request: Request) -> Response:
    return await _item(request, "ephemeralcontainers")


async def _item(request: Request, subresource: str | None) -> Response:
    method = request.method
    if method in ("GET", "HEAD"):
        return await pods_api.get_pod(request)
    if method == "PUT":
        return await pods_api.replace_pod(request, subresource)
    if method == "PATCH":
        return await pods_api.patch_pod(request, subresource)
    return await pods_api.delete_pod(request)


def static(body: bytes, media_type: str = JSON) -> Any:
    async def endpoint(request: Request) -> Response:
        negotiate(request.headers.get("accept"))
        return Response(body, media_type=media_type)

    return endpoint


async def api_versions(request: Request) -> Response:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return Response(discovery.api_versions(host), media_type=JSON)


async def namespace(request: Request) -> Response:
    """Every namespace exists here (pods are accepted in any); kubectl reads one after a 404.

    kubectl 1.32 follows a pod 404 with ``GET /api/v1/namespaces/<ns>`` to tell a missing pod
    from a missing namespace; answering with an Active namespace keeps its pod error message.
    """
    negotiate(request.headers.get("accept"))
    name = request.path_params["namespace"]
    body = {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    return Response(orjson.dumps(body), media_type=JSON)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


async def livez(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    if request.app.state.replica.ready:
        return PlainTextResponse("ok")
    return PlainTextResponse("view not synced yet", status_code=503)


POD_PATH = "/api/v1/namespaces/{namespace}/pods/{name}"
GET = ("GET",)
ITEM = ("GET", "PUT", "PATCH")
ROUTES = [
    Route("/api/v1/pods", all_pods, GET),
    Route("/api/v1/namespaces/{namespace}/pods", namespaced_pods, ("GET", "POST", "DELETE")),
    Route(POD_PATH, pod, (*ITEM, "DELETE"), raw=pods_api.get_pod_raw),
    Route(POD_PATH + "/status", pod_status, ITEM),
    Route(POD_PATH + "/ephemeralcontainers", pod_ephemeral_containers, ITEM),
    Route(POD_PATH + "/log", logs_api.pod_log, GET),
    Route("/api/v1/namespaces/{namespace}", namespace, GET),
    Route("/api/v1/watch/pods", watch_all, GET),
    Route("/api/v1/watch/namespaces/{namespace}/pods", watch_namespaced, GET),
    Route("/api/v1/watch/namespaces/{namespace}/pods/{name}", watch_named, GET),
    Route("/version", static(discovery.VERSION), GET),
    Route("/api", api_versions, GET),
    Route("/api/v1", static(discovery.API_RESOURCE_LIST), GET),
    Route("/apis", static(discovery.API_GROUP_LIST), GET),
    Route("/openapi/v3", static(discovery.OPENAPI_V3_ROOT), GET),
    Route("/openapi/v3/api/v1", static(discovery.OPENAPI_V3_API_V1), GET),
    Route("/metrics", metrics, GET),
    Route("/livez", livez, GET),
    Route("/healthz", livez, GET),
    Route("/readyz", readyz, GET),
]


# ---- authentication ------------------------------------------------------------------------


class TokenAuthentication:
    """kube-apiserver ``--token-auth-file`` with anonymous auth off: no valid token, no entry."""

    def __init__(self, app: ASGIApp, tokens: TokenFile) -> None:
        self.app = app
        self.tokens = tokens
        self.denied = orjson.dumps(errors.unauthorized().status())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in HEALTH_PATHS:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if self.tokens.authenticate(header.decode("latin-1") if header is not None else None) is None:
            await Response(self.denied, 401, media_type=JSON)(scope, receive, send)
            return
        await self.app(scope, receive, send)


# ---- assembly ------------------------------------------------------------------------------


def create_app(settings: Settings) -> ASGIApp:
    """The ASGI app of one replica; ``settings.redis_url`` must name a reachable Redis."""
    if settings.redis_url is None:
        raise ValueError("create_app needs a Redis URL (the CLI starts an embedded Redis)")
    redis_url = settings.redis_url

    @contextlib.asynccontextmanager
    async def lifespan(app: Router) -> AsyncIterator[None]:
        redis = connect(redis_url)
        store = Store(redis)
        replica = Replica(store, KINDS)
        history = History(replica)
        broadcaster = Broadcaster(replica, history, catch_up=Pacer(settings.catch_up_mib_per_s * MIB))
        compactor = Compactor(
            store,
            retention_events=settings.event_retention,
            retention_seconds=settings.event_retention_seconds,
        )
        app.state.settings = settings
        app.state.replica = replica
        registry = app.state.registry = ResourceRegistry(POD, store, replica, history)
        app.state.broadcaster = broadcaster
        app.state.metrics = registry_for(broadcaster)
        await replica.start()
        compacting = tasks.spawn("compactor", compactor.run_forever())
        reaping = tasks.spawn("reaper", Reaper(registry).run_forever())
        ticking = tasks.spawn("watch-ticker", broadcaster.tick_forever())
        try:
            yield
        finally:
            await tasks.cancel(compacting, reaping, ticking)
            await broadcaster.close()
            await replica.stop()
            await store.close()
            await redis.aclose()

    app: ASGIApp = Router(ROUTES, lifespan)
    if settings.token_file is not None:
        app = TokenAuthentication(app, TokenFile.load(settings.token_file))
    return app
