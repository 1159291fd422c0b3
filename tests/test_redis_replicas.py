"""watchcache over a Redis primary with a replica.

--min-replicas-acked: a write is answered once Redis replicas confirm it (Redis WAIT), or
with 504 when they do not in time, and then it is applied on the primary (kube-apiserver's
timeout: the request may still take effect). Writes that change nothing keep their answers.
--redis-read-url: the log is read from the replica, and consistent reads stay consistent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from watchcache.process.embedded_redis import REDIS_BINARY, EmbeddedRedis, find_free_port

from .conftest import Server, eventually, pod_manifest, start_server
from .watch_support import RawWatch

NS = "acked"
PODS = f"/api/v1/namespaces/{NS}/pods"


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path_factory.mktemp("primary"), persistence=False) as server:
        yield server


@pytest.fixture(scope="module")
def replica(primary: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    port = find_free_port()
    args = [REDIS_BINARY, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_path_factory.mktemp("replica")), "--replicaof", "127.0.0.1", str(primary.port)]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            if client.info("replication").get("master_link_status") == "up":
                break
        except redis.ConnectionError:
            pass
        assert time.monotonic() < deadline, "the Redis replica did not sync"
        time.sleep(0.05)
    client.pid = process.pid  # type: ignore[attr-defined]
    yield client
    process.kill()
    process.wait()


@pytest.fixture(scope="module")
def server(primary: EmbeddedRedis, replica: redis.Redis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(primary.url, tmp_path_factory.mktemp("acked-server"),
                       "--min-replicas-acked", "1", "--min-replicas-acked-timeout", "300ms")  # fmt: skip
    yield srv
    srv.stop()


def test_an_answered_write_is_on_the_replica(server: Server, replica: redis.Redis) -> None:
    with server.client() as api:
        created = api.post(PODS, json=pod_manifest("confirmed"))
    assert created.status_code == 201, created.text
    rv = int(created.json()["metadata"]["resourceVersion"])
    assert int(replica.get("{wc}:rv") or 0) >= rv  # WAIT returned: the replica has it


def test_a_write_the_replicas_do_not_confirm_is_504_and_applied(server: Server, replica: redis.Redis) -> None:
    with server.client() as api:
        assert api.post(PODS, json=pod_manifest("taken")).status_code == 201
        os.kill(replica.pid, signal.SIGSTOP)  # type: ignore[attr-defined]
        try:
            started = time.monotonic()
            unconfirmed = api.post(PODS, json=pod_manifest("unconfirmed"))
            waited = time.monotonic() - started
            exists = api.post(PODS, json=pod_manifest("taken"))  # nothing to write: no wait matters
        finally:
            os.kill(replica.pid, signal.SIGCONT)  # type: ignore[attr-defined]
        assert unconfirmed.status_code == 504, unconfirmed.text
        status = unconfirmed.json()
        assert status["reason"] == "Timeout" and "the write was applied" in status["message"]
        assert "0 of the 1 Redis replicas" in status["message"]
        assert unconfirmed.headers["retry-after"] == "1"
        assert waited >= 0.3
        assert exists.status_code == 409 and exists.json()["reason"] == "AlreadyExists"
        assert api.get(f"{PODS}/unconfirmed").status_code == 200  # applied on the primary
        assert api.post(PODS, json=pod_manifest("after")).status_code == 201  # confirmed again


def test_the_embedded_redis_has_no_replicas_to_wait_for(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "watchcache", "serve", "--data-dir", str(tmp_path), "--min-replicas-acked", "1"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--min-replicas-acked needs --redis-url" in done.stderr


@pytest.fixture(scope="module")
def reading_server(
    primary: EmbeddedRedis, replica: redis.Redis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    replica_url = f"redis://127.0.0.1:{replica.connection_pool.connection_kwargs['port']}/0?client_name=reader"
    primary_url = f"{primary.url}?client_name=reader"  # its connections told apart from the other server's
    srv = start_server(primary_url, tmp_path_factory.mktemp("reading-server"), "--redis-read-url", replica_url)
    yield srv
    srv.stop()


def _commands(client: redis.Redis) -> list[str]:
    """The last command of each of the reading server's connections to this Redis."""
    return [c["cmd"] for c in client.client_list() if c["name"] == "reader"]


def test_the_log_is_read_from_the_redis_replica(
    reading_server: Server, primary: EmbeddedRedis, replica: redis.Redis
) -> None:
    """--redis-read-url: the tailer's XREADs go to the replica, none to the primary; the
    replica's view still serves consistent reads of what was just written."""
    primary_client = redis.Redis.from_url(primary.url)
    with reading_server.client() as api, RawWatch(reading_server.url, PODS, {"watch": "1"}) as watch:
        for i in range(5):
            assert api.post(PODS, json=pod_manifest(f"read-{i}")).status_code == 201
            assert api.get(f"{PODS}/read-{i}").status_code == 200  # consistent: waits for the head
        names = [e["object"]["metadata"]["name"] for e in watch.read_until(lambda e: e["object"]["metadata"]["name"] == "read-4", 10)]
        assert [n for n in names if n.startswith("read-")] == [f"read-{i}" for i in range(5)]
        # the tailer, blocked in XREAD on the replica (once its pause after a busy read is over)
        assert eventually(lambda: "xread" in _commands(replica), 5.0)
        assert "xread" not in _commands(primary_client) and _commands(primary_client)
    assert "the log read from redis://127.0.0.1" in reading_server.log.read_text()
    primary_client.close()
