"""Watch fan-out: one dispatcher per replica, bounded per-watcher buffers, parking.

The :class:`Broadcaster` is a replica listener: the tailer hands it every applied event, in log
order, synchronously. It turns each event into a :class:`Change` (the event's lines are built
once and shared by every watcher), keeps the recent ones in a bounded in-memory window, and
appends the shared bytes to the buffer of every *live* watcher that the event concerns —
found by index (name, node, namespace), so an event costs in proportion to the watchers it
matches. The dispatcher never awaits a client.

A watcher whose buffer is full is *parked*: it stops receiving live events, its buffer is
released, and it keeps only its position (the rv before its oldest undelivered change). Its own
writer task later catches up from the window, or from the Redis stream for older history, and
rejoins live delivery. Only a position that has fallen out of the log's retention ends the
watch, with 410 (design.md invariants 5 and 7).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from watchcache.cache.changes import LEFT, Change, WatchFilter
from watchcache.cache.history import History
from watchcache.cache.pacing import Pacer
from watchcache.cache.replica import Applied, Replica
from watchcache.cache.view import Entry
from watchcache.machinery.objects import object_key

BUFFER_EVENTS = 1_000  # per-watcher buffer of shared byte strings (references, not copies)
TICK_S = 0.25  # resolution of watch deadlines and bookmarks
# sentinel (compared by identity): no verdict yet for a filter in this event; a verdict's type
_UNJUDGED: tuple[str, tuple[int, bytes]] = ("", (0, b""))

CATCH_UP_BATCH = 256  # changes fetched per catch-up step (window or XRANGE): bounds its memory
SEND_CHUNK_BYTES = 256 << 10  # at most this much per send (plus one line), and per paced catch-up step


class Ending(enum.Enum):
    """Why the server ends a watch (a client's disconnect or its deadline needs no reason)."""

    SHUTDOWN = "shutdown"  # the replica stops: what is buffered, a last bookmark, a clean end
    RESET = "reset"  # the view was rebuilt from a history the watch did not follow: 410 Expired


@dataclass(eq=False)
class Watcher:
    """One open watch. ``live``: the dispatcher appends to ``buffer`` changes with rv > ``cursor``.

    Not live (starting or parked): the watcher's own task catches up from ``cursor``.
    """

    filter: WatchFilter
    as_table: bool
    cursor: int
    live: bool = False
    parked: bool = False
    closed: bool = False
    ending: Ending | None = None
    buffer: deque[tuple[int, bytes]] = field(default_factory=deque)  # (rv, shared line)
    waiter: asyncio.Future[None] | None = None  # what its task awaits when it sleeps (done: awake)
    index_keys: tuple[tuple[str, ...], ...] = ()
    timer_tick: int | None = None  # the ticker's bucket it waits in (its next deadline or bookmark)
    # looked up once: each get_running_loop() is a getpid() system call on Python 3.11
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)

    def close(self, ending: Ending | None = None) -> None:
        if not self.closed:
            self.closed, self.ending = True, ending
        self.wake()

    def wake(self) -> None:
        """Resume the watcher's task if it sleeps (a bare future: cheaper than asyncio.Event)."""
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def sleep(self) -> asyncio.Future[None]:
        """The future to await until :meth:`wake`; awaited directly by the watcher's task, with
        no coroutine frame of its own to suspend and resume once per delivery."""
        self.waiter = self.loop.create_future()
        return self.waiter


@dataclass
class Metrics:
    """Counters for ``/metrics`` (see docs/architecture.md)."""

    events_dispatched: int = 0
    deliveries: int = 0
    deliveries_by_resource: dict[str, int] = field(default_factory=dict)  # kube's watch events, by resource
    terminated: dict[str, int] = field(default_factory=dict)  # watches the server ended with 410, by resource
    parked: int = 0
    resumed: int = 0
    dispatch_lag_s: float = 0.0  # from Redis appending the newest event to its dispatch


