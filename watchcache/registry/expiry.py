"""Expiry: the objects of a kind go a fixed time after their last write.

kube-apiserver stores events with an etcd lease of ``--event-ttl`` (its generic store's
``TTLFunc``), renewed by every write, so an event disappears that long after it last changed
and watchers see it DELETED. Here the log records when Redis appended each version (``ts``), so
a replica knows when every object it holds was last written: from the events it applies, or,
for what a bootstrap loaded, from the log entry of the object's rv. Every replica sweeps; the
deletions are compare-and-set on the rv that expired, so a write in between keeps the object
and two replicas never delete it twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime

import orjson
from redis.exceptions import RedisError

from watchcache.cache.replica import Applied
from watchcache.cache.view import Entry
from watchcache.machinery import errors
from watchcache.registry.deletion import DeleteOptions
from watchcache.registry.resource import ResourceRegistry

log = logging.getLogger("watchcache.expiry")


def _epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


MAX_SWEEP_INTERVAL_S = 10.0


class Expiry:
    def __init__(
        self, registry: ResourceRegistry, ttl_s: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = registry
        self.ttl_s = ttl_s
        self.clock = clock
        self.interval_s = min(max(ttl_s / 4, 0.1), MAX_SWEEP_INTERVAL_S)
        self._written: dict[str, tuple[int, float]] = {}  # key -> (rv, when written, epoch s)
        registry.replica.add_listener(self._observe)
        registry.replica.add_reset_listener(self._written.clear)

    def _observe(self, applied: list[Applied]) -> None:
        resource, written = self.registry.resource, self._written
        for item in applied:
            event = item.event
            if event.resource != resource:
                continue
            if item.entry is None:
                written.pop(event.key, None)
            else:
                written[event.key] = (event.rv, event.time_ms / 1000 if event.time_ms else self.clock())

    async def _written_at(self, entry: Entry, now: float) -> float:
        """When a version a bootstrap loaded was written. Only a version that looks old (its
        newest recorded time is past the TTL) costs a log lookup; the others count as written
        now, which can only keep them longer, and only until a replica that saw the write
        expires them."""
        meta = orjson.loads(entry.json)["metadata"]
        times = [
            meta.get("creationTimestamp") or "",
            *((m.get("time") or "") for m in meta.get("managedFields") or []),
        ]
        newest = max(times)
        if newest and now - _epoch(newest) < self.ttl_s:
            return now
        ms = await self.registry.store.event_time_ms(entry.rv)
        return ms / 1000 if ms is not None else now

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except (RedisError, errors.APIError) as exc:  # Redis away, or the view rebuilding
                log.warning("expiring %s skipped: %s", self.registry.resource, exc)

    async def sweep(self) -> int:
        """Delete what expired; how many went."""
        now, expired = self.clock(), 0
        for entry in self.registry.view.entries():
            held = self._written.get(entry.key)
            if held is None or held[0] != entry.rv:  # loaded by a bootstrap
                held = self._written[entry.key] = (entry.rv, await self._written_at(entry, now))
            if now - held[1] < self.ttl_s:
                continue
            try:
                await self.registry.delete(
                    entry.namespace or None, entry.name, DeleteOptions(precondition_rv=str(entry.rv))
                )
            except (errors.NotFound, errors.Conflict):
                continue  # written or deleted meanwhile
            expired += 1
        if expired:
            log.info("%d %s expired", expired, self.registry.resource)
        return expired
