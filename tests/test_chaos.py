"""Chaos: a seeded random workload over three replicas while replicas are SIGKILLed and
restarted again and again and Redis is killed and restarted once.

Writers create, patch and delete pods of their own through any live replica; informers list,
then watch and resume from their last resourceVersion on any replica, relisting only on 410.
Checked at the end: every acknowledged write is there, in its last acknowledged state, on every
replica; no informer saw an event twice or out of order, none needed a relist, and each one's
state equals a list at the same resourceVersion; no 5xx but 503 and 504 (``pytest -m chaos``;
``WATCHCACHE_CHAOS_SEED`` replays a run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
import redis

from watchcache.process.embedded_redis import REDIS_BINARY, find_free_port

from .conftest import Server, pod_manifest, start_server

pytestmark = pytest.mark.chaos

SEED = int(os.environ.get("WATCHCACHE_CHAOS_SEED", "20261207"))
REPLICAS = 3
KILLS = 12  # replica SIGKILLs, one every KILL_EVERY_S (each then restarted)
KILL_EVERY_S = 1.5
WRITERS = 3
INFORMERS = 3
NAMES_PER_WRITER = 10
NS = "chaos"
PODS = f"/api/v1/namespaces/{NS}/pods"
ALLOWED_5XX = {503, 504}
TIMEOUT = httpx.Timeout(5.0)


class AofRedis:
    """redis-server on a fixed port with its AOF fsynced on every write, killable and restartable."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        self.port = find_free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [REDIS_BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--appendonly", "yes", "--appendfsync", "always", "--save", ""]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with redis.Redis(port=self.port, socket_timeout=1) as client:
                    client.ping()
                    return
            except redis.RedisError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


class Fleet:
    """The replicas; clients ask it for a live URL each time."""

    def __init__(self, redis_url: str, workdir: Path) -> None:
        self.redis_url, self.workdir = redis_url, workdir
        self.lock = threading.Lock()
        self.servers = [self._start(i) for i in range(REPLICAS)]
        self.kills = 0

    def _start(self, i: int) -> Server:
        return start_server(self.redis_url, self.workdir / f"replica-{i}-{time.monotonic_ns()}",
                            "--bookmark-interval-seconds", "1")  # fmt: skip

    def url(self, rng: random.Random) -> str:
        with self.lock:
            return rng.choice(self.servers).url

    def kill_and_restart(self, rng: random.Random) -> None:
        i = rng.randrange(REPLICAS)
        with self.lock:
            victim = self.servers[i]
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        self.kills += 1
        replacement = self._start(i)
        with self.lock:
            self.servers[i] = replacement

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@dataclass
class Outcomes:
    """What the clients saw go wrong: anything here fails the test."""

    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, problem: str) -> None:
        with self.lock:
            self.problems.append(problem)

    def status(self, where: str, response: httpx.Response) -> None:
        if response.status_code >= 500 and response.status_code not in ALLOWED_5XX:
            self.add(f"{where}: {response.status_code} {response.text[:200]}")


# (exists, gen): the last acknowledged state of a writer's pod; None: not known (its last
# write's outcome was not seen: the replica died, Redis was down)
Known = tuple[bool, str | None] | None


