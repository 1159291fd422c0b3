"""An update lends the current object to a mutation that promised only to read it; with
``WATCHCACHE_MUTATION_DETECTOR=true`` (as the test suite runs) a broken promise fails loudly."""

from __future__ import annotations

import pytest

from watchcache.cache.history import History
from watchcache.cache.replica import Replica
from watchcache.kinds.pods import POD
from watchcache.machinery.objects import Object
from watchcache.registry.resource import MUTATION_DETECTOR_ENV, ResourceRegistry, WriteOptions
from watchcache.storage.store import Store

OPTS = WriteOptions(manager="test")
MANIFEST = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


async def registry(store: Store) -> ResourceRegistry:
    replica = Replica(store, [POD])
    reg = ResourceRegistry(POD, store, replica, History(replica))
    await replica.bootstrap()
    await reg.create("ns", dict(MANIFEST), OPTS)
    return reg


def relabelled_in_place(current: Object) -> Object:
    current["metadata"]["labels"] = {"changed": "in-place"}
    return current


async def test_a_lent_object_changed_by_its_mutation_is_caught(store: Store) -> None:
    reg = await registry(store)
    assert reg.detect_mutations  # conftest turns it on for every server and registry
    with pytest.raises(AssertionError, match="changed the current object"):
        await reg.update("ns", "p", relabelled_in_place, OPTS, private_copy=False)


async def test_a_private_copy_may_be_changed(store: Store) -> None:
    reg = await registry(store)
    written = await reg.update("ns", "p", relabelled_in_place, OPTS)  # private_copy=True
    assert written.pod()["metadata"]["labels"] == {"changed": "in-place"}


def test_the_detector_is_off_unless_asked_for(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MUTATION_DETECTOR_ENV)
    replica = Replica(store, [POD])
    assert not ResourceRegistry(POD, store, replica, History(replica)).detect_mutations
