"""The watch ticker's timer wheel: a tick wakes exactly the watchers due by then."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from watchcache.cache.changes import WatchFilter
from watchcache.cache.dispatcher import Broadcaster, Watcher
from watchcache.cache.history import History
from watchcache.cache.pacing import Pacer
from watchcache.cache.replica import Replica
from watchcache.kinds.pods import POD
from watchcache.machinery.selectors import parse_field_selector, parse_label_selector
from watchcache.storage.store import Store


def broadcaster() -> Broadcaster:
    replica = Replica(Store(Redis()), [POD])  # never connects: timers need no Redis
    return Broadcaster(replica, History(replica), catch_up=Pacer(1 << 20))


def sleeping_watcher(b: Broadcaster) -> Watcher:
    watcher = Watcher(
        WatchFilter("pods", "ns", parse_label_selector(""), parse_field_selector("")), False, cursor=0
    )
    b.register(watcher)
    watcher.waiter = watcher.loop.create_future()  # as Watcher.sleep leaves it
    return watcher


async def test_a_tick_wakes_the_watchers_due_and_no_others() -> None:
    b, now = broadcaster(), time.monotonic()
    soon, later = sleeping_watcher(b), sleeping_watcher(b)
    b.schedule(soon, now + 0.3)
    b.schedule(later, now + 5.0)
    b.tick(now + 0.1)
    assert not soon.waiter.done() and not later.waiter.done()  # type: ignore[union-attr]
    b.tick(now + 0.6)
    assert soon.waiter.done() and not later.waiter.done()  # type: ignore[union-attr]
    b.tick(now + 5.3)
    assert later.waiter.done()  # type: ignore[union-attr]


async def test_rescheduling_moves_a_watcher_and_unregistering_forgets_it() -> None:
    b, now = broadcaster(), time.monotonic()
    moved, gone = sleeping_watcher(b), sleeping_watcher(b)
    b.schedule(moved, now + 0.3)
    b.schedule(moved, now + 2.0)  # its next bookmark moved on
    b.schedule(gone, now + 0.3)
    b.unregister(gone)
    b.tick(now + 1.0)
    assert not moved.waiter.done() and not gone.waiter.done()  # type: ignore[union-attr]
    b.tick(now + 2.3)
    assert moved.waiter.done()  # type: ignore[union-attr]
