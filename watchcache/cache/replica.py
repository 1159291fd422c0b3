"""The replica runtime: bootstrap, the tailer, and waiting for the views to reach an rv.

Readiness is a small state machine::

    starting --bootstrap: snapshot + replay to the log head--> ready
    ready --Redis unreachable--> ready (stale; the tailer retries with backoff)
    ready --another history in Redis, or a compaction gap--> rebuilding --bootstrap--> ready

Another history: Redis was emptied (the log's epoch changed) or came back from an older state
(its head is behind the view), noticed by the tailer (the epoch comes with every read of
events; the head is checked when idle and after an outage), by consistent reads (the head and
the epoch in one read) or by a write (refused by the write script). The view is then rebuilt
from Redis, never mixed: while it is, reads, writes and new watches answer 429, and every
open watch ends with 410 so its client relists.

The log holds every kind, in one rv sequence; the replica keeps a view per kind it serves. The
tailer is the only writer of the views (design.md invariant 3): it applies every event, the
replica's own writes included, in log order, then wakes the readers waiting for an rv and hands
the applied events to the listeners (the watch dispatcher). ``rv`` is how far all views reflect
the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchcache.cache.view import Entry, View, stored_entry
from watchcache.machinery.kinds import Kind
from watchcache.process import tasks
from watchcache.process.huge_pages import small_pages
from watchcache.storage.entries import Event
from watchcache.storage.store import RANGE_BATCH, HistoryChanged, Store

log = logging.getLogger("watchcache.replica")

TAIL_BLOCK_MS = 5_000  # XREAD BLOCK per call; only bounds how often an idle tailer loops
RETRY_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)  # tailer reconnect delays while Redis is away
PENDING_ENCODINGS_MAX = 10_000  # writer-built entries waiting for the tailer to adopt them


@dataclass(slots=True)
class Applied:
    """An event as its kind's view took it: the new entry (None if deleted) and the one it
    replaced. Never changed once built; not frozen, as ``view.Entry``: one is built per event
    on every replica, and a frozen ``__init__`` costs four times as much (0.6 against 0.15 µs)."""

    kind: Kind
    event: Event
    entry: Entry | None
    previous: Entry | None


Listener = Callable[[list[Applied]], None]


class Replica:
    """Owns the view of one process and keeps it following the log."""

    def __init__(self, store: Store, kinds: Iterable[Kind], *, log_reader: Store | None = None) -> None:
        self.store = store
        # where the bootstrap and the tailer read the log: a Redis replica (--redis-read-url)
        # takes those reads off the primary; writes, heads and history checks stay on it
        self.log_reader = log_reader or store
        # one view per stored kind: a version served from another's objects reads that one's
        self.kinds = {kind.storage_resource: kind.storage for kind in kinds}
        self.views = {resource: View(k.fields, k.index_field) for resource, k in self.kinds.items()}
        self.rv = 0  # every view reflects the log up to here
        self.ready = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._listeners: list[Listener] = []
        self._reset_listeners: list[Callable[[], None]] = []
        self._pending: dict[int, Entry] = {}
        self._task: asyncio.Task[Any] | None = None
        self._head_waiters: list[asyncio.Future[int]] = []
        self._heads = store.head_reader()  # only _read_heads uses it: one read at a time
        self._follower = self.log_reader.log_follower()  # only the tailer uses it
        self._head_reader: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.consistent_reads = 0  # reads that needed the log head (for /metrics)
        self.head_reads = 0  # the Redis round trips those reads shared
        self.rebuilds = 0  # views rebuilt because Redis held another history (for /metrics)
        self.lost: list[tuple[int, int]] = []  # rv ranges (after, upto] a history lost
        self._rebuilding = False

    async def start(self) -> None:
        await self.bootstrap()
        self._task = tasks.spawn("tailer", self._tail_forever())

    async def stop(self) -> None:
        await tasks.cancel(self._task, self._head_reader)
        await self._heads.close()
        await self._follower.close()
        for _, _, fut in self._waiters:
            fut.cancel()
        self._waiters.clear()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def add_reset_listener(self, listener: Callable[[], None]) -> None:
        self._reset_listeners.append(listener)

    async def bootstrap(self, served_rv: int = 0) -> None:
        """Join the log's history, snapshot the Redis-side view, then replay the log from the
        snapshot's head. ``served_rv``: how far a view rebuilt now had gone (see Store.claim).

        The head is read *before* the scan, so every change the scan may have missed or seen
        half of is in the replay, and ``View.apply`` skips what the scan already reflected.
        """
        started = time.monotonic()
        self.lost = await self.store.claim(served_rv)
        self._pending.clear()  # entries a writer built in the history left behind
        reader = self.log_reader  # snapshot, head and replay from one Redis: they agree
        head = await reader.head()
        # ~5 containers a pod, none in a cycle: nothing to collect; and a view's worth of memory
        # at once, which the kernel gives faster in 4 KiB pages (process.huge_pages)
        with _collector_paused(), small_pages():
            for resource, view in self.views.items():
                fields = view.fields
                view.reset()
                view.load(
                    [
                        stored_entry(key, stored.rv, stored.json, stored.summary, fields)
                        async for key, stored in reader.snapshot(resource)
                    ]
                )
            # The view is long-lived: a full collection would otherwise walk every pod's
            # objects again and again while serving (a pause of tens of ms at 100k pods), and
            # the first one would come right after the pause. Frozen objects are still freed
            # by reference counting when a newer version replaces them.
            gc.freeze()
        counts = ", ".join(f"{len(view)} {resource}" for resource, view in self.views.items())
        self.rv = max(head, 1)  # rv 1 is the empty store's: the first event is 2
        while events := await reader.read_range(self.rv):
            self._apply(events)
            if len(events) < RANGE_BATCH:
                break
        self.ready = True
        log.info("view ready: %s at resourceVersion %d in %.2fs", counts, self.rv, time.monotonic() - started)

    def offer_entry(self, rv: int, entry: Entry) -> None:
        """A writer hands over the entry it built for rv: the tailer neither unpacks nor encodes."""
        if rv > self.rv and len(self._pending) < PENDING_ENCODINGS_MAX:
            self._pending[rv] = entry

    def _future(self) -> asyncio.Future[Any]:
        """A future on the running loop, which is looked up once: on Python 3.11 every
        ``get_running_loop()`` makes a ``getpid()`` system call, and readers ask per request."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop.create_future()

    async def wait_for(self, rv: int, timeout: float) -> bool:
        """Wait until the view has applied the log up to ``rv``; False on timeout."""
        if self.rv >= rv:
            return True
        fut: asyncio.Future[None] = self._future()
        heapq.heappush(self._waiters, (rv, next(self._seq), fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            return False
        return True

    async def consistent_rv(self, timeout: float) -> int:
        """Serve "most recent" reads: wait until the view holds everything the log held now.

        Returns the rv reached; raises TimeoutError if the view does not catch up in time.
        """
        head = await self._fresh_head()
        if self.rv < head and not await self.wait_for(head, timeout):
            raise TimeoutError(head)
        return max(self.rv, head)

    def _fresh_head(self) -> asyncio.Future[int]:
        """The log head, read by a GET sent after this call: single-flight under load.

        Callers queue a bare future each; one reader task sends a GET for everyone queued
        before it is sent, answers them all, and repeats while callers keep arriving. A caller
        that gives up cancels only its own future. (A plain function: per request, one
        coroutine frame less to suspend and resume.)
        """
        self.consistent_reads += 1
        fut: asyncio.Future[int] = self._future()
        self._head_waiters.append(fut)
        if self._head_reader is None:
            self._head_reader = tasks.spawn("head-reader", self._read_heads(), fut.get_loop())
        return fut

    async def _read_heads(self) -> None:
        waiters: list[asyncio.Future[int]] = []
        try:
            while self._head_waiters:
                waiters, self._head_waiters = self._head_waiters, []  # later arrivals: a later read
                self.head_reads += 1
                seen = self.rv  # the tailer may apply newer events while the read is out
                try:
                    head, epoch = await self._heads.head()
                    if self._diverged(head, epoch, seen):
                        self.history_changed(self._divergence(head, epoch, seen))
                        raise HistoryChanged()
                except Exception as exc:
                    _settle(waiters, error=exc)
                else:
                    _settle(waiters, head)
                waiters = []
        finally:
            self._head_reader = None
            for fut in (*waiters, *self._head_waiters):  # cancelled: shutdown
                fut.cancel()
            self._head_waiters = []

    def _apply(self, events: list[Event]) -> None:
        pending, views, kinds = self._pending, self.views, self.kinds
        applied = []
        for event in events:
            view = views.get(event.resource)
            if view is None:  # a kind this replica does not serve (a newer release wrote it)
                continue
            previous = view.get(event.key)
            entry = view.apply(event, pending.pop(event.rv, None))
            applied.append(Applied(kinds[event.resource], event, entry, previous))
        if events:
            self.rv = max(self.rv, events[-1].rv)
        self._wake()
        for listener in self._listeners:
            listener(applied)

    def _wake(self) -> None:
        rv = self.rv
        waiters = self._waiters
        while waiters and waiters[0][0] <= rv:
            _, _, fut = heapq.heappop(waiters)
            if not fut.done():
                fut.set_result(None)

    def _diverged(self, head: int, epoch: bytes | None, seen: int) -> bool:
        """Redis holds another history than the view: emptied, or back at an older state.
        ``seen``: the view's rv before ``head`` was asked for (the view may have moved past
        the head since, legitimately: the read is a moment old when it arrives)."""
        return epoch != self.store.epoch or (seen > 1 and head < seen)

    def _divergence(self, head: int, epoch: bytes | None, seen: int) -> str:
        if epoch != self.store.epoch:
            return "the log's epoch changed (Redis was emptied)"
        return f"the log head {head} is behind the view's {seen} (Redis lost its newest events)"

    def lost_rv(self, rv: int) -> bool:
        """Whether ``rv`` was given out in a history Redis has lost since."""
        return any(after < rv <= upto for after, upto in self.lost)

    def lost_between(self, rv: int, next_rv: int) -> bool:
        """Whether the log's gap from ``rv`` to ``next_rv`` is a lost range (rvs are otherwise
        consecutive: a gap is events compacted away, or a history that lost them)."""
        return any(after <= rv and next_rv - 1 <= upto for after, upto in self.lost)

    def history_changed(self, reason: str) -> None:
        """Someone found another history in Redis: rebuild the view from it, once."""
        if self._rebuilding:
            return
        self._rebuilding, self.ready = True, False  # from now on: 429 until rebuilt
        task = self._task
        self._task = tasks.spawn("tailer", self._rebuild_then_tail(reason))
        if task is not None:
            task.cancel()

    async def _rebuild_then_tail(self, reason: str) -> None:
        await self._rebuild(reason)
        await self._tail_forever()

    async def _tail_forever(self) -> None:
        failures = 0
        while True:
            try:
                events, epoch = await self._follower.next(self.rv, TAIL_BLOCK_MS)
                if epoch != self.store.epoch:
                    await self._rebuild(self._divergence(0, epoch, self.rv))
                    continue
                if not events or failures:  # idle, or back after an outage: a rollback?
                    seen = self.rv
                    head = await self.store.head()
                    if self._diverged(head, epoch, seen):
                        await self._rebuild(self._divergence(head, epoch, seen))
                        continue
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                await _back_off("tailer", failures, exc)
                failures += 1
                continue
            failures = 0
            if events and events[0].rv > self.rv + 1 and not self.lost_between(self.rv, events[0].rv):
                await self._rebuild(
                    f"the log resumes at {events[0].rv} past the view's {self.rv} (compacted, or lost)"
                )
            elif events:
                self._apply(events)

    async def _rebuild(self, reason: str) -> None:
        """Rebuild the view from what Redis holds now, as kube-apiserver re-initialises its
        watch cache: watches of the old view end with 410 (their clients relist), and nothing
        is served from the view until it is whole again."""
        log.error("%s: rebuilding the view from Redis; open watches end with 410 Expired", reason)
        self.rebuilds += 1
        self._rebuilding, self.ready = True, False
        served = self.rv
        for listener in self._reset_listeners:
            listener()
        failures = 0
        while True:
            try:
                await self.bootstrap(served)
                break
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                await _back_off("rebuild", failures, exc)
                failures += 1
        self._rebuilding = False


async def _back_off(what: str, failures: int, exc: Exception) -> None:
    """Wait before trying an unreachable Redis again, longer after each failure in a row."""
    delay = RETRY_BACKOFF_S[min(failures, len(RETRY_BACKOFF_S) - 1)]
    log.warning("%s: Redis unreachable (%s); retrying in %.1fs", what, exc, delay)
    await asyncio.sleep(delay)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _settle(futures: list[asyncio.Future[int]], head: int = 0, *, error: Exception | None = None) -> None:
    for fut in futures:
        if fut.done():  # its caller gave up
            continue
        if error is not None:
            fut.set_exception(error)
        else:
            fut.set_result(head)