class Writer(threading.Thread):
    def __init__(self, index: int, fleet: Fleet, outcomes: Outcomes, stop: threading.Event) -> None:
        super().__init__(name=f"writer-{index}", daemon=True)
        self.rng = random.Random(SEED * 100 + index)
        self.fleet, self.outcomes, self.stop = fleet, outcomes, stop
        self.names = [f"w{index}-{n}" for n in range(NAMES_PER_WRITER)]
        self.known: dict[str, Known] = dict.fromkeys(self.names, (False, None))
        self.seq = 0
        self.acknowledged = 0

    def run(self) -> None:
        while not self.stop.is_set():
            name = self.rng.choice(self.names)
            self.seq += 1
            try:
                self.known[name] = self.write(name, f"{self.name}-{self.seq}")
            except httpx.TransportError:  # the replica died mid-request: outcome unknown
                self.known[name] = None
            time.sleep(0.02)

    def write(self, name: str, gen: str) -> Known:
        known, url = self.known[name], self.fleet.url(self.rng)
        if known is not None and not known[0]:
            manifest = pod_manifest(name, labels={"gen": gen})
            response = httpx.post(f"{url}{PODS}", json=manifest, timeout=TIMEOUT)
            return self.judge("create", response, {201: (True, gen), 409: None})
        if known is None or self.rng.random() < 0.7:  # a patch also settles what is not known
            patch = orjson.dumps({"metadata": {"labels": {"gen": gen}}})
            headers = {"Content-Type": "application/merge-patch+json"}
            response = httpx.patch(f"{url}{PODS}/{name}", content=patch, headers=headers, timeout=TIMEOUT)
            if response.status_code == 200 and "deletionTimestamp" in response.json()["metadata"]:
                # a delete answered 503 after its first step left the pod terminating: the
                # reaper removes it, so it may be gone by the end whatever this patch set
                return self.judge("patch", response, {200: None})
            return self.judge("patch", response, {200: (True, gen), 404: (False, None)})
        response = httpx.delete(f"{url}{PODS}/{name}", params={"gracePeriodSeconds": "0"}, timeout=TIMEOUT)
        return self.judge("delete", response, {200: (False, None), 404: (False, None)})

    def judge(self, verb: str, response: httpx.Response, outcomes: dict[int, Known]) -> Known:
        self.outcomes.status(f"{verb} by {self.name}", response)
        if response.status_code in outcomes:
            self.acknowledged += 1
            return outcomes[response.status_code]
        if response.status_code not in (429, *ALLOWED_5XX):
            self.outcomes.add(f"{verb} by {self.name}: unexpected {response.status_code} {response.text[:200]}")
        return None


