"""Ceiling servers: the least work the same stack can do for the same bytes.

``python -m benchmarks.ceilings get|stream|canned --port P``

- ``get``: raw ASGI app on uvicorn (uvloop + httptools, like watchcache's CLI) answering
  ``/small`` with a fixed pre-encoded ~3.8 KB pod and ``/large?bytes=N`` with one pre-joined
  body of N bytes (built once, from pod JSON) — the GET and list ceilings;
- ``stream``: raw ASGI fan-out on the same uvicorn: ``/watch`` opens a chunked stream,
  ``POST /emit`` builds one watch event line (rv stamped in; the pod of ``--pod-file``, which
  ``fanout`` fills with a pod watchcache served in the same run, else ~3.8 KB) and appends the
  same bytes to every open stream's bounded buffer, waking its send loop — the watch ceiling;
- ``canned``: a bare uvloop protocol answering every request with a fixed 200 response — no
  HTTP framework at all; it measures the load generator's own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from .pods import stored_pod

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

STREAM_BUFFER = 1_000  # per-stream buffered events, as watchcache's BUFFER_EVENTS
RV_PLACEHOLDER = "@@RV@@"


def pod_json(rv: str = "1") -> bytes:
    pod = stored_pod("ceiling-pod", "ns-0", 0)
    pod["metadata"]["resourceVersion"] = rv
    return orjson.dumps(pod)


async def _respond(send: Send, body: bytes, status: int = 200) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


# ---- get -------------------------------------------------------------------------------------


class GetApp:
    def __init__(self) -> None:
        self.small = pod_json()
        self.large: dict[int, bytes] = {}
        self.pods: dict[str, bytes] = {}  # path → a distinct copy of the pod, after /fill

    def fill(self, count: int) -> None:
        """As many distinct pods as watchcache holds, at its GET paths: the same working set
        (a random pod of 150k misses the caches that the one hot ``/small`` always hits)."""
        self.pods = {
            f"/api/v1/namespaces/ns-{i % 10}/pods/pod-{i}": bytes(bytearray(self.small)) for i in range(count)
        }

    def large_body(self, size: int) -> bytes:
        if size not in self.large:
            items = -(-size // (len(self.small) + 1))
            body = b'{"kind":"PodList","items":[' + b",".join([self.small] * items) + b"]}"
            self.large[size] = body[:size]
        return self.large[size]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path.startswith("/api/"):
            await _respond(send, self.pods.get(path, b"{}"))
            return
        if path in ("/large", "/fill"):
            query = dict(p.partition("=")[::2] for p in scope["query_string"].decode().split("&") if p)
            if path == "/fill":
                self.fill(int(query["pods"]))
                await _respond(send, b"{}")
                return
            await _respond(send, self.large_body(int(query.get("bytes", "1000000"))))
            return
        await _respond(send, self.small if path == "/small" else b"{}")


# ---- stream ----------------------------------------------------------------------------------


@dataclass(eq=False)
class Stream:
    buffer: list[bytes] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    dropped: int = 0


class StreamApp:
    def __init__(self, pod: bytes | None = None) -> None:
        template = pod_json(RV_PLACEHOLDER) if pod is None else _with_rv_placeholder(pod)
        prefix, _, suffix = template.partition(RV_PLACEHOLDER.encode())
        self.prefix = b'{"type":"MODIFIED","object":' + prefix
        self.suffix = suffix + b"}\n"
        self.rv = 0
        self.streams: set[Stream] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/emit":
            await _drain(receive)
            await _respond(send, self.emit())
        elif scope["path"] == "/watch":
            await self.watch(receive, send)
        else:
            await _respond(send, b"{}")

    def emit(self) -> bytes:
        self.rv += 1
        rv = str(self.rv).encode()
        line = self.prefix + rv + self.suffix  # built once, shared by every stream
        for stream in self.streams:
            if len(stream.buffer) < STREAM_BUFFER:
                stream.buffer.append(line)
                stream.wake.set()
            else:
                stream.dropped += 1
        return b'{"metadata":{"resourceVersion":"' + rv + b'"}}'

    async def watch(self, receive: Receive, send: Send) -> None:
        stream = Stream()
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        self.streams.add(stream)
        listener = asyncio.ensure_future(self._until_disconnect(receive, stream))
        try:
            while not stream.closed:
                await stream.wake.wait()
                stream.wake.clear()
                if stream.buffer:
                    chunk = b"".join(stream.buffer)
                    stream.buffer.clear()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            self.streams.discard(stream)
            listener.cancel()

    @staticmethod
    async def _until_disconnect(receive: Receive, stream: Stream) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        stream.closed = True
        stream.wake.set()


def _with_rv_placeholder(pod: bytes) -> bytes:
    """A real pod's JSON (e.g. one watchcache served) with its resourceVersion made stampable."""
    obj = orjson.loads(pod)
    obj["metadata"]["resourceVersion"] = RV_PLACEHOLDER
    return orjson.dumps(obj)


# ---- canned ----------------------------------------------------------------------------------


class Canned(asyncio.Protocol):
    """Answers each complete request (head + Content-Length body) with one fixed response."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self.buffer[:end]).lower()
            at = head.find(b"\ncontent-length:")
            length = int(head[at + 16 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            del self.buffer[: end + 4 + length]
            assert self.transport is not None
            self.transport.write(self.response)


async def serve_canned(port: int) -> None:
    body = pod_json()
    response = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n" % len(body) + body
    )
    server = await asyncio.get_running_loop().create_server(
        lambda: Canned(response), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ceilings")
    parser.add_argument("kind", choices=["get", "stream", "canned"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pod-file", help="stream: emit this pod's JSON (default: the 3.8 KB bench pod)")
    args = parser.parse_args()
    import uvloop

    if args.kind == "canned":
        uvloop.run(serve_canned(args.port))
        return
    import uvicorn

    pod = Path(args.pod_file).read_bytes() if args.pod_file else None
    app = GetApp() if args.kind == "get" else StreamApp(pod)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools",
        lifespan="off", access_log=False, proxy_headers=False, log_level="warning",  # as watchcache's CLI
    )  # fmt: skip


if __name__ == "__main__":
    main()
