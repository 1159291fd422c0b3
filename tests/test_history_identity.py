"""Redis losing the history under running replicas: emptied, or back at an older state.

Each replica notices (the log's epoch, or a log head behind its view), rebuilds its view from
what Redis holds, ends its open watches with 410 so their clients relist, and never serves a
mix of the two histories; resourceVersions are not given out twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import redis

from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.storage.store import HistoryChanged, Store, connect

from .conftest import Server, pod_manifest, start_server
from .watch_support import RawWatch

NS = "history"
PODS = f"/api/v1/namespaces/{NS}/pods"
DETECTED_WITHIN_S = 5.0  # the "time to readiness after Redis returns"


@pytest.fixture
def replicas(private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Server]]:
    admin = redis.Redis.from_url(private_redis.url)
    admin.flushall()
    servers = [start_server(private_redis.url, tmp_path_factory.mktemp(f"replica-{i}")) for i in range(2)]
    try:
        yield servers
    finally:
        for server in servers:
            server.stop()
        admin.close()


def _create(api: httpx.Client, name: str) -> int:
    created = api.post(PODS, json=pod_manifest(name))
    assert created.status_code == 201, created.text
    return int(created.json()["metadata"]["resourceVersion"])


def _names(api: httpx.Client) -> list[str] | None:
    """The pods of a consistent list, or None while the replica answers 429 (rebuilding)."""
    listed = api.get(PODS)
    if listed.status_code == 429:
        assert listed.json()["reason"] == "TooManyRequests"
        return None
    assert listed.status_code == 200, listed.text
    return sorted(p["metadata"]["name"] for p in listed.json()["items"])


def _until_listed(api: httpx.Client, expected: list[str]) -> float:
    """Poll consistent lists until they show ``expected``; every answer before must be a 429,
    never the other history. Returns how long it took."""
    started = time.monotonic()
    while (names := _names(api)) != expected:
        assert names is None, f"served {names} while Redis holds {expected}"
        assert time.monotonic() - started < DETECTED_WITHIN_S, "not rebuilt in time"
        time.sleep(0.05)
    return time.monotonic() - started


def _rebuilds(server: Server) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    return float(next(line.split()[1] for line in text.splitlines() if line.startswith("watchcache_view_rebuilds")))


def _ends_with_410(watch: RawWatch) -> None:
    events = watch.read_to_end(DETECTED_WITHIN_S + 5)
    assert events and events[-1]["type"] == "ERROR", events
    assert events[-1]["object"]["code"] == 410 and events[-1]["object"]["reason"] == "Expired"


@pytest.mark.e2e
def test_an_emptied_redis_is_a_new_history(private_redis: EmbeddedRedis, replicas: list[Server]) -> None:
    a, b = replicas
    with a.client() as api_a, b.client() as api_b:
        old_rvs = [_create(api_a, f"old-{i}") for i in range(3)]
        assert _names(api_b) == ["old-0", "old-1", "old-2"]
        watches = [RawWatch(s.url, PODS, {"watch": "1", "resourceVersion": str(old_rvs[-1])}) for s in replicas]
        admin = redis.Redis.from_url(private_redis.url)
        admin.flushall()
        admin.close()
        for api in (api_a, api_b):
            _until_listed(api, [])  # 429 until rebuilt, then empty: never the vanished pods
        for watch in watches:
            _ends_with_410(watch)
            watch.close()
        new_rv = _create(api_b, "new")
        assert new_rv > old_rvs[-1]  # no resourceVersion is given out twice
        _until_listed(api_a, ["new"])
        resumed = api_a.get(PODS, params={"watch": "1", "resourceVersion": str(old_rvs[0])})
        assert '"code":410' in resumed.text  # an rv of the lost history cannot be resumed from
    assert _rebuilds(a) >= 1 and _rebuilds(b) >= 1
    assert "rebuilding the view from Redis" in a.log.read_text()


@pytest.mark.e2e
def test_a_redis_back_at_an_older_state_loses_only_the_newer_events(
    private_redis: EmbeddedRedis, replicas: list[Server]
) -> None:
    a, b = replicas
    admin = redis.Redis.from_url(private_redis.url)
    with a.client() as api_a, b.client() as api_b:
        kept_rv = _create(api_a, "kept")
        snapshot = {key: admin.dump(key) for key in admin.keys("{wc}*")}  # as an RDB taken now
        lost_rv = _create(api_a, "lost")
        assert _names(api_b) == ["kept", "lost"]
        admin.flushall()  # Redis restarts from the older snapshot
        for key, value in snapshot.items():
            admin.restore(key, 0, value)
        for api in (api_a, api_b):
            _until_listed(api, ["kept"])
        again_rv = _create(api_b, "after")
        assert again_rv > lost_rv  # the rvs the lost events had are not given out again
        _until_listed(api_a, ["after", "kept"])
        lost = api_a.get(PODS, params={"watch": "1", "resourceVersion": str(lost_rv)})
        assert '"code":410' in lost.text  # a client that saw "lost" must relist
        with RawWatch(a.url, PODS, {"watch": "1", "resourceVersion": str(kept_rv)}) as watch:
            (event,) = watch.read_count(1, 5)  # before the loss: still resumable, no gap
            assert (event["type"], event["object"]["metadata"].get("name")) == ("ADDED", "after"), event
    admin.close()
    assert _rebuilds(a) >= 1 and _rebuilds(b) >= 1  # the one that noticed, and the other


@pytest.mark.e2e
def test_a_head_read_while_the_tailer_moves_on_is_no_loss(replicas: list[Server]) -> None:
    """A consistent read's head is a moment old when it arrives; the tailer may have applied
    newer events meanwhile. That is not Redis losing them: no rebuild, no 429."""
    a, b = replicas
    done = threading.Event()

    def write() -> None:
        with a.client() as api:
            for i in range(400):
                assert api.post(PODS, json=pod_manifest(f"racing-{i}")).status_code == 201
        done.set()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    with b.client() as api:
        while not done.is_set():
            assert api.get(PODS, params={"limit": "1"}).status_code == 200
    writer.join()
    assert _rebuilds(a) == 0 and _rebuilds(b) == 0


async def test_a_write_decided_in_another_history_is_refused(private_redis: EmbeddedRedis) -> None:
    client = connect(private_redis.url)
    store = Store(client, prefix="{history-unit}")
    try:
        await store.claim()
        pod = {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}}
        rv = (await store.write("pods", "ns/p", "ADDED", pod, expected_rv=None, seen_rv=0)).rv
        with pytest.raises(HistoryChanged):  # the writer's view is ahead of the log's head
            await store.write("pods", "ns/q", "ADDED", dict(pod), expected_rv=None, seen_rv=rv + 5)
        await client.set(store.epoch_key, "another")
        with pytest.raises(HistoryChanged):  # the log is another history's
            await store.write("pods", "ns/q", "ADDED", dict(pod), expected_rv=None, seen_rv=rv)
        assert await store.head() == rv  # neither refused write took an rv
    finally:
        await store.close()
        await client.aclose()
