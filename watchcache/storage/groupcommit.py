"""Group commit: the write transactions ready in one event-loop turn reach Redis in one send.

A replica's writes (and the reads of the current version that precede them) go over one
connection of their own. Every call queues its packed command and gets a future; one flusher
task writes everything queued since its last send with one ``write`` call, and one reader task
matches replies to futures in order (Redis answers a connection's commands in the order sent).
So a burst of N writes costs one round trip and two system calls instead of N of each, and no
per-call pool checkout, health check or retry wrapper. Each command is still its own atomic
script with its own outcome: a command that fails as it runs fails its own future only.

A batch of more than one command goes as one ``MULTI`` … ``EXEC`` transaction. Redis answers
a blocked ``XREAD`` after each command that adds to the stream, but after a transaction only
once: so every replica's tailer (this one's too) gets the whole batch in one read round instead
of the first event, then the rest. Each command still has its own outcome in ``EXEC``'s reply,
and the batch runs without other clients' commands between its own (they reached Redis
together anyway). A command Redis refuses to queue (a malformed one: the store sends none)
aborts its batch: nothing in it ran, and each of its commands is told so.

A broken connection fails the commands sent on it and not yet answered with
``ConnectionError`` (their outcome is unknown: a write may have been applied, as when any
request times out), and the next call connects afresh. The reader is always reading, so a
connection Redis closes while idle (a restart) is noticed and dropped at once, before a write
could be sent on it. A Redis that does not answer within :data:`REPLY_TIMEOUT_S` fails what
is in flight with ``TimeoutError``, and the connection is dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchcache.process import tasks

REPLY_TIMEOUT_S = 10.0  # as the client's socket timeout (store.REDIS_TIMEOUT_S)
MULTI = b"*1\r\n$5\r\nMULTI\r\n"
EXEC = b"*1\r\n$4\r\nEXEC\r\n"


def pack_command(*args: str | bytes | int) -> bytes:
    """A command in Redis's wire format, by hiredis in C: redis-py's own packing re-encodes
    each argument in Python first (9 µs for a write's EVALSHA against hiredis's 1.3 µs)."""
    return hiredis.pack_command(args)  # type: ignore[arg-type]  # (its stub types a 1-tuple)


class _Transaction:
    """The futures of a batch sent as ``MULTI`` … ``EXEC``, settled by the replies it takes:
    ``OK`` for ``MULTI``, ``QUEUED`` (or a refusal) per command, then ``EXEC``'s array."""

    __slots__ = ("futures", "opened", "refused")

    def __init__(self, futures: list[asyncio.Future[Any]]) -> None:
        self.futures = futures
        self.opened = False  # MULTI answered
        self.refused: list[Exception | None] = []  # per command answered when queued

    def take(self, reply: Any) -> bool:
        """One more reply; True once ``EXEC``'s has settled the futures."""
        if not self.opened:
            self.opened = True
            return False
        if len(self.refused) < len(self.futures):
            self.refused.append(reply if isinstance(reply, Exception) else None)
            return False
        if not isinstance(reply, list):  # EXECABORT: a command was refused, none ran
            error = reply if isinstance(reply, Exception) else ResponseError(f"EXEC answered {reply!r}")
            for fut, refusal in zip(self.futures, self.refused, strict=True):
                _settle(fut, refusal or error)
        else:
            for fut, result in zip(self.futures, reply, strict=True):
                _settle(fut, result)
        return True


def _settle(fut: asyncio.Future[Any], reply: Any) -> None:
    if fut.done():  # its caller gave up (cancelled)
        return
    if isinstance(reply, Exception):
        fut.set_exception(reply)
    else:
        fut.set_result(reply)


