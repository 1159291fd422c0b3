"""A change's record of the version its event replaced, which watchers' selectors judge
(ADDED when a pod enters a selector, DELETED when it leaves)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from watchcache.cache.changes import Change
from watchcache.cache.history import History
from watchcache.cache.replica import Applied, Replica
from watchcache.cache.view import Entry, Summary, make_entry
from watchcache.kinds.pods import POD
from watchcache.machinery.objects import Object
from watchcache.registry.deletion import DeleteOptions
from watchcache.registry.resource import ResourceRegistry, WriteOptions
from watchcache.storage.entries import Event, pack_previous
from watchcache.storage.store import Store


def version(rv: int, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p",
            "namespace": "ns",
            "uid": "u",
            "resourceVersion": str(rv),
            "labels": labels,
        },
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }


def applied(replaced: Entry | None, previous_rv: int) -> tuple[Applied, dict[str, str]]:
    """Version 7 (labels app=new) replacing version ``previous_rv`` (app=old), as the log says,
    and the entry the view held for the key before it (``replaced``)."""
    old_labels = {"app": "old"}
    packed = pack_previous(Summary.of(version(previous_rv, old_labels), POD.fields).selector_state)
    new = version(7, {"app": "new"})
    event = Event(7, "MODIFIED", "ns/p", orjson.dumps(new), packed, previous_rv, resource="pods")
    return Applied(POD, event, make_entry("ns/p", 7, new, POD.fields), replaced), old_labels


def test_a_change_takes_the_replaced_versions_state_from_the_view_entry_of_it() -> None:
    held = make_entry("ns/p", 5, version(5, {"app": "old"}), POD.fields)
    item, _ = applied(held, previous_rv=5)
    change = Change.from_applied(item)
    assert change.previous is held.selector_state


def test_a_change_the_view_did_not_hold_the_replaced_version_of_unpacks_the_events_record() -> None:
    """After a rebuild the view may hold a newer version than the one an event replaced (the
    event is then skipped): the event's own record is the one that says what it replaced."""
    newer = make_entry("ns/p", 9, version(9, {"app": "newest"}), POD.fields)
    for replaced in (newer, None):
        item, old_labels = applied(replaced, previous_rv=5)
        change = Change.from_applied(item)
        assert change.previous is not None and change.previous.labels == old_labels


async def test_each_write_records_the_labels_of_the_version_it_replaced(store: Store) -> None:
    """What a replayed change and a rebuilt view judge selectors by: the event's record of the
    replaced version, whether the writer started from its view's entry (a tailing replica) or
    from Redis's version (a replica whose view does not hold the pod yet)."""
    tailing = Replica(store, [POD])
    await tailing.start()
    try:
        await _relabel_and_delete(ResourceRegistry(POD, store, tailing, History(tailing)), tailing, "t")
    finally:
        await tailing.stop()
    still = Replica(store, [POD])  # bootstrapped, never tailing: its view holds no later pod
    await still.bootstrap()
    await _relabel_and_delete(ResourceRegistry(POD, store, still, History(still)), None, "s")


async def _relabel_and_delete(reg: ResourceRegistry, tailing: Replica | None, name: str) -> None:
    manifest = {
        "metadata": {"name": name, "labels": {"app": "one"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    written = await reg.create("ns", manifest, WriteOptions(manager="m"))
    for app in ("two", "three"):
        if tailing is not None:  # the update starts from the view's entry of the version
            assert await tailing.wait_for(int(written.pod()["metadata"]["resourceVersion"]), 5)
        written = await reg.update("ns", name, relabelled(app), WriteOptions(manager="m"))
    if tailing is not None:
        assert await tailing.wait_for(int(written.pod()["metadata"]["resourceVersion"]), 5)
    await reg.delete("ns", name, DeleteOptions(grace_period_seconds=0))
    events = [e for e in await reg.store.read_range(0) if e.key == f"ns/{name}"]
    assert [e.previous.labels if e.previous else None for e in events] == [
        None,
        {"app": "one"},
        {"app": "two"},
        {"app": "three"},
        *([{"app": "three"}] * (len(events) - 4)),
    ]
    assert len(events) >= 4 and events[-1].type == "DELETED"


def relabelled(app: str) -> Callable[[Object], Object]:
    def mutate(pod: Object) -> Object:
        pod["metadata"]["labels"] = {"app": app}
        return pod

    return mutate
