"""Group commit: writes ready in one loop turn share one send, yet each keeps its own outcome.

Against a private redis-server: ordering, per-write compare-and-swap outcomes, a command Redis
rejects failing only itself, a batch reaching a blocked reader in one reply (it is one
MULTI/EXEC transaction), a lost script cache, a connection cut while writes are in flight
(exactly those fail, with a Redis error the API answers as 503; nothing acknowledged is lost),
and a master turned replica (its READONLY answers fail the writes as a lost connection would,
and the connection is left for a new one).
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ExecAbortError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.storage.groupcommit import GroupCommit, pack_command
from watchcache.storage.store import Committed, KeyExists, Store, VersionMismatch

from .conftest import pod_manifest, start_server


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": name, "namespace": "ns", "labels": labels}}


async def test_writes_of_one_loop_turn_share_one_send_and_commit_in_call_order(store: Store) -> None:
    await store.write("pods", "ns/warm", "ADDED", pod("warm"), expected_rv=None)  # loads the script
    batches, commands = store.commits.batches, store.commits.commands
    writes = [store.write("pods", f"ns/p{i}", "ADDED", pod(f"p{i}"), expected_rv=None) for i in range(50)]
    rvs = [committed.rv for committed in await asyncio.gather(*writes)]
    assert (store.commits.batches - batches, store.commits.commands - commands) == (1, 50)
    assert rvs == sorted(rvs) and len(set(rvs)) == 50  # Redis ran them in the order they were called
    stored = await asyncio.gather(*(store.get("pods", f"ns/p{i}") for i in range(50)))
    assert [s.rv for s in stored if s is not None] == rvs


async def test_each_write_in_a_batch_gets_its_own_compare_and_swap_outcome(store: Store) -> None:
    rv = (await store.write("pods", "ns/a", "ADDED", pod("a"), expected_rv=None)).rv
    before = store.commits.batches
    outcomes = await asyncio.gather(
        store.write("pods", "ns/a", "MODIFIED", pod("a", won="yes"), expected_rv=rv),
        store.write("pods", "ns/a", "MODIFIED", pod("a", won="no"), expected_rv=rv),  # same base: loses
        store.write("pods", "ns/a", "ADDED", pod("a"), expected_rv=None),  # exists
        store.write("pods", "ns/b", "ADDED", pod("b"), expected_rv=None),
        return_exceptions=True,
    )
    assert store.commits.batches == before + 1
    winner, loser, exists, created = outcomes
    assert isinstance(winner, Committed) and winner.rv > rv
    assert isinstance(loser, VersionMismatch) and loser.current is not None
    assert loser.current.rv == winner.rv and loser.current.pod()["metadata"]["labels"] == {"won": "yes"}
    assert loser.current.json == winner.json  # the bytes the winner's writer serves
    assert isinstance(exists, KeyExists) and exists.current is not None and exists.current.rv == winner.rv
    assert isinstance(created, Committed) and created.rv > winner.rv


async def test_a_command_redis_rejects_fails_only_itself(store: Store) -> None:
    commits = store.commits
    wrong_type = pack_command("HGET", store.rv_key, "x")  # {..}:rv is a string: WRONGTYPE
    await store.write("pods", "ns/first", "ADDED", pod("first"), expected_rv=None)  # makes the rv key
    outcomes = await asyncio.gather(
        store.write("pods", "ns/c1", "ADDED", pod("c1"), expected_rv=None),
        commits.call(wrong_type),
        store.write("pods", "ns/c2", "ADDED", pod("c2"), expected_rv=None),
        return_exceptions=True,
    )
    first, rejected, second = outcomes
    assert isinstance(first, Committed) and isinstance(second, Committed)
    assert isinstance(rejected, ResponseError) and "WRONGTYPE" in str(rejected)
    assert second.rv == first.rv + 1


async def test_a_blocked_reader_gets_a_whole_batch_in_one_reply(store: Store) -> None:
    """A batch is one MULTI/EXEC transaction: Redis serves a blocked XREAD once, after it, not
    after its first write (each replica's tailer would need a second round for the rest)."""
    first = await store.write("pods", "ns/before", "ADDED", pod("before"), expected_rv=None)
    follower = store.log_follower()
    try:
        reading = asyncio.ensure_future(follower.next(first.rv, 5_000))
        await asyncio.sleep(0.2)  # the XREAD is blocked in Redis
        writes = [store.write("pods", f"ns/b{i}", "ADDED", pod(f"b{i}"), expected_rv=None) for i in range(5)]
        committed = await asyncio.gather(*writes)
        events, _ = await reading
        assert [e.rv for e in events] == [c.rv for c in committed]
    finally:
        await follower.close()


async def test_a_command_refused_when_queued_aborts_its_batch_and_says_why(store: Store) -> None:
    """A command Redis refuses to queue (never one the store sends) aborts the transaction:
    none of the batch ran, each command learns it, the refused one gets its own error."""
    commits, key = store.commits, f"{store.rv_key}-probe"
    batch = [commits.call(pack_command("SET", key, "1")), commits.call(pack_command("NOSUCHCOMMAND"))]
    aborted, refused = await asyncio.gather(*batch, return_exceptions=True)
    assert isinstance(refused, ResponseError) and "unknown command" in str(refused)
    assert isinstance(aborted, ExecAbortError)
    assert await commits.call(pack_command("GET", key)) is None  # the SET did not run
    assert await commits.call(pack_command("SET", key, "1")) in (b"OK", True)


async def test_writes_go_on_after_redis_forgets_the_script(
    private_redis: EmbeddedRedis, store: Store
) -> None:
    await store.write("pods", "ns/s1", "ADDED", pod("s1"), expected_rv=None)
    admin = redis.Redis.from_url(private_redis.url)
    admin.script_flush()
    admin.close()
    committed = await asyncio.gather(
        *(store.write("pods", f"ns/t{i}", "ADDED", pod(f"t{i}"), expected_rv=None) for i in range(3))
    )
    rvs = {c.rv for c in committed}
    assert len(rvs) == 3
    assert (await store.write("pods", "ns/t3", "ADDED", pod("t3"), expected_rv=None)).rv > max(rvs)


async def test_a_connection_cut_mid_batch_fails_exactly_the_writes_in_flight(
    private_redis: EmbeddedRedis, store: Store
) -> None:
    """Writes answered before the cut stay; the ones Redis held paused when the connection was
    killed fail with a Redis error (503 at the API) and were never applied; the next write
    reconnects."""
    acknowledged = [
        c.rv
        for c in await asyncio.gather(
            *(store.write("pods", f"ns/ok{i}", "ADDED", pod(f"ok{i}"), expected_rv=None) for i in range(5))
        )
    ]
    admin = redis.Redis.from_url(private_redis.url)
    admin.execute_command("CLIENT", "PAUSE", 5000, "WRITE")  # scripts that write wait in Redis
    try:
        in_flight = [
            asyncio.ensure_future(
                store.write("pods", f"ns/cut{i}", "ADDED", pod(f"cut{i}"), expected_rv=None)
            )
            for i in range(5)
        ]
        await asyncio.sleep(0.3)
        assert not any(w.done() for w in in_flight)
        waiting = [c for c in admin.client_list() if c["cmd"] in ("evalsha", "eval")]
        assert len(waiting) == 1  # the one group commit connection
        admin.client_kill_filter(_id=waiting[0]["id"])
        outcomes = await asyncio.wait_for(asyncio.gather(*in_flight, return_exceptions=True), 10)
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
    assert all(isinstance(o, RedisConnectionError) for o in outcomes), outcomes
    assert all(isinstance(o, RedisError) for o in outcomes)  # router.error_response: 503
    for i in range(5):
        assert await store.get("pods", f"ns/cut{i}") is None  # killed before Redis ran them
    after = (await store.write("pods", "ns/after", "ADDED", pod("after"), expected_rv=None)).rv
    assert after > max(acknowledged)
    for i, rv in enumerate(acknowledged):
        stored = await store.get("pods", f"ns/ok{i}")
        assert stored is not None and stored.rv == rv
    admin.close()


async def test_a_master_turned_replica_fails_the_writes_it_refuses_and_is_left(
    private_redis: EmbeddedRedis, store: Store
) -> None:
    """A READONLY answer (a failover demoted the master the connection reaches) fails the
    write with a connection error (503 at the API) and drops the connection, so that the next
    write connects afresh (through Sentinel, to the new master); nothing refused was applied."""
    first = await store.write("pods", "ns/before", "ADDED", pod("before"), expected_rv=None)
    admin = redis.Redis.from_url(private_redis.url)
    writers = {c["id"] for c in admin.client_list() if c["cmd"] in ("evalsha", "eval", "exec")}
    admin.execute_command("REPLICAOF", "127.0.0.1", "1")  # a master nobody runs: read-only, data kept
    try:
        alone = store.write("pods", "ns/refused-alone", "ADDED", pod("alone"), expected_rv=None)
        refused = [*await asyncio.gather(alone, return_exceptions=True)]  # a command of its own
        refused += await asyncio.gather(  # a transaction's (READONLY inside EXEC's answer)
            *(store.write("pods", f"ns/refused{i}", "ADDED", pod(f"r{i}"), expected_rv=None) for i in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(r, RedisConnectionError) and "replica" in str(r) for r in refused), refused
        await asyncio.sleep(0.2)
        assert writers and not writers & {c["id"] for c in admin.client_list()}  # dropped
    finally:
        admin.execute_command("REPLICAOF", "NO", "ONE")
        admin.close()
    after = await store.write("pods", "ns/after", "ADDED", pod("after"), expected_rv=None)
    assert after.rv > first.rv
    for key in ("ns/refused-alone", *(f"ns/refused{i}" for i in range(3))):
        assert await store.get("pods", key) is None


async def test_a_redis_that_does_not_answer_in_time_fails_what_is_in_flight_and_is_left(
    private_redis: EmbeddedRedis,
) -> None:
    """Past the reply deadline the commands in flight fail with a timeout (503 at the API), the
    connection is dropped, and once Redis answers again the next call connects afresh."""
    commits = GroupCommit(Redis.from_url(private_redis.url), reply_timeout_s=0.5)
    admin = redis.Redis.from_url(private_redis.url)
    try:
        assert await commits.call(pack_command("SET", "gc-deadline", "1"), write=True) == b"OK"
        admin.execute_command("CLIENT", "PAUSE", 3000, "WRITE")  # writes wait in Redis
        started = time.monotonic()
        stalled = [commits.call(pack_command("SET", f"gc-deadline-{i}", "2"), write=True) for i in range(3)]
        outcomes = await asyncio.wait_for(asyncio.gather(*stalled, return_exceptions=True), 5)
        assert all(isinstance(o, RedisTimeoutError) for o in outcomes), outcomes
        assert 0.4 < time.monotonic() - started < 2
        admin.execute_command("CLIENT", "UNPAUSE")
        assert await commits.call(pack_command("GET", "gc-deadline")) == b"1"  # a new connection
    finally:
        admin.execute_command("CLIENT", "UNPAUSE")
        admin.close()
        await commits.close()


def test_the_api_answers_503_for_writes_cut_mid_batch_and_keeps_the_rest(
    private_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    """Through a real server: POSTs whose batch Redis held when the connection was killed get
    503 with Retry-After and are not stored; a POST acknowledged before stays; the next works."""
    server = start_server(private_redis.url, tmp_path / "server")
    admin = redis.Redis.from_url(private_redis.url)
    pods = "/api/v1/namespaces/cut/pods"
    try:
        with server.client() as api:
            assert api.post(pods, json=pod_manifest("before")).status_code == 201
            admin.execute_command("CLIENT", "PAUSE", 5000, "WRITE")
            try:
                with ThreadPoolExecutor(3) as pool:
                    posts = [pool.submit(api.post, pods, json=pod_manifest(f"cut{i}")) for i in range(3)]
                    deadline = time.monotonic() + 3
                    waiting: list[dict[str, Any]] = []
                    while len(waiting) < 1 and time.monotonic() < deadline:
                        waiting = [c for c in admin.client_list() if c["cmd"] in ("evalsha", "eval")]
                        time.sleep(0.05)
                    time.sleep(0.2)  # the other POSTs reach the same connection's queue
                    for client in waiting:
                        admin.client_kill_filter(_id=client["id"])
                    answers = [p.result(timeout=10) for p in posts]
            finally:
                admin.execute_command("CLIENT", "UNPAUSE")
            assert waiting, "no write was waiting in Redis"
            cut = [a for a in answers if a.status_code == 503]
            assert cut, [a.status_code for a in answers]
            for answer in cut:
                assert answer.json()["reason"] == "ServiceUnavailable"
                assert answer.headers["Retry-After"] == "1"
            for i, answer in enumerate(answers):
                expected = 404 if answer.status_code == 503 else 200
                assert api.get(f"{pods}/cut{i}").status_code == expected
            assert api.get(f"{pods}/before").status_code == 200
            assert api.post(pods, json=pod_manifest("after")).status_code == 201
    finally:
        admin.close()
        server.stop()


async def test_the_current_rv_is_that_of_the_version_redis_holds(store: Store) -> None:
    assert await store.current_rv("pods", "ns/r1") is None
    committed = await store.write("pods", "ns/r1", "ADDED", pod("r1"), expected_rv=None)
    assert await store.current_rv("pods", "ns/r1") == committed.rv
    again = await store.write("pods", "ns/r1", "MODIFIED", pod("r1"), expected_rv=committed.rv)
    assert await store.current_rv("pods", "ns/r1") == again.rv
    await store.write("pods", "ns/r1", "DELETED", pod("r1"), expected_rv=again.rv)
    assert await store.current_rv("pods", "ns/r1") is None
