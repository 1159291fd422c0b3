"""The stored format: a version's JSON is encoded once, by its writer, and the write transaction
stamps its rv in; the log, the Redis-side view and the writer's response hold the same bytes.
Versions an older release stored as msgpack are still read.
"""

from __future__ import annotations

from typing import Any

import msgpack
import orjson

from watchcache.cache.replica import Replica
from watchcache.cache.view import Summary, make_entry
from watchcache.kinds.pods import POD
from watchcache.kinds.pods.fields import POD_FIELDS
from watchcache.storage.entries import unstamped
from watchcache.storage.store import Store


def pod(name: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations, "uid": "u-" + name},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }


def test_stamping_puts_the_rv_where_metadata_holds_it() -> None:
    original = pod("a")
    original["metadata"]["resourceVersion"] = "17"  # the version it was read at: replaced
    version = unstamped(original)
    assert original["metadata"]["resourceVersion"] == "17"  # encoding leaves the pod as it was
    stamped = orjson.loads(version.stamped(123))
    assert stamped == {**original, "metadata": {**original["metadata"], "resourceVersion": "123"}}
    assert list(stamped["metadata"]) == list(original["metadata"])  # the key keeps its place


def test_a_look_alike_in_user_data_is_not_stamped() -> None:
    """An annotation that reads like the field (even at the front of metadata) stays as sent."""
    tricky = {"resourceVersion": "", '"resourceVersion":""': "x"}
    original = pod("a", **tricky)
    original["metadata"] = {"annotations": original["metadata"].pop("annotations"), **original["metadata"]}
    stamped = orjson.loads(unstamped(original).stamped(9))
    assert stamped["metadata"]["annotations"] == tricky
    assert stamped["metadata"]["resourceVersion"] == "9"


async def test_the_log_the_view_and_the_writer_hold_the_same_bytes(store: Store) -> None:
    created = await store.write("pods", "ns/a", "ADDED", pod("a"), expected_rv=None)
    assert orjson.loads(created.json)["metadata"]["resourceVersion"] == str(created.rv)
    stored = await store.get("pods", "ns/a")
    assert stored is not None and (stored.rv, stored.json) == (created.rv, created.json)
    (event,) = await store.read_range(created.rv - 1)
    assert (event.rv, event.json) == (created.rv, created.json)
    raw = await store.redis.xrange(store.log_key)
    assert raw[0][1][b"o"] == created.json  # as Redis holds it: no re-encoding on the way out


async def test_a_deletion_event_carries_the_last_state_stamped_with_its_own_rv(store: Store) -> None:
    created = await store.write("pods", "ns/a", "ADDED", pod("a"), expected_rv=None)
    deleted = await store.write("pods", "ns/a", "DELETED", pod("a"), expected_rv=created.rv)
    assert await store.get("pods", "ns/a") is None
    (event,) = await store.read_range(created.rv)
    assert event.type == "DELETED" and event.json == deleted.json
    assert event.pod["metadata"]["resourceVersion"] == str(deleted.rv)


async def test_versions_stored_as_msgpack_by_an_older_release_are_read(store: Store) -> None:
    """The hash held ``b"<rv> " + msgpack`` and the stream msgpack without the rv; a new
    replica bootstraps from them and a write replaces them with the CAS on their rv."""
    old = msgpack.packb(pod("old"), use_bin_type=True)
    await store.redis.set(store.rv_key, 5)
    await store.redis.xadd(store.log_key, {"t": "ADDED", "k": "ns/old", "o": old, "p": b"", "r": 0}, id="5-0")
    await store.redis.hset(store.obj_key, "ns/old", b"5 " + old)

    stored = await store.get("pods", "ns/old")
    assert stored is not None and stored.pod()["metadata"]["resourceVersion"] == "5"
    (event,) = await store.read_range(0)
    assert event.pod == stored.pod()
    replica = Replica(store, [POD])
    await replica.bootstrap()
    entry = replica.views["pods"].get("ns/old")
    assert entry is not None and entry.json == stored.json and entry.uid == "u-old"

    updated = await store.write("pods", "ns/old", "MODIFIED", pod("old", v="2"), expected_rv=5)
    assert updated.rv == 6 and (await store.get("pods", "ns/old")).json == updated.json  # type: ignore[union-attr]


async def test_a_replica_builds_entries_from_the_stored_summary(store: Store) -> None:
    """The summary travels with the version (hash and stream), so neither a bootstrap nor a
    tailer has to parse the JSON; what they build equals the entry of the parsed pod."""
    manifest = pod("s", team="a")
    manifest["metadata"]["labels"] = {"app": "web"}
    summary = Summary.of(manifest, POD_FIELDS)
    created = await store.write(
        "pods", "ns/s", "ADDED", manifest, expected_rv=None, summary=summary.packed(POD_FIELDS)
    )
    stored = await store.get("pods", "ns/s")
    assert stored is not None and stored.summary == summary.packed(POD_FIELDS) and stored.json == created.json
    (event,) = await store.read_range(created.rv - 1)
    assert event.summary == summary.packed(POD_FIELDS)
    replica = Replica(store, [POD])
    await replica.bootstrap()
    assert replica.views["pods"].get("ns/s") == make_entry(
        "ns/s", created.rv, orjson.loads(created.json), POD_FIELDS
    )
