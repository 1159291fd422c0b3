"""Scenario ``footprint``: how fast a new replica is ready, and what a pod costs in memory.

For each store size P the store is filled straight through ``Store.write`` (one write per pod,
default retention, so the log holds every version), then a fresh ``watchcache serve`` starts
while a client keeps writing new pods and pings Redis every millisecond:

- *ready s*: process start → ``/readyz`` 200 (interpreter start and imports included), and
  the bootstrap alone as the server logs it;
- *Redis busy*: the longest PING round trip meanwhile, which bounds how long any one Redis
  call of the bootstrap kept Redis from others (the writes went on: their count is reported);
- *RSS / JSON*: (replica RSS when ready - RSS of a replica with an empty store) per pod, over
  the mean size of a pod's JSON;
- *Redis / JSON*: the growth of Redis ``used_memory`` over the preload, per pod, over the same.

Issue 12's targets: ready ≤ 3 s at 100k and ≤ 4.5 s at 150k; RSS ≤ 2.2x and Redis ≤ 2.5x the
JSON.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from pathlib import Path
from typing import Any

import redis as sync_redis
import uvloop

from watchcache.cache.view import Summary
from watchcache.kinds.pods.fields import POD_FIELDS
from watchcache.storage.store import Store, connect

from . import plots, procs
from .common import latency_ms, progress, rss_mb, write_results
from .pods import preload_pods
from .reads import preload

SIZES = (100_000, 150_000)
QUICK_SIZES = (10_000,)
BACKGROUND_WRITES_PER_S = 100
PING_EVERY_S = 0.001
READY_TARGET_S = {100_000: 3.0, 150_000: 4.5}
RSS_TARGET, REDIS_TARGET = 2.2, 2.5


async def _writes_and_pings(redis_url: str, stop: Any, rate: float) -> dict[str, Any]:
    """Until ``stop`` is set: new pods at ``rate`` per second, and a PING every millisecond
    (back to back, they had kept Redis busy enough to slow the bootstrap they measure)."""
    client = connect(redis_url)
    store = Store(client, prefix="{wc}")
    pods = preload_pods(1_000)
    pings: list[float] = []
    written = 0

    async def writer() -> None:
        nonlocal written
        for key, pod in pods:
            if stop.is_set():
                return
            namespace, _, name = key.partition("/")
            pod["metadata"]["name"] = f"bg-{name}"
            summary = Summary.of(pod, POD_FIELDS).packed(POD_FIELDS)  # as the registry writes
            await store.write(
                "pods", f"{namespace}/bg-{name}", "ADDED", pod, expected_rv=None, summary=summary
            )
            written += 1
            await asyncio.sleep(1 / rate)

    async def pinger() -> None:
        while not stop.is_set():
            started = time.perf_counter()
            await client.ping()
            pings.append(time.perf_counter() - started)
            await asyncio.sleep(PING_EVERY_S)

    await asyncio.gather(writer(), pinger())
    await store.close()
    await client.aclose()
    return {"writes": written, "ping": latency_ms(pings)}


def background(redis_url: str, stop: Any, rate: float) -> dict[str, Any]:
    return uvloop.run(_writes_and_pings(redis_url, stop, rate))


def _bootstrap_log_s(log: Path) -> float | None:
    found = re.search(rb"view ready: [^\n]*? at resourceVersion \d+ in ([\d.]+)s", log.read_bytes())
    return float(found.group(1)) if found else None


def measure_size(redis_url: str, workdir: Path, size: int, empty_rss: float) -> dict[str, Any]:
    admin = sync_redis.Redis.from_url(redis_url)
    admin.flushall()
    used_empty = admin.info("memory")["used_memory"]
    json_bytes = preload(redis_url, size)
    used = admin.info("memory")["used_memory"] - used_empty
    parts = {key: admin.memory_usage(key) or 0 for key in ("{wc}:log", "{wc}:obj")}
    stop = procs.event()
    client = procs.spawn(background, redis_url, stop, BACKGROUND_WRITES_PER_S)
    time.sleep(0.5)  # the writer and the pinger are going
    with procs.watchcache_server(redis_url, workdir, log_level="info") as server:
        rss = rss_mb(server.pid)
        stop.set()
        during = client.result(60)
        bootstrap_s = _bootstrap_log_s(server.log)
        ready_s = server.ready_s
    admin.close()
    out = {
        "pods": size,
        "json_bytes_per_pod": round(json_bytes),
        "ready_s": round(ready_s, 2),
        "bootstrap_s": bootstrap_s,
        "redis_max_ping_ms": during["ping"]["max_ms"],
        "redis_p99_ping_ms": during["ping"]["p99_ms"],
        "writes_meanwhile": during["writes"],
        "rss_ready_mb": round(rss, 1),
        "rss_bytes_per_pod": round((rss - empty_rss) * 2**20 / size),
        "redis_bytes_per_pod": round(used / size),
        "redis_log_bytes_per_pod": round(parts["{wc}:log"] / size),
        "redis_view_bytes_per_pod": round(parts["{wc}:obj"] / size),
    }
    out["rss_vs_json"] = round(out["rss_bytes_per_pod"] / json_bytes, 2)
    out["redis_vs_json"] = round(out["redis_bytes_per_pod"] / json_bytes, 2)
    progress(
        f"footprint: P={size:,}: ready {out['ready_s']} s (bootstrap {bootstrap_s} s), "
        f"Redis busy ≤ {out['redis_max_ping_ms']} ms, {out['writes_meanwhile']} writes meanwhile; "
        f"per pod: JSON {out['json_bytes_per_pod']} B, "
        f"RSS {out['rss_vs_json']}x, Redis {out['redis_vs_json']}x"
    )
    return out


def measure(workdir: Path, sizes: tuple[int, ...]) -> dict[str, Any]:
    with procs.private_redis(workdir) as redis:
        with procs.watchcache_server(redis.url, workdir) as empty:
            time.sleep(0.5)
            empty_rss = rss_mb(empty.pid)
        rows = [measure_size(redis.url, workdir, size, empty_rss) for size in sizes]
    targets = {
        str(row["pods"]): {
            "ready_s": [row["ready_s"], READY_TARGET_S.get(row["pods"])],
            "rss_vs_json": [row["rss_vs_json"], RSS_TARGET],
            "redis_vs_json": [row["redis_vs_json"], REDIS_TARGET],
        }
        for row in rows
    }
    return {"rss_empty_mb": round(empty_rss, 1), "sizes": rows, "ratios": targets}


def plot(results: dict[str, Any], name: str) -> None:
    rows = results["sizes"]
    labels = [f"{row['pods']:,}" for row in rows]
    fig, axes = plots.figure(3, "footprint: a new replica's readiness and the memory per pod")
    ax = axes[0][0]
    ax.bar(labels, [row["ready_s"] for row in rows], color=plots.SERVICE_COLOR, label="ready (process start)")
    ax.bar(labels, [row["bootstrap_s"] or 0 for row in rows], color=plots.CEILING_COLOR, label="bootstrap")
    targets = [(label, READY_TARGET_S[row["pods"]]) for label, row in zip(labels, rows, strict=True)
               if row["pods"] in READY_TARGET_S]  # fmt: skip
    if targets:
        ax.scatter(*zip(*targets, strict=True), marker="_", s=600, color="red", label="target")
    ax.set_ylabel("s")
    ax.legend(fontsize=8)
    for ax, key, target, title in (
        (axes[0][1], "rss_vs_json", RSS_TARGET, "replica RSS per pod ÷ its JSON"),
        (axes[0][2], "redis_vs_json", REDIS_TARGET, "Redis used_memory per pod ÷ its JSON"),
    ):
        ax.bar(labels, [row[key] for row in rows], color=plots.SERVICE_COLOR)
        ax.axhline(target, color="red", linestyle="--", label=f"target {target}x")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    plots.save(fig, name)


def run(quick: bool) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else SIZES
    with tempfile.TemporaryDirectory(prefix="wc-bench-footprint-") as tmp:
        results = measure(Path(tmp), sizes)
    write_results("footprint", quick, procs.CORES_NOTE, results)
    plot(results, "footprint-quick" if quick else "footprint")
    return results
