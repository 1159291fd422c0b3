"""kube-apiserver's request metrics in /metrics, with its names and labels, read from real
requests; and the object and watcher gauges kube-apiserver dashboards use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from watchcache.http.request_metrics import RequestMetrics, _labels

from .conftest import Server, pod_manifest, start_server
from .watch_support import RawWatch

NS = "metered"


@pytest.mark.parametrize(
    ("method", "path", "query", "content_type", "expected"),
    [
        ("GET", "/api/v1/namespaces/a/pods", b"", "", ("LIST", "", "v1", "pods", "", "namespace")),
        ("GET", "/api/v1/pods", b"watch=true", "", ("WATCH", "", "v1", "pods", "", "cluster")),
        ("GET", "/api/v1/namespaces/a/pods/w/log", b"", "", ("GET", "", "v1", "pods", "log", "resource")),
        ("POST", "/api/v1/namespaces/a/pods", b"", "", ("POST", "", "v1", "pods", "", "namespace")),
        ("PATCH", "/api/v1/namespaces/a/pods/w", b"", "application/apply-patch+yaml",
         ("APPLY", "", "v1", "pods", "", "resource")),
        ("DELETE", "/api/v1/namespaces/a/pods", b"", "", ("DELETE", "", "v1", "pods", "", "namespace")),
        ("PUT", "/apis/coordination.k8s.io/v1/namespaces/a/leases/l", b"", "",
         ("PUT", "coordination.k8s.io", "v1", "leases", "", "resource")),
        ("GET", "/apis", b"", "", ("GET", "", "", "", "", "")),
    ],
)  # fmt: skip
def test_labels_are_kube_apiservers(
    method: str, path: str, query: bytes, content_type: str, expected: tuple[str, ...]
) -> None:
    headers = [(b"content-type", content_type.encode())] if content_type else []
    scope = {"method": method, "path": path, "query_string": query, "headers": headers}
    assert _labels(scope) == expected


def _samples(server: Server) -> dict[str, list]:
    with server.client() as api:
        text = api.get("/metrics").text
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


@pytest.mark.e2e
def test_requests_are_counted_and_timed(private_server: Server) -> None:
    with private_server.client() as api:
        assert api.post(f"/api/v1/namespaces/{NS}/pods", json=pod_manifest("m")).status_code == 201
        assert api.get(f"/api/v1/namespaces/{NS}/pods/missing").status_code == 404
    with RawWatch(private_server.url, f"/api/v1/namespaces/{NS}/pods", {"watch": "1"}):
        samples = _samples(private_server)
    created = {"verb": "POST", "group": "", "version": "v1", "resource": "pods", "subresource": "",
               "scope": "namespace", "component": "apiserver", "code": "201"}  # fmt: skip
    totals = {tuple(sorted(s.labels.items())): s.value for s in samples["apiserver_request"]
              if s.name == "apiserver_request_total"}  # fmt: skip
    assert totals[tuple(sorted(created.items()))] >= 1
    missing = {**created, "verb": "GET", "scope": "resource", "code": "404"}
    assert totals[tuple(sorted(missing.items()))] >= 1
    buckets = [s for s in samples["apiserver_request_duration_seconds"]
               if s.name.endswith("_bucket") and s.labels["verb"] == "POST" and s.labels["le"] == "+Inf"]  # fmt: skip
    assert buckets and buckets[0].value >= 1
    watchers = {s.labels["resource"]: s.value for s in samples["apiserver_registered_watchers"]}
    assert watchers["pods"] >= 1
    objects = {s.labels["resource"]: s.value for s in samples["apiserver_storage_objects"]}
    assert objects["pods"] >= 1


@pytest.mark.e2e
def test_watch_events_and_terminated_watchers_are_counted(private_server: Server, private_redis: Any) -> None:
    path = f"/api/v1/namespaces/{NS}/pods"
    with RawWatch(private_server.url, path, {"watch": "1"}) as watch, private_server.client() as api:
        assert api.post(path, json=pod_manifest("seen")).status_code == 201
        watch.read_count(1, 5)
        samples = _samples(private_server)
    events = {s.labels["resource"]: s.value for s in samples["apiserver_watch_events"] if s.name.endswith("_total")}
    assert events["pods"] >= 1
    admin = redis.Redis.from_url(private_redis.url)
    head = int(admin.get("{wc}:rv"))
    admin.xtrim("{wc}:log", minid=f"{head}-0")  # as the compactor would: only the newest event left
    admin.close()
    with RawWatch(private_server.url, path, {"watch": "1", "resourceVersion": "2"}) as expired:
        assert expired.read_to_end(5)[-1]["object"]["code"] == 410  # from before the retained log
    terminated = {s.labels["resource"]: s.value for s in _samples(private_server)["apiserver_terminated_watchers"]
                  if s.name.endswith("_total")}  # fmt: skip
    assert terminated["pods"] >= 1


@pytest.mark.e2e
def test_the_json_access_log_has_a_line_a_request(private_redis: Any, tmp_path: Path) -> None:
    server = start_server(private_redis.url, tmp_path, "--access-log-format", "json")
    try:
        with server.client(headers={"User-Agent": "probe/1"}) as api:
            assert api.get(f"/api/v1/namespaces/{NS}/pods/nope").status_code == 404
            assert api.post(f"/api/v1/namespaces/{NS}/pods", json=pod_manifest("logged")).status_code == 201
    finally:
        server.stop()
    entries = [orjson.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
    seen = [(e["method"], e["verb"], e["resource"], e["scope"], e["status"], e["userAgent"]) for e in entries]
    assert ("GET", "GET", "pods", "resource", 404, "probe/1") in seen
    assert ("POST", "POST", "pods", "namespace", 201, "probe/1") in seen
    assert all(e["time"].endswith("Z") and e["durationMs"] >= 0 for e in entries)


async def test_labels_are_worked_out_once_per_route_not_per_object() -> None:
    """Writes to many objects of one route share one cache entry (the names in a path change no
    label), while a GET's query still tells a list from a watch on the same route."""
    route = "/api/v1/namespaces/{namespace}/pods/{name}"

    async def routed(scope: dict[str, Any], receive: Any, send: Any) -> None:  # as the router does
        scope["route"] = route if scope["path"].count("/") == 6 else "/api/v1/namespaces/{namespace}/pods"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: Any) -> None:
        pass

    metrics = RequestMetrics(routed, frozenset())
    requests = [("PATCH", f"/api/v1/namespaces/ns{i}/pods/p{i}", b"fieldManager=m") for i in range(50)]
    requests += [("GET", "/api/v1/namespaces/a/pods", b""), ("GET", "/api/v1/namespaces/b/pods", b"watch=1")]
    for method, path, query in requests:
        scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}
        await metrics(scope, None, send)
    assert len(metrics._labels) == 3
    patched = ("PATCH", "", "v1", "pods", "", "resource")
    assert metrics.totals[(patched, "200")] == 50
    assert {labels[0] for labels, _ in metrics.totals} == {"PATCH", "LIST", "WATCH"}
