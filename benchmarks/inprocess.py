"""In-process write harness: CPU per create / replace / patch / apply through the ASGI app.

``python -m benchmarks.inprocess [--writes N] [--phases create,apply] [--profile FILE]`` — a
private redis-server in its own process, the replica's app driven by raw ASGI calls from
``--conns`` concurrent tasks in this process, so the CPU counted is the app's own (routing,
decoding, rules, managedFields, the Redis client, the tailer) without a socket layer or an
HTTP client sharing the core. It is
the quick loop for profiling the write path (pyinstrument with ``--profile``); the numbers to
report come from ``python -m benchmarks writes``.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
import uvloop

from watchcache.cli import GC_THRESHOLDS
from watchcache.http.app import create_app
from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.process.settings import DURABILITY, FSYNC_EVERY_WRITE, Settings

from .pods import pod_body

MERGE_PATCH = b"application/merge-patch+json"
APPLY_PATCH = b"application/apply-patch+yaml"

App = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[..., Awaitable[None]]], Any]


async def call(
    app: App, method: str, path: str, body: bytes = b"", content_type: bytes = b"application/json"
) -> int:
    """One request through the ASGI app; returns the status code."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                    (b"user-agent", b"harness")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def lifespan(app: App) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan; returns the coroutine function that shuts it down."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def send(message: dict[str, Any]) -> None:
        await outbox.put(message)

    task = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    assert started["type"] == "lifespan.startup.complete", started

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return stop


async def phase(
    app: App,
    label: str,
    conns: int,
    writes: int,
    request: Callable[[int, int], tuple[str, str, bytes, bytes]],
) -> float:
    """``writes`` requests from ``conns`` tasks; prints and returns µs of CPU per request."""
    per_conn = writes // conns
    statuses: dict[int, int] = {}

    async def worker(conn: int) -> None:
        for seq in range(per_conn):
            status = await call(app, *request(conn, seq))
            statuses[status] = statuses.get(status, 0) + 1

    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(worker(c) for c in range(conns)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    us = cpu / (per_conn * conns) * 1e6
    print(f"{label:8s} {us:7.0f} us CPU/request  {per_conn * conns / wall:7.0f}/s  statuses {statuses}")
    return us


PHASES = ("create", "replace", "patch", "apply")


async def run(redis_url: str, conns: int, writes: int, phases: tuple[str, ...] = PHASES) -> dict[str, float]:
    app: App = create_app(Settings(redis_url=redis_url, log_level="warning"))
    stop = await lifespan(app)
    bodies = [orjson.dumps(pod_body("@@", i)) for i in range(30)]

    def create(conn: int, seq: int) -> tuple[str, str, bytes, bytes]:
        body = bodies[seq % 30].replace(b'"@@"', b'"p-%d-%d"' % (conn, seq))
        return "POST", "/api/v1/namespaces/ns-0/pods", body, b"application/json"

    # each update changes an annotation to a value naming the phase and its place in the run: a
    # value the pod already held would make a no-op, which writes nothing (``--phases patch,patch``)
    def replace(conn: int, seq: int, salt: str) -> tuple[str, str, bytes, bytes]:
        pod = orjson.loads(bodies[seq % 30].replace(b'"@@"', b'"p-%d-%d"' % (conn, seq)))
        pod["metadata"]["annotations"]["bench/rev"] = f"replace{salt}"
        return "PUT", f"/api/v1/namespaces/ns-0/pods/p-{conn}-{seq}", orjson.dumps(pod), b"application/json"

    def patch(conn: int, seq: int, salt: str) -> tuple[str, str, bytes, bytes]:
        body = b'{"metadata":{"annotations":{"bench/rev":"patch%b-%d"}}}' % (salt.encode(), seq)
        return "PATCH", f"/api/v1/namespaces/ns-0/pods/p-{conn}-{seq}", body, MERGE_PATCH

    def apply(conn: int, seq: int, salt: str) -> tuple[str, str, bytes, bytes]:
        pod = orjson.loads(bodies[seq % 30].replace(b'"@@"', b'"p-%d-%d"' % (conn, seq)))
        pod["metadata"]["annotations"]["bench/rev"] = f"apply{salt}"
        path = f"/api/v1/namespaces/ns-0/pods/p-{conn}-{seq}?fieldManager=bench&force=true"
        return "PATCH", path, orjson.dumps(pod), APPLY_PATCH

    updates = {"replace": replace, "patch": patch, "apply": apply}
    out = {"create": await phase(app, "create", conns, writes, create)}  # the others' targets
    for place, name in enumerate(phases):
        if name != "create":
            out[name] = await phase(
                app, name, conns, writes, functools.partial(updates[name], salt=str(place))
            )
    try:
        await asyncio.wait_for(stop(), 10)
    except TimeoutError:  # seen: the tailer's cancelled XREAD BLOCK not returning
        print("warning: the app's shutdown did not finish in 10 s", file=sys.stderr)
    return out


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)  # as `watchcache serve` runs
    parser = argparse.ArgumentParser(prog="python -m benchmarks.inprocess", description=__doc__)
    parser.add_argument("--conns", type=int, default=16)
    parser.add_argument("--writes", type=int, default=4000, help="requests per phase")
    parser.add_argument("--profile", help="write a pyinstrument text profile of the whole run here")
    parser.add_argument(
        "--durability", choices=("none", *DURABILITY), default="none",
        help="Redis persistence (none: no AOF, as the other benchmarks run; else --durability's)",
    )  # fmt: skip
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated, of " + ", ".join(PHASES) + " (create always runs)",
    )
    args = parser.parse_args()
    phases = tuple(args.phases.split(","))
    if unknown := set(phases) - set(PHASES):
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    persistent = args.durability != "none"
    durability = args.durability if persistent else FSYNC_EVERY_WRITE
    with (
        tempfile.TemporaryDirectory(prefix="wc-inprocess-") as tmp,
        EmbeddedRedis(Path(tmp), persistence=persistent, durability=durability) as redis,
    ):
        if args.profile:
            from pyinstrument import Profiler

            with Profiler(async_mode="disabled") as profiler:
                uvloop.run(run(redis.url, args.conns, args.writes, phases))
            Path(args.profile).write_text(profiler.output_text(unicode=True, show_all=False))
        else:
            uvloop.run(run(redis.url, args.conns, args.writes, phases))


if __name__ == "__main__":
    main()
