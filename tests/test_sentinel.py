"""Redis Sentinel: a replica finds the master through Sentinel and, after a failover, goes on
with the new master without a restart: writes succeed again, reads see what was written before,
and an open watch carries on (the history is the same: no 410, no relist)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from watchcache.process.embedded_redis import REDIS_BINARY, find_free_port

from .conftest import Server, pod_manifest, start_server
from .watch_support import RawWatch

NS = "sentinel"
PODS = f"/api/v1/namespaces/{NS}/pods"
MASTER = "wc-master"


def _redis(workdir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], int]:
    port = find_free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    args = [REDIS_BINARY, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(workdir), *extra]  # fmt: skip
    return subprocess.Popen(args, stdout=subprocess.DEVNULL), port


def _until(condition: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


@dataclass
class Topology:
    master_port: int
    replica_port: int
    sentinel: redis.Redis
    sentinel_port: int

    def master(self) -> int:
        return int(self.sentinel.sentinel_get_master_addr_by_name(MASTER)[1])


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[Topology]:
    processes = []
    master, master_port = _redis(tmp_path / "master")
    processes.append(master)
    replica, replica_port = _redis(tmp_path / "replica", "--replicaof", "127.0.0.1", str(master_port))
    processes.append(replica)
    sentinel_port = find_free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 5000\n"
    )
    processes.append(subprocess.Popen([REDIS_BINARY, str(conf), "--sentinel"], stdout=subprocess.DEVNULL))
    sentinel = redis.Redis(port=sentinel_port, decode_responses=True)
    try:
        _until(lambda: redis.Redis(port=replica_port).info("replication")["master_link_status"] == "up",
               "the replica syncs")  # fmt: skip
        _until(lambda: len(sentinel.sentinel_slaves(MASTER)) == 1, "Sentinel sees the replica")
        yield Topology(master_port, replica_port, sentinel, sentinel_port)
    finally:
        for process in processes:
            process.kill()
            process.wait()


@pytest.mark.e2e
def test_a_failover_is_followed_without_a_restart(topology: Topology, tmp_path: Path) -> None:
    server: Server = start_server(
        None, tmp_path / "server", "--redis-sentinel", f"127.0.0.1:{topology.sentinel_port}", "--redis-master", MASTER
    )
    try:
        with server.client() as api:
            before = api.post(PODS, json=pod_manifest("before"))
            assert before.status_code == 201, before.text
            rv = before.json()["metadata"]["resourceVersion"]
            _until(lambda: int(redis.Redis(port=topology.replica_port).get("{wc}:rv") or 0) >= int(rv),
                   "the replica has the write")  # fmt: skip
            with RawWatch(server.url, PODS, {"watch": "1", "resourceVersion": rv}, timeout=30) as watch:
                assert topology.sentinel.execute_command("SENTINEL", "FAILOVER", MASTER)
                _until(lambda: topology.master() == topology.replica_port, "Sentinel names the new master")
                # until Sentinel has demoted the old master, it still takes writes, which its
                # demotion then drops (Redis replication is asynchronous; --min-replicas-acked
                # would answer them 504): the failover is over when it is a replica
                old_master = redis.Redis(port=topology.master_port)
                _until(lambda: old_master.info("replication")["role"] == "slave", "the old master is demoted")
                after = _write_until_accepted(api, "after")
                assert after.status_code == 201, after.text
                (event,) = watch.read_count(1, 15)  # the watch carried on: no 410, no relist
                assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "after")
            assert api.get(f"{PODS}/before").status_code == 200
            assert [p["metadata"]["name"] for p in api.get(PODS).json()["items"]] == ["after", "before"]
        new_master = redis.Redis(port=topology.replica_port)
        assert int(new_master.get("{wc}:rv") or 0) >= int(after.json()["metadata"]["resourceVersion"])
    finally:
        server.stop()
    assert "master 'wc-master' of Sentinels" in server.log.read_text()


def _write_until_accepted(api: httpx.Client, name: str) -> httpx.Response:
    """During the switch a write may get 503 (its connection met the demoted master)."""
    deadline = time.monotonic() + 15
    while True:
        response = api.post(PODS, json=pod_manifest(name))
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)
