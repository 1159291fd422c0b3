"""The audit trail: every version in the log records who wrote it, and an object's history —
every retained version with its author, time and verb, its objects, a diff between two — is
served on an extension path, authorized as a get of the object, and printed by
``watchcache history``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from watchcache.process.embedded_redis import EmbeddedRedis

from .conftest import Server, pod_manifest, start_guarded_server

V = '"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy"'
POLICY = f'{{{V}, "spec": {{"user": "bob", "namespace": "audit", "resource": "*", "apiGroup": "*"}}}}\n'
TOKENS = {"alice": "t-alice", "bob": "t-bob", "dave": "t-dave"}
POD = "/api/v1/namespaces/audit/pods/web"
HISTORY = "/apis/history.watchcache.io/v1/namespaces/audit/pods/web"


@pytest.fixture(scope="module")
def audited(private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_guarded_server(private_redis.url, tmp_path_factory.mktemp("audit"), TOKENS, POLICY)
    yield srv
    srv.stop()


def _as(server: Server, user: str, agent: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[user]}", "User-Agent": agent}
    return httpx.Client(base_url=server.url, verify=False, timeout=10, headers=headers)


@pytest.fixture(scope="module")
def written(audited: Server) -> list[str]:
    """alice creates the pod, bob labels it (merge patch, his own field manager), alice deletes it."""
    with _as(audited, "alice", "kubectl/v1.32.0 (linux/amd64)") as alice, _as(audited, "bob", "b-tool/2") as bob:
        created = alice.post("/api/v1/namespaces/audit/pods", json=pod_manifest("web"))
        labelled = bob.patch(POD, params={"fieldManager": "labeller"}, json={"metadata": {"labels": {"a": "1"}}},
                             headers={"Content-Type": "application/merge-patch+json"})  # fmt: skip
        deleted = alice.delete(POD)
    assert (created.status_code, labelled.status_code, deleted.status_code) == (201, 200, 200)
    return [r.json()["metadata"]["resourceVersion"] for r in (created, labelled, deleted)]


@pytest.mark.e2e
def test_the_history_lists_each_version_with_its_author(audited: Server, written: list[str]) -> None:
    with _as(audited, "bob", "curl/8") as bob:
        answer = bob.get(HISTORY)
    assert answer.status_code == 200, answer.text
    items = answer.json()["items"]
    summary = [(i["type"], i["user"], i["verb"], i["fieldManager"], i["userAgent"]) for i in items]
    kubectl = "kubectl/v1.32.0 (linux/amd64)"
    assert summary == [
        ("ADDED", "alice", "create", "kubectl", kubectl),
        ("MODIFIED", "bob", "patch", "labeller", "b-tool/2"),
        ("MODIFIED", "alice", "delete", "kubectl", kubectl),  # marked for deletion, then gone
        ("DELETED", "alice", "delete", "kubectl", kubectl),
    ]  # the pod is gone: its history is found in the log
    assert [items[0]["resourceVersion"], items[1]["resourceVersion"], items[3]["resourceVersion"]] == written
    assert all(i["time"].endswith("Z") and "object" not in i for i in items)


@pytest.mark.e2e
def test_the_history_gives_objects_and_diffs(audited: Server, written: list[str]) -> None:
    with _as(audited, "bob", "curl/8") as bob:
        objects = bob.get(HISTORY, params={"objects": "true"}).json()["items"]
        diff = bob.get(HISTORY, params={"diff": f"{written[0]},{written[1]}"}).json()
        bad = bob.get(HISTORY, params={"diff": "1,2"})
    # each version's object, stamped with its own resourceVersion
    assert [o["object"]["metadata"]["resourceVersion"] for o in objects] == [o["resourceVersion"] for o in objects]
    assert [objects[0]["resourceVersion"], objects[1]["resourceVersion"], objects[3]["resourceVersion"]] == written
    assert objects[3]["object"]["metadata"]["deletionTimestamp"]  # the last state, as deleted
    assert {"op": "add", "path": "/metadata/labels", "value": {"a": "1"}} in diff["patch"]
    assert bad.status_code == 400 and "want two of this object's resourceVersions" in bad.json()["message"]


@pytest.mark.e2e
def test_the_history_is_authorized_as_a_get_of_the_object(audited: Server, written: list[str]) -> None:
    with _as(audited, "dave", "curl/8") as dave:
        denied = dave.get(HISTORY)
    assert denied.status_code == 403
    assert denied.json()["message"] == (
        'pods "web" is forbidden: User "dave" cannot get resource "pods" in API group "" in the '
        'namespace "audit": No policy matched.'
    )
    with _as(audited, "alice", "curl/8") as alice:
        assert alice.get("/apis/history.watchcache.io/v1/namespaces/audit/pods/never").status_code == 404


@pytest.mark.e2e
def test_watchcache_history_prints_a_table(audited: Server, written: list[str], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watchcache", "history", "--server", audited.url, "--token", TOKENS["bob"],
         "--insecure-skip-tls-verify", "-n", "audit", "pods/web"], capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["REVISION", "TIME", "TYPE", "USER", "VERB", "MANAGER", "USER", "AGENT"]
    rows = [line.split() for line in lines[1:]]
    assert [rows[0][0], rows[1][0], rows[3][0]] == written
    assert [row[2:6] for row in rows] == [
        ["ADDED", "alice", "create", "kubectl"],
        ["MODIFIED", "bob", "patch", "labeller"],
        ["MODIFIED", "alice", "delete", "kubectl"],
        ["DELETED", "alice", "delete", "kubectl"],
    ]
