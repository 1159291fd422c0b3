"""Watch clients and the paced writer of the fan-out scenario (run in client processes).

Each watcher is a raw asyncio protocol: it sends one GET, de-chunks the stream, splits it into
newline-delimited events and records (resourceVersion, receive time) per event — the time is
taken once per ``data_received`` (``time.monotonic``, the same clock in every process).
"""

from __future__ import annotations

import asyncio
import sys
import time
from array import array
from dataclasses import dataclass
from typing import Any, cast

import orjson
import uvloop

from .httpclient import MERGE_PATCH, connect, raw_request
from .pods import NAME_PLACEHOLDER, body_template

CONNECT_BATCH = 200  # concurrent connects (stay under the listen backlog)
READY_TIMEOUT_S = 120.0
DRAIN_S = 5.0  # after the writer stops: quiet time (no new event) that ends the recording (>1.5 s
# gaps happen while a saturated server replays stalled watchers' history)
DRAIN_MAX_S = 480.0  # resumed stallers replay a 5-minute backlog (~3.5 GB) at the paced catch-up rate
RV_FIELD = b'"resourceVersion":"'


class Samples:
    """All (rv, receive time) pairs of one client process, in compact arrays."""

    def __init__(self) -> None:
        self.rvs = array("q")
        self.times = array("d")
        self.errors = 0


class WatchProtocol(asyncio.Protocol):
    def __init__(self, samples: Samples) -> None:
        self.samples = samples
        self.transport: asyncio.Transport | None = None
        self.started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.head = bytearray()
        self.raw = bytearray()  # chunked bytes not yet decoded
        self.lines = bytearray()  # decoded payload not yet split into lines
        self.in_body = False
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.started.done():
            self.started.set_exception(ConnectionError(str(exc)))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.in_body:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            status = int(self.head[9:12])
            data = bytes(self.head[end + 4 :])
            self.in_body = True
            if not self.started.done():
                self.started.set_result(status)
        self.raw += data
        self._dechunk()
        self._split(now)

    def _dechunk(self) -> None:
        raw, pos = self.raw, 0
        while True:
            end = raw.find(b"\r\n", pos)
            if end < 0:
                break
            size = int(raw[pos:end], 16)
            if len(raw) < end + 2 + size + 2:
                break
            self.lines += raw[end + 2 : end + 2 + size]
            pos = end + 2 + size + 2
        del raw[:pos]

    def _split(self, now: float) -> None:
        lines, pos = self.lines, 0
        samples = self.samples
        while (end := lines.find(b"\n", pos)) >= 0:
            at = lines.find(RV_FIELD, pos, end)
            if at >= 0:
                start = at + len(RV_FIELD)
                samples.rvs.append(int(lines[start : lines.find(b'"', start)]))
                samples.times.append(now)
                self.events += 1
            pos = end + 1
        del lines[:pos]


@dataclass(frozen=True)
class Stall:
    """``fraction`` of the watchers stop reading ``after_s`` after the start, for ``for_s``."""

    fraction: float = 0.0
    after_s: float = 0.0
    for_s: float = 0.0


async def _open(port: int, path: str, samples: Samples) -> WatchProtocol:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: WatchProtocol(samples), "127.0.0.1", port)
    assert proto.transport is not None
    proto.transport.write(raw_request("GET", path))
    status = await asyncio.wait_for(proto.started, 30)
    if status != 200:
        raise RuntimeError(f"watch {path} answered {status}")
    return proto


async def _open_all(port: int, paths: list[str], samples: list[Samples]) -> list[WatchProtocol]:
    """Watch ``paths[i]`` recording into ``samples[i]``."""
    protos: list[WatchProtocol] = []
    for start in range(0, len(paths), CONNECT_BATCH):
        batch = range(start, min(len(paths), start + CONNECT_BATCH))
        protos += await asyncio.gather(*(_open(port, paths[i], samples[i]) for i in batch))
    return protos


async def _stall(protos: list[WatchProtocol], stall: Stall) -> None:
    stalled = protos[: int(len(protos) * stall.fraction)]
    if not stalled:
        return
    await asyncio.sleep(stall.after_s)
    for p in stalled:
        assert p.transport is not None
        p.transport.pause_reading()
    print(f"    watchers: {len(stalled)} stopped reading for {stall.for_s:g}s", file=sys.stderr, flush=True)
    await asyncio.sleep(stall.for_s)
    for p in stalled:
        assert p.transport is not None
        p.transport.resume_reading()
    print("    watchers: stalled watchers read again", file=sys.stderr, flush=True)


