"""The materialized view: idempotent apply, snapshot-then-replay, key order, indexes."""

from __future__ import annotations

import orjson
import pytest

from watchcache.cache.view import Summary, View, make_entry, stored_entry
from watchcache.kinds.pods.fields import POD_FIELD_NAMES, POD_FIELDS, pod_fields
from watchcache.machinery.objects import with_resource_version
from watchcache.storage.entries import Event, pack, unpack


def pod(ns: str, name: str, *, node: str = "", labels: dict[str, str] | None = None) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "i"}]}
    if node:
        spec["nodeName"] = node
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}, "resourceVersion": ""},
        "spec": spec,
        "status": {},
    }


def event(rv: int, kind: str, ns: str, name: str, **kw: object) -> Event:
    body = orjson.dumps(with_resource_version(pod(ns, name, **kw), rv))
    return Event(rv, kind, f"{ns}/{name}", body)  # type: ignore[arg-type]


def test_apply_stores_encoded_json_with_the_event_rv() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    view.apply(event(3, "ADDED", "a", "x"))
    entry = view.get("a/x")
    assert entry is not None and entry.rv == 3
    assert orjson.loads(entry.json)["metadata"]["resourceVersion"] == "3"


def test_events_at_or_below_the_held_version_are_skipped() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    view.load(
        [make_entry("a/x", 5, with_resource_version(pod("a", "x", labels={"v": "new"}), 5), POD_FIELDS)]
    )
    assert view.apply(event(4, "MODIFIED", "a", "x", labels={"v": "old"})) is None
    assert view.apply(event(5, "DELETED", "a", "x")) is None
    assert view.get("a/x").selector_state.labels == {"v": "new"}  # type: ignore[union-attr]


def test_delete_removes_the_entry_and_its_index_entries() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    view.apply(event(1, "ADDED", "a", "x", node="n1", labels={"app": "w"}))
    view.apply(event(2, "DELETED", "a", "x", node="n1", labels={"app": "w"}))
    assert view.get("a/x") is None
    assert view.indexed(None, "n1", {}) == []
    assert view.indexed(None, None, {"app": "w"}) == []
    assert view.entries() == [] and view.window(None, None, 5) == ([], 0)  # out of the key order too


def test_entries_are_in_etcd_key_order_and_scoped_by_namespace() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    for rv, (ns, name) in enumerate([("a", "z"), ("a-b", "x"), ("a", "b"), ("b", "a")], start=1):
        view.apply(event(rv, "ADDED", ns, name))
    assert [e.key for e in view.entries()] == ["a-b/x", "a/b", "a/z", "b/a"]
    assert [e.key for e in view.entries("a")] == ["a/b", "a/z"]
    assert [e.key for e in view.entries(None, start_after="a/b")] == ["a/z", "b/a"]


def test_indexes_follow_a_pod_that_moves_node_and_changes_labels() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    view.apply(event(1, "ADDED", "a", "x", node="n1", labels={"app": "w"}))
    view.apply(event(2, "MODIFIED", "a", "x", node="n2", labels={"app": "v"}))
    assert [e.rv for e in view.entries()] == [2] and len(view) == 1  # ordered once, the new version
    assert view.indexed(None, "n1", {}) == []
    assert [e.key for e in view.indexed(None, "n2", {}) or []] == ["a/x"]
    assert [e.key for e in view.indexed("a", None, {"app": "v"}) or []] == ["a/x"]
    assert view.indexed("b", None, {"app": "v"}) == []
    assert view.indexed(None, None, {}) is None


def test_window_pages_through_a_namespace_with_the_total_count() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    for rv, (ns, name) in enumerate([("a", "x"), ("b", "p"), ("b", "q"), ("b", "r"), ("c", "z")], start=2):
        view.apply(event(rv, "ADDED", ns, name))
    page, total = view.window("b", None, 2)
    assert [e.key for e in page] == ["b/p", "b/q", "b/r"] and total == 3
    page, total = view.window("b", "b/q", 2)
    assert [e.key for e in page] == ["b/r"] and total == 1
    page, total = view.window(None, "b/r", 10)
    assert [e.key for e in page] == ["c/z"] and total == 1
    assert view.window("d", None, 5) == ([], 0)


