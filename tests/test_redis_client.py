"""The replica's Redis client: options that the tailer's long blocking reads depend on."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchcache.cache.replica import TAIL_BLOCK_MS
from watchcache.process.embedded_redis import REDIS_BINARY, EmbeddedRedis
from watchcache.storage.store import OwnConnection, Store, connect


async def test_an_idle_tail_blocks_its_whole_time_without_a_client_timeout(
    redis_server: EmbeddedRedis,
) -> None:
    """redis-py 8 defaults to a 5 s socket timeout, which broke off every idle tailer's
    ``XREAD BLOCK 5000`` and made it back off as if Redis were down."""
    redis = connect(redis_server.url)
    follower = Store(redis, prefix="{idle-tail-test}").log_follower()
    try:
        block_ms = TAIL_BLOCK_MS + 1_000
        started = time.monotonic()
        assert await follower.next(0, block_ms) == ([], None)  # no events, and no epoch claimed
        assert time.monotonic() - started >= block_ms / 1e3 - 0.05
    finally:
        await follower.close()
        await redis.aclose()


async def test_the_client_speaks_over_a_unix_socket_too(tmp_path: Path) -> None:
    """``unix://`` URLs work: TCP-only socket options must not reach a unix connection."""
    sock = tmp_path / "redis.sock"
    args = [REDIS_BINARY, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL)
    redis = connect(f"unix://{sock}")
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        store = Store(redis, prefix="{unix-test}")
        rv = (
            await store.write(
                "pods", "ns/p", "ADDED", {"kind": "Pod", "metadata": {"name": "p"}}, expected_rv=None
            )
        ).rv
        await store.claim()
        heads = store.head_reader()
        assert await heads.head() == (rv, store.epoch) and rv == await store.head()
        await heads.close()
    finally:
        await redis.aclose()
        server.terminate()
        server.wait(10)


@pytest.mark.parametrize("protocol", ["2", "3"])
async def test_the_tailer_reads_events_in_either_protocol(redis_server: EmbeddedRedis, protocol: str) -> None:
    """The follower reads raw replies: XREAD is a list of [stream, entries] in RESP2 and a map
    in RESP3; a URL may choose either (``?protocol=``)."""
    redis = connect(f"{redis_server.url}?protocol={protocol}")
    store = Store(redis, prefix=f"{{follow-resp{protocol}}}")
    follower = store.log_follower()
    try:
        pod = {"kind": "Pod", "metadata": {"name": "p", "namespace": "ns", "labels": {"a": "b"}}}
        written = await store.write("pods", "ns/p", "ADDED", pod, expected_rv=None, summary=b"s")
        await store.claim()
        (event,), epoch = await follower.next(0, 100)
        assert epoch == store.epoch
        assert (event.rv, event.key, event.json, event.summary) == (written.rv, "ns/p", written.json, b"s")
    finally:
        await follower.close()
        await store.close()
        await redis.aclose()


@pytest.mark.parametrize("protocol", ["2", "3"])
async def test_a_log_follow_reads_lines_in_either_protocol(
    redis_server: EmbeddedRedis, protocol: str
) -> None:
    """``kubectl logs -f`` reads through redis-py's XREAD, whose reply is ``[[stream, entries]]``
    in RESP2 and ``{stream: [entries]}`` in RESP3."""
    redis = connect(f"{redis_server.url}?protocol={protocol}")
    store = Store(redis, prefix=f"{{logs-resp{protocol}}}")
    try:
        key = store.container_log_key("uid-1", "c")
        entries = [(1_000, b"2026-12-06T00:00:00Z", b"one"), (2_000, b"2026-12-06T00:00:01Z", b"two")]
        assert await store.append_log("uid-1", "c", 0, entries, max_lines=10, max_bytes=1 << 20) == 0
        lines, position = await store.follow_log(key, "0-0", 100)
        assert [(ts, line) for _, ts, line in lines] == [
            (b"2026-12-06T00:00:00Z", b"one"),
            (b"2026-12-06T00:00:01Z", b"two"),
        ]
        assert await store.follow_log(key, position, 100) == ([], position)
    finally:
        await store.close()
        await redis.aclose()


async def test_an_own_connection_killed_between_calls_is_replaced_once(redis_server: EmbeddedRedis) -> None:
    """The tailer's connection is redis-py's handed over to a bare protocol: a connection Redis
    closed (a restart, CLIENT KILL) is noticed and the call sent once more on a fresh one;
    errors Redis answers reach the caller as redis-py's."""
    redis = connect(redis_server.url)
    conn = OwnConnection(redis)
    try:
        name = b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$11\r\nown-handover\r\n"
        assert await conn.call(name, 5) == b"OK"
        assert await redis.client_kill_filter(_type="normal", skipme=True) >= 1
        await asyncio.sleep(0.05)  # the close reaches the protocol
        assert await conn.call(b"*1\r\n$4\r\nPING\r\n", 5) in (b"PONG", "PONG")
        with pytest.raises(ResponseError, match="unknown command"):
            await conn.call(b"*1\r\n$7\r\nNOSUCH1\r\n", 5)
        assert await conn.call(b"*1\r\n$4\r\nPING\r\n", 5) in (b"PONG", "PONG")
    finally:
        await conn.close()
        await redis.aclose()


async def test_an_own_connection_that_gets_no_answer_times_out_and_recovers(
    redis_server: EmbeddedRedis,
) -> None:
    """A call Redis holds past its deadline fails with redis-py's TimeoutError; the reply that
    comes later is not taken for the next call's, which gets a connection of its own."""
    redis = connect(redis_server.url)
    conn = OwnConnection(redis)
    try:
        slow = b"*3\r\n$5\r\nBLPOP\r\n$9\r\nnever-set\r\n$3\r\n0.3\r\n"  # answers in 0.3 s
        with pytest.raises(RedisTimeoutError):
            await conn.call(slow, 0.1)
        # sent while the late reply is still due: on the same connection it would get that one
        assert await conn.call(b"*2\r\n$4\r\nECHO\r\n$5\r\nafter\r\n", 5) == b"after"
    finally:
        await conn.close()
        await redis.aclose()


async def test_an_own_connection_keeps_each_calls_deadline(redis_server: EmbeddedRedis) -> None:
    """One watchdog keeps the deadlines: a short one after a long one still fails in time, and
    a caller cancelled by someone else is cancelled, not timed out."""
    redis = connect(redis_server.url)
    conn = OwnConnection(redis)
    try:
        assert await conn.call(b"*1\r\n$4\r\nPING\r\n", 30) in (b"PONG", "PONG")  # arms it for 30 s
        slow = b"*3\r\n$5\r\nBLPOP\r\n$9\r\nnever-set\r\n$1\r\n2\r\n"  # answers in 2 s
        started = time.monotonic()
        with pytest.raises(RedisTimeoutError):
            await conn.call(slow, 0.2)
        assert time.monotonic() - started < 1.5
        call = asyncio.ensure_future(conn.call(slow, 5))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await conn.call(b"*2\r\n$4\r\nECHO\r\n$5\r\nafter\r\n", 5) == b"after"
    finally:
        await conn.close()
        await redis.aclose()
