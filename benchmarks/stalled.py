"""Stalled connections against normal clients: ``python -m benchmarks.stalled``.

A server (its own Redis) is asked ``--gets`` GETs of one pod, one at a time, unloaded; then
``--stalled`` connections are opened that never finish their request head (half of them send
part of one and stop, half send nothing), and the GETs are asked again while they hang. Issue
16's target: the p99 with them at most twice the p99 without. The server closes such
connections after ``--request-head-timeout`` (32 s), so the second round runs well within it.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.pods import pod_body

from .procs import private_redis, watchcache_server


def _p99(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=100)[98]


def _gets(client: httpx.Client, path: str, count: int) -> list[float]:
    took = []
    for _ in range(count):
        started = time.perf_counter()
        assert client.get(path).status_code == 200
        took.append(time.perf_counter() - started)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stalled", description=__doc__)
    parser.add_argument("--stalled", type=int, default=300)
    parser.add_argument("--gets", type=int, default=2000)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="wc-stalled-") as tmp,
        private_redis(Path(tmp)) as redis,
        watchcache_server(redis.url, Path(tmp)) as server,
        httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client,
    ):
        path = "/api/v1/namespaces/ns-0/pods/p"
        assert client.post("/api/v1/namespaces/ns-0/pods", json=pod_body("p", 0)).status_code == 201
        _gets(client, path, 200)  # warm
        unloaded = _gets(client, path, args.gets)
        hanging = []
        for i in range(args.stalled):
            sock = socket.create_connection(("127.0.0.1", server.port))
            if i % 2:
                sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")  # never the blank line
            hanging.append(sock)
        loaded = _gets(client, path, args.gets)
        for sock in hanging:
            sock.close()
    before, after = _p99(unloaded) * 1e3, _p99(loaded) * 1e3
    print(f"GET p99 unloaded {before:.2f} ms; with {args.stalled} stalled connections {after:.2f} ms "
          f"({after / before:.2f}x; target <= 2x); medians {statistics.median(unloaded) * 1e3:.2f} / "
          f"{statistics.median(loaded) * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
