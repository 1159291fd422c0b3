"""A change's record of the version its event replaced, which watchers' selectors judge
(ADDED when a pod enters a selector, DELETED when it leaves)."""

from __future__ import annotations

from typing import Any

import orjson

from watchcache.cache.changes import Change
from watchcache.cache.replica import Applied
from watchcache.cache.view import Entry, Summary, make_entry
from watchcache.kinds.pods import POD
from watchcache.storage.entries import Event, pack_previous


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
