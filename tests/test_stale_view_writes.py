"""Updates and deletes start from the replica's view, which may be behind Redis.

Each replica here has no tailer running, so its view stays as its bootstrap left it: replica B
keeps a version that replica A has since replaced. Whatever B is asked, the outcome must be
the one the latest version gives: the compare-and-set retries a stale start, and what a stale
version alone cannot settle (an error, a no-op) is judged again on Redis's version.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchcache.cache.history import History
from watchcache.cache.replica import Replica
from watchcache.kinds.pods import POD
from watchcache.machinery import errors
from watchcache.machinery.objects import Object
from watchcache.registry.deletion import DeleteOptions
from watchcache.registry.resource import ResourceRegistry, WriteOptions
from watchcache.storage.store import Store, Stored

OPTS = WriteOptions(manager="test")


def registry(store: Store) -> ResourceRegistry:
    replica = Replica(store, [POD])
    return ResourceRegistry(POD, store, replica, History(replica))


def labelled(**changes: str | None) -> Callable[[Object], Object]:
    """A mutation setting (or, with None, removing) labels."""

    def mutate(pod: Object) -> Object:
        meta = pod["metadata"]
        for key, value in changes.items():
            if value is not None:
                meta.setdefault("labels", {})[key] = value
            elif key in meta.get("labels", {}):
                del meta["labels"][key]
        return pod

    return mutate


async def stale_pair(store: Store) -> tuple[ResourceRegistry, ResourceRegistry, str]:
    """A and B; B's view holds the pod's first version, A has written a second (label a=1)."""
    a = registry(store)
    await a.replica.bootstrap()
    manifest = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await a.create("ns", manifest, OPTS)
    b = registry(store)
    await b.replica.bootstrap()
    second = await a.update("ns", "p", labelled(a="1"), OPTS)
    stale = b.replica.views["pods"].get("ns/p")
    assert stale is not None and str(stale.rv) != second.pod()["metadata"]["resourceVersion"]
    return a, b, second.pod()["metadata"]["resourceVersion"]


async def current(store: Store) -> Object:
    stored = await store.get("pods", "ns/p")
    assert stored is not None
    return stored.pod()


async def test_an_update_from_a_stale_view_keeps_the_other_replicas_change(store: Store) -> None:
    _, b, _ = await stale_pair(store)
    written = await b.update("ns", "p", labelled(b="2"), OPTS)
    assert written.pod()["metadata"]["labels"] == {"a": "1", "b": "2"}
    assert (await current(store))["metadata"]["labels"] == {"a": "1", "b": "2"}


async def test_a_precondition_on_the_latest_version_holds_on_a_stale_replica(store: Store) -> None:
    """A PUT carrying the latest resourceVersion must not get a 409 from the view's older one."""
    _, b, latest_rv = await stale_pair(store)

    def put(pod: Object) -> Object:
        if pod["metadata"]["resourceVersion"] != latest_rv:
            raise errors.conflict("pods", "p")
        return labelled(b="2")(pod)

    written = await b.update("ns", "p", put, OPTS)
    assert written.pod()["metadata"]["labels"] == {"a": "1", "b": "2"}


async def test_a_no_op_on_a_stale_version_is_judged_on_the_latest(store: Store) -> None:
    """Removing label a changes nothing in B's old version, but it does in the latest."""
    _, b, latest_rv = await stale_pair(store)
    written = await b.update("ns", "p", labelled(a=None), OPTS)
    assert int(written.pod()["metadata"]["resourceVersion"]) > int(latest_rv)
    assert "a" not in (await current(store))["metadata"].get("labels", {})


async def test_a_no_op_on_the_latest_version_writes_nothing(store: Store) -> None:
    _, b, latest_rv = await stale_pair(store)
    written = await b.update("ns", "p", labelled(a="1"), OPTS)
    assert written.pod()["metadata"]["resourceVersion"] == latest_rv
    assert (await current(store))["metadata"]["resourceVersion"] == latest_rv


class Fetches(Store):
    """A store that counts the versions read from Redis."""

    fetched = 0

    async def get(self, resource: str, key: str) -> Stored | None:
        self.fetched += 1
        return await super().get(resource, key)


async def test_a_no_op_on_a_view_that_holds_the_latest_takes_only_its_rv_from_redis(store: Store) -> None:
    """Redis's word that the view's version is the latest settles a no-op: the answer is that
    version, and no version is fetched from Redis nor written."""
    manifest = {
        "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    a = registry(store)
    await a.replica.bootstrap()
    created = await a.create("ns", manifest, OPTS)
    counting = Fetches(store.redis, prefix=store.prefix)
    try:
        b = registry(counting)
        await b.replica.bootstrap()  # its view holds the latest version
        head = await store.head()
        written = await b.update("ns", "p", labelled(a="1"), OPTS)
        assert written.json == created.json
        assert counting.fetched == 0
        assert await store.head() == head
    finally:
        await counting.close()


async def test_an_error_on_the_latest_version_is_answered(store: Store) -> None:
    _, b, _ = await stale_pair(store)

    def refuse(pod: Object) -> Object:
        raise errors.conflict("pods", "p")

    with pytest.raises(errors.Conflict):
        await b.update("ns", "p", refuse, OPTS)


async def test_a_delete_precondition_on_the_latest_version_holds_on_a_stale_replica(store: Store) -> None:
    _, b, latest_rv = await stale_pair(store)
    await b.delete("ns", "p", DeleteOptions(precondition_rv=latest_rv))
    assert await store.get("pods", "ns/p") is None


async def test_a_pod_deleted_elsewhere_is_not_found_from_a_stale_view(store: Store) -> None:
    a, b, _ = await stale_pair(store)
    await a.delete("ns", "p", DeleteOptions())
    with pytest.raises(errors.NotFound):
        await b.update("ns", "p", labelled(b="2"), OPTS)
    with pytest.raises(errors.NotFound):
        await b.delete("ns", "p", DeleteOptions())


class FinishedElsewhere(ResourceRegistry):
    """A replica whose deletion's removal another replica's reaper gets to first: right after
    this one writes the terminating version (grace 0: due at once), the other removes it."""

    other: ResourceRegistry

    async def _write(self, key, event_type, version, summary, expected_rv, previous=None):  # type: ignore[no-untyped-def]
        written = await super()._write(key, event_type, version, summary, expected_rv, previous)
        if event_type == "MODIFIED" and summary.terminating:
            namespace, _, name = key.partition("/")
            await self.other.delete(namespace, name, DeleteOptions(grace_period_seconds=0))
        return written


async def test_a_deletion_finished_by_another_replica_meanwhile_is_not_a_404(store: Store) -> None:
    other = registry(store)
    await other.replica.bootstrap()
    racing = FinishedElsewhere(POD, store, other.replica, other.history)
    racing.other = other
    manifest = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}
    await racing.create("ns", manifest, OPTS)
    written = await racing.delete("ns", "p", DeleteOptions())
    assert "deletionTimestamp" in written.pod()["metadata"]  # the version it wrote
    assert await store.get("pods", "ns/p") is None
    with pytest.raises(errors.NotFound):  # and a second delete is a 404 again
        await racing.delete("ns", "p", DeleteOptions())
