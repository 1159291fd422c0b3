"""The application of one replica: endpoints, the route table, authentication, lifespan.

Routing and the one error mapping (every failure a Kubernetes ``Status``; Redis outages 503,
anything unexpected a logged 500) live in :mod:`router`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence

import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from watchcache.cache.dispatcher import Broadcaster
from watchcache.cache.history import History
from watchcache.cache.pacing import MIB, Pacer
from watchcache.cache.replica import Replica
from watchcache.http import binding, discovery, history, resources
from watchcache.http import logs as logs_api
from watchcache.http import watch as watch_api
from watchcache.http.authorization import REVIEW_PATH, Authorization, self_subject_access_review
from watchcache.http.limits import InFlight
from watchcache.http.metrics import registry_for
from watchcache.http.request_metrics import RequestMetrics
from watchcache.http.responses import JSON, negotiate
from watchcache.http.router import Endpoint, Route, Router
from watchcache.kinds.events import EVENT, EVENT_V1
from watchcache.kinds.leases import LEASE
from watchcache.kinds.namespaces import NAMESPACE
from watchcache.kinds.nodes import NODE
from watchcache.kinds.pods import POD
from watchcache.machinery import errors
from watchcache.machinery.kinds import Kind
from watchcache.process import tasks
from watchcache.process.policy import PolicyFile
from watchcache.process.settings import ACCESS_LOGGER, Settings
from watchcache.process.tokens import TokenFile
from watchcache.registry.expiry import Expiry
from watchcache.registry.namespaces import NamespaceLifecycle
from watchcache.registry.reaper import Reaper
from watchcache.registry.resource import ResourceRegistry
from watchcache.storage.compactor import Compactor
from watchcache.storage.store import Store, connect

log = logging.getLogger("watchcache.app")

# the kinds served: a view for each stored one, one log for all
KINDS = (POD, NAMESPACE, EVENT, NODE, EVENT_V1, LEASE)

HEALTH_PATHS = frozenset({"/livez", "/readyz", "/healthz"})  # open to load balancers
WATCHES_END_S = 2.0  # how long a graceful stop waits for watches to send their last bookmark


# ---- endpoints -----------------------------------------------------------------------------


async def collection(request: Request) -> Response:
    """A kind's collection: list or watch (GET), create (POST), deletecollection (DELETE)."""
    if request.method == "POST":
        return await resources.create(request)
    if request.method == "DELETE":
        return await resources.delete_collection(request)
    return await list_or_watch(request, request.path_params.get("namespace"))


async def all_namespaces(request: Request) -> Response:
    return await list_or_watch(request, None)


async def list_or_watch(request: Request, namespace: str | None) -> Response:
    if watch_api.wants_watch(request.query_params):
        return await watch_api.watch(request, namespace, request.query_params)
    return await resources.list_objects(request, namespace)


async def watch_collection(request: Request) -> Response:
    return await watch_api.watch(request, request.path_params.get("namespace"), request.query_params)


async def watch_named(request: Request) -> Response:
    name = resources.path_name(request)
    query = resources.check_watch_name(request.query_params, name, resources.registry(request).kind.fields)
    return await watch_api.watch(request, request.path_params.get("namespace"), query)


def item(subresource: str | None) -> Endpoint:
    """One object (``subresource`` None) or a subresource of it: GET, PUT, PATCH, DELETE."""

    async def endpoint(request: Request) -> Response:
        method = request.method
        if method in ("GET", "HEAD"):
            return await resources.get(request)
        if method == "PUT":
            return await resources.replace(request, subresource)
        if method == "PATCH":
            return await resources.patch(request, subresource)
        return await resources.delete(request)

    return endpoint


def static(body: bytes, media_type: str = JSON) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        negotiate(request.headers.get("accept"))
        return Response(body, media_type=media_type)

    return endpoint


async def api_versions(request: Request) -> Response:
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return Response(discovery.api_versions(host), media_type=JSON)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics), media_type=CONTENT_TYPE_LATEST)


