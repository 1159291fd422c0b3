"""Helpers for the watch conformance tests: a raw-socket watch client with bounded reads.

Every read takes a timeout: a server that stops sending makes a test fail with ``TimeoutError``,
never hang. The client speaks plain HTTP/1.1 (``Connection: close``) and decodes the chunked body
itself, so the tests see exactly what went over the wire.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

TABLE_ACCEPT = (
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
    "application/json"
)

Event = dict[str, Any]


class StreamEnded(Exception):
    """The server finished the response while the test still expected events."""


class RawWatch:
    """One watch request on its own socket. ``rcvbuf`` shrinks the socket's receive buffer."""

    def __init__(
        self,
        base_url: str,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        rcvbuf: int | None = None,
        timeout: float = 10.0,
    ) -> None:
        url = urlsplit(base_url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        target = path + ("?" + urlencode(dict(params)) if params else "")
        lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self._raw = bytearray()  # received, not yet de-chunked
        self._body = bytearray()  # de-chunked, not yet split into lines
        self.lines: list[bytes] = []  # every complete line received, newline included
        self.ended = False  # terminating chunk seen (or connection closed)
        self.eof = False
        self.status, self.headers = self._read_head(time.monotonic() + timeout)

    # ---- low level ---------------------------------------------------------------------------

    def _recv(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("watch read timed out")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError("watch read timed out") from None
        except OSError:
            data = b""
        if not data:
            self.eof = True
        self._raw += data

    def _read_head(self, deadline: float) -> tuple[int, dict[str, str]]:
        while b"\r\n\r\n" not in self._raw:
            if self.eof:
                raise StreamEnded("connection closed before the response head")
            self._recv(deadline)
        head, _, rest = bytes(self._raw).partition(b"\r\n\r\n")
        self._raw = bytearray(rest)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), headers

    @property
    def chunked(self) -> bool:
        return self.headers.get("transfer-encoding", "").lower() == "chunked"

    def _decode(self) -> None:
        """Move complete chunks from ``_raw`` to ``_body``; note the terminating chunk."""
        if not self.chunked:
            self._body += self._raw
            self._raw.clear()
            if self.eof:
                self.ended = True
            return
        while not self.ended:
            size_end = self._raw.find(b"\r\n")
            if size_end < 0:
                break
            size = int(bytes(self._raw[:size_end]).split(b";")[0], 16)
            if size == 0:
                self.ended = True
                break
            if len(self._raw) < size_end + 2 + size + 2:
                break
            start = size_end + 2
            self._body += self._raw[start : start + size]
            assert self._raw[start + size : start + size + 2] == b"\r\n", "bad chunk framing"
            del self._raw[: start + size + 2]
        if self.eof and not self.ended:
            self.ended = True

    def _pop_line(self) -> bytes | None:
        end = self._body.find(b"\n")
        if end < 0:
            return None
        line = bytes(self._body[: end + 1])
        del self._body[: end + 1]
        self.lines.append(line)
        return line

    # ---- events ------------------------------------------------------------------------------

    def next_event(self, timeout: float) -> Event | None:
        """The next event, or None when the stream has ended. TimeoutError if none in time."""
        deadline = time.monotonic() + timeout
        while True:
            self._decode()
            line = self._pop_line()
            if line is not None:
                return json.loads(line)
            if self.ended:
                return None
            self._recv(deadline)

    def events_ready(self) -> list[Event]:
        """After ``select`` found the socket readable: one ``recv``, then every complete event."""
        self._recv(time.monotonic() + 1.0)
        self._decode()
        events = []
        while (line := self._pop_line()) is not None:
            events.append(json.loads(line))
        return events

    def fileno(self) -> int:
        return self.sock.fileno()

    def read_until(self, predicate: Callable[[Event], bool], timeout: float) -> list[Event]:
        """Events up to and including the first that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while True:
            event = self.next_event(max(deadline - time.monotonic(), 0.001))
            if event is None:
                raise StreamEnded(f"stream ended before the awaited event; got {summary(events)}")
            events.append(event)
            if predicate(event):
                return events

    def read_count(self, count: int, timeout: float) -> list[Event]:
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while len(events) < count:
            event = self.next_event(max(deadline - time.monotonic(), 0.001))
            if event is None:
                raise StreamEnded(f"stream ended after {summary(events)}")
            events.append(event)
        return events

    def read_to_end(self, timeout: float) -> list[Event]:
        """Every event until the server ends the response (TimeoutError if it does not)."""
        deadline = time.monotonic() + timeout
        events: list[Event] = []
        while True:
            event = self.next_event(max(deadline - time.monotonic(), 0.001))
            if event is None:
                return events
            events.append(event)

    def leftover(self) -> bytes:
        """Bytes after the last newline (a well-formed stream leaves none)."""
        self._decode()
        return bytes(self._body)

    def body_text(self, timeout: float = 5.0) -> str:
        """For error responses: the whole (non-streamed) body."""
        deadline = time.monotonic() + timeout
        length = int(self.headers.get("content-length", "-1"))
        while not self.eof and (length < 0 or len(self._raw) < length):
            self._recv(deadline)
        return bytes(self._raw).decode()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def __enter__(self) -> RawWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- small helpers ---------------------------------------------------------------------------


def rv_of(event: Event) -> int:
    return int(event["object"]["metadata"]["resourceVersion"])


def name_of(event: Event) -> str:
    obj = event["object"]
    if obj.get("kind") == "Table":
        return obj["rows"][0]["object"]["metadata"]["name"]
    return obj["metadata"]["name"]


def summary(events: list[Event]) -> list[tuple[str, str, int]]:
    """(type, name, rv) of each event: what assertion messages show."""
    out = []
    for e in events:
        if e["type"] in ("BOOKMARK", "ERROR"):
            out.append((e["type"], "", int(e["object"].get("metadata", {}).get("resourceVersion") or 0)))
        else:
            out.append((e["type"], name_of(e), rv_of(e)))
    return out


def is_added(name: str) -> Callable[[Event], bool]:
    return lambda e: e["type"] == "ADDED" and name_of(e) == name


def create(api: httpx.Client, ns: str, manifest: dict) -> dict:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=manifest)
    assert response.status_code == 201, f"POST on {api.base_url}: {response.status_code} {response.text}"
    return response.json()


def patch_labels(api: httpx.Client, ns: str, name: str, labels: dict[str, str | None]) -> dict:
    response = api.patch(
        f"/api/v1/namespaces/{ns}/pods/{name}",
        json={"metadata": {"labels": labels}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200, (
        f"PATCH {name} on {api.base_url}: {response.status_code} {response.text}"
    )
    return response.json()


def delete(api: httpx.Client, ns: str, name: str) -> dict:
    response = api.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
    assert response.status_code == 200, (
        f"DELETE {name} on {api.base_url}: {response.status_code} {response.text}"
    )
    return response.json()


def list_rv(api: httpx.Client, ns: str | None = None) -> int:
    path = f"/api/v1/namespaces/{ns}/pods" if ns else "/api/v1/pods"
    response = api.get(path, params={"limit": "1"})
    assert response.status_code == 200, response.text
    return int(response.json()["metadata"]["resourceVersion"])


def vm_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/<pid>/status")
