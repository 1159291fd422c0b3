"""A minimal HTTP/1.1 keep-alive client on asyncio protocols (uvloop), and closed-loop load.

Much cheaper per request than httpx, so that one client process on one core can out-run the
server under test (its own ceiling is measured against ``ceilings canned``). Responses carry
Content-Length or are chunked (streamed lists); bodies are counted, and only the first ``keep``
bytes are kept.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
import uvloop

from .common import latency_ms
from .pods import NAME_PLACEHOLDER, body_template, namespace_of

JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"  # a JSON body is YAML too
PROGRESS_EVERY_S = 2.0
REQUEST_TIMEOUT_S = 60.0
# chunked-body parser states (a positive state is the number of bytes left in the chunk)
IDLE, SIZE_LINE, CHUNK_END, LAST_CHUNK_END = 0, -1, -2, -3


class Response:
    __slots__ = ("body", "size", "status")

    def __init__(self, status: int, body: bytes, size: int) -> None:
        self.status, self.body, self.size = status, body, size


def raw_request(method: str, path: str, body: bytes = b"", content_type: str = JSON) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n"
    if body or method in ("POST", "PUT", "PATCH"):
        head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


class Connection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.transport: asyncio.Transport | None = None
        self._head = bytearray()
        self._body = bytearray()
        self._status = 0
        self._size = 0
        self._remaining = -1  # -1: reading the head (or a chunked body)
        self._chunk_state = IDLE
        self._chunks = bytearray()
        self._waiter: asyncio.Future[Response] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        if self._remaining >= 0:
            self._take(data)
            return
        if self._chunk_state != IDLE:
            self._take_chunked(data)
            return
        self._head += data
        end = self._head.find(b"\r\n\r\n")
        if end < 0:
            return
        head, rest = bytes(self._head[:end]), bytes(self._head[end + 4 :])
        self._head.clear()
        self._status = int(head[9:12])
        self._body = bytearray()
        self._size = 0
        lower = head.lower()
        at = lower.find(b"\ncontent-length:")
        if at >= 0:
            line_end = head.find(b"\r\n", at + 1)
            self._remaining = int(head[at + 16 : line_end if line_end > 0 else len(head)])
            self._size = self._remaining
            self._take(rest)
        elif b"\ntransfer-encoding: chunked" in lower:
            self._chunk_state = SIZE_LINE
            self._take_chunked(rest)
        else:
            raise ValueError("response with neither Content-Length nor chunked encoding")

    def _keep(self, data: bytes | bytearray) -> None:
        if len(self._body) < self.keep:
            self._body += data[: self.keep - len(self._body)]

    def _take(self, data: bytes) -> None:
        self._keep(data)
        self._remaining -= len(data)
        if self._remaining <= 0:
            self._remaining = -1
            self._complete()

    def _complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, bytes(self._body), self._size))

    def _take_chunked(self, data: bytes) -> None:
        """Transfer-Encoding: chunked (streamed lists); counts payload bytes, keeps a prefix."""
        buf = self._chunks
        buf += data
        pos = 0
        while True:
            if self._chunk_state > 0:  # inside a chunk: bytes left
                n = min(self._chunk_state, len(buf) - pos)
                if n == 0:
                    break
                if len(self._body) < self.keep:
                    self._keep(buf[pos : pos + n])
                self._size += n
                pos += n
                self._chunk_state -= n
                if self._chunk_state == 0:
                    self._chunk_state = CHUNK_END
            elif self._chunk_state in (CHUNK_END, LAST_CHUNK_END):
                if len(buf) - pos < 2:
                    break
                pos += 2
                if self._chunk_state == LAST_CHUNK_END:
                    self._chunk_state = IDLE
                    del buf[:]
                    self._complete()
                    return
                self._chunk_state = SIZE_LINE
            else:  # SIZE_LINE
                end = buf.find(b"\r\n", pos)
                if end < 0:
                    break
                size = int(bytes(buf[pos:end]).split(b";")[0], 16)
                pos = end + 2
                self._chunk_state = size if size else LAST_CHUNK_END
        del buf[:pos]

    async def request(self, raw: bytes) -> Response:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await asyncio.wait_for(self._waiter, REQUEST_TIMEOUT_S)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(port: int, keep: int = 4096) -> Connection:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(lambda: Connection(keep), "127.0.0.1", port)
    return conn


# ---- what to send ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """What each connection sends. ``kind``: get | create | replace | patch | apply.

    get: a random path of ``paths``. create: POST a new ~3 KB pod named ``<prefix>-<conn>-<seq>``.
    replace / patch / apply: PUT / merge-PATCH / server-side apply (the whole ~3 KB pod, as
    ``kubectl apply --server-side`` sends it) to pods this connection created (``targets[conn]``
    of them), changing an annotation so every request is a real write (its value names the
    phase and its ``salt`` too: a value an earlier phase left would make a no-op, which writes
    nothing; phases of one kind that run again, in rounds, each take a salt of their own).
    """

    kind: str
    paths: tuple[str, ...] = ()
    targets: tuple[int, ...] = ()
    keep: int = 256
    prefix: str = "bench"
    salt: str = ""


def create_target(conn: int, seq: int) -> tuple[str, str, int]:
    """(namespace, name, index) of the seq-th pod created by connection ``conn``."""
    index = conn * 1_000_000 + seq
    return namespace_of(index), f"bench-{conn}-{seq}", index


def request_factory(plan: Plan, conn: int) -> Callable[[int], bytes]:
    rng = random.Random(conn)
    if plan.kind == "get":
        encoded = [raw_request("GET", p) for p in plan.paths]
        return lambda seq: encoded[rng.randrange(len(encoded))]
    if plan.kind == "create":
        templates = {i: body_template(i) for i in range(30)}

        def create(seq: int) -> bytes:
            ns, _, index = create_target(conn, seq)
            body = templates[index % 30].replace(
                NAME_PLACEHOLDER.encode(), f"{plan.prefix}-{conn}-{seq}".encode()
            )
            return raw_request("POST", f"/api/v1/namespaces/{ns}/pods", body)

        return create
    targets = max(1, min(plan.targets[conn] if conn < len(plan.targets) else 1, 500))
    if plan.kind == "replace":

        def replace(seq: int) -> bytes:
            ns, name, index = create_target(conn, seq % targets)
            pod = orjson.loads(body_template(index % 30).replace(NAME_PLACEHOLDER.encode(), name.encode()))
            pod["metadata"]["annotations"]["bench/rev"] = f"{plan.kind}{plan.salt}-{seq}"
            return raw_request("PUT", f"/api/v1/namespaces/{ns}/pods/{name}", orjson.dumps(pod))

        return replace
    if plan.kind == "apply":

        def apply(seq: int) -> bytes:
            ns, name, index = create_target(conn, seq % targets)
            pod = orjson.loads(body_template(index % 30).replace(NAME_PLACEHOLDER.encode(), name.encode()))
            pod["metadata"]["annotations"]["bench/rev"] = f"{plan.kind}{plan.salt}-{seq}"
            path = f"/api/v1/namespaces/{ns}/pods/{name}?fieldManager=bench&force=true"
            return raw_request("PATCH", path, orjson.dumps(pod), APPLY_PATCH)

        return apply
    if plan.kind == "patch":
        salt = plan.salt.encode()

        def patch(seq: int) -> bytes:
            ns, name, _ = create_target(conn, seq % targets)
            body = b'{"metadata":{"annotations":{"bench/rev":"patch%b-%d"}}}' % (salt, seq)
            return raw_request("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}", body, MERGE_PATCH)

        return patch
    raise ValueError(f"unknown plan kind {plan.kind!r}")


# ---- closed-loop load ------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    bytes: int = 0
    done: int = 0
    errors: int = 0

    def add(self, response: Response, latency: float, counted: bool) -> None:
        self.done += 1
        if counted:
            self.latencies.append(latency)
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            self.bytes += response.size


async def _worker(
    ports: tuple[int, ...], plan: Plan, conn_id: int, tally: Tally, window: list[float], count: int
) -> int:
    make = request_factory(plan, conn_id)
    conn = await connect(ports[conn_id % len(ports)], plan.keep)
    sent = 0
    try:
        for seq in itertools.count():
            now = time.monotonic()
            if now >= window[1] or (count and tally.done >= count):
                break
            raw = make(seq)
            response = await conn.request(raw)
            end = time.monotonic()
            sent = seq + 1
            tally.add(response, end - now, window[0] <= now)
    except (ConnectionError, TimeoutError):
        tally.errors += 1
    finally:
        conn.close()
    return sent


async def _report(label: str, tally: Tally, window: list[float]) -> None:
    last, last_done = time.monotonic(), 0
    while time.monotonic() < window[1]:
        await asyncio.sleep(PROGRESS_EVERY_S)
        now = time.monotonic()
        rate = (tally.done - last_done) / (now - last)
        print(f"    {label}: {tally.done} requests, {rate:,.0f}/s", file=sys.stderr, flush=True)
        last, last_done = now, tally.done


async def _load(
    port: int | tuple[int, ...],
    plan: Plan,
    conns: int,
    duration: float,
    warmup: float,
    count: int,
    label: str,
) -> dict[str, Any]:
    ports = port if isinstance(port, tuple) else (port,)
    start = time.monotonic()
    window = [start + warmup, start + warmup + duration]
    tally = Tally()
    reporter = asyncio.ensure_future(_report(label, tally, window)) if duration > 5 else None
    sent = await asyncio.gather(*(_worker(ports, plan, c, tally, window, count) for c in range(conns)))
    elapsed = min(time.monotonic(), window[1]) - window[0]
    if reporter is not None:
        reporter.cancel()
    ok = sum(n for s, n in tally.statuses.items() if s < 300)
    return {
        "conns": conns,
        "duration_s": round(elapsed, 3),
        "requests": len(tally.latencies),
        "ok": ok,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "conn_errors": tally.errors,
        "rps": round(ok / elapsed, 1) if elapsed > 0 else 0.0,
        "mb_per_s": round(tally.bytes / elapsed / 1e6, 2) if elapsed > 0 else 0.0,
        "bytes_per_response": round(tally.bytes / max(1, len(tally.latencies))),
        "latency": latency_ms(tally.latencies),
        "sent_per_conn": sent,
    }


def load(
    port: int | tuple[int, ...],
    plan: Plan,
    conns: int,
    duration: float,
    warmup: float = 1.0,
    count: int = 0,
    label: str = "",
) -> dict[str, Any]:
    """Closed loop: ``conns`` connections, each sending its next request when the last returns;
    with several ports (replicas), connection i goes to ``port[i % len(port)]``.

    Counts responses of requests started in [warmup, warmup + duration); ``count`` > 0 stops
    after that many responses. Run inside a client process (see ``procs.run_client``).
    """
    return uvloop.run(_load(port, plan, conns, duration, warmup, count, label or plan.kind))


async def _get(port: int, path: str, keep: int) -> Response:
    conn = await connect(port, keep)
    try:
        return await conn.request(raw_request("GET", path))
    finally:
        conn.close()


def get(port: int, path: str, keep: int = 1 << 20) -> tuple[int, bytes, int]:
    response = uvloop.run(_get(port, path, keep))
    return response.status, response.body, response.size


async def _page_all(port: int, path: str, limit: int, max_s: float) -> dict[str, Any]:
    conn = await connect(port, keep=512)
    start = time.monotonic()
    pages, total, token = 0, 0, ""
    latencies: list[float] = []
    try:
        while time.monotonic() - start < max_s:
            sep = "&" if "?" in path else "?"
            url = f"{path}{sep}limit={limit}" + (f"&continue={token}" if token else "")
            t0 = time.monotonic()
            response = await conn.request(raw_request("GET", url))
            latencies.append(time.monotonic() - t0)
            pages += 1
            total += response.size
            token = (
                orjson.loads(response.body.partition(b',"items":')[0] + b"}")
                .get("metadata", {})
                .get("continue", "")
            )
            if not token:
                break
    finally:
        conn.close()
    elapsed = time.monotonic() - start
    return {
        "limit": limit,
        "pages": pages,
        "complete": not token,
        "seconds": round(elapsed, 3),
        "mb_per_s": round(total / elapsed / 1e6, 2),
        "page_latency": latency_ms(latencies),
    }


def page_all(port: int, path: str, limit: int, max_s: float = 120.0) -> dict[str, Any]:
    """Walk a whole collection with ``limit`` + ``continue`` on one connection."""
    return uvloop.run(_page_all(port, path, limit, max_s))
