"""Real watch clients against watchcache: ``kubectl get -w``, the Python client, an informer loop.

kubectl runs as a subprocess whose output is read for a bounded time, then it is killed. The
informer loop is client-go's reflector done by hand: list, watch from the list's rv, drop the
connection now and then and resume from the last seen rv on the *other* replica.
"""

from __future__ import annotations

import queue
import random
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client, watch

from .conftest import Cluster, Server, pod_manifest
from .watch_support import RawWatch, create, delete, patch_labels, summary

pytestmark = pytest.mark.e2e

needs_kubectl = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")


# ---- kubectl get -w ------------------------------------------------------------------------------


class KubectlWatch:
    """``kubectl -v=6 get ... -w`` with its stdout and stderr read line by line in threads."""

    def __init__(self, cluster: Cluster, tmp_path: Path, *args: str) -> None:
        cmd = [
            "kubectl", "-v=6", "--kubeconfig", str(cluster.kubeconfig),
            "--cache-dir", str(tmp_path / "kube-cache"), "get", *args, "-w",
        ]  # fmt: skip
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        self.rows: list[list[str]] = []
        self.log: list[str] = []
        for stream, sink in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream: object, sink: queue.Queue[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            sink.put(line.rstrip("\n"))

    def wait_for_watch_request(self, timeout: float = 10.0) -> str:
        """Block until kubectl logs its watch request's response (200): the watch is open."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.stderr.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise TimeoutError(f"kubectl opened no watch; stderr so far: {self.log}") from None
            self.log.append(line)
            if "watch=true" in line:
                assert " 200 OK " in line, line
                return line

    def wait_rows(
        self, predicate: Callable[[list[list[str]]], bool], timeout: float = 10.0
    ) -> list[list[str]]:
        deadline = time.monotonic() + timeout
        while not predicate(self.rows):
            try:
                line = self.stdout.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise TimeoutError(f"kubectl printed only {self.rows}") from None
            self.rows.append(line.split())
        return self.rows

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


@pytest.fixture
def kubectl_watches() -> Iterator[list[KubectlWatch]]:
    started: list[KubectlWatch] = []
    yield started
    for w in started:
        w.stop()


@needs_kubectl
def test_kubectl_get_pods_watch_prints_a_row_per_event(
    cluster: Cluster, tmp_path: Path, ns: str, kubectl_watches: list[KubectlWatch]
) -> None:
    with cluster.server.client(verify=False, headers=auth(cluster)) as api:
        create(api, ns, pod_manifest("old"))
        w = KubectlWatch(cluster, tmp_path, "pods", "-n", ns)
        kubectl_watches.append(w)
        request = w.wait_for_watch_request()
        assert re.search(r"resourceVersion=\d+", request), request  # from the list's rv
        w.wait_rows(lambda rows: len(rows) >= 2)
        create(api, ns, pod_manifest("web"))
        patch_labels(api, ns, "web", {"x": "1"})
        delete(api, ns, "web")
        rows = w.wait_rows(lambda rows: len(rows) >= 6)
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:3] for r in rows[1:]] == [
        ["old", "0/1", "Pending"],  # the list
        ["web", "0/1", "Pending"],  # ADDED
        ["web", "0/1", "Pending"],  # MODIFIED (label)
        ["web", "0/1", "Terminating"],  # MODIFIED (deletionTimestamp)
        ["web", "0/1", "Terminating"],  # DELETED
    ]


@needs_kubectl
def test_kubectl_get_pods_all_namespaces_watch_has_a_namespace_column(
    open_cluster: Cluster, tmp_path: Path, ns: str, kubectl_watches: list[KubectlWatch]
) -> None:
    with open_cluster.server.client() as api:
        create(api, ns, pod_manifest("old"))
        w = KubectlWatch(open_cluster, tmp_path, "pods", "-A")
        kubectl_watches.append(w)
        w.wait_for_watch_request()
        w.wait_rows(lambda rows: any(r[:2] == [ns, "old"] for r in rows))
        create(api, ns + "-b", pod_manifest("web"))
        delete(api, ns, "old")
        mine = lambda rows: [r[:4] for r in rows if r and r[0] in (ns, ns + "-b")]  # noqa: E731
        rows = w.wait_rows(lambda rows: len(mine(rows)) >= 4)
    assert rows[0][:3] == ["NAMESPACE", "NAME", "READY"]
    assert mine(rows) == [
        [ns, "old", "0/1", "Pending"],
        [ns + "-b", "web", "0/1", "Pending"],
        [ns, "old", "0/1", "Terminating"],
        [ns, "old", "0/1", "Terminating"],
    ]


@needs_kubectl
def test_kubectl_get_pod_name_watch_follows_that_pod_only(
    open_cluster: Cluster, tmp_path: Path, ns: str, kubectl_watches: list[KubectlWatch]
) -> None:
    with open_cluster.server.client() as api:
        create(api, ns, pod_manifest("web"))
        create(api, ns, pod_manifest("other"))
        w = KubectlWatch(open_cluster, tmp_path, "pod", "web", "-n", ns)
        kubectl_watches.append(w)
        request = w.wait_for_watch_request()
        # kubectl watches a single pod from rv 0 and drops the initial ADDED event it expects
        # (pkg/cmd/get/get.go watch(): "drop the initial watch event in the single resource case")
        assert "fieldSelector=metadata.name%3Dweb" in request and "resourceVersion=0" in request, request
        w.wait_rows(lambda rows: len(rows) >= 2)
        patch_labels(api, ns, "other", {"x": "1"})
        patch_labels(api, ns, "web", {"x": "1"})
        delete(api, ns, "web")
        rows = w.wait_rows(lambda rows: len(rows) >= 5)
        time.sleep(0.3)  # nothing else may follow (the other pod's change, a dropped ADDED)
        rows = w.wait_rows(lambda rows: w.stdout.empty())
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert [r[:3] for r in rows[1:]] == [
        ["web", "0/1", "Pending"],  # the GET
        ["web", "0/1", "Pending"],  # MODIFIED (label); the initial ADDED was dropped by kubectl
        ["web", "0/1", "Terminating"],
        ["web", "0/1", "Terminating"],
    ]


def auth(cluster: Cluster) -> dict[str, str]:
    return {"Authorization": f"Bearer {cluster.token}"} if cluster.token else {}


# ---- the Python client -------------------------------------------------------------------------


def test_python_client_watch_stream_from_a_resource_version(core: client.CoreV1Api, ns: str) -> None:
    start = core.list_namespaced_pod(ns).metadata.resource_version
    core.create_namespaced_pod(ns, pod_manifest("a", labels={"app": "web"}))
    core.patch_namespaced_pod("a", ns, {"metadata": {"labels": {"tier": "1"}}})
    core.create_namespaced_pod(ns, pod_manifest("b", labels={"app": "db"}))
    deleted = core.delete_namespaced_pod("a", ns)
    started = time.monotonic()
    events = list(
        watch.Watch().stream(
            core.list_namespaced_pod, ns, resource_version=start, timeout_seconds=1, _request_timeout=10
        )
    )
    assert time.monotonic() - started < 5  # timeout_seconds ended the stream; the client did not re-watch
    assert [(e["type"], e["object"].metadata.name) for e in events] == [
        ("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "a"),
    ]  # fmt: skip
    assert all(isinstance(e["object"], client.V1Pod) for e in events)
    assert events[-1]["object"].metadata.resource_version == deleted.metadata.resource_version
    rvs = [int(e["object"].metadata.resource_version) for e in events]
    assert rvs == sorted(set(rvs)) and rvs[0] > int(start)


def test_python_client_watch_stream_with_selector_and_initial_state(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("a", labels={"app": "web"}))
    core.create_namespaced_pod(ns, pod_manifest("b", labels={"app": "db"}))
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(
        core.list_namespaced_pod, ns, label_selector="app=web", timeout_seconds=5, _request_timeout=10
    ):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            core.patch_namespaced_pod("b", ns, {"metadata": {"labels": {"app": "web"}}})
        if len(seen) == 2:
            core.patch_namespaced_pod("a", ns, {"metadata": {"labels": {"app": "db"}}})
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("DELETED", "a")]


def test_python_client_passes_bookmarks_through(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("a"))
    w = watch.Watch()
    events = []
    for event in w.stream(
        core.list_namespaced_pod, ns, allow_watch_bookmarks=True, send_initial_events=True,
        resource_version_match="NotOlderThan", timeout_seconds=5, _request_timeout=10,
    ):  # fmt: skip
        events.append(event)
        if event["type"] == "BOOKMARK":
            w.stop()
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    bookmark = events[1]["object"]  # raw: the client does not deserialize bookmarks
    assert bookmark["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"


# ---- an informer loop across replicas --------------------------------------------------------------


class Writer(threading.Thread):
    """Creates, relabels and deletes pods on both replicas; records every acknowledged write."""

    def __init__(self, servers: list[Server], ns: str, ops: int, seed: int) -> None:
        super().__init__(daemon=True)
        self.servers, self.ns, self.ops = servers, ns, ops
        self.rng = random.Random(seed)
        self.acked: list[tuple[str, str, int]] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        clients = [s.client() for s in self.servers]
        alive: list[str] = []
        try:
            for i in range(self.ops):
                api = clients[i % len(clients)]
                roll = self.rng.random()
                if not alive or roll < 0.4:
                    name = f"p{i}"
                    pod = create(api, self.ns, pod_manifest(name))
                    alive.append(name)
                    kind = "ADDED"
                elif roll < 0.8:
                    name = self.rng.choice(alive)
                    pod = patch_labels(api, self.ns, name, {"v": str(i)})
                    kind = "MODIFIED"
                else:
                    name = alive.pop(self.rng.randrange(len(alive)))
                    pod = delete(api, self.ns, name)
                    kind = "DELETED"
                self.acked.append((kind, name, int(pod["metadata"]["resourceVersion"])))
            pod = create(clients[0], self.ns, pod_manifest("sentinel"))
            self.acked.append(("ADDED", "sentinel", int(pod["metadata"]["resourceVersion"])))
        except BaseException as exc:
            self.error = exc
        finally:
            for c in clients:
                c.close()

    def finish(self) -> None:
        self.join(30)
        assert not self.is_alive(), "writer did not finish"
        if self.error is not None:
            raise self.error


def test_informer_resumes_on_the_other_replica_without_missing_or_repeating(
    server: Server, second_server: Server, ns: str
) -> None:
    replicas = [server, second_server]
    with server.client() as api:
        create(api, ns, pod_manifest("seed"))
        # client-go's reflector: LIST with resourceVersion=0, then WATCH from the list's rv
        listed = api.get(
            f"/api/v1/namespaces/{ns}/pods", params={"resourceVersion": "0", "limit": "500"}
        ).json()
    cache = {p["metadata"]["name"]: p for p in listed["items"]}
    last_rv = listed["metadata"]["resourceVersion"]
    writer = Writer(replicas, ns, ops=150, seed=7)
    writer.start()
    received: list[dict] = []
    connections = 0
    deadline = time.monotonic() + 20
    while "sentinel" not in cache:
        assert time.monotonic() < deadline, "the informer did not catch up"
        replica = replicas[connections % 2]  # every reconnect goes to the other replica
        connections += 1
        params = {
            "watch": "true",
            "resourceVersion": last_rv,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": "300",
        }
        with RawWatch(replica.url, f"/api/v1/namespaces/{ns}/pods", params) as w:
            assert w.status == 200
            for _ in range(20):  # then drop the connection, as a network blip would
                try:
                    event = w.next_event(10)
                except TimeoutError:
                    if writer.error is not None:  # no sentinel will come: show why
                        raise writer.error from None
                    raise
                assert event is not None, "the stream ended early"
                last_rv = event["object"]["metadata"]["resourceVersion"]
                if event["type"] == "BOOKMARK":
                    continue
                received.append(event)
                name = event["object"]["metadata"]["name"]
                if event["type"] == "DELETED":
                    del cache[name]
                else:
                    cache[name] = event["object"]
                if name == "sentinel":
                    break
    writer.finish()
    assert connections >= 5
    got = summary(received)
    rvs = [rv for _, _, rv in got]
    assert rvs == sorted(set(rvs)), "an event was repeated or reordered across reconnects"
    acked = writer.acked
    assert [e for e in got if e in acked] == acked, "an acknowledged write was missed"
    # the only other events: the MODIFIED (deletionTimestamp) that precedes each DELETED
    extra = [(t, n) for t, n, rv in got if (t, n, rv) not in acked and n != "seed"]
    assert extra == [("MODIFIED", n) for t, n, _ in acked if t == "DELETED"]
    with second_server.client() as api:
        final = api.get(f"/api/v1/namespaces/{ns}/pods").json()
    assert {n: p["metadata"]["resourceVersion"] for n, p in cache.items()} == {
        p["metadata"]["name"]: p["metadata"]["resourceVersion"] for p in final["items"]
    }