class Broadcaster:
    """The replica's dispatcher and in-memory window of recent changes."""

    def __init__(
        self,
        replica: Replica,
        history: History,
        *,
        catch_up: Pacer,
        buffer: int = BUFFER_EVENTS,
    ) -> None:
        self.replica = replica
        self.history = history
        self.buffer_size = buffer
        self.catch_up = catch_up  # paces every watcher replaying history (--catch-up-mib-per-s)
        self.metrics = Metrics()
        self._index: dict[tuple[str, ...], set[Watcher]] = {}
        self._filters: dict[WatchFilter, list] = {}  # filter -> [the shared instance, watchers using it]
        self.watchers: set[Watcher] = set()
        self.stopping = False  # the replica is shutting down: watches end as they register
        # timer wheel: tick number -> watchers due then; a tick costs what is due, not all watchers
        self._timers: dict[int, set[Watcher]] = {}
        self._last_tick = math.floor(time.monotonic() / TICK_S)
        replica.add_listener(self.dispatch)
        replica.add_reset_listener(self.reset)

    async def tick_forever(self) -> None:
        """Wake watchers whose deadline or bookmark is due: one timer for all, not one per wait."""
        while True:
            await asyncio.sleep(TICK_S)
            self.tick(time.monotonic())

    def tick(self, now: float) -> None:
        current = math.floor(now / TICK_S)
        for tick in range(self._last_tick + 1, current + 1):
            for watcher in self._timers.pop(tick, ()):
                watcher.timer_tick = None
                watcher.wake()
        self._last_tick = max(self._last_tick, current)

    def schedule(self, watcher: Watcher, due: float) -> None:
        """Have the ticker wake ``watcher`` at ``due`` (monotonic); cheap when it has not moved."""
        tick = max(math.ceil(due / TICK_S), self._last_tick + 1)
        if watcher.timer_tick == tick:
            return
        self._unschedule(watcher)
        self._timers.setdefault(tick, set()).add(watcher)
        watcher.timer_tick = tick

    def _unschedule(self, watcher: Watcher) -> None:
        if watcher.timer_tick is not None:
            bucket = self._timers.get(watcher.timer_tick)
            if bucket is not None:
                bucket.discard(watcher)
                if not bucket:
                    del self._timers[watcher.timer_tick]
            watcher.timer_tick = None

    @property
    def rv(self) -> int:
        """Every change up to this rv has been dispatched (the view's rv)."""
        return self.replica.rv

    async def close(self) -> None:
        self.stop_watches()
        self.history.reset()

    def stop_watches(self) -> None:
        """Shutdown: end every watch, and each one that starts from now on, with a last
        bookmark (to those that asked for bookmarks), so clients resume elsewhere without a relist."""
        self.stopping = True
        for watcher in list(self.watchers):
            watcher.close(Ending.SHUTDOWN)

    def reset(self) -> None:
        """The view is rebuilt: end every watch with 410 Expired (clients relist) and forget
        the window, whose changes belong to the history the view no longer follows."""
        for watcher in list(self.watchers):
            watcher.close(Ending.RESET)
        self.history.reset()

    # ---- registration ----------------------------------------------------------------------

    def register(self, watcher: Watcher) -> None:
        interned = self._filters.setdefault(watcher.filter, [watcher.filter, 0])
        interned[1] += 1
        watcher.filter = interned[0]  # watchers with equal filters share one: judged once per event
        keys = _index_keys(watcher.filter, self.replica.kinds[watcher.filter.resource].index_field)
        watcher.index_keys = keys
        self.watchers.add(watcher)
        for key in keys:
            self._index.setdefault(key, set()).add(watcher)
        if self.stopping:
            watcher.close(Ending.SHUTDOWN)

    def unregister(self, watcher: Watcher) -> None:
        if watcher not in self.watchers:
            return
        interned = self._filters[watcher.filter]
        interned[1] -= 1
        if not interned[1]:
            del self._filters[watcher.filter]
        self.watchers.discard(watcher)
        self._unschedule(watcher)
        for key in watcher.index_keys:
            bucket = self._index.get(key)
            if bucket is not None:
                bucket.discard(watcher)
                if not bucket:
                    del self._index[key]

    # ---- dispatch (called by the tailer; never awaits) -----------------------------------------

    def dispatch(self, applied: list[Applied]) -> None:
        for item in applied:
            change = Change.from_applied(item)
            self.history.remember(change)
            self._fan_out(change)
        self.metrics.events_dispatched += len(applied)
        if applied and applied[-1].event.time_ms:
            self.metrics.dispatch_lag_s = time.time() - applied[-1].event.time_ms / 1000

    def _candidates(self, change: Change) -> Iterable[Watcher]:
        """Watchers an event may concern, each once: every watcher sits in exactly one bucket
        of its resource, so chaining distinct buckets needs no copy and no dedup."""
        index = self._index
        if not index:
            return ()
        kind, key = change.kind, change.key
        resource, field = kind.qualified_resource, kind.index_field
        keys = {("all", resource), ("key", resource, key), ("ns", resource, key.rpartition("/")[0])}
        if field is not None:
            keys.add(("field", resource, change.state.fields.get(field, "")))
            if change.previous is not None:
                keys.add(("field", resource, change.previous.fields.get(field, "")))
        return itertools.chain.from_iterable([bucket for key in keys if (bucket := index.get(key))])

    def _fan_out(self, change: Change) -> None:
        limit, rv = self.buffer_size, change.rv
        delivered = 0
        # per distinct (interned) filter, judged once per event: (kind, the buffered JSON item);
        # the item tuple itself is shared by every JSON watcher with that filter
        judged: dict[int, tuple[str, tuple[int, bytes]] | None] = {}
        for watcher in self._candidates(change):
            if not watcher.live or rv <= watcher.cursor:
                continue
            flt = watcher.filter
            verdict = judged.get(id(flt), _UNJUDGED)
            if verdict is _UNJUDGED:
                kind = change.judge(flt)
                verdict = judged[id(flt)] = (
                    None if kind is None else (kind, (rv, change.line(kind, False, flt.served)))
                )
            if verdict is None:
                continue
            buffer = watcher.buffer
            if len(buffer) >= limit:
                self._park(watcher, rv)
                continue
            buffer.append((rv, change.line(verdict[0], True, flt.served)) if watcher.as_table else verdict[1])
            waiter = watcher.waiter  # Watcher.wake, inlined: this loop runs once per delivery
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
            delivered += 1
        if delivered:
            metrics, by_resource = self.metrics, self.metrics.deliveries_by_resource
            metrics.deliveries += delivered
            resource = change.kind.qualified_resource
            by_resource[resource] = by_resource.get(resource, 0) + delivered

    def _park(self, watcher: Watcher, undelivered_rv: int) -> None:
        """Stop live delivery and release the buffer: a parked watcher costs a cursor only.

        It resumes from just before its oldest undelivered change (``undelivered_rv`` when its
        buffer is empty), catching up from the window or the stream.
        """
        buffer = watcher.buffer
        watcher.cursor = (buffer[0][0] if buffer else undelivered_rv) - 1
        buffer.clear()
        watcher.live = False
        watcher.parked = True
        watcher.wake()
        self.metrics.parked += 1

    # ---- catching up -------------------------------------------------------------------------

    async def replay(
        self,
        watcher: Watcher,
        line: Callable[[Change, str], bytes],
        send: Callable[[bytes], Awaitable[None]],
    ) -> None:
        """Replay from the watcher's cursor until it can go live (no await at the switch).

        Changes come from the history window, or the stream when older (kube's
        ``cacheWatcher.processInterval``); each is judged against the watcher's filter and sent
        as ``line`` renders it, in chunks paced replica-wide, so live delivery comes first.
        """
        while not watcher.closed:
            if self.go_live_if_current(watcher):
                return
            changes = await self.history.changes_after(watcher.cursor, CATCH_UP_BATCH)
            if not changes:
                if self.go_live_if_current(watcher):
                    return
                await asyncio.sleep(0)  # window not reached yet: the tailer is still applying
                continue
            lines, size = [], 0
            for change in changes:
                kind = change.judge(watcher.filter)
                if kind == LEFT and change.previous_json is None:
                    await self.history.fill_previous(change)  # replayed from Redis: fetch what it left as
                if kind is not None:
                    lines.append(line(change, kind))
                    size += len(lines[-1])
                if size >= SEND_CHUNK_BYTES:
                    await self._send_paced(lines, send)
                    lines, size = [], 0
            watcher.cursor = changes[-1].rv
            if lines:
                await self._send_paced(lines, send)

    async def _send_paced(self, lines: list[bytes], send: Callable[[bytes], Awaitable[None]]) -> None:
        chunk = b"".join(lines)
        await self.catch_up.pace(len(chunk))
        await send(chunk)

    def go_live_if_current(self, watcher: Watcher) -> bool:
        """Atomic with dispatch (no await): a watcher at the head becomes live."""
        if watcher.cursor < self.rv:
            return False
        watcher.live = True
        if watcher.parked:
            watcher.parked = False
            self.metrics.resumed += 1
        return True

    def initial_entries(self, flt: WatchFilter) -> list[Entry]:
        view = self.replica.views[flt.resource]
        return [e for e in view.entries(flt.namespace) if flt.matches(e.key, e.selector_state)]


def _index_keys(flt: WatchFilter, index_field: str | None) -> tuple[tuple[str, ...], ...]:
    """The most selective index bucket for a watcher, within its resource (``all``: every
    change of the resource). A cluster-scoped object's namespace is ``""``."""
    resource = flt.resource
    name = flt.field.exact("metadata.name")
    namespace = flt.namespace or flt.field.exact("metadata.namespace")
    if name is not None and namespace is not None:
        return (("key", resource, object_key(namespace, name)),)
    field = None if index_field is None else flt.field.exact(index_field)
    if field is not None:
        return (("field", resource, field),)
    if namespace is not None:
        return (("ns", resource, namespace),)
    return (("all", resource),)
