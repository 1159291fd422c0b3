"""The stored format: a version's JSON is encoded once, by its writer, and the write transaction
stamps its rv in; the log, the Redis-side view and the writer's response hold the same bytes.
The writer notes where its managedFields' field sets lie, so an update parses them once per
distinct text. Versions an older release stored as msgpack are still read.
"""

from __future__ import annotations

from typing import Any

import msgpack
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchcache.cache.history import History
from watchcache.cache.replica import Replica
from watchcache.cache.view import Summary, make_entry
from watchcache.kinds.pods import POD
from watchcache.kinds.pods.fields import POD_FIELDS
from watchcache.machinery.objects import Object
from watchcache.registry.resource import ResourceRegistry, WriteOptions
from watchcache.storage.entries import FIELD_SETS, pack_field_sets, parsed, unpack_field_sets, unstamped
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
    assert await store.current_rv("pods", "ns/s") == created.rv
    assert await store.current_rv("pods", "ns/none") is None
    (event,) = await store.read_range(created.rv - 1)
    assert event.summary == summary.packed(POD_FIELDS)
    replica = Replica(store, [POD])
    await replica.bootstrap()
    assert replica.views["pods"].get("ns/s") == make_entry(
        "ns/s", created.rv, orjson.loads(created.json), POD_FIELDS
    )


def managed(*field_sets: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"manager": f"m{i}", "operation": "Update", "apiVersion": "v1", "time": "2026-12-07T10:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": fields}
        for i, fields in enumerate(field_sets)
    ]  # fmt: skip


TEMPLATE_FIELDS = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {}}}


def test_field_sets_are_noted_where_the_stamped_json_holds_them() -> None:
    original = pod("a")
    original["metadata"]["managedFields"] = managed(TEMPLATE_FIELDS, {})
    original["metadata"]["managedFields"][0]["subresource"] = "status"  # a key after fieldsV1
    original["metadata"]["labels"] = {"app": "web"}  # after managedFields: they move to the end
    version = unstamped(original)
    json = version.stamped(123456)
    field_sets = unpack_field_sets(version.noted)
    assert len(field_sets) == 4
    for i, entry in enumerate(original["metadata"]["managedFields"]):
        start = len(json) - field_sets[2 * i]
        assert json[start : start + field_sets[2 * i + 1]] == orjson.dumps(entry["fieldsV1"])
    assert parsed(json, version.noted) == orjson.loads(json)
    assert list(orjson.loads(json)["metadata"])[-1] == "managedFields"  # where kube puts them
    assert orjson.loads(json)["metadata"]["managedFields"] == original["metadata"]["managedFields"]


def test_the_pods_of_a_template_share_one_parse_of_a_field_set() -> None:
    jsons = []
    for name in ("a", "b"):
        version = unstamped(
            {**pod(name), "metadata": {"name": name, "managedFields": managed(TEMPLATE_FIELDS)}}
        )
        jsons.append((version.stamped(7), version.noted))
    (a, b) = (parsed(json, sets) for json, sets in jsons)
    assert a["metadata"]["managedFields"][0]["fieldsV1"] is b["metadata"]["managedFields"][0]["fieldsV1"]
    assert a["metadata"] is not b["metadata"]  # the rest is each caller's own
    assert unstamped(a).json == unstamped(b).json.replace(b'"b"', b'"a"')  # re-encoded from its text


def test_a_shared_field_set_changed_in_place_is_caught() -> None:
    """The tests run with the mutation detector on: the next use of a changed parse fails."""
    version = unstamped({**pod("c"), "metadata": {"name": "c", "managedFields": managed({"f:x": {}})}})
    obj = parsed(version.stamped(3), version.noted)
    obj["metadata"]["managedFields"][0]["fieldsV1"]["f:y"] = {}
    try:
        with pytest.raises(AssertionError, match="shared parse was changed in place"):
            parsed(version.stamped(3), version.noted)
    finally:
        del obj["metadata"]["managedFields"][0]["fieldsV1"]["f:y"]  # (others share it)


def test_what_cannot_be_noted_is_encoded_whole() -> None:
    for entries in (
        [],
        [{"manager": "m"}],
        [{"manager": "m", "fieldsV1": "x"}],
        [*managed({}), "x"],
        {"x": 1},
    ):
        version = unstamped({**pod("d"), "metadata": {"name": "d", "managedFields": entries}})
        assert version.noted == b""
        assert orjson.loads(version.stamped(5))["metadata"]["managedFields"] == entries


