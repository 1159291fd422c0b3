"""Retention: the compactor trims by count and by age; watches from before it get 410 Expired."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from watchcache.kinds.pods import POD
from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.storage.compactor import Compactor
from watchcache.storage.store import Store

from .conftest import Server, pod_manifest, start_server

HOUR_S = 3600.0


@pytest.fixture
async def store(private_redis: EmbeddedRedis) -> AsyncIterator[Store]:
    """An empty store of the test's own (keys of another prefix than the module's server's:
    emptying the server's would make it rebuild its view under the next test)."""
    redis = Redis.from_url(private_redis.url)
    yield Store(redis, prefix=f"{{retention-{uuid.uuid4().hex}}}")
    await redis.aclose()


async def write_events(store: Store, count: int) -> int:
    rv = 0
    for i in range(count):
        pod = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": f"p{i}", "namespace": "d", "resourceVersion": ""},
        }
        rv = (await store.write("pods", f"d/p{i}", "ADDED", pod, expected_rv=None)).rv
    return rv


async def test_the_first_event_is_rv_2_because_1_names_the_empty_store(store: Store) -> None:
    """An empty store lists at rv "1" (never "0"); a watch from there must see the first write."""
    assert await store.head() == 0
    assert await write_events(store, 1) == 2


async def test_compactor_keeps_the_newest_events_by_count(store: Store) -> None:
    head = await write_events(store, 20)
    compactor = Compactor(store, retention_events=5, retention_seconds=HOUR_S)
    assert await compactor.compact_once() == 15
    assert await store.oldest_rv() == head - 4


async def test_compactor_drops_events_older_than_the_age_limit(store: Store) -> None:
    head = await write_events(store, 10)
    later = Compactor(
        store, retention_events=1000, retention_seconds=HOUR_S, clock=lambda: time.time() + 2 * HOUR_S
    )
    await later.compact_once()
    assert await store.oldest_rv() == head  # everything is old; the head event is kept


async def test_compactor_keeps_young_events(store: Store) -> None:
    await write_events(store, 10)
    compactor = Compactor(store, retention_events=1000, retention_seconds=HOUR_S)
    assert await compactor.compact_once() == 0
    assert await store.oldest_rv() == 2  # rv 1 is the empty store's


async def test_only_the_lease_holder_compacts(store: Store) -> None:
    await write_events(store, 10)
    first = Compactor(store, retention_events=2, retention_seconds=HOUR_S)
    second = Compactor(store, retention_events=2, retention_seconds=HOUR_S)
    assert await first.compact_once() == 8
    await write_events(store, 0)
    assert await second.compact_once() == 0  # the first still holds the lease


@pytest.fixture(scope="module")
def retention_server(
    private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    srv = start_server(private_redis.url, tmp_path_factory.mktemp("retention-server"))
    yield srv
    srv.stop()


async def trim_all_but_last(redis_url: str, keep: int) -> int:
    redis = Redis.from_url(redis_url)
    store = Store(redis)
    head = await store.head()
    await store.trim_before(head - keep + 1)
    await redis.aclose()
    return head


def read_events(response: httpx.Response) -> list[dict]:
    return [orjson.loads(line) for line in response.iter_lines() if line]


async def test_watch_from_before_retention_gets_a_410_error_event(
    retention_server: Server, private_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    with retention_server.client() as api:
        first = api.post("/api/v1/namespaces/r/pods", json=pod_manifest("a")).json()
        for name in ("b", "c", "d"):
            api.post("/api/v1/namespaces/r/pods", json=pod_manifest(name))
        head = await trim_all_but_last(private_redis.url, keep=2)
        start = int(first["metadata"]["resourceVersion"])
        with api.stream(
            "GET",
            "/api/v1/namespaces/r/pods",
            params={"watch": "1", "resourceVersion": start, "timeoutSeconds": 5},
        ) as response:
            assert response.status_code == 200
            events = read_events(response)
    assert events == [
        {
            "type": "ERROR",
            "object": {
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": f"too old resource version: {start} ({head - 2})",
                "reason": "Expired", "code": 410,
            },
        }
    ]  # fmt: skip


async def test_watch_from_the_oldest_retained_position_replays_from_redis(
    retention_server: Server, private_redis: EmbeddedRedis
) -> None:
    with retention_server.client() as api:
        for name in ("e", "f", "g"):
            api.post("/api/v1/namespaces/r2/pods", json=pod_manifest(name))
        head = await trim_all_but_last(private_redis.url, keep=2)
        params = {"watch": "1", "resourceVersion": head - 2, "timeoutSeconds": 1}
        with api.stream("GET", "/api/v1/namespaces/r2/pods", params=params) as response:
            events = read_events(response)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "f"), ("ADDED", "g")]


