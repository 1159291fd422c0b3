"""``GET .../log``: option errors, container choice, stored lines with filters, follow, clients."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config

from watchcache.process.embedded_redis import EmbeddedRedis

from .conftest import Cluster, Server, pod_manifest, start_server

MERGE = {"Content-Type": "application/merge-patch+json"}


LOGS = "/apis/logs.watchcache.io/v1/namespaces/{ns}/pods/{pod}/log"
TEXT = {"content-type": "text/plain"}


def append(api: httpx.Client, ns: str, pod: str, lines: list[str], **params: str) -> None:
    """Write a container's lines as a kubelet stand-in does: through the ingestion API."""
    body = "".join(line + "\n" for line in lines)
    response = api.post(LOGS.format(ns=ns, pod=pod), params=params, content=body, headers=TEXT)
    assert response.status_code == 204, response.text


def cluster_client(cluster: Cluster) -> httpx.Client:
    if cluster.token is None:
        return cluster.server.client()
    headers = {"authorization": f"Bearer {cluster.token}"}
    return cluster.server.client(verify=cluster.ssl_context(), headers=headers)


def scheduled(api: httpx.Client, ns: str, name: str = "web", **spec: object) -> None:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(name, nodeName="node-1", **spec))
    assert response.status_code == 201, response.text


def test_stored_lines_are_served_as_text(api: httpx.Client, ns: str) -> None:
    scheduled(api, ns)
    append(api, ns, "web", ["one", "two", "three"])
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web/log")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "one\ntwo\nthree\n"


def test_tail_limit_and_timestamps(api: httpx.Client, ns: str) -> None:
    scheduled(api, ns)
    append(api, ns, "web", ["one", "two", "three"])
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


def follow_in_thread(api: httpx.Client, ns: str, received: list[str]) -> threading.Thread:
    """``kubectl logs -f web`` in a thread, appending the lines to ``received``; returns once
    the first line has come."""

    def follow() -> None:
        with api.stream("GET", f"/api/v1/namespaces/{ns}/pods/web/log", params={"follow": "true"}) as r:
            received.extend(r.iter_lines())

    reader = threading.Thread(target=follow)
    reader.start()
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    return reader


def test_follow_streams_new_lines_until_the_pod_completes(server: Server, ns: str) -> None:
    with server.client() as api:
        scheduled(api, ns)
        append(api, ns, "web", ["before"])
        received: list[str] = []
        reader = follow_in_thread(api, ns, received)
        deadline = time.monotonic() + 5
        append(api, ns, "web", ["after"])
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        status = {"status": {"phase": "Succeeded"}}
        api.patch(f"/api/v1/namespaces/{ns}/pods/web/status", json=status, headers=MERGE)
        reader.join(10)
        assert not reader.is_alive(), "the followed log did not end when the pod completed"
    assert received == ["before", "after"]


