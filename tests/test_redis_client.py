"""The replica's Redis client: options that the tailer's long blocking reads depend on."""

from __future__ import annotations

import time

from watchcache.embedded_redis import EmbeddedRedis
from watchcache.replica import TAIL_BLOCK_MS
from watchcache.store import Store, connect


async def test_an_idle_tail_blocks_its_whole_time_without_a_client_timeout(
    redis_server: EmbeddedRedis,
) -> None:
    """redis-py 8 defaults to a 5 s socket timeout, which broke off every idle tailer's
    ``XREAD BLOCK 5000`` and made it back off as if Redis were down."""
    redis = connect(redis_server.url)
    store = Store(redis, prefix="{idle-tail-test}")
    try:
        block_ms = TAIL_BLOCK_MS + 1_000
        started = time.monotonic()
        assert await store.tail(0, block_ms) == []
        assert time.monotonic() - started >= block_ms / 1e3 - 0.05
    finally:
        await redis.aclose()
