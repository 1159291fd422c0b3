"""A replica stopped with SIGTERM stops as kube-apiserver does: /readyz fails at once, requests
are served through the shutdown delay, then every watch ends with a last bookmark at the
position it reached, so its client resumes on another replica without a relist."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from watchcache.process.embedded_redis import EmbeddedRedis

from .conftest import Server, pod_manifest, start_server

NS = "graceful"
DELAY_S = 2.0


class Watch(threading.Thread):
    """A watch read to its end in a thread: its events, and when the stream ended."""

    def __init__(self, server: Server, query: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{server.url}/api/v1/namespaces/{NS}/pods?watch=true&{query}"
        self.events: list[dict] = []
        self.opened = threading.Event()
        self.ended_at = 0.0

    def run(self) -> None:
        with httpx.stream("GET", self.url, timeout=30) as response:
            self.opened.set()
            for line in response.iter_lines():
                if line:
                    self.events.append(orjson.loads(line))
        self.ended_at = time.monotonic()


def _start(private_redis: EmbeddedRedis, tmp_path: Path, delay: float) -> Server:
    return start_server(private_redis.url, tmp_path, "--shutdown-delay-seconds", str(delay))


def _create(api: httpx.Client, name: str) -> str:
    created = api.post(f"/api/v1/namespaces/{NS}/pods", json=pod_manifest(name))
    assert created.status_code == 201, created.text
    return str(created.json()["metadata"]["resourceVersion"])


@pytest.mark.e2e
def test_sigterm_drains_then_ends_watches_with_a_bookmark(private_redis: EmbeddedRedis, tmp_path: Path) -> None:
    server = _start(private_redis, tmp_path, DELAY_S)
    try:
        with server.client() as api:
            start_rv = _create(api, "before")
            bookmarked = Watch(server, f"resourceVersion={start_rv}&allowWatchBookmarks=true")
            plain = Watch(server, f"resourceVersion={start_rv}")
            for watch in (bookmarked, plain):
                watch.start()
                assert watch.opened.wait(5)
            time.sleep(0.3)  # both registered
            stopped_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            assert api.get("/readyz").status_code == 503  # the load balancer takes it out at once
            assert api.get(f"/api/v1/namespaces/{NS}/pods").status_code == 200  # still served
            during_rv = _create(api, "during")  # a write during the delay reaches the watches
        for watch in (bookmarked, plain):
            watch.join(DELAY_S + 10)
            assert not watch.is_alive()
            assert watch.ended_at - stopped_at >= DELAY_S  # not cut before the delay
            assert [e["type"] for e in watch.events if e["type"] != "BOOKMARK"] == ["ADDED"]
            assert watch.events[0]["object"]["metadata"]["name"] == "during"
        last = bookmarked.events[-1]
        assert last["type"] == "BOOKMARK"
        assert int(last["object"]["metadata"]["resourceVersion"]) >= int(during_rv)
        assert all(e["type"] != "BOOKMARK" for e in plain.events)  # it did not ask for them
        assert server.process.wait(10) == 0
    finally:
        server.stop()
    log = server.log.read_text()
    assert "SIGTERM: /readyz fails from now" in log


@pytest.mark.e2e
def test_a_second_signal_stops_at_once(private_redis: EmbeddedRedis, tmp_path: Path) -> None:
    server = _start(private_redis, tmp_path, 60.0)
    try:
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while httpx.get(f"{server.url}/readyz").status_code != 503:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(10) == 0
        assert time.monotonic() - started < 10  # not the 60 s delay
    finally:
        server.stop()