async def test_a_change_replayed_from_redis_leaves_a_selector_with_its_previous_content(store: Store) -> None:
    from watchcache.cache.changes import LEFT, WatchFilter
    from watchcache.cache.history import History
    from watchcache.cache.replica import Replica
    from watchcache.machinery.selectors import parse_field_selector, parse_label_selector

    pod = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "a", "namespace": "d", "resourceVersion": "", "labels": {"app": "x"}},
    }
    first = (await store.write("pods", "d/a", "ADDED", pod, expected_rv=None)).rv
    moved = {**pod, "metadata": {**pod["metadata"], "labels": {"app": "y"}}}
    from watchcache.machinery.selectors import SelectorState

    await store.write(
        "pods", "d/a", "MODIFIED", moved, expected_rv=first, previous=SelectorState({"app": "x"}, {})
    )
    replica = Replica(store, [POD])
    await replica.bootstrap()
    history = History(replica)  # empty window: everything comes from the stream
    change = (await history.changes_after(first, 10))[0]
    flt = WatchFilter("pods", None, parse_label_selector("app=x"), parse_field_selector(""))
    assert change.judge(flt) == LEFT
    await history.fill_previous(change)
    line = orjson.loads(change.line(LEFT, False))
    assert line["type"] == "DELETED"
    assert line["object"]["metadata"]["labels"] == {"app": "x"}
    assert line["object"]["metadata"]["resourceVersion"] == str(change.rv)


async def test_python_client_watch_from_before_retention_raises_410(
    retention_server: Server, private_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    from kubernetes import client, watch
    from kubernetes.client.rest import ApiException

    with retention_server.client() as api:
        first = api.post("/api/v1/namespaces/r3/pods", json=pod_manifest("a")).json()
        for name in ("b", "c"):
            api.post("/api/v1/namespaces/r3/pods", json=pod_manifest(name))
    await trim_all_but_last(private_redis.url, keep=1)
    configuration = client.Configuration()
    configuration.host = retention_server.url
    with client.ApiClient(configuration) as api_client:
        core = client.CoreV1Api(api_client)
        stream = watch.Watch().stream(
            core.list_namespaced_pod,
            "r3",
            resource_version=first["metadata"]["resourceVersion"],
            timeout_seconds=5,
        )
        with pytest.raises(ApiException) as caught:
            next(iter(stream))
    assert caught.value.status == 410
    assert "too old resource version" in caught.value.reason


def test_a_watch_opened_on_an_empty_store_sees_the_first_write(tmp_path: Path) -> None:
    """The first event (rv 2) follows the empty store's rv 1: no gap, no resync, no lost watch."""
    with EmbeddedRedis(tmp_path, persistence=False) as redis:
        srv = start_server(redis.url, tmp_path / "server")
        try:
            with srv.client() as api:
                listed = api.get("/api/v1/pods").json()["metadata"]["resourceVersion"]
                params = {"watch": "1", "resourceVersion": listed, "timeoutSeconds": 2}
                with api.stream("GET", "/api/v1/pods", params=params) as response:
                    assert (
                        api.post("/api/v1/namespaces/e/pods", json=pod_manifest("first")).status_code == 201
                    )
                    events = read_events(response)
        finally:
            srv.stop()
        assert "resyncing" not in srv.log.read_text()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "first")]


async def test_the_window_is_bounded_by_bytes_and_older_history_comes_from_redis(store: Store) -> None:
    from watchcache.cache.changes import Change
    from watchcache.cache.history import History
    from watchcache.cache.replica import Replica

    await write_events(store, 50)
    replica = Replica(store, [POD])
    await replica.bootstrap()
    history = History(replica, window_bytes=4_000)
    for event in await store.read_range(0, 100):
        history.remember(Change.from_event(POD, event))
    held = [c for c in history._changes if c is not None]
    assert 0 < len(held) < 50
    assert sum(2 * len(c.json) + 200 for c in held) <= 4_000
    replayed = []
    cursor = 1
    while batch := await history.changes_after(cursor, 7):
        replayed += [c.rv for c in batch]
        cursor = batch[-1].rv
    assert replayed == list(range(2, 52))  # every event once, in order, across the window's edge


async def test_changes_replayed_from_redis_are_shared_by_later_readers(store: Store) -> None:
    from watchcache.cache.history import History
    from watchcache.cache.replica import Replica

    await write_events(store, 20)
    replica = Replica(store, [POD])
    await replica.bootstrap()
    history = History(replica)  # empty window: history before this replica started is in Redis
    first = await history.changes_after(1, 10)
    again = await history.changes_after(1, 10)
    assert [c.rv for c in first] == list(range(2, 12))
    assert all(a is b for a, b in zip(first, again, strict=True))  # decoded once, shared
    assert [c.rv for c in await history.changes_after(11, 100)] == list(range(12, 22))
