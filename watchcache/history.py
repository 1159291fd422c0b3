"""History: the replica's window of recent changes, backed by the Redis stream for older ones.

Only the dispatcher adds to the window (in log order, synchronously with the tailer). Readers
ask for the changes after an rv — served from memory when the window reaches back far enough,
else replayed from the stream — and for the state of the store at an older rv, rebuilt from the
current view by undoing later changes (each event names the version it replaced). Anything the
log's retention has dropped is 410 Expired, whichever replica is asked (design.md invariant 5).
"""

from __future__ import annotations

import bisect

import orjson

from . import errors
from .changes import Change
from .replica import Replica
from .view import Entry, make_entry

WINDOW_EVENTS = 20_000  # recent changes kept in memory (~3 KB each: ~60 MB at most)


def watch_expired(requested: int, oldest: int) -> errors.APIError:
    """The watch cache's text: the requested rv and the oldest rv a watch can start from."""
    return errors.expired(f"too old resource version: {requested} ({oldest - 1})")


class History:
    def __init__(self, replica: Replica, *, window: int = WINDOW_EVENTS) -> None:
        self.replica = replica
        self.window_size = window
        self._changes: list[Change] = []
        self._rvs: list[int] = []

    def remember(self, change: Change) -> None:
        self._changes.append(change)
        self._rvs.append(change.rv)
        if len(self._changes) > 2 * self.window_size:  # amortised: drop a whole half at once
            del self._changes[: self.window_size]
            del self._rvs[: self.window_size]

    def reset(self) -> None:
        self._changes.clear()
        self._rvs.clear()

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
        rvs = self._rvs
        if rvs and rv + 1 >= rvs[0]:
            start = bisect.bisect_right(rvs, rv)
            return self._changes[start : start + limit]
        events = await self.replica.store.read_range(rv, limit)
        if events and rv + 1 < events[0].rv:
            raise watch_expired(rv, events[0].rv)
        ceiling = min(rvs[0] if rvs else self.replica.view.rv + 1, self.replica.view.rv + 1)
        return [Change.from_event(e) for e in events if e.rv < ceiling]

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
        index = bisect.bisect_left(rvs, rv)
        if index < len(rvs) and rvs[index] == rv:
            return self._changes[index]
        events = await self.replica.store.read_range(rv - 1, 1)
        return Change.from_event(events[0]) if events and events[0].rv == rv else None

    async def fill_previous(self, change: Change) -> None:
        """Give a change replayed from the stream the content of the version it replaced."""
        if change.previous_rv:
            previous = await self.version(change.previous_rv)
            if previous is not None:
                change.previous_json = previous.json

    async def state_at(self, rv: int, namespace: str | None, start_after: str | None) -> list[Entry]:
        """The pods as they were at ``rv`` (in key order), rebuilt from the view and the log.

        For every key changed after ``rv``, its version then is the one its first later change
        replaced. Raises 410 Expired when a change or a version needed is no longer retained.
        """
        view = self.replica.view
        current, now = view.entries(namespace, start_after), view.rv
        if rv >= now:
            return current
        first_later: dict[str, Change] = {}
        for change in await self.changes_between(rv, now):
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
        return make_entry(change.key, version_rv, orjson.loads(change.json), change.json)
