"""Finishing graceful deletions, as a kubelet would (a design choice: there is no kubelet here).

A scheduled pod deleted with a grace period gets a ``deletionTimestamp`` and stays; in a cluster
its kubelet stops the containers and makes the final ``gracePeriodSeconds=0`` delete. Without
that, ``kubectl delete`` would wait forever. Every replica runs a :class:`Reaper`; the final
delete is a compare-and-swap write, so when two replicas race, one wins and the other sees the
pod gone. Pods with finalizers stay until the finalizers are removed, as in Kubernetes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import orjson
from redis.exceptions import RedisError

from watchcache.machinery import errors
from watchcache.registry.deletion import DeleteOptions, parse_timestamp
from watchcache.registry.resource import ResourceRegistry

log = logging.getLogger("watchcache.reaper")

REAP_INTERVAL_S = 1.0  # how often due deletions are looked for; grace periods are whole seconds
# A deletion with no grace is finished by the request that started it (its second write); the
# reaper takes one over only when it is still there this long after, i.e. when that request's
# replica died between its two writes. Sooner, both would race to remove it.
IMMEDIATE_SETTLE_S = 5.0


class Reaper:
    def __init__(self, registry: ResourceRegistry, *, clock: Callable[[], datetime] | None = None) -> None:
        self.registry = registry
        self.clock = clock or registry.clock

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(REAP_INTERVAL_S)
            try:
                await self.reap_once()
            except (RedisError, errors.APIError) as exc:  # Redis away, or the view rebuilding
                log.warning("finishing deletions skipped: %s", exc)

    def due(self) -> list[tuple[str, str, str]]:
        """(namespace, name, uid) of terminating pods past their grace period, without finalizers."""
        view, now = self.registry.view, self.clock()
        found = []
        for key in list(view.terminating):
            entry = view.get(key)
            if entry is None:
                continue
            meta = orjson.loads(entry.json)["metadata"]
            due_at = parse_timestamp(meta["deletionTimestamp"])
            if not meta.get("deletionGracePeriodSeconds"):
                due_at += timedelta(seconds=IMMEDIATE_SETTLE_S)
            if meta.get("finalizers") or due_at > now:
                continue
            found.append((entry.namespace, entry.name, entry.uid))
        return found

    async def reap_once(self) -> int:
        done = 0
        for namespace, name, uid in self.due():
            try:
                await self.registry.delete(
                    namespace, name, DeleteOptions(grace_period_seconds=0, precondition_uid=uid)
                )
                done += 1
            except (errors.NotFound, errors.Conflict):
                continue  # another replica finished it, or it was replaced meanwhile
        return done
