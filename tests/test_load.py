"""``watchcache load``: a small density run against a real server, its report checked against
what the test sees; and the pure parts (call labels, percentiles, breaches)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from watchcache.simulator.load import breaches, call_kind, percentiles

from .conftest import Server


def test_requests_are_labelled_as_the_apiserver_labels_its_latency() -> None:
    assert call_kind("POST", "/api/v1/namespaces/ns/pods") == ("pods", "create", "namespace")
    assert call_kind("POST", "/api/v1/namespaces/ns/pods/p/binding") == ("pods/binding", "create", "resource")
    assert call_kind("GET", "/api/v1/pods?labelSelector=a") == ("pods", "list", "cluster")
    assert call_kind("GET", "/api/v1/namespaces/ns/pods/p") == ("pods", "get", "resource")
    assert call_kind("PATCH", "/api/v1/nodes/n/status") == ("nodes/status", "patch", "resource")
    assert call_kind("DELETE", "/api/v1/namespaces/ns/pods") == ("pods", "deletecollection", "namespace")
    assert call_kind("DELETE", "/api/v1/namespaces/ns") == ("namespaces", "delete", "resource")
    assert call_kind("POST", "/apis/events.k8s.io/v1/namespaces/ns/events") == (
        "events",
        "create",
        "namespace",
    )


def test_percentiles_are_nearest_rank_in_ms_and_breaches_are_named() -> None:
    assert percentiles([i / 1000 for i in range(1, 101)]) == {"Perc50": 50.0, "Perc90": 90.0, "Perc99": 99.0}
    report = {
        "dataItems": [{"labels": {"Metric": "pod_startup"}, "data": {"Perc50": 10.0, "Perc90": 20.0, "Perc99": 30.0}}],
        "slos": [{"resource": "pods", "verb": "list", "scope": "cluster", "slo": "list cluster",
                  "limit_ms": 30000.0, "p99_ms": 31000.0, "met": False}],
    }  # fmt: skip
    assert breaches(report, {"pod_startup_p99": 0.025, "pod_startup_p50": 1.0, "nope_p99": 1.0}) == [
        "API call latency list pods (cluster): p99 31000 ms over the list cluster SLO of 30000 ms",
        "pod_startup p99: 30 ms over the threshold of 25 ms",
        "--threshold nope_p99: no such metric",
    ]


def load(server: Server, report: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "watchcache", "load", "--server", server.url, "--simulate", "--nodes", "2",
            "--pods-per-node", "5", "--qps", "40", "--report", str(report), *extra]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.mark.e2e
def test_a_small_run_reports_what_happened(private_server: Server, tmp_path: Path) -> None:
    started = time.monotonic()
    done = load(private_server, tmp_path / "report", "--hold", "0.5s")
    wall_ms = (time.monotonic() - started) * 1e3
    assert done.returncode == 0, done.stderr
    report = orjson.loads((tmp_path / "report" / "report.json").read_bytes())
    assert report["summary"]["pods"] == 10 and report["summary"]["simulated_nodes"] == 2
    pods = {i["labels"]["Metric"]: i for i in report["dataItems"] if "Resource" not in i["labels"]}
    startup = pods["pod_startup"]["data"]
    assert (
        pods["pod_startup"]["labels"]["Count"] == "10" and pods["delete_to_gone"]["labels"]["Count"] == "10"
    )
    assert 0 < startup["Perc50"] <= startup["Perc90"] <= startup["Perc99"] < wall_ms
    calls = {(i["labels"]["Resource"], i["labels"]["Verb"]): int(i["labels"]["Count"])
             for i in report["dataItems"] if "Resource" in i["labels"]}  # fmt: skip
    assert calls[("pods", "create")] == 10 and calls[("pods/binding", "create")] == 10
    assert all(s["met"] for s in report["slos"])
    assert report["summary"]["server"]["cpu_seconds"] > 0
    assert (tmp_path / "report" / "summary.html").read_text().count("<tr>") > 10
    assert (tmp_path / "report" / "latency.png").stat().st_size > 0
    assert "10 pods in" in done.stdout
    phases = report["summary"]["phases_s"]  # the pods ran for --hold before the deletion
    assert phases["deleting"] - phases["running"] >= 0.5
    assert report["summary"]["client_rss_mb"][-1][1] > 0
    with private_server.client() as api:  # it cleaned up after itself
        assert api.get("/api/v1/pods").json()["items"] == []


@pytest.mark.e2e
def test_a_breached_threshold_exits_1(private_server: Server, tmp_path: Path) -> None:
    done = load(private_server, tmp_path / "report", "--threshold", "pod_startup_p99=1ns")
    assert done.returncode == 1
    assert "BREACH: pod_startup p99:" in done.stderr
