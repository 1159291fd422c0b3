"""``/metrics`` in the Prometheus text format.

Read at scrape time from counters the runtime keeps anyway, so the hot paths (dispatch, list,
write) pay nothing for metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from watchcache.cache.dispatcher import Broadcaster
from watchcache.http.limits import InFlightCounts
from watchcache.http.request_metrics import RequestCollector, RequestMetrics


class WatchCacheCollector(Collector):
    def __init__(self, broadcaster: Broadcaster, inflight: InFlightCounts) -> None:
        self.broadcaster = broadcaster
        self.inflight = inflight

    def collect(self) -> Iterator[Metric]:
        inflight = GaugeMetricFamily(
            "apiserver_current_inflight_requests", "Requests being served now, by kind (kube-apiserver's).",
            labels=["request_kind"],
        )  # fmt: skip
        refused = CounterMetricFamily(
            "watchcache_requests_refused_inflight", "Requests answered 429: over an in-flight limit.",
            labels=["request_kind"],
        )  # fmt: skip
        for kind, label in enumerate(("readOnly", "mutating")):
            inflight.add_metric([label], self.inflight.current[kind])
            refused.add_metric([label], self.inflight.refused[kind])
        yield inflight
        yield refused
        b = self.broadcaster
        m = b.metrics
        yield GaugeMetricFamily("watchcache_watchers", "Open watches.", value=len(b.watchers))
        yield GaugeMetricFamily(
            "watchcache_watchers_parked", "Watches parked because they read too slowly.",
            value=sum(1 for w in b.watchers if w.parked),
        )  # fmt: skip
        yield CounterMetricFamily(
            "watchcache_events_dispatched", "Events dispatched to watchers.", value=m.events_dispatched
        )
        yield CounterMetricFamily(
            "watchcache_watch_deliveries", "Events queued for a watcher.", value=m.deliveries
        )
        yield CounterMetricFamily("watchcache_watchers_parked", "Times a watcher was parked.", value=m.parked)
        yield CounterMetricFamily(
            "watchcache_watchers_resumed", "Times a parked watcher rejoined live delivery.", value=m.resumed
        )
        yield GaugeMetricFamily(
            "watchcache_dispatch_lag_seconds", "From Redis appending the newest event to its dispatch.",
            value=m.dispatch_lag_s,
        )  # fmt: skip
        replica = b.replica
        yield GaugeMetricFamily(
            "watchcache_view_resource_version", "The rv the views have applied.", value=replica.rv
        )
        objects = GaugeMetricFamily("watchcache_view_objects", "Objects in the view.", labels=["resource"])
        stored = GaugeMetricFamily(
            "apiserver_storage_objects", "Objects stored, by resource (kube's).", labels=["resource"]
        )
        for resource, view in replica.views.items():
            objects.add_metric([resource], len(view))
            stored.add_metric([resource], len(view))
        yield stored
        watching: dict[str, int] = {}
        for watcher in list(b.watchers):
            watching[watcher.filter.resource] = watching.get(watcher.filter.resource, 0) + 1
        watchers = GaugeMetricFamily(
            "apiserver_registered_watchers", "Open watches, by resource (kube's).", labels=["resource"]
        )
        for resource, count in sorted(watching.items()):
            watchers.add_metric([resource], count)
        yield watchers
        events = CounterMetricFamily(
            "apiserver_watch_events", "Events sent to watchers, by resource (kube's).", labels=["resource"]
        )
        for resource, count in sorted(m.deliveries_by_resource.items()):
            events.add_metric([resource], count)
        yield events
        terminated = CounterMetricFamily(
            "apiserver_terminated_watchers",
            "Watches the server ended with 410 (fallen out of retention, or the view rebuilt), by resource.",
            labels=["resource"],
        )
        for resource, count in sorted(m.terminated.items()):
            terminated.add_metric([resource], count)
        yield terminated
        yield objects
        yield CounterMetricFamily(
            "watchcache_consistent_reads", "Reads that waited for the log head (no resourceVersion).",
            value=replica.consistent_reads,
        )  # fmt: skip
        yield CounterMetricFamily(
            "watchcache_head_reads", "Redis reads of the log head, shared by the consistent reads queued.",
            value=replica.head_reads,
        )  # fmt: skip
        yield CounterMetricFamily(
            "watchcache_view_rebuilds",
            "Views rebuilt from Redis: it held another history (emptied, or back at an older state) "
            "or the log had been compacted past the view.",
            value=replica.rebuilds,
        )  # fmt: skip


def registry_for(
    broadcaster: Broadcaster, inflight: InFlightCounts, requests: RequestMetrics
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(WatchCacheCollector(broadcaster, inflight))
    registry.register(RequestCollector(requests))
    ProcessCollector(registry=registry)  # process CPU and RSS, which a load test reads
    return registry