async def livez(request: Request) -> Response:
    return PlainTextResponse("ok")


async def readyz(request: Request) -> Response:
    state = request.app.state
    if state.draining:
        return PlainTextResponse("shutting down", status_code=503)
    if state.replica.ready:
        return PlainTextResponse("ok")
    return PlainTextResponse("view not synced yet", status_code=503)


GET = ("GET",)
POST = ("POST",)
ITEM = ("GET", "PUT", "PATCH")


def kind_routes(kind: Kind) -> list[Route]:
    """Every path of one kind, as kube-apiserver's APIInstaller lays them out."""
    r, res, root = kind.qualified_resource, kind.resource, discovery.group_version_path(kind)
    if kind.namespaced:
        collection_path = f"{root}/namespaces/{{namespace}}/{res}"
        watch_path = f"{root}/watch/namespaces/{{namespace}}/{res}"
    else:
        collection_path, watch_path = f"{root}/{res}", f"{root}/watch/{res}"
    item_path = collection_path + "/{name}"
    methods = ("GET", "POST", "DELETE") if kind.collection_delete else ("GET", "POST")
    routes = [
        Route(collection_path, collection, methods, resource=r),
        Route(item_path, item(None), (*ITEM, "DELETE"), raw=resources.get_raw, resource=r),
        Route(watch_path, watch_collection, GET, resource=r),
        Route(watch_path + "/{name}", watch_named, GET, resource=r),
    ]
    for sub in sorted(s for s in kind.updates if s):
        sub_methods = ("PUT",) if sub in kind.put_only else ITEM
        routes.append(Route(f"{item_path}/{sub}", item(sub), sub_methods, resource=r))
    if kind.namespaced:
        routes.append(Route(f"{root}/{res}", all_namespaces, GET, resource=r))
        routes.append(Route(f"{root}/watch/{res}", watch_collection, GET, resource=r))
    return routes