def test_a_loaded_snapshot_is_indexed_and_then_follows_applied_events() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    terminating = pod("a", "t", node="n1")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    snapshot = [pod("a", "y", node="n1"), pod("a", "x", node="n1"), terminating]
    view.load(
        make_entry(f"a/{manifest['metadata']['name']}", rv, with_resource_version(manifest, rv), POD_FIELDS)
        for rv, manifest in enumerate(snapshot, start=2)
    )
    assert [e.key for e in view.indexed(None, "n1", {}) or []] == ["a/t", "a/x", "a/y"]
    assert view.terminating == {"a/t"}
    view.apply(event(5, "MODIFIED", "a", "x", node="n2"))
    assert [e.key for e in view.indexed(None, "n1", {}) or []] == ["a/t", "a/y"]
    assert [e.rv for e in view.indexed(None, "n2", {}) or []] == [5]
    view.apply(event(6, "MODIFIED", "a", "t", node="n1"))  # its deletionTimestamp is gone
    assert view.terminating == set()


def test_label_indexes_follow_a_pod_that_changes_one_label_and_keeps_another() -> None:
    view = View(POD_FIELDS, "spec.nodeName")
    manifest = with_resource_version(pod("a", "x", labels={"app": "w", "tier": "f"}), 2)
    view.load([make_entry("a/x", 2, manifest, POD_FIELDS)])  # a snapshot's labels are indexed too
    assert [e.rv for e in view.indexed(None, None, {"app": "w", "tier": "f"}) or []] == [2]

    def selected(**labels: str) -> list[tuple[str, int]]:
        return [(e.key, e.rv) for e in view.indexed(None, None, labels) or []]

    view.apply(event(3, "MODIFIED", "a", "x", labels={"app": "w", "tier": "b"}))
    assert selected(app="w") == [("a/x", 3)]  # the kept label's bucket holds the new version
    assert selected(tier="f") == [] and selected(zone="a") == []  # a value, a label no pod has
    assert selected(tier="b") == selected(app="w", tier="b") == [("a/x", 3)]
    view.apply(event(4, "DELETED", "a", "x", labels={"app": "w", "tier": "b"}))
    assert selected(app="w") == selected(tier="b") == []


def test_a_key_a_snapshot_returns_twice_keeps_its_newer_version() -> None:
    """HSCAN may return a key twice while Redis rehashes: the newer version wins either way."""
    old = make_entry("a/x", 3, with_resource_version(pod("a", "x", node="n1"), 3), POD_FIELDS)
    new = make_entry("a/x", 4, with_resource_version(pod("a", "x", node="n2"), 4), POD_FIELDS)
    for order in ([old, new], [new, old]):
        view = View(POD_FIELDS, "spec.nodeName")
        view.load(order)
        assert view.get("a/x") is new and len(view) == 1
        assert view.indexed(None, "n1", {}) == [] and view.indexed(None, "n2", {}) == [new]