@pytest.mark.e2e
def test_kubectl_logs_and_python_client(cluster: Cluster, ns: str, tmp_path: Path) -> None:
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    core = client.CoreV1Api(api_client)
    core.create_namespaced_pod(ns, pod_manifest("web", nodeName="node-1"))
    with cluster_client(cluster) as api:  # the token of an administrator, on the secure one
        append(api, ns, "web", ["hello", "world"])
    assert core.read_namespaced_pod_log("web", ns) == "hello\nworld\n"
    api_client.close()
    if shutil.which("kubectl"):
        out = subprocess.run(
            ["kubectl", "--kubeconfig", str(cluster.kubeconfig), "--cache-dir", str(tmp_path / "c"),
             "logs", "web", "-n", ns, "--tail", "1"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert out.stdout == "world\n"


# --- ingestion: POST /apis/logs.watchcache.io/v1/namespaces/NS/pods/NAME/log ------------------


def test_lines_posted_with_their_times_are_read_by_those_times(api: httpx.Client, ns: str) -> None:
    """``timestamps=true``: each line starts with its time, as ``kubectl logs --timestamps``
    prints it; ``sinceTime`` then reads by the lines' own times."""
    scheduled(api, ns)
    body = (
        "2026-12-06T10:00:00.5Z first\n2026-12-06T11:00:00+01:00 second\n2026-12-06T10:30:00.123456789Z third"
    )
    response = api.post(
        LOGS.format(ns=ns, pod="web"), params={"timestamps": "true"}, content=body, headers=TEXT
    )
    assert response.status_code == 204, response.text
    url = f"/api/v1/namespaces/{ns}/pods/web/log"
    assert api.get(url, params={"timestamps": "true"}).text == (
        "2026-12-06T10:00:00.500000000Z first\n"
        "2026-12-06T10:00:00.000000000Z second\n"
        "2026-12-06T10:30:00.123456789Z third\n"
    )
    assert api.get(url, params={"sinceTime": "2026-12-06T10:15:00Z"}).text == "third\n"


def test_a_restarted_container_keeps_its_previous_instances_log(api: httpx.Client, ns: str) -> None:
    scheduled(api, ns)
    append(api, ns, "web", ["first run"])
    status = {"status": {"containerStatuses": [{"name": "web", "restartCount": 1, "ready": True,
                                                "image": "nginx", "imageID": "", "state": {}}]}}  # fmt: skip
    assert (
        api.patch(f"/api/v1/namespaces/{ns}/pods/web/status", json=status, headers=MERGE).status_code == 200
    )
    append(api, ns, "web", ["second run"])
    url = f"/api/v1/namespaces/{ns}/pods/web/log"
    assert api.get(url).text == "second run\n"
    assert api.get(url, params={"previous": "true"}).text == "first run\n"


def test_a_pod_made_again_under_its_name_starts_with_no_log(api: httpx.Client, ns: str) -> None:
    scheduled(api, ns)
    append(api, ns, "web", ["of the first pod"])
    assert (
        api.delete(f"/api/v1/namespaces/{ns}/pods/web", params={"gracePeriodSeconds": "0"}).status_code == 200
    )
    scheduled(api, ns)
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web/log").text == ""


@pytest.mark.parametrize(
    ("path", "params", "body", "headers", "code", "message"),
    [
        ("nope", {}, b"x\n", TEXT, 404, 'pods "nope" not found'),
        ("web", {"container": "db"}, b"x\n", TEXT, 400, "container db is not valid for pod web"),
        ("web", {}, b"ok\n\xff\xfe\n", TEXT, 400, "log lines must be UTF-8 text: byte 3 is not"),
        ("web", {}, b"x" * 16385, TEXT, 400, "log line 1 is 16385 bytes long: a line is at most 16384"),
        ("web", {}, b"", TEXT, 400, "the body holds no log lines"),
        ("web", {"timestamps": "true"}, b"yesterday hello\n", TEXT, 400,
         'log line 1 does not start with an RFC 3339 time and a space: "yesterday"'),
        ("web", {}, b'{"l":"x"}', {"content-type": "application/json"}, 415,
         "the body of the request was in an unknown format - accepted media types include: text/plain"),
        ("idle", {}, b"x\n", TEXT, 400, "pod idle is not scheduled to a node: its containers have no logs"),
    ],
)  # fmt: skip
def test_bad_log_writes_get_a_status(
    api: httpx.Client, ns: str, path: str, params: dict, body: bytes, headers: dict, code: int, message: str
) -> None:
    scheduled(api, ns)
    api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("idle")).raise_for_status()
    response = api.post(LOGS.format(ns=ns, pod=path), params=params, content=body, headers=headers)
    assert (response.status_code, response.json()["message"]) == (code, message)
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web/log").text == ""  # nothing of it was kept


@pytest.fixture(scope="module")
def capped_server(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Small log caps, and tokens of an administrator, a node and a developer."""
    workdir = tmp_path_factory.mktemp("capped-logs")
    tokens = workdir / "tokens.csv"
    tokens.write_text(
        'admin-token,admin,1,"system:masters"\nnode-token,system:node:node-1,2,"system:nodes"\n'
        'dev-token,bob,3,"developers"\n'
    )
    args = ("--log-retention-lines", "3", "--log-retention-bytes", "16400", "--token-file", str(tokens))
    srv = start_server(redis_server.url, workdir, *args, scheme="https", verify=False)
    try:
        yield srv
    finally:
        srv.stop()


def test_logs_keep_their_newest_lines_within_the_line_and_byte_caps(capped_server: Server, ns: str) -> None:
    with capped_server.client(verify=False, headers={"authorization": "Bearer node-token"}) as api:
        scheduled(api, ns)
        append(api, ns, "web", ["1", "2", "3", "4", "5"])
        url = f"/api/v1/namespaces/{ns}/pods/web/log"
        assert api.get(url).text == "3\n4\n5\n"  # --log-retention-lines 3
        big, bigger = "x" * 16_000, "y" * 16_000
        append(api, ns, "web", [big])
        assert api.get(url).text == "4\n5\n" + big + "\n"
        append(api, ns, "web", ["z", bigger])
        assert api.get(url).text == "z\n" + bigger + "\n"  # --log-retention-bytes 16400


def test_only_nodes_and_administrators_write_logs(capped_server: Server, ns: str) -> None:
    with capped_server.client(verify=False, headers={"authorization": "Bearer admin-token"}) as admin:
        scheduled(admin, ns)
        append(admin, ns, "web", ["by an administrator"])
    with capped_server.client(verify=False, headers={"authorization": "Bearer dev-token"}) as dev:
        response = dev.post(LOGS.format(ns=ns, pod="web"), content="by bob\n", headers=TEXT)
        assert response.status_code == 403
        assert response.json()["message"] == (
            f'pods "web" is forbidden: User "bob" cannot create resource "pods/log" in API group '
            f'"logs.watchcache.io" in the namespace "{ns}"'
        )
        assert dev.get(f"/api/v1/namespaces/{ns}/pods/web/log").text == "by an administrator\n"
    anonymous = httpx.post(capped_server.url + LOGS.format(ns=ns, pod="web"), content="x\n", headers=TEXT,
                           verify=False)  # fmt: skip
    assert anonymous.status_code == 401


def test_a_followed_log_ends_when_its_pod_is_deleted(server: Server, ns: str) -> None:
    with server.client() as api:
        scheduled(api, ns)
        append(api, ns, "web", ["only"])
        received: list[str] = []
        reader = follow_in_thread(api, ns, received)
        api.delete(f"/api/v1/namespaces/{ns}/pods/web", params={"gracePeriodSeconds": "0"}).raise_for_status()
        reader.join(10)
        assert not reader.is_alive(), "the followed log did not end when the pod was deleted"
    assert received == ["only"]
