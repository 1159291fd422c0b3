"""kube-apiserver's request metrics: ``apiserver_request_total`` and
``apiserver_request_duration_seconds``, with its names, labels and buckets, so dashboards and
alerts written for kube-apiserver read watchcache too.

The outermost middleware reads each request's labels from its path (the attributes authorization
reads, ``http.authorization.attributes``) and its answer's status, and counts them in plain
dicts; the Prometheus families are built from those at scrape time, so a request pays a dict
update and a bisect, not a client-library call per label set.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watchcache.http.authorization import attributes, scope_query
from watchcache.process.tokens import User

# kube-apiserver's apiserver_request_duration_seconds buckets
BUCKETS = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0,
           15.0, 20.0, 30.0, 45.0, 60.0)  # fmt: skip
REPORTED_VERBS = {"get": "GET", "list": "LIST", "watch": "WATCH", "create": "POST", "update": "PUT",
                  "patch": "PATCH", "delete": "DELETE", "deletecollection": "DELETE"}  # fmt: skip
APPLY = b"application/apply-patch"
NOBODY = User("", "")
LABELS_CACHED = 4096  # requests' labels kept by method, path (or route) and query
# (verb, group, version, resource, subresource, scope): the labels of a request
Labels = tuple[str, str, str, str, str, str]


class RequestMetrics:
    """ASGI middleware: counts every request by its labels and status, and times it."""

    def __init__(
        self, app: ASGIApp, open_paths: frozenset[str], access_log: logging.Logger | None = None
    ) -> None:
        self.app, self.open_paths, self.access_log = app, open_paths, access_log
        self.totals: dict[tuple[Labels, str], int] = {}
        self.durations: dict[Labels, list[float]] = {}  # bucket counts, then the sum and count
        self._labels: dict[tuple[str, str, bytes, bool], Labels] = {}  # (apply: by its content type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]  # an app that fails before it answers

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            labels = self._count(scope, status[0], seconds)
            if self.access_log is not None:
                self.access_log.info(_access_line(scope, labels, status[0], seconds))

    def _count(self, scope: Scope, status: int, seconds: float) -> Labels:
        # a request's labels follow from its method, path, query and type: read once per path,
        # or per route once the router matched one (the names in a path change no label, and
        # only a GET's query does: list or watch)
        method = scope["method"]
        route = scope.get("route")
        query = scope.get("query_string", b"") if route is None or method in ("GET", "HEAD") else b""
        where = scope["path"] if route is None else route
        request = (method, where, query, method == "PATCH" and _applies(scope))
        labels = self._labels.get(request)
        if labels is None:
            if len(self._labels) >= LABELS_CACHED:
                self._labels.clear()
            labels = self._labels[request] = _labels(scope)
        counted = (labels, str(status))
        self.totals[counted] = self.totals.get(counted, 0) + 1
        if labels[0] == "WATCH":  # a watch lasts as long as it is open: not a latency
            return labels
        observed = self.durations.get(labels)
        if observed is None:
            observed = self.durations[labels] = [0.0] * (len(BUCKETS) + 3)  # and +Inf, sum, count
        observed[bisect.bisect_left(BUCKETS, seconds)] += 1  # the first bucket it fits
        observed[-2] += seconds
        observed[-1] += 1
        return labels


def _access_line(scope: Scope, labels: Labels, status: int, seconds: float) -> str:
    """One request of the access log, as JSON (what kube-apiserver's audit log's Metadata level
    says of a request, without the audit policy)."""
    user = scope.get("user")
    agent = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"user-agent"), "")
    query = scope.get("query_string", b"").decode("latin-1")
    line = {
        "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "user": user.name if user is not None else "",
        "method": scope["method"],
        "path": scope["path"] + (f"?{query}" if query else ""),
        "verb": labels[0],
        "resource": labels[3] + (f"/{labels[4]}" if labels[4] else ""),
        "scope": labels[5],
        "status": status,
        "durationMs": round(seconds * 1e3, 3),
        "userAgent": agent,
    }
    return orjson.dumps(line).decode()


def _labels(scope: Scope) -> Labels:
    request = attributes(scope.get("user") or NOBODY, scope["method"], scope["path"], scope_query(scope))
    if not request.resource_request:
        return scope["method"], "", "", "", "", ""
    verb: str = REPORTED_VERBS.get(request.verb) or scope["method"]
    if verb == "PATCH" and _applies(scope):
        verb = "APPLY"
    parts = scope["path"].split("/")
    version = parts[2] if parts[1] == "api" else parts[3]
    where = "resource" if request.name else ("namespace" if request.namespace else "cluster")
    return verb, request.api_group, version, request.resource, request.subresource, where


def _applies(scope: Scope) -> bool:
    """A server-side apply: a PATCH whose body is an apply configuration."""
    return any(k == b"content-type" and v.startswith(APPLY) for k, v in scope["headers"])


class RequestCollector(Collector):
    def __init__(self, metrics: RequestMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        names = ["verb", "group", "version", "resource", "subresource", "scope", "component"]
        total = CounterMetricFamily(
            "apiserver_request_total", "Requests by verb, group, version, resource, scope and HTTP code.",
            labels=[*names, "code"],
        )  # fmt: skip
        for (labels, code), count in list(self.metrics.totals.items()):
            total.add_metric([*labels, "apiserver", code], count)
        yield total
        duration = HistogramMetricFamily(
            "apiserver_request_duration_seconds", "Response latency by verb, resource and scope.",
            labels=names,
        )  # fmt: skip
        for labels, observed in list(self.metrics.durations.items()):
            duration.add_metric([*labels, "apiserver"], _cumulative(observed), observed[-2])
        yield duration


def _cumulative(observed: list[float]) -> list[tuple[str, Any]]:
    buckets, running = [], 0.0
    for bound, count in zip((*BUCKETS, float("inf")), observed[:-2], strict=True):
        running += count
        buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
    return buckets
