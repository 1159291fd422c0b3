"""``watchcache simulate``: nodes registered, pods scheduled and run as kubelets would, seen
through kubectl; and the pure rules of placement and pod status."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from watchcache.simulator.client import ApiError, Client
from watchcache.simulator.cluster import (
    RESTART_SECONDS,
    NodeState,
    fits,
    place,
    restart_seconds,
    restarted_status,
    run_seconds,
    running_status,
    tolerates,
)
from watchcache.simulator.simulate import not_served

from .conftest import Server, pod_manifest


def node(name: str, index: int = 0, **kw: Any) -> NodeState:
    return NodeState(name, index, kw.pop("labels", {}), kw.pop("taints", []), kw.pop("capacity", 110), **kw)


def test_placement_spreads_pods_and_says_why_nothing_fits() -> None:
    a, b = node("a", 0), node("b", 1)
    a.pods.add("ns/x")
    assert place(pod_manifest("p"), [a, b])[0] is b  # the least loaded
    picky = pod_manifest("p", nodeSelector={"zone": "z"})
    tainted = node("c", 2, taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}])
    full = node("d", 3, capacity=0, labels={"zone": "z"})
    assert place(picky, [a, tainted, full]) == (
        None, "0/3 nodes are available: 1 Too many pods, 2 node(s) didn't match Pod's node affinity/selector."
    )  # fmt: skip
    assert fits(pod_manifest("p"), tainted) == "node(s) had untolerated taint {dedicated: gpu}"
    tolerant = pod_manifest("p", tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert fits(tolerant, tainted) is None
    assert not tolerates([{"key": "dedicated", "value": "cpu"}], {"key": "dedicated", "value": "gpu"})
    assert fits(pod_manifest("p"), node("e", unschedulable=True)) == "node(s) were unschedulable"


def test_a_running_status_is_what_a_kubelet_reports() -> None:
    pod = pod_manifest("p")
    pod["metadata"]["uid"] = "u1"
    pod["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    status = running_status(pod, node("a", 7), "10.128.7.2", datetime(2026, 12, 7, tzinfo=UTC))
    assert status["phase"] == "Running" and status["podIP"] == "10.128.7.2" and status["hostIP"] == "10.0.7.1"
    assert {c["type"]: c["status"] for c in status["conditions"]}["Ready"] == "True"
    (web,) = status["containerStatuses"]
    assert web["ready"] and web["started"] and web["state"]["running"]["startedAt"] == "2026-12-07T00:00:00Z"
    assert status["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


def test_a_restart_keeps_the_last_instance_under_last_state() -> None:
    pod = pod_manifest("p")
    pod["metadata"].update(uid="u1", annotations={RESTART_SECONDS: "2"})
    pod["status"] = running_status(pod, node("a"), "10.128.0.2", datetime(2026, 12, 7, tzinfo=UTC))
    assert restart_seconds(pod) == 2.0
    (web,) = restarted_status(pod, datetime(2026, 12, 7, 0, 1, tzinfo=UTC))["containerStatuses"]
    assert web["restartCount"] == 1 and web["state"] == {"running": {"startedAt": "2026-12-07T00:01:00Z"}}
    assert web["lastState"]["terminated"]["startedAt"] == "2026-12-07T00:00:00Z"
    assert web["containerID"] != pod["status"]["containerStatuses"][0]["containerID"]
    assert restart_seconds(pod_manifest("q", restartPolicy="Never")) is None


def test_which_pods_finish_and_when() -> None:
    assert run_seconds(pod_manifest("p")) is None
    never = pod_manifest("p", restartPolicy="Never")
    assert run_seconds(never) is None  # no run time given: runs until deleted
    never["metadata"]["annotations"] = {"sim.watchcache.io/run-seconds": "2.5"}
    assert run_seconds(never) == 2.5
    job = pod_manifest("p")
    job["metadata"]["ownerReferences"] = [{"kind": "Job", "name": "j", "apiVersion": "batch/v1", "uid": "u"}]
    assert run_seconds(job) == 0.0


@pytest.fixture(scope="module", params=["shared-watch", "watch-per-node"])
def simulator(
    private_server: Server, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[subprocess.Popen[bytes]]:
    """The simulator with one shared pod watch, and with a watch per node (as kubelets)."""
    log = tmp_path_factory.mktemp("simulator") / "simulator.log"
    args = [sys.executable, "-m", "watchcache", "simulate", "--server", private_server.url, "--nodes", "3",
            "--node-label", "zone=a", "--log-interval", "0.5", "--node-heartbeat-seconds", "1"]  # fmt: skip
    if request.param == "watch-per-node":
        args.append("--watch-per-node")
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        with private_server.client() as api:
            wait_for(lambda: len(api.get("/api/v1/nodes").json()["items"]) == 3, "three nodes")
        yield process
    finally:
        process.terminate()
        process.wait(10)
        print(log.read_text())


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def phase(api: httpx.Client, ns: str, name: str) -> str:
    return api.get(f"/api/v1/namespaces/{ns}/pods/{name}").json().get("status", {}).get("phase", "")


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_the_simulated_cluster_runs_pods_as_kubectl_shows(
    private_server: Server, simulator: subprocess.Popen[bytes], ns: str, tmp_path: Path
) -> None:
    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", private_server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    nodes = kubectl("get", "nodes").splitlines()
    assert [line.split()[1] for line in nodes[1:]] == ["Ready"] * 3
    leases = kubectl("get", "leases", "-n", "kube-node-lease").splitlines()[1:]
    assert sorted(line.split()[:2] for line in leases) == [[f"sim-node-{i}"] * 2 for i in range(3)]
    with private_server.client() as api:
        for i in range(4):
            api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(f"web-{i}")).raise_for_status()
        picky = pod_manifest("picky", nodeSelector={"zone": "b"})
        api.post(f"/api/v1/namespaces/{ns}/pods", json=picky).raise_for_status()
        flaky = pod_manifest("flaky")
        flaky["metadata"]["annotations"] = {RESTART_SECONDS: "0.5"}
        api.post(f"/api/v1/namespaces/{ns}/pods", json=flaky).raise_for_status()
        job = pod_manifest("once", restartPolicy="Never")
        job["metadata"]["annotations"] = {"sim.watchcache.io/run-seconds": "0.5"}
        api.post(f"/api/v1/namespaces/{ns}/pods", json=job).raise_for_status()

        for i in range(4):
            wait_for(lambda i=i: phase(api, ns, f"web-{i}") == "Running", f"web-{i} Running")
        wait_for(lambda: phase(api, ns, "once") == "Succeeded", "once Succeeded")
        picky_status = wait_for(
            lambda: next((c for c in api.get(f"/api/v1/namespaces/{ns}/pods/picky").json()["status"].get(
                "conditions", []) if c["type"] == "PodScheduled"), None), "picky's PodScheduled condition",
        )  # fmt: skip
        assert (picky_status["status"], picky_status["reason"]) == ("False", "Unschedulable")
        assert picky_status["message"] == (
            "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
        )
        placed = [
            api.get(f"/api/v1/namespaces/{ns}/pods/web-{i}").json()["spec"]["nodeName"] for i in range(4)
        ]
        assert sorted(placed.count(n) for n in set(placed)) == [1, 1, 2]  # spread, least loaded first

    wide = {
        line.split()[0]: line.split() for line in kubectl("get", "pods", "-n", ns, "-o", "wide").splitlines()
    }
    assert wide["web-0"][1:3] == ["1/1", "Running"]
    assert wide["web-0"][5].startswith("10.128.") and wide["web-0"][6].startswith("sim-node-")
    assert wide["picky"][2] == "Pending" and wide["once"][2] == "Completed"
    kubectl("label", "node", "sim-node-0", "zone=b", "--overwrite")  # now a node fits it
    try:
        with private_server.client() as api:
            wait_for(lambda: phase(api, ns, "picky") == "Running", "picky Running once a node fits")
            assert api.get(f"/api/v1/namespaces/{ns}/pods/picky").json()["spec"]["nodeName"] == "sim-node-0"
    finally:
        kubectl("label", "node", "sim-node-0", "zone=a", "--overwrite")
    # the log of the instance now running starts with its restart; the one before is --previous
    wait_for(lambda: kubectl("logs", "flaky", "-n", ns).startswith("container web restarted ("), "a restart")
    assert int(kubectl("get", "pod", "flaky", "-n", ns).splitlines()[1].split()[3]) >= 1  # RESTARTS
    assert kubectl("logs", "flaky", "-n", ns, "--previous").startswith("container web ")
    logs = wait_for(
        lambda: (out := kubectl("logs", "web-0", "-n", ns)).count("\n") >= 2 and out, "two log lines"
    )
    assert logs.startswith("container web started on sim-node-")
    described = kubectl("describe", "pod", "web-0", "-n", ns)
    events = described[described.index("Events:") :]
    for reason in ("Scheduled", "Pulled", "Created", "Started"):
        assert reason in events
    kubectl(
        "delete", "pod", "web-0", "-n", ns, "--wait=true", "--timeout=20s"
    )  # graceful: the kubelet ends it
    assert "web-0" not in kubectl("get", "pods", "-n", ns)
    with private_server.client() as api:  # leave the nodes empty for the next simulator
        api.delete(f"/api/v1/namespaces/{ns}/pods").raise_for_status()
        wait_for(lambda: not api.get(f"/api/v1/namespaces/{ns}/pods").json()["items"], "the pods gone")


def test_a_path_the_server_lacks_is_told_from_an_object_it_lacks(private_server: Server) -> None:
    """The simulator stops writing logs or leases to a server without them (kube-apiserver has
    no log ingestion), not when one pod or lease is missing."""

    async def answers() -> tuple[bool, bool]:
        client = Client(private_server.url)
        try:
            results = []
            for path in (
                "/apis/nosuch.example.com/v1/namespaces/ns/things",
                "/api/v1/namespaces/default/pods/nope",
            ):
                try:
                    await client.call("GET", path)
                except ApiError as exc:
                    results.append(not_served(exc))
            return results[0], results[1]
        finally:
            await client.close()

    assert asyncio.run(answers()) == (True, False)
