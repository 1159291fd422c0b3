"""Retention of the event stream: one coordinated compactor trims what is too old.

Every replica runs a :class:`Compactor`, but only the holder of the lease in Redis acts, so
exactly one trims at a time. An event is kept while it is among the newest ``retention_events``
*and* younger than ``retention_seconds``; a watch or exact list from before the oldest kept
event gets 410 Expired, as from kube-apiserver past its watch-cache window.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable

from redis.exceptions import RedisError

from watchcache.storage.store import Store

log = logging.getLogger("watchcache.compactor")

COMPACT_INTERVAL_S = 10.0  # how often the lease holder looks for events to drop
LEASE_TTL_MS = 30_000  # > interval + one compaction: a dead holder's lease lapses soon after


class Compactor:
    def __init__(
        self,
        store: Store,
        *,
        retention_events: int,
        retention_seconds: float,
        clock: Callable[[], float] = time.time,
        interval_s: float = COMPACT_INTERVAL_S,
    ) -> None:
        self.store = store
        self.retention_events = retention_events
        self.retention_seconds = retention_seconds
        self.clock = clock
        self.interval_s = interval_s
        self.owner = uuid.uuid4().hex

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.compact_once()
            except RedisError as exc:
                log.warning("compaction skipped: %s", exc)

    async def compact_once(self) -> int:
        """Trim the stream if this replica holds the lease; returns the events dropped."""
        if not await self.store.acquire_lease(self.owner, LEASE_TTL_MS):
            return 0
        oldest = await self.store.oldest_rv()
        if oldest is None:
            return 0
        head = await self.store.head()
        keep_from = max(head - self.retention_events + 1, await self._first_young(oldest, head))
        if keep_from <= oldest:
            return 0
        dropped = await self.store.trim_before(keep_from)
        log.info("compacted %d events; the log now starts at resourceVersion %d", dropped, keep_from)
        return dropped

    async def _first_young(self, lo: int, hi: int) -> int:
        """The smallest rv in [lo, hi] written within the age limit (binary search, O(log n) calls)."""
        cutoff_ms = (self.clock() - self.retention_seconds) * 1000
        while lo < hi:
            mid = (lo + hi) // 2
            written = await self.store.event_time_ms(mid)
            if written is not None and written >= cutoff_ms:
                hi = mid
            else:
                lo = mid + 1
        return lo