class Informer(threading.Thread):
    """client-go's reflector, reduced: list, watch, resume from the last rv anywhere."""

    def __init__(self, index: int, fleet: Fleet, outcomes: Outcomes, stop: threading.Event) -> None:
        super().__init__(name=f"informer-{index}", daemon=True)
        self.rng = random.Random(SEED * 1000 + index)
        self.fleet, self.outcomes, self.stop = fleet, outcomes, stop
        self.cache: dict[str, str | None] = {}
        self.rv = 0
        self.relists = -1  # the first list is not a relist
        self.cut = 0  # watches that ended because their replica died (then resumed elsewhere)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.relists < 0 or self.rv == 0:
                    self.list()
                self.watch()
            except httpx.TransportError:
                self.cut += 1  # that replica died: resume on another
                time.sleep(0.05)

    def list(self) -> None:
        response = httpx.get(f"{self.fleet.url(self.rng)}{PODS}", timeout=TIMEOUT)
        self.outcomes.status(f"list by {self.name}", response)
        if response.status_code != 200:
            time.sleep(0.1)
            return
        body = response.json()
        self.cache = {p["metadata"]["name"]: p["metadata"].get("labels", {}).get("gen") for p in body["items"]}
        self.rv = int(body["metadata"]["resourceVersion"])
        self.relists += 1

    def watch(self) -> None:
        params = {"watch": "1", "resourceVersion": str(self.rv), "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(self.rng.randint(2, 6))}  # fmt: skip
        with httpx.stream("GET", f"{self.fleet.url(self.rng)}{PODS}", params=params, timeout=TIMEOUT) as response:
            if response.status_code != 200:
                self.outcomes.status(f"watch by {self.name}", response)
                time.sleep(0.1)
                return
            for line in response.iter_lines():
                if line and not self.event(orjson.loads(line)):
                    return

    def event(self, event: dict) -> bool:
        kind, obj = event["type"], event["object"]
        if kind == "ERROR":
            if obj.get("code") == 410:
                self.rv = 0  # list again (counted as a relist then)
            else:
                self.outcomes.add(f"watch by {self.name}: ERROR {obj}")
            return False
        rv = int(obj["metadata"]["resourceVersion"])
        if kind == "BOOKMARK":
            if rv < self.rv:
                self.outcomes.add(f"{self.name}: bookmark {rv} before {self.rv}")
            self.rv = max(self.rv, rv)
            return True
        if rv <= self.rv:
            self.outcomes.add(f"{self.name}: {kind} at {rv} after {self.rv} (a duplicate or out of order)")
        self.rv = rv
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.cache.pop(name, None)
        else:
            self.cache[name] = obj["metadata"].get("labels", {}).get("gen")
        return True


@pytest.fixture
def aof_redis(tmp_path: Path) -> Iterator[AofRedis]:
    server = AofRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None:
        server.process.kill()
        server.process.wait()


def test_nothing_acknowledged_is_lost_and_no_informer_relists(aof_redis: AofRedis, tmp_path: Path) -> None:
    fleet = Fleet(aof_redis.url, tmp_path)
    outcomes, stop = Outcomes(), threading.Event()
    rng = random.Random(SEED)
    recovered_s: list[float] = []
    writers = [Writer(i, fleet, outcomes, stop) for i in range(WRITERS)]
    informers = [Informer(i, fleet, outcomes, threading.Event()) for i in range(INFORMERS)]
    try:
        for thread in (*informers, *writers):
            thread.start()
        for n in range(KILLS):
            time.sleep(KILL_EVERY_S)
            fleet.kill_and_restart(rng)
            if n == KILLS // 2:  # and Redis, once: what it acknowledged is in its fsynced AOF
                aof_redis.kill()
                time.sleep(0.5)
                aof_redis.start()
                back = time.monotonic()
                for server in list(fleet.servers):  # every replica serves again within 5 s
                    _wait_until(lambda s=server: _consistent_list_ok(s.url), f"{server.url} serves", 5.0)
                recovered_s.append(time.monotonic() - back)
        stop.set()
        for writer in writers:
            writer.join(30)
        final = _settled_list(fleet)
        for informer in informers:
            _wait_until(lambda i=informer: i.rv >= final[0], f"{informer.name} reaches {final[0]}")
            informer.stop.set()
        assert outcomes.problems == []
        assert fleet.kills == KILLS and sum(w.acknowledged for w in writers) > 100
        assert len(recovered_s) == 1 and recovered_s[0] <= 5.0  # ready after Redis returns
        assert sum(i.cut for i in informers) > 0  # the kills did cut watches, which resumed
        expected = {
            name: known[1]
            for writer in writers
            for name, known in writer.known.items()
            if known is not None and known[0]
        }
        unknown = {name for writer in writers for name, known in writer.known.items() if known is None}
        for server in fleet.servers:  # every acknowledged write, in its last state, everywhere
            items = _items(server.url)
            assert {n: g for n, g in items.items() if n not in unknown} == expected, server.url
        for informer in informers:
            assert informer.relists == 0, f"{informer.name} relisted"
            assert informer.cache == final[1], f"{informer.name}'s state is not the list's"
    finally:
        stop.set()
        for informer in informers:
            informer.stop.set()
        fleet.stop()


def _consistent_list_ok(url: str) -> bool:
    try:
        return httpx.get(f"{url}{PODS}", params={"limit": "1"}, timeout=TIMEOUT).status_code == 200
    except httpx.TransportError:
        return False


def _items(url: str) -> dict[str, str | None]:
    body = httpx.get(f"{url}{PODS}", timeout=TIMEOUT).raise_for_status().json()
    return {p["metadata"]["name"]: p["metadata"].get("labels", {}).get("gen") for p in body["items"]}


def _settled_list(fleet: Fleet) -> tuple[int, dict[str, str | None]]:
    """The final state (no writes any more) and its rv, from a consistent list."""
    response = httpx.get(f"{fleet.servers[0].url}{PODS}", timeout=TIMEOUT).raise_for_status()
    body = response.json()
    items = {p["metadata"]["name"]: p["metadata"].get("labels", {}).get("gen") for p in body["items"]}
    return int(body["metadata"]["resourceVersion"]), items


def _wait_until(condition: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)
