"""What a replica pays to tail writes another replica takes: CPU per foreign write.

``python -m benchmarks.tailing [--writes N]`` — a private redis-server, the replica's app in
this process (lifespan only: no requests), and a writer process that writes N pods through
``Store.write`` (the write transaction the registry sends, 8 at a time). This process's CPU
from the first write until its view holds the last, divided by N, is what following the log
costs: the XREAD rounds, decoding entries, the view and its indexes, the watch history.
The `writes` scenario measures the same over HTTP (*create, a second replica tailing*).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

import uvloop
from redis.asyncio import Redis

from watchcache.cache.view import Summary
from watchcache.http.app import create_app
from watchcache.kinds.pods.fields import POD_FIELDS
from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.process.settings import Settings
from watchcache.storage.store import Store

from .inprocess import lifespan
from .reads import preload_pods

WRITERS = 8


def _write(redis_url: str, count: int, go: Event) -> None:
    """The other replica: ``count`` creates through the store, once ``go`` is set."""
    pods = preload_pods(count)

    async def run() -> None:
        redis = Redis.from_url(redis_url, max_connections=WRITERS + 4)
        store = Store(redis)
        queue = iter(pods)

        async def writer() -> None:
            for key, pod in queue:
                summary = Summary.of(pod, POD_FIELDS).packed(POD_FIELDS)
                await store.write("pods", key, "ADDED", pod, expected_rv=None, summary=summary)

        await asyncio.gather(*(writer() for _ in range(WRITERS)))
        await store.close()
        await redis.aclose()

    go.wait()
    uvloop.run(run())


async def measure(redis_url: str, count: int) -> float:
    """µs of this process's CPU per write the writer process makes."""
    app: Any = create_app(Settings(redis_url=redis_url, log_level="warning"))
    stop = await lifespan(app)
    router = app
    while not hasattr(router, "state"):  # the middlewares wrap the router, which holds the state
        router = router.app
    replica = router.state.replica
    spawn = multiprocessing.get_context("spawn")
    go = spawn.Event()
    writer = spawn.Process(target=_write, args=(redis_url, count, go))
    writer.start()
    await asyncio.sleep(3)  # the writer has built its pods
    start_rv, cpu, wall = replica.rv, time.process_time(), time.monotonic()
    go.set()
    while replica.rv < start_rv + count:
        await asyncio.sleep(0.01)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    writer.join()
    await stop()
    print(f"tailing: {cpu / count * 1e6:.1f} us of CPU per foreign write ({count / wall:,.0f} writes/s)")
    return cpu / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tailing", description=__doc__)
    parser.add_argument("--writes", type=int, default=20_000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="wc-tailing-") as tmp,
        EmbeddedRedis(Path(tmp), persistence=False) as redis,
    ):
        uvloop.run(measure(redis.url, args.writes))


if __name__ == "__main__":
    main()
