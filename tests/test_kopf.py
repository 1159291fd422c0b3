"""A kopf operator, unchanged, against watchcache (spec/clients-load-durability.md §6.1): it
finds namespaces in discovery, watches pods, patches them (merge and JSON patches), holds them
with its finalizer, posts events about them, and lets them go once its delete handler ran."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .conftest import Cluster, pod_manifest
from .watch_support import create

pytestmark = pytest.mark.e2e

OPERATOR = """
import kopf

@kopf.on.create("pods")
def created(body, patch, **_):
    patch.metadata.annotations["example.com/handled"] = "yes"
    kopf.info(body, reason="Handled", message="seen by the operator")

@kopf.on.delete("pods")
def deleted(body, **_):
    kopf.info(body, reason="Deleting", message="cleaning up")
"""


def wait_for(check: Callable[[], bool], what: str, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}; the operator's log:\n{log.read_text()}"
        time.sleep(0.1)


@pytest.fixture
def operator(open_cluster: Cluster, tmp_path: Path, ns: str) -> Iterator[Path]:
    """``kopf run --standalone -n <ns>`` with the cluster's kubeconfig; yields its log."""
    (tmp_path / "operator.py").write_text(OPERATOR)
    log = tmp_path / "kopf.log"
    env = {**os.environ, "KUBECONFIG": str(open_cluster.kubeconfig)}
    cmd = [sys.executable, "-m", "kopf", "run", "--standalone", "-n", ns, str(tmp_path / "operator.py")]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        yield log
    finally:
        process.terminate()
        process.wait(15)


def test_a_kopf_operator_handles_pods_with_finalizers_and_events(
    open_cluster: Cluster, operator: Path, ns: str
) -> None:
    with open_cluster.server.client() as api:
        create(api, ns, pod_manifest("web"))
        pod_url = f"/api/v1/namespaces/{ns}/pods/web"

        def annotations() -> dict[str, str]:
            return api.get(pod_url).json()["metadata"].get("annotations") or {}

        def reasons() -> list[str]:
            items = api.get(f"/api/v1/namespaces/{ns}/events").json()["items"]
            return sorted(e["reason"] for e in items if e["involvedObject"]["name"] == "web")

        wait_for(
            lambda: annotations().get("example.com/handled") == "yes",
            "the create handler never ran",
            operator,
        )
        pod = api.get(pod_url).json()
        assert "kopf.zalando.org/KopfFinalizerMarker" in pod["metadata"]["finalizers"]
        assert "kopf.zalando.org/last-handled-configuration" in pod["metadata"]["annotations"]
        wait_for(lambda: reasons() == ["Handled"], "no event was posted", operator)
        assert api.delete(pod_url).status_code == 200
        wait_for(lambda: api.get(pod_url).status_code == 404, "the finalizer was never released", operator)
        assert reasons() == ["Deleting", "Handled"]
    assert "Deletion is processed: 1 succeeded" in operator.read_text()
