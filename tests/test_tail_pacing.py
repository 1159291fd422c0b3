"""The tailer paces its reads of a busy log, and a consistent read never waits for the pause.

Each read of the log is a round trip that costs the replica and Redis a wake-up whatever it
carries, so under a stream of writes a read starts at most every ``round_s``; a reader that
needs the view to reach the log head (a consistent GET or LIST) must not pay for that.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from watchcache.cache.history import History
from watchcache.cache.replica import Replica
from watchcache.kinds.pods import POD
from watchcache.registry.resource import ResourceRegistry, WriteOptions
from watchcache.storage.store import Store

OPTS = WriteOptions(manager="test")


def registry(store: Store) -> ResourceRegistry:
    replica = Replica(store, [POD])
    return ResourceRegistry(POD, store, replica, History(replica))


def manifest(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "i"}]}}


def record_reads(replica: Replica) -> list[float]:
    """The time each of the tailer's reads of the log starts."""
    starts: list[float] = []
    follower = replica._follower
    read = follower.next

    async def recorded(*args: Any, **kwargs: Any) -> Any:
        starts.append(time.monotonic())
        return await read(*args, **kwargs)

    follower.next = recorded  # type: ignore[method-assign]
    return starts


async def test_a_busy_log_is_read_at_most_once_a_round(store: Store) -> None:
    reader, writer = registry(store), registry(store)
    reader.replica.round_s = 0.02
    await reader.replica.bootstrap()
    await writer.replica.bootstrap()
    starts = record_reads(reader.replica)
    await reader.replica.start()
    try:
        writes = 0
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:  # one write after the other: a log that is never quiet
            await writer.create("ns", manifest(f"p{writes}"), OPTS)
            writes += 1
        reads = list(starts)  # (a reader waiting for the view, next, cuts a pause short)
        assert await reader.replica.wait_for(await store.head(), 5.0)
    finally:
        await reader.replica.stop()
    busy = [b - a for a, b in itertools.pairwise(reads[1:])]  # (the first read waited)
    assert writes > 2 * len(reads), (writes, len(reads))  # several events a read
    assert min(busy) >= 0.02 * 0.9, busy


async def test_a_consistent_read_cuts_the_pause_short(store: Store) -> None:
    reader, writer = registry(store), registry(store)
    reader.replica.round_s = 30.0  # a pause no read could sit out in this test
    await reader.replica.bootstrap()
    await writer.replica.bootstrap()
    await reader.replica.start()
    try:
        await writer.create("ns", manifest("first"), OPTS)
        await asyncio.sleep(0.2)  # the tailer read it and pauses now
        await writer.create("ns", manifest("second"), OPTS)
        started = time.monotonic()
        entry = await asyncio.wait_for(reader.get("ns", "second", None), 5.0)
        assert entry.name == "second"
        assert time.monotonic() - started < 2.0
    finally:
        await reader.replica.stop()