async def _watch(
    port: int, paths: list[str], ready: Any, stop: Any, stall: Stall, max_s: float
) -> dict[str, Any]:
    # the stalled watchers (the first ``fraction``) record apart, so the others' latency is known
    samples, stalled_samples = Samples(), Samples()
    n_stalled = int(len(paths) * stall.fraction)
    per_path = [stalled_samples] * n_stalled + [samples] * (len(paths) - n_stalled)
    protos = await _open_all(port, paths, per_path)
    ready.set()
    deadline = time.monotonic() + max_s
    staller = asyncio.ensure_future(_stall(protos, stall))
    while not stop.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    # drain: until no event arrived for DRAIN_S (resumed stallers may still be catching up)
    drain_end, last, quiet_since = time.monotonic() + DRAIN_MAX_S, -1, time.monotonic()
    while time.monotonic() < drain_end:
        await asyncio.sleep(0.1)
        total = sum(p.events for p in protos)
        if total != last:
            last, quiet_since = total, time.monotonic()
        elif time.monotonic() - quiet_since >= DRAIN_S:
            break
    staller.cancel()
    counts = [p.events for p in protos]
    for p in protos:
        assert p.transport is not None
        p.transport.close()
    return {
        "connected": len(protos),
        "rvs": samples.rvs.tobytes(),
        "times": samples.times.tobytes(),
        "per_watcher_min": min(counts, default=0),
        "per_watcher_max": max(counts, default=0),
        "stalled_min": min(counts[:n_stalled], default=-1),
        "stalled_rvs": stalled_samples.rvs.tobytes(),
        "stalled_times": stalled_samples.times.tobytes(),
    }


def watch(port: int, paths: list[str], ready: Any, stop: Any, stall: Stall, max_s: float) -> dict[str, Any]:
    """Open every watch, signal ``ready``, record events until ``stop`` (+ a drain period)."""
    return uvloop.run(_watch(port, paths, ready, stop, stall, max_s))


# ---- the writer --------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriterPlan:
    """``rate`` writes/s for ``seconds``: create ``pods`` pods in ``namespace`` (on ``nodes``
    round-robin), then merge-patch them round-robin. ``emit``: POST /emit (the ceiling)."""

    rate: float
    seconds: float
    namespace: str = "fanout"
    pods: int = 50
    nodes: tuple[str, ...] = ("node-0",)
    emit: bool = False
    prefix: str = "w"


def _write_request(plan: WriterPlan, seq: int) -> bytes:
    if plan.emit:
        return raw_request("POST", "/emit", b"{}")
    name = f"{plan.prefix}-{seq % plan.pods}"
    if seq < plan.pods:
        pod = orjson.loads(body_template(seq).replace(NAME_PLACEHOLDER.encode(), name.encode()))
        pod["spec"]["nodeName"] = plan.nodes[seq % len(plan.nodes)]
        return raw_request("POST", f"/api/v1/namespaces/{plan.namespace}/pods", orjson.dumps(pod))
    body = b'{"metadata":{"annotations":{"bench/seq":"%d"}}}' % seq
    return raw_request("PATCH", f"/api/v1/namespaces/{plan.namespace}/pods/{name}", body, MERGE_PATCH)


async def _write(port: int, plan: WriterPlan) -> dict[str, Any]:
    conn = await connect(port, keep=1 << 16)
    total = int(plan.rate * plan.seconds)
    acks: list[tuple[int, float, float]] = []  # (rv, sent, acked)
    failures = 0
    start = time.monotonic()
    for seq in range(total):
        delay = start + seq / plan.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        raw = _write_request(plan, seq)
        sent = time.monotonic()
        response = await conn.request(raw)
        acked = time.monotonic()
        at = response.body.find(RV_FIELD)
        if response.status >= 300 or at < 0:
            failures += 1
            continue
        begin = at + len(RV_FIELD)
        acks.append((int(response.body[begin : response.body.find(b'"', begin)]), sent, acked))
    conn.close()
    elapsed = time.monotonic() - start
    return {"acks": acks, "failures": failures, "achieved_rate": round(len(acks) / elapsed, 1)}


def write(port: int, plan: WriterPlan) -> dict[str, Any]:
    return uvloop.run(_write(port, plan))
