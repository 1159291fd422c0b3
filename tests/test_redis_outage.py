"""Redis trouble seen from the API: a hung Redis gives 503 with Retry-After, never a hang or a
500; dropped connections are reopened without the client noticing; memory still serves rv=0."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.storage.store import HEAD_TIMEOUT_S, REDIS_TIMEOUT_S

from .conftest import Server, pod_manifest, start_server

NS = "outage"
POD = f"/api/v1/namespaces/{NS}/pods/steady"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def srv(private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_server(private_redis.url, tmp_path_factory.mktemp("outage-server"))
    with server.client() as api:
        created = api.post(f"/api/v1/namespaces/{NS}/pods", json=pod_manifest("steady"))
        assert created.status_code == 201, created.text
    yield server
    server.stop()


def test_reads_and_writes_go_on_after_redis_drops_every_connection(
    private_redis: EmbeddedRedis, srv: Server
) -> None:
    """As after a Redis restart: the first consistent reads reconnect instead of failing."""
    admin = redis.Redis.from_url(private_redis.url)
    with srv.client() as api:
        assert api.get(POD).status_code == 200
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 2  # the server's connections
        assert api.get(POD).status_code == 200
        assert api.get(f"/api/v1/namespaces/{NS}/pods").status_code == 200
        assert admin.client_kill_filter(_type="normal", skipme=True) >= 2
        patched = api.patch(POD, json={"metadata": {"labels": {"after": "kill"}}}, headers=MERGE)
        assert patched.status_code == 200, patched.text
    admin.close()


def redis_pid(private_redis: EmbeddedRedis) -> int:
    admin = redis.Redis.from_url(private_redis.url)
    pid = int(admin.info("server")["process_id"])
    admin.close()
    return pid


def test_a_hung_redis_makes_consistent_reads_answer_503_until_it_is_back(
    private_redis: EmbeddedRedis, srv: Server
) -> None:
    pid = redis_pid(private_redis)
    with srv.client() as api:
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            hung = api.get(POD)
            waited = time.monotonic() - started
            from_memory = api.get(POD, params={"resourceVersion": "0"})
        finally:
            os.kill(pid, signal.SIGCONT)
        assert hung.status_code == 503, hung.text
        assert hung.json()["reason"] == "ServiceUnavailable"
        assert hung.headers["Retry-After"] == "1"
        assert HEAD_TIMEOUT_S - 0.5 < waited < HEAD_TIMEOUT_S + 2
        assert from_memory.status_code == 200  # resourceVersion=0 needs no Redis
        assert api.get(POD).status_code == 200


def test_a_write_while_redis_hangs_answers_503_and_is_retried_fine(
    private_redis: EmbeddedRedis, srv: Server
) -> None:
    pid = redis_pid(private_redis)
    label = {"metadata": {"labels": {"hung": "yes"}}}
    with httpx.Client(base_url=srv.url, timeout=REDIS_TIMEOUT_S + 10) as api:
        os.kill(pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            hung = api.patch(POD, json=label, headers=MERGE)
            waited = time.monotonic() - started
        finally:
            os.kill(pid, signal.SIGCONT)
        assert hung.status_code == 503, hung.text
        assert hung.headers["Retry-After"] == "1"
        assert REDIS_TIMEOUT_S - 0.5 < waited < REDIS_TIMEOUT_S + 3, hung.text
        # Redis ran the patch once it woke, or not at all; a retry applies it either way
        retried = api.patch(POD, json=label, headers=MERGE)
        assert retried.status_code == 200, retried.text
        assert api.get(POD).json()["metadata"]["labels"]["hung"] == "yes"
