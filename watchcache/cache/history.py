"""History: the replica's window of recent changes, backed by the Redis stream for older ones.

Only the dispatcher adds to the window (in log order, synchronously with the tailer). Readers
ask for the changes after an rv — served from memory when the window reaches back far enough,
else replayed from the stream — and for the state of the store at an older rv, rebuilt from the
current view by undoing later changes (each event names the version it replaced). Anything the
log's retention has dropped is 410 Expired, whichever replica is asked (design.md invariant 5).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict

from watchcache.cache.changes import Change
from watchcache.cache.replica import Replica
from watchcache.cache.view import Entry, stored_entry
from watchcache.machinery import errors

WINDOW_BYTES = 64 << 20  # recent changes kept in memory; older history is read from Redis
REPLAY_CACHE_BYTES = 32 << 20  # older changes decoded from Redis, shared by resuming watchers
CHANGE_OVERHEAD_BYTES = 200  # per-change objects beside its JSON and its (about as big) line


def watch_expired(requested: int, oldest: int) -> errors.APIError:
    """The watch cache's text: the requested rv and the oldest rv a watch can start from."""
    return errors.expired(f"too old resource version: {requested} ({oldest - 1})")


class History:
    def __init__(
        self,
        replica: Replica,
        *,
        window_bytes: int = WINDOW_BYTES,
        replay_cache_bytes: int = REPLAY_CACHE_BYTES,
    ) -> None:
        self.replica = replica
        self.window_bytes = window_bytes
        self._changes: list[Change | None] = []  # evicted slots are None until compacted away
        self._rvs: list[int] = []
        self._start = 0  # index of the oldest change still held
        self._bytes = 0
        self.replay_cache_bytes = replay_cache_bytes
        self._replayed: OrderedDict[int, Change] = OrderedDict()  # decoded from the stream, FIFO
        self._replayed_bytes = 0

    def remember(self, change: Change) -> None:
        """Add the newest change; evict the oldest while the window is over its byte budget."""
        self._changes.append(change)
        self._rvs.append(change.rv)
        self._bytes += _weight(change)
        changes = self._changes
        while self._bytes > self.window_bytes and self._start < len(changes) - 1:
            self._bytes -= _weight(changes[self._start])  # type: ignore[arg-type]
            changes[self._start] = None
            self._start += 1
        if self._start > 1024 and 2 * self._start > len(changes):  # amortised compaction
            del changes[: self._start]
            del self._rvs[: self._start]
            self._start = 0

    def reset(self) -> None:
        self._changes.clear()
        self._rvs.clear()
        self._start = self._bytes = 0
        self._replayed.clear()
        self._replayed_bytes = 0

    def _first_rv(self) -> int | None:
        return self._rvs[self._start] if self._start < len(self._rvs) else None

    async def check_retained(self, rv: int) -> None:
        """410 unless every change after ``rv`` is still in the log."""
        oldest = await self.replica.store.oldest_rv()
        if oldest is not None and rv + 1 < oldest:
            raise watch_expired(rv, oldest)

    async def changes_after(self, rv: int, limit: int) -> list[Change]:
        """Up to ``limit`` changes with rv > ``rv``, from the window or else the Redis stream.

        Only changes this replica has dispatched (rv ≤ the view's rv) are returned, so a watcher
        that catches up through here and then goes live never sees a change twice.
        """
        await self.check_retained(rv)
        first = self._first_rv()
        if first is not None and (rv + 1 >= first or self.replica.lost_between(rv, first)):
            start = bisect.bisect_right(self._rvs, rv, lo=self._start)
            return self._changes[start : start + limit]  # type: ignore[return-value]
        head = self.replica.rv
        ceiling = min(first if first is not None else head + 1, head + 1)
        cached = self._replayed_run(rv, limit, ceiling)
        if cached:
            return cached
        events = await self.replica.store.read_range(rv, limit)
        if events and rv + 1 < events[0].rv and not self.replica.lost_between(rv, events[0].rv):
            raise watch_expired(rv, events[0].rv)
        kinds = self.replica.kinds
        changes = [
            Change.from_event(kinds[e.resource], e) for e in events if e.rv < ceiling and e.resource in kinds
        ]
        for change in changes:
            self._keep_replayed(change)
        return changes

    def _replayed_run(self, rv: int, limit: int, ceiling: int) -> list[Change]:
        """Changes after ``rv`` already decoded for another watcher (stream rvs are consecutive)."""
        found: list[Change] = []
        wanted = rv + 1
        while len(found) < limit and wanted < ceiling:
            change = self._replayed.get(wanted)
            if change is None:
                break
            found.append(change)
            wanted += 1
        return found

    def _keep_replayed(self, change: Change) -> None:
        """Keep decoded stream changes a while: watchers resuming together read them once."""
        if change.rv in self._replayed:
            return
        self._replayed[change.rv] = change
        self._replayed_bytes += _weight(change)
        while self._replayed_bytes > self.replay_cache_bytes:
            _, oldest = self._replayed.popitem(last=False)
            self._replayed_bytes -= _weight(oldest)

    async def changes_between(self, after: int, upto: int) -> list[Change]:
        """Every change with ``after`` < rv ≤ ``upto`` (already dispatched), in order."""
        found: list[Change] = []
        cursor = after
        while cursor < upto:
            batch = await self.changes_after(cursor, 5_000)
            batch = [c for c in batch if c.rv <= upto]
            if not batch:
                break
            found += batch
            cursor = batch[-1].rv
        return found

    async def version(self, rv: int) -> Change | None:
        """The change that produced version ``rv`` (None once the log has dropped it)."""
        rvs = self._rvs
        index = bisect.bisect_left(rvs, rv, lo=self._start)
        if index < len(rvs) and rvs[index] == rv:
            return self._changes[index]
        events = await self.replica.store.read_range(rv - 1, 1)
        kind = self.replica.kinds.get(events[0].resource) if events and events[0].rv == rv else None
        return None if kind is None else Change.from_event(kind, events[0])

    async def fill_previous(self, change: Change) -> None:
        """Give a change replayed from the stream the content of the version it replaced."""
        if change.previous_rv:
            previous = await self.version(change.previous_rv)
            if previous is not None:
                change.previous_json = previous.json

    async def state_at(
        self, resource: str, rv: int, namespace: str | None, start_after: str | None
    ) -> list[Entry]:
        """A resource's objects as they were at ``rv`` (in key order), rebuilt from its view and the log.

        For every key changed after ``rv``, its version then is the one its first later change
        replaced. Raises 410 Expired when a change or a version needed is no longer retained.
        """
        view = self.replica.views[resource]
        current, now = view.entries(namespace, start_after), self.replica.rv
        if rv >= now:
            return current
        first_later: dict[str, Change] = {}
        for change in await self.changes_between(rv, now):
            if change.kind.qualified_resource == resource:
                first_later.setdefault(change.key, change)
        if not first_later:
            return current
        lo = f"{namespace}/" if namespace is not None else ""
        hi = f"{namespace}0" if namespace is not None else "\U0010ffff"
        if start_after is not None:
            lo = max(lo, start_after + "\x00")
        state = {e.key: e for e in current if e.key not in first_later}
        for key, change in first_later.items():
            if lo <= key < hi and change.previous_rv:
                state[key] = await self._entry_at(change.previous_rv, rv)
        return [state[key] for key in sorted(state)]

    async def _entry_at(self, version_rv: int, wanted: int) -> Entry:
        change = await self.version(version_rv)
        if change is None:
            raise errors.expired("The resourceVersion for the provided list is too old.")
        return stored_entry(change.key, version_rv, change.json, b"", change.kind.fields)


def _weight(change: Change) -> int:
    """What holding a change costs: its JSON, the line built from it, and object overhead."""
    return 2 * len(change.json) + CHANGE_OVERHEAD_BYTES