def test_notes_that_do_not_fit_the_json_are_passed_over_for_a_whole_parse() -> None:
    version = unstamped({**pod("g"), "metadata": {"name": "g", "managedFields": managed({"f:x": {}})}})
    json = version.stamped(11)
    field_sets = unpack_field_sets(version.noted)
    for notes in ((5, 2), (field_sets[0] + 1, field_sets[1]), field_sets * 2):
        assert parsed(json, pack_field_sets(notes)) == orjson.loads(json)


_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
_field_sets = st.recursive(st.just({}), lambda sub: st.dictionaries(_names, sub, max_size=3), max_leaves=8)
_entries = st.lists(
    st.fixed_dictionaries({"fieldsV1": _field_sets}, optional={"manager": _names, "subresource": _names}),
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(entries=_entries, labels=st.dictionaries(_names, _names, max_size=3), rv=st.integers(2, 10**12))
def test_a_noted_version_parses_as_its_json(
    entries: list[dict[str, Any]], labels: dict[str, str], rv: int
) -> None:
    """Whatever the entries and the user data around them (look-alike keys and values included),
    the parse through the noted field sets equals the JSON's own parse."""
    labels['"fieldsV1":{'] = '"managedFields":['
    manifest = {**pod("e"), "metadata": {"labels": labels, "name": "e", "managedFields": entries}}
    version = unstamped(manifest)
    json = version.stamped(rv)
    assert parsed(json, version.noted) == orjson.loads(json)
    assert orjson.loads(json)["metadata"]["managedFields"] == entries


async def test_field_sets_travel_with_the_version_through_the_log(store: Store) -> None:
    """The writer's notes reach the log beside the JSON; a replica that tails or bootstraps
    from it parses through them as the writer would."""
    manifest = {
        **pod("f"),
        "metadata": {"name": "f", "namespace": "ns", "managedFields": managed(TEMPLATE_FIELDS)},
    }
    summary = Summary.of(manifest, POD_FIELDS).packed(POD_FIELDS)
    replica = Replica(store, [POD])
    await replica.start()
    try:
        await _travels(store, replica, manifest, summary)
    finally:
        await replica.stop()


async def _travels(store: Store, replica: Replica, manifest: dict[str, Any], summary: bytes) -> None:
    created = await store.write("pods", "ns/f", "ADDED", manifest, expected_rv=None, summary=summary)
    assert created.noted and parsed(created.json, created.noted) == orjson.loads(created.json)
    raw = await store.redis.xrange(store.log_key)
    assert raw[-1][1][b"f"] == created.noted
    (event,) = await store.read_range(created.rv - 1)
    assert event.noted == created.noted and len(unpack_field_sets(event.noted)) == 2
    assert await replica.wait_for(created.rv, 5)
    entry = replica.views["pods"].get("ns/f")
    assert entry is not None and entry.noted == created.noted
    assert entry.pod() == orjson.loads(created.json)
    assert entry.pod()["metadata"]["managedFields"][0]["fieldsV1"] is FIELD_SETS.parse(
        orjson.dumps(TEMPLATE_FIELDS)
    )


async def test_an_update_starts_from_the_shared_field_sets_its_creator_noted(store: Store) -> None:
    """The registry's create notes the version in the view's entry, and the next update's
    current pod takes its field set from the shared parses instead of parsing it again."""
    replica = Replica(store, [POD])
    reg = ResourceRegistry(POD, store, replica, History(replica))
    await replica.start()
    try:
        await _updates_from_notes(reg, replica)
    finally:
        await replica.stop()


async def _updates_from_notes(reg: ResourceRegistry, replica: Replica) -> None:
    manifest = {
        "metadata": {"name": "h", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "i"}]},
    }
    created = await reg.create("ns", manifest, WriteOptions(manager="creator"))
    assert await replica.wait_for(int(orjson.loads(created.json)["metadata"]["resourceVersion"]), 5)
    entry = replica.views["pods"].get("ns/h")
    assert entry is not None and entry.noted
    start = len(entry.json) - unpack_field_sets(entry.noted)[0]
    text = entry.json[start : start + unpack_field_sets(entry.noted)[1]]
    seen: list[Object] = []

    def relabel(current: Object) -> Object:
        seen.append(current["metadata"]["managedFields"][0]["fieldsV1"])
        return {**current, "metadata": {**current["metadata"], "labels": {"app": "db"}}}

    await reg.update("ns", "h", relabel, WriteOptions(manager="relabeller"), private_copy=False)
    assert seen and seen[0] is FIELD_SETS.parse(text)
