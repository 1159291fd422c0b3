"""The heap in transparent huge pages: when ``serve`` starts itself again for them, and that it does."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import Server, pod_manifest, start_server
from watchcache.cache.replica import Replica
from watchcache.kinds.pods import POD
from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.process.huge_pages import (
    ENV,
    glibc_version,
    huge_pages_note,
    small_pages,
    thp_mode,
    tunables_with_huge_pages,
)
from watchcache.storage.store import Store, Stored

GLIBC = (2, 36)


@pytest.mark.parametrize(
    ("environ", "mode", "glibc", "expected"),
    [
        ({}, "madvise", GLIBC, "glibc.malloc.hugetlb=1"),
        (
            {ENV: "glibc.malloc.arena_max=2"},
            "madvise",
            GLIBC,
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1",
        ),
        ({ENV: "glibc.malloc.hugetlb=0"}, "madvise", GLIBC, None),  # the user chose
        ({ENV: "glibc.malloc.hugetlb=1"}, "madvise", GLIBC, None),  # the restarted process
        ({}, "always", GLIBC, None),  # every heap has them already
        ({}, "never", GLIBC, None),
        ({}, None, GLIBC, None),  # no THP in this kernel
        ({}, "madvise", (2, 34), None),  # a glibc without the tunable
        ({}, "madvise", None, None),  # musl
    ],
)
def test_the_restart_adds_the_tunable_only_where_it_takes_one(
    environ: dict[str, str], mode: str | None, glibc: tuple[int, int] | None, expected: str | None
) -> None:
    assert tunables_with_huge_pages(environ, mode, glibc) == expected


def test_the_thp_mode_is_the_bracketed_word(tmp_path: Path) -> None:
    path = tmp_path / "enabled"
    path.write_text("always [madvise] never\n")
    assert thp_mode(path) == "madvise"
    path.write_text("[always] madvise never\n")
    assert thp_mode(path) == "always"
    assert thp_mode(tmp_path / "absent") is None


def test_the_glibc_version_is_read_from_the_running_libc() -> None:
    version = os.confstr("CS_GNU_LIBC_VERSION") or ""
    if not version.startswith("glibc "):
        assert glibc_version() is None
    else:
        assert glibc_version() == tuple(int(n) for n in version.split()[1].split(".")[:2])


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().partition("=")[::2] for item in raw if item)


def _huge_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


needs_madvise_thp = pytest.mark.skipif(
    thp_mode() != "madvise" or (glibc_version() or (0, 0)) < (2, 35),
    reason="needs the kernel's THP mode madvise and glibc >= 2.35",
)


StartServer = Callable[..., Server]


@pytest.fixture
def serve(redis_server: EmbeddedRedis, tmp_path: Path) -> Iterator[StartServer]:
    """Start ``watchcache serve`` with these flags (its environment: this process's)."""
    servers: list[Server] = []

    def start(*flags: str) -> Server:
        servers.append(start_server(redis_server.url, tmp_path / str(len(servers)), *flags))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@needs_madvise_thp
def test_serve_restarts_itself_once_with_its_heap_in_huge_pages(serve: StartServer, ns: str) -> None:
    server = serve()
    pid = server.process.pid  # the restart keeps the process: it is the same pid
    assert _environ(pid)[ENV] == "glibc.malloc.hugetlb=1"
    with server.client() as api:
        for i in range(200):
            created = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(f"p{i}"))
            assert created.status_code == 201, created.text
    assert _huge_kib(pid) > 0
    assert "heap: huge pages (GLIBC_TUNABLES=glibc.malloc.hugetlb=1)" in server.log.read_text()
    assert server.log.read_text().count("watchcache serving") == 1


@needs_madvise_thp
@pytest.mark.parametrize(
    ("flags", "env"), [(("--no-huge-pages",), {}), ((), {"WATCHCACHE_HUGE_PAGES": "false"})]
)
def test_no_huge_pages_keeps_the_heap_in_small_pages(
    serve: StartServer, monkeypatch: pytest.MonkeyPatch, flags: tuple[str, ...], env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    server = serve(*flags)
    assert ENV not in _environ(server.process.pid)
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    assert "heap: 4 KiB pages" in server.log.read_text()


@pytest.mark.parametrize(
    ("environ", "mode", "expected"),
    [
        (
            {ENV: "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"},
            "madvise",
            f"huge pages ({ENV}=glibc.malloc.hugetlb=1)",
        ),
        ({ENV: "glibc.malloc.hugetlb=0"}, "madvise", "4 KiB pages"),
        ({}, "madvise", "4 KiB pages"),
        ({}, "always", "huge pages (THP always)"),
        ({ENV: "glibc.malloc.hugetlb=1"}, "never", "4 KiB pages"),
    ],
)
def test_the_note_names_the_pages_for_each_mode(environ: dict[str, str], mode: str, expected: str) -> None:
    assert huge_pages_note(environ, mode) == expected


def test_the_note_says_how_the_heap_is_paged() -> None:
    mode = thp_mode()
    note = huge_pages_note({ENV: "glibc.malloc.hugetlb=1"})
    assert note == {
        "always": "huge pages (THP always)",
        "madvise": f"huge pages ({ENV}=glibc.malloc.hugetlb=1)",
    }.get(mode or "", "4 KiB pages")


def _thp_enabled() -> str:
    status = Path("/proc/self/status").read_text()
    return next((line.split()[1] for line in status.splitlines() if line.startswith("THP_enabled:")), "")


@pytest.mark.skipif(_thp_enabled() == "", reason="the kernel does not report THP_enabled")
def test_small_pages_holds_off_huge_pages_only_meanwhile() -> None:
    assert _thp_enabled() == "1"
    with small_pages():
        assert _thp_enabled() == "0"
    assert _thp_enabled() == "1"


class _PagesSeen(Store):
    """A log reader that notes, at each object of a snapshot, whether huge pages were held off."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        super().__init__(redis, prefix)
        self.seen: list[str] = []

    async def snapshot(self, resource: str) -> AsyncIterator[tuple[str, Stored]]:
        async for item in super().snapshot(resource):
            self.seen.append(_thp_enabled())
            yield item


@pytest.mark.skipif(_thp_enabled() == "", reason="the kernel does not report THP_enabled")
async def test_a_bootstrap_loads_its_view_in_small_pages_then_lets_it_grow_in_huge_ones(store: Store) -> None:
    for name in ("a", "b", "c"):
        pod = {"metadata": {"name": name, "namespace": "ns", "uid": name}, "spec": {"containers": []}}
        await store.write("pods", f"ns/{name}", "ADDED", pod, expected_rv=None)
    reader = _PagesSeen(store.redis, store.prefix)
    replica = Replica(store, [POD], log_reader=reader)
    await replica.bootstrap()
    assert len(replica.views["pods"]) == 3
    assert reader.seen == ["0", "0", "0"]
    assert _thp_enabled() == "1"
