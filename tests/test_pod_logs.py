"""``GET .../log``: option errors, container choice, stored lines with filters, follow, clients."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime

import httpx
import pytest
from kubernetes import client, config
from redis.asyncio import Redis

from watchcache.kinds.pods.logs import timestamp_nano
from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.storage.store import Store

from .conftest import Cluster, Server, pod_manifest

MERGE = {"Content-Type": "application/merge-patch+json"}


def append(
    redis_url: str, ns: str, pod: str, container: str, lines: list[str], *, previous: bool = False
) -> None:
    async def run() -> None:
        redis = Redis.from_url(redis_url)
        store = Store(redis)
        stamp = timestamp_nano(datetime.now(UTC))
        key = store.container_log_key(ns, pod, container, previous=previous)
        await store.append_log(key, [(stamp, line.encode() + b"\n") for line in lines])
        await redis.aclose()

    asyncio.run(run())


def scheduled(api: httpx.Client, ns: str, name: str = "web", **spec: object) -> None:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(name, nodeName="node-1", **spec))
    assert response.status_code == 201, response.text


def test_stored_lines_are_served_as_text(api: httpx.Client, redis_server: EmbeddedRedis, ns: str) -> None:
    scheduled(api, ns)
    append(redis_server.url, ns, "web", "web", ["one", "two", "three"])
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web/log")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "one\ntwo\nthree\n"


def test_tail_limit_and_timestamps(api: httpx.Client, redis_server: EmbeddedRedis, ns: str) -> None:
    scheduled(api, ns)
    append(redis_server.url, ns, "web", "web", ["one", "two", "three"])
    url = f"/api/v1/namespaces/{ns}/pods/web/log"
    assert api.get(url, params={"tailLines": 2}).text == "two\nthree\n"
    assert api.get(url, params={"tailLines": 0}).text == ""
    assert api.get(url, params={"limitBytes": 6}).text == "one\ntw"
    stamped = api.get(url, params={"timestamps": "true", "tailLines": 1}).text
    stamp, _, line = stamped.partition(" ")
    assert line == "three\n" and stamp.endswith("Z") and len(stamp) == len("2024-05-01T10:00:00.123456789Z")


def test_unscheduled_pod_answers_204(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("web"))
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web/log")
    assert response.status_code == 204 and response.content == b""


@pytest.mark.parametrize(
    ("query", "code", "message"),
    [
        (
            {"tailLines": "-1"},
            422,
            'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
        ),
        (
            {"limitBytes": "0"},
            422,
            'PodLogOptions "web" is invalid: limitBytes: Invalid value: 0: must be greater than 0',
        ),
        (
            {"sinceSeconds": "5", "sinceTime": "2024-05-01T10:00:00Z"},
            422,
            'PodLogOptions "web" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified',
        ),
        ({"tailLines": "abc"}, 400, 'strconv.ParseInt: parsing "abc": invalid syntax'),
        ({"container": "foo"}, 400, "container foo is not valid for pod web"),
        ({"previous": "true"}, 400, 'previous terminated container "web" in pod "web" not found'),
    ],
)
def test_bad_log_requests(api: httpx.Client, ns: str, query: dict, code: int, message: str) -> None:
    scheduled(api, ns)
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web/log", params=query)
    assert response.status_code == code
    assert response.json()["message"] == message


def test_several_containers_need_a_name(api: httpx.Client, ns: str) -> None:
    manifest = pod_manifest("web", nodeName="node-1")
    manifest["spec"]["containers"].append({"name": "side", "image": "busybox"})
    manifest["spec"]["initContainers"] = [{"name": "init", "image": "busybox"}]
    api.post(f"/api/v1/namespaces/{ns}/pods", json=manifest)
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web/log")
    assert response.status_code == 400
    assert (
        response.json()["message"]
        == "a container name must be specified for pod web, choose one of: [init web side]"
    )


def test_missing_pod_is_404(api: httpx.Client, ns: str) -> None:
    assert api.get(f"/api/v1/namespaces/{ns}/pods/nope/log").json()["message"] == 'pods "nope" not found'


def test_follow_streams_new_lines_until_the_pod_completes(
    server: Server, redis_server: EmbeddedRedis, ns: str
) -> None:
    with server.client() as api:
        scheduled(api, ns)
        append(redis_server.url, ns, "web", "web", ["before"])
        received: list[str] = []

        def follow() -> None:
            with api.stream("GET", f"/api/v1/namespaces/{ns}/pods/web/log", params={"follow": "true"}) as r:
                received.extend(r.iter_lines())

        reader = threading.Thread(target=follow)
        reader.start()
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        append(redis_server.url, ns, "web", "web", ["after"])
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = {"status": {"phase": "Succeeded"}}
        api.patch(f"/api/v1/namespaces/{ns}/pods/web/status", json=status, headers=MERGE)
        reader.join(10)
        assert not reader.is_alive(), "the followed log did not end when the pod completed"
    assert received == ["before", "after"]


@pytest.mark.e2e
def test_kubectl_logs_and_python_client(
    cluster: Cluster, redis_server: EmbeddedRedis, ns: str, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, pod_manifest("web", nodeName="node-1"))
    append(redis_server.url, ns, "web", "web", ["hello", "world"])
    assert core.read_namespaced_pod_log("web", ns) == "hello\nworld\n"
    api_client.close()
    if shutil.which("kubectl"):
        out = subprocess.run(
            ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(tmp_path / "c"),
             "logs", "web", "-n", ns, "--tail", "1"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert out.stdout == "world\n"