class GroupCommit:
    """One pipelined connection: :meth:`call` from any number of tasks, replies in order."""

    def __init__(self, redis: Redis, reply_timeout_s: float = REPLY_TIMEOUT_S) -> None:
        pool = redis.connection_pool
        # the pool's address, auth and TLS; no socket timeout: a deadline per batch instead
        self._make = lambda: pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
        self._conn: AbstractConnection | None = None
        self._queued: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._in_flight: deque[asyncio.Future[Any] | _Transaction] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reply_timeout_s = reply_timeout_s
        self.batches = 0  # sends, and the commands they carried (tests, benchmarks)
        self.commands = 0

    def call(self, packed: bytes) -> asyncio.Future[Any]:
        """Queue one command packed by :func:`pack_command`; the future gets its reply (or its
        error)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._queued.append((packed, fut))
        if self._flusher is None:
            self._flusher = tasks.spawn("group-commit", self._flush(), self._loop)
        return fut

    async def close(self) -> None:
        await tasks.cancel(self._flusher, self._reader)
        self._fail(self._in_flight, RedisConnectionError("the group commit connection was closed"))
        self._fail([fut for _, fut in self._queued], RedisConnectionError("closed"))
        self._queued = []
        if self._conn is not None:
            await self._conn.disconnect()
            self._conn = None

    # ---- the flusher: one send per batch --------------------------------------------------

    async def _flush(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                batch = [(packed, fut) for packed, fut in batch if not fut.done()]  # given up
                if batch:
                    await self._send(batch)
        finally:
            self._flusher = None

    async def _send(self, batch: list[tuple[bytes, asyncio.Future[Any]]]) -> None:
        futures = [fut for _, fut in batch]
        try:
            conn = await self._connected()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._fail(futures, exc)
            return
        if len(batch) > 1:
            payload = b"".join([MULTI, *(packed for packed, _ in batch), EXEC])
            self._in_flight.append(_Transaction(futures))
        else:
            payload = batch[0][0]
            self._in_flight.append(futures[0])
        try:
            await conn.send_packed_command(payload, check_health=False)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._broken(exc)
            return
        self.batches += 1
        self.commands += len(futures)
        assert self._loop is not None
        self._loop.call_later(self._reply_timeout_s, self._check_answered, futures[-1], conn)

    async def _connected(self) -> AbstractConnection:
        if self._conn is None:
            conn = self._make()
            await conn.connect()
            self._conn = conn
            assert self._loop is not None
            self._reader = tasks.spawn("group-commit-reader", self._read(conn), self._loop)
        return self._conn

    # ---- the reader: replies in order ---------------------------------------------------------

    async def _read(self, conn: AbstractConnection) -> None:
        in_flight = self._in_flight
        while True:
            try:
                reply: Any = await conn.read_response()
            except ResponseError as exc:  # this command's own error; the connection is fine
                reply = exc
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if self._conn is conn:
                    self._broken(exc)
                return
            if not in_flight:  # a reply nobody waits for: the stream is out of step
                self._broken(RedisConnectionError("unexpected reply from Redis"))
                return
            pending = in_flight[0]
            if isinstance(pending, _Transaction):
                if pending.take(reply):
                    in_flight.popleft()
            else:
                in_flight.popleft()
                _settle(pending, reply)

    def _check_answered(self, last: asyncio.Future[Any], conn: AbstractConnection) -> None:
        if not last.done() and self._conn is conn:
            self._broken(RedisTimeoutError(f"no answer from Redis in {self._reply_timeout_s:g}s"))

    def _broken(self, error: Exception) -> None:
        """Fail what was sent on the current connection and drop it; the next call reconnects."""
        conn, self._conn = self._conn, None
        if self._reader is not None and self._reader is not asyncio.current_task():
            self._reader.cancel()
        self._reader = None
        self._fail(self._in_flight, error)
        self._in_flight.clear()
        if conn is not None:
            tasks.spawn("group-commit-close", conn.disconnect(nowait=True))

    @staticmethod
    def _fail(pending: Iterable[asyncio.Future[Any] | _Transaction], error: Exception) -> None:
        for item in pending:
            for fut in item.futures if isinstance(item, _Transaction) else (item,):
                if not fut.done():
                    fut.set_exception(error)