def test_a_summary_packs_what_the_entry_of_a_parsed_pod_holds() -> None:
    manifest = with_resource_version(pod("a", "x", node="n1", labels={"app": "web"}), 7)
    manifest["metadata"]["uid"] = "u-1"
    manifest["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    manifest["status"] = {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]}
    parsed = make_entry("a/x", 7, manifest, POD_FIELDS)
    summary = Summary.unpacked(Summary.of(manifest, POD_FIELDS).packed(POD_FIELDS), POD_FIELDS)
    assert (
        stored_entry("a/x", 7, parsed.json, Summary.of(manifest, POD_FIELDS).packed(POD_FIELDS), POD_FIELDS)
        == parsed
    )
    assert (summary.uid, summary.terminating, summary.selector_state) == (
        "u-1",
        True,
        parsed.selector_state,
    )
    assert summary.selector_state.fields["status.podIP"] == "10.0.0.1"
    assert stored_entry("a/x", 7, parsed.json, b"", POD_FIELDS) == parsed  # no summary: parsed from the JSON


def test_pods_summaries_share_their_labels_and_field_strings() -> None:
    """Each pod's labels and selectable fields, unpacked from the log or taken from a parsed
    manifest, are new copies of what most pods hold: a view keeps one of each."""

    def manifest(name: str, tier: str = "frontend") -> dict:
        # each from its own parse, as two requests or two log entries give them
        return orjson.loads(orjson.dumps(pod("team-a", name, node="node-7", labels={"tier": tier})))

    unpacked = [
        Summary.unpacked(Summary.of(manifest(name), POD_FIELDS).packed(POD_FIELDS), POD_FIELDS).selector_state
        for name in ("x", "y")
    ]
    written = [Summary.of(manifest(name), POD_FIELDS).selector_state for name in ("x", "y")]
    for first, second in (unpacked, written, (unpacked[0], written[1])):
        assert first.labels == {"tier": "frontend"} and first.labels is second.labels
        for field in ("metadata.namespace", "spec.nodeName"):
            assert first.fields[field] is second.fields[field]
        assert (first.fields["metadata.name"], second.fields["metadata.name"]) == ("x", "y")
    other = Summary.of(manifest("z", tier="backend"), POD_FIELDS).selector_state
    assert other.labels == {"tier": "backend"}
    [(key, _)], [(other_key, _)] = written[0].labels.items(), other.labels.items()
    assert other_key is key


def test_a_summary_with_another_number_of_field_values_is_refused() -> None:
    packed = Summary.of(pod("a", "x"), POD_FIELDS).packed(POD_FIELDS)
    uid, terminating, labels, values = unpack(packed)
    with pytest.raises(ValueError):
        Summary.unpacked(pack([uid, terminating, labels, values[:-1]]), POD_FIELDS)


def test_a_summary_packs_field_values_in_the_order_of_pod_fields() -> None:
    """The packed summary holds values only; their names come from POD_FIELD_NAMES."""
    assert tuple(pod_fields(pod("a", "x"))) == POD_FIELD_NAMES


def test_an_index_lists_in_key_order_across_inserts_and_deletions() -> None:
    """Index buckets sort their keys only when a list reads them: the order must survive
    inserts after a read (the order is remade) and deletions (the order is kept)."""
    view = View(POD_FIELDS, "spec.nodeName")
    for rv, (ns, name) in enumerate([("b", "y"), ("a", "z"), ("b", "a"), ("a", "b")], start=1):
        view.apply(event(rv, "ADDED", ns, name, node="n1"))

    def listed(namespace: str | None = None) -> list[str]:
        return [e.key for e in view.indexed(namespace, "n1", {}) or []]

    assert listed() == ["a/b", "a/z", "b/a", "b/y"]
    view.apply(event(5, "ADDED", "a", "c", node="n1"))
    view.apply(event(6, "DELETED", "b", "a", node="n1"))
    assert listed() == ["a/b", "a/c", "a/z", "b/y"]
    view.apply(event(7, "DELETED", "a", "b", node="n1"))
    assert listed() == ["a/c", "a/z", "b/y"]
    assert listed("a") == ["a/c", "a/z"]
    assert listed("b") == ["b/y"]
    view.apply(event(8, "MODIFIED", "a", "c", node="n2"))  # moves to another node's bucket
    assert listed() == ["a/z", "b/y"]
    assert [e.key for e in view.indexed(None, "n2", {}) or []] == ["a/c"]
    view.apply(event(9, "MODIFIED", "a", "z", node="n1"))  # a new version in the same bucket
    assert listed() == ["a/z", "b/y"]
    assert [e.rv for e in view.indexed("a", "n1", {}) or []] == [9]
