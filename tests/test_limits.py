"""Limits that hold under abuse: requests over the in-flight limits get 429 (nothing lost, no
5xx), heads that never finish are closed, oversize heads get 431; watches and health checks
are not refused."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from watchcache.process.embedded_redis import EmbeddedRedis

from .conftest import Server, pod_manifest, start_server
from .watch_support import RawWatch

NS = "limits"
PODS = f"/api/v1/namespaces/{NS}/pods"


@pytest.fixture(scope="module")
def tight(private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(private_redis.url, tmp_path_factory.mktemp("limits"), "--max-requests-inflight", "2",
                       "--max-mutating-requests-inflight", "1", "--request-head-timeout", "1s")  # fmt: skip
    yield srv
    srv.stop()


def _connect(server: Server) -> socket.socket:
    url = urlsplit(server.url)
    return socket.create_connection((url.hostname, url.port), timeout=10)


@pytest.mark.e2e
def test_an_overload_is_shed_with_429_and_nothing_is_lost(tight: Server) -> None:
    async def overload() -> list[tuple[str, httpx.Response]]:
        async with httpx.AsyncClient(base_url=tight.url, timeout=30) as api:
            creates = [(f"p-{i}", api.post(PODS, json=pod_manifest(f"p-{i}"))) for i in range(20)]
            reads = [("", api.get(PODS)) for _ in range(20)]  # 10x both limits at once
            answers = await asyncio.gather(*(call for _, call in creates + reads))
            return [(name, answer) for (name, _), answer in zip(creates + reads, answers, strict=True)]

    answers = asyncio.run(overload())
    assert {a.status_code for _, a in answers} <= {200, 201, 429}  # no 5xx
    refused = [a for _, a in answers if a.status_code == 429]
    assert refused, "nothing was over the limit"
    assert refused[0].headers["retry-after"] == "1"
    assert refused[0].json()["reason"] == "TooManyRequests"
    assert refused[0].json()["message"] == "Too many requests, please try again later."
    with tight.client() as api:
        stored = {p["metadata"]["name"] for p in api.get(PODS).json()["items"]}
        created = {name for name, a in answers if name and a.status_code == 201}
        assert stored == created  # every 201 is there, no refused create is
        metrics = api.get("/metrics").text
    assert 'watchcache_requests_refused_inflight_total{request_kind="mutating"}' in metrics


@pytest.mark.e2e
def test_watches_and_health_checks_are_not_counted(tight: Server) -> None:
    watches = [RawWatch(tight.url, PODS, {"watch": "1"}) for _ in range(4)]  # twice the read limit
    try:
        with tight.client() as api:
            assert api.get(PODS).status_code == 200
            assert api.get("/readyz").status_code == 200
    finally:
        for watch in watches:
            watch.close()


@pytest.mark.e2e
def test_a_head_that_never_finishes_is_closed(tight: Server) -> None:
    stalled = [_connect(tight) for _ in range(50)]
    for sock in stalled[:25]:
        sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    with tight.client() as api:
        assert api.get(PODS).status_code == 200  # normal clients are served meanwhile
    for sock in stalled:
        sock.settimeout(5)
        assert sock.recv(100) == b""  # closed by the server, silent or trickling
        sock.close()
    assert time.monotonic() - started < 5  # within the 1 s head timeout, give or take


@pytest.mark.e2e
def test_each_head_of_a_kept_alive_connection_has_its_own_deadline(tight: Server) -> None:
    """The deadline is the head's own: a head that stalls after an earlier one on the same
    connection is closed a head timeout (1 s) after it began, not at the earlier one's."""
    sock = _connect(tight)
    sock.sendall(b"GET /api/v1/namespaces/limits/pods HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    time.sleep(0.6)  # the first head's deadline falls while the next one is being read
    sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
    started = time.monotonic()
    sock.settimeout(0.7)
    with pytest.raises(TimeoutError):
        sock.recv(100)  # still open past the first head's deadline
    sock.settimeout(5)
    assert sock.recv(100) == b""
    assert 0.9 < time.monotonic() - started < 3
    sock.close()


@pytest.mark.e2e
def test_an_oversize_head_gets_431(tight: Server) -> None:
    sock = _connect(tight)
    sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1100 << 10) + b"\r\n\r\n")
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    with tight.client() as api:
        assert api.get(PODS).status_code == 200


@pytest.mark.e2e
def test_a_client_still_sending_after_the_431_reads_it(tight: Server) -> None:
    """The refusal is a lingering close: the server stops writing and drops what keeps coming
    for a while, so a client that is still sending its head reads the 431 rather than a reset."""
    sock = _connect(tight)
    sock.sendall(b"GET /api/v1/pods HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (4 << 20))
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_the_limits_are_kube_apiservers_by_default(tmp_path: Path) -> None:
    from watchcache.process.settings import Settings

    defaults = Settings()
    assert (defaults.max_requests_inflight, defaults.max_mutating_requests_inflight) == (400, 200)
    assert defaults.request_head_timeout == 32.0


@pytest.mark.parametrize(
    ("query", "watching"),
    [(b"", False), (b"watch=true", True), (b"watch=1", True), (b"watch=True", True), (b"watch=yes", True),
     (b"watch=false", False), (b"watch=0", False), (b"limit=1&watch=1", True), (b"nowatch=1", False)],
)  # fmt: skip
def test_a_watch_is_read_from_the_query_as_kube_reads_it(query: bytes, watching: bool) -> None:
    """One rule for the in-flight exemption, the authorization verb and the metrics' verb."""
    from watchcache.http.authorization import watch_requested

    assert watch_requested(query) is watching