def routes(kinds: Sequence[Kind]) -> list[Route]:
    docs = discovery.documents(kinds)
    found = [route for kind in kinds for route in kind_routes(kind)]
    return [
        *found,
        Route("/api/v1/namespaces/{namespace}/pods/{name}/log", logs_api.pod_log, GET, resource="pods"),
        Route(
            "/api/v1/namespaces/{namespace}/pods/{name}/binding", binding.pod_binding, POST, resource="pods"
        ),
        Route("/api/v1/namespaces/{namespace}/bindings", binding.namespace_bindings, POST, resource="pods"),
        Route(logs_api.INGEST_PATH, logs_api.ingest, POST, resource="pods"),
        Route("/version", static(discovery.VERSION), GET),
        Route("/api", api_versions, GET),
        Route("/apis", static(docs.api_group_list), GET),
        *(Route(path, static(body), GET) for path, body in docs.api_groups.items()),
        *(Route(path, static(body), GET) for path, body in docs.resource_lists.items()),
        Route("/openapi/v3", static(docs.openapi_v3_root), GET),
        *(Route(path, static(body), GET) for path, body in docs.openapi_v3.items()),
        Route(REVIEW_PATH, self_subject_access_review, POST),
        Route(f"{history.ROOT}/namespaces/{{namespace}}/{{resource}}/{{name}}", history.object_history, GET),
        Route(f"{history.ROOT}/{{resource}}/{{name}}", history.object_history, GET),
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
        user = self.tokens.authenticate(header.decode("latin-1") if header is not None else None)
        if user is None:
            await Response(self.denied, 401, media_type=JSON)(scope, receive, send)
            return
        scope["user"] = user  # who asked, for the endpoints that authorize
        await self.app(scope, receive, send)


# ---- assembly ------------------------------------------------------------------------------


def create_app(settings: Settings) -> ASGIApp:
    """The ASGI app of one replica; ``settings`` must name a Redis (a URL or Sentinels)."""
    if not settings.external_redis:
        raise ValueError("create_app needs a Redis URL or Sentinels (the CLI starts an embedded Redis)")

    @contextlib.asynccontextmanager
    async def lifespan(app: Router) -> AsyncIterator[None]:
        redis = connect(settings.redis_url, sentinels=settings.sentinels, master=settings.redis_master or "")
        store = Store(
            redis,
            min_replicas=settings.min_replicas_acked,
            replica_timeout_ms=max(1, round(settings.min_replicas_acked_timeout * 1000)),
        )
        reads = connect(settings.redis_read_url) if settings.redis_read_url else None
        replica = Replica(store, KINDS, log_reader=Store(reads) if reads is not None else None)
        history = History(replica)
        broadcaster = Broadcaster(replica, history, catch_up=Pacer(settings.catch_up_mib_per_s * MIB))
        compactor = Compactor(
            store,
            retention_events=settings.event_retention,
            retention_seconds=settings.event_retention_seconds,
        )
        app.state.settings = settings
        app.state.replica = replica
        app.state.draining = False
        registries = app.state.registries = {
            kind.qualified_resource: ResourceRegistry(kind, store, replica, history) for kind in KINDS
        }
        namespaces = NamespaceLifecycle(
            registries[NAMESPACE.qualified_resource],
            [reg for reg in registries.values() if reg.kind.namespaced],
            strict=settings.strict_namespaces,
        )
        for reg in registries.values():
            if reg.kind.namespaced:
                reg.admit = namespaces.admit
        expiry = Expiry(registries[EVENT.qualified_resource], settings.event_ttl)
        app.state.broadcaster = broadcaster
        app.state.metrics = registry_for(broadcaster, app.state.inflight.counts, app.state.request_metrics)
        await replica.start()
        await namespaces.ensure_defaults()
        background = [
            tasks.spawn("compactor", compactor.run_forever()),
            tasks.spawn("reaper", Reaper(registries[POD.qualified_resource]).run_forever()),
            tasks.spawn("namespace-controller", namespaces.run_forever()),
            tasks.spawn("event-expiry", expiry.run_forever()),
            tasks.spawn("watch-ticker", broadcaster.tick_forever()),
        ]
        try:
            yield
        finally:
            await tasks.cancel(*background)
            await broadcaster.close()
            await replica.stop()
            await store.close()
            await redis.aclose()
            if reads is not None:
                await reads.aclose()

    router = Router(routes(KINDS), lifespan)
    app: ASGIApp = router
    policy = router.state.policy = (
        PolicyFile.load(settings.authorization_policy_file) if settings.authorization_policy_file else None
    )
    if policy is not None:
        app = Authorization(app, policy, HEALTH_PATHS)
    app = router.state.inflight = InFlight(
        app, settings.max_requests_inflight, settings.max_mutating_requests_inflight, HEALTH_PATHS
    )
    if settings.token_file is not None:
        app = TokenAuthentication(app, TokenFile.load(settings.token_file))
    access_log = logging.getLogger(ACCESS_LOGGER) if settings.access_log_format == "json" else None
    app = router.state.request_metrics = RequestMetrics(app, HEALTH_PATHS, access_log)  # 401s counted too
    return app


async def drain(app: ASGIApp, delay: float) -> None:
    """A graceful stop, as kube-apiserver's: /readyz fails at once so load balancers take the
    replica out, requests are served for ``delay`` seconds more, then every watch ends with a
    last bookmark and this returns once they have (or after ``WATCHES_END_S``)."""
    router = app
    while not isinstance(router, Router):  # inside authentication and authorization
        router = router.app  # type: ignore[attr-defined]
    state = router.state
    state.draining = True
    await asyncio.sleep(delay)
    broadcaster: Broadcaster = state.broadcaster
    broadcaster.stop_watches()
    deadline = time.monotonic() + WATCHES_END_S
    while broadcaster.watchers and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
