"""A byte-rate pacer shared by every catching-up watcher of a replica.

A watcher that replays history (parked, or started from an old resourceVersion) can send as
fast as its socket drains; twenty of them resuming at once would flood the replica's CPU and
network and delay live delivery to everyone else. Catch-up traffic is therefore paced to one
replica-wide rate, with a burst allowance so that a watcher a few events behind is not slowed.

The pacer is a virtual-clock token bucket (GCRA): each call reserves the next slot of the
shared timeline synchronously, so concurrent callers are served in order without locks.
"""

from __future__ import annotations

import asyncio
import time

MIB = 1 << 20
BURST_S = 0.25  # a quarter of a second's worth of bytes may go out unpaced


class Pacer:
    def __init__(self, bytes_per_s: float, *, burst_s: float = BURST_S) -> None:
        if bytes_per_s <= 0:
            raise ValueError("bytes_per_s must be positive")
        self.bytes_per_s = bytes_per_s
        self.burst_s = burst_s
        self._free_at = 0.0  # when every byte reserved so far has its turn; at most burst_s ahead

    def reserve(self, size: int) -> float:
        """Reserve ``size`` bytes; returns how long the caller must wait before sending them."""
        now = time.monotonic()
        self._free_at = max(self._free_at, now) + size / self.bytes_per_s
        return max(0.0, self._free_at - now - self.burst_s)

    async def pace(self, size: int) -> None:
        delay = self.reserve(size)
        if delay > 0:
            await asyncio.sleep(delay)
