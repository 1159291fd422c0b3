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

With ``min_replicas`` (``--min-replicas-acked``), a batch that holds a write is followed by
``WAIT min_replicas timeout`` in the same send: its writes are answered only once Redis says
that many of its replicas have them, or fail with :class:`NotReplicated` when the timeout
passes first (the write is applied on the primary and may still reach them). One ``WAIT`` per
batch, not per write; reads in the batch are answered as they are.

redis-py only connects and shakes hands (address, auth, TLS, database, protocol); then the
connection's transport is the group commit's own: a batch is written straight to it in the loop
turn after its first call, and the replies are parsed by hiredis as their bytes arrive and
settle their futures there (:class:`_Pipe`), with no flusher or reader task and none of
redis-py's per-reply layers (a call cost 5.4 µs of CPU through them, 3.0 without, hot).

A broken connection fails the commands sent on it and not yet answered with
``ConnectionError`` (their outcome is unknown: a write may have been applied, as when any
request times out), and the next call connects afresh. A connection Redis closes while idle
(a restart) is noticed at once, before a write could be sent on it. A ``READONLY`` answer
means the master became a replica (a failover): the connection is dropped as broken, and the
next one asks Sentinel (or the URL) again. A Redis that does not answer within
:data:`REPLY_TIMEOUT_S` fails what is in flight with ``TimeoutError``, and the connection is
dropped.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from typing import Any, cast

import hiredis
from redis._parsers.base import BaseParser
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ReadOnlyError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchcache.process import tasks

REPLY_TIMEOUT_S = 10.0  # as the client's socket timeout (store.REDIS_TIMEOUT_S)
MULTI = b"*1\r\n$5\r\nMULTI\r\n"
EXEC = b"*1\r\n$4\r\nEXEC\r\n"


class NotReplicated(Exception):
    """A write Redis ran, but fewer of its replicas than required confirmed in time."""

    def __init__(self, reply: Any, acked: int, needed: int) -> None:
        super().__init__(f"{acked} of {needed} Redis replicas confirmed the write in time")
        self.reply, self.acked, self.needed = reply, acked, needed


def pack_command(*args: str | bytes | int) -> bytes:
    """A command in Redis's wire format, by hiredis in C: redis-py's own packing re-encodes
    each argument in Python first (9 µs for a write's EVALSHA against hiredis's 1.3 µs)."""
    return hiredis.pack_command(args)  # type: ignore[arg-type]  # (its stub types a 1-tuple)


async def taken_over(redis: Redis) -> tuple[asyncio.StreamWriter, asyncio.Transport]:
    """A new connection of ``redis``'s pool (its address, auth, TLS, database and protocol; no
    socket timeout: its owner keeps deadlines of its own), connected by redis-py, whose stream
    is then the caller's: redis-py lets go of it. The writer is the caller's to hold
    (collecting it closes the transport)."""
    pool = redis.connection_pool
    conn = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": None})
    await conn.connect()
    writer = cast(asyncio.StreamWriter, conn._writer)
    conn._reader = conn._writer = None
    return writer, cast(asyncio.Transport, writer.transport)


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


class _Replicated:
    """The ``WAIT`` after a batch: settles the callers' futures from the batch's own (held
    until now) and the number of replicas that confirmed it."""

    __slots__ = ("futures", "held", "needed", "writes")

    def __init__(
        self,
        held: list[asyncio.Future[Any]],
        futures: list[asyncio.Future[Any]],
        writes: list[bool],
        needed: int,
    ) -> None:
        self.held, self.futures, self.writes, self.needed = held, futures, writes, needed

    def take(self, reply: Any) -> bool:
        acked = reply if isinstance(reply, int) else 0
        for held, fut, write in zip(self.held, self.futures, self.writes, strict=True):
            result = (held.exception() or held.result()) if held.done() else RedisConnectionError("no reply")
            if write and acked < self.needed and not isinstance(result, Exception):
                result = NotReplicated(result, acked, self.needed)
            _settle(fut, result)
        return True


def _settle(fut: asyncio.Future[Any], reply: Any) -> None:
    if fut.done():  # its caller gave up (cancelled)
        return
    if isinstance(reply, Exception):
        fut.set_exception(reply)
    else:
        fut.set_result(reply)


Pending = asyncio.Future[Any] | _Transaction | _Replicated  # what a reply in flight settles


class _Pipe(asyncio.Protocol):
    """A connection's replies, parsed by hiredis as their bytes arrive, each settling what was
    sent first and not yet answered (Redis answers a connection's commands in order)."""

    def __init__(
        self, owner: GroupCommit, writer: asyncio.StreamWriter, transport: asyncio.Transport
    ) -> None:
        self.owner, self.transport = owner, transport
        self.writer = writer  # held: collecting it closes the transport
        # errors as redis-py's parser makes them (NOSCRIPT is NoScriptError, ...), nested too
        self.reader = hiredis.Reader(protocolError=InvalidResponse, replyError=BaseParser.parse_error)
        self.in_flight: deque[Pending] = deque()
        self.lost = False

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        in_flight = self.in_flight
        while True:
            try:
                reply = self.reader.gets()
            except InvalidResponse as exc:  # not Redis's protocol: nothing more can be read
                self.owner.broken(self, RedisConnectionError(f"unreadable reply from Redis: {exc}"))
                return
            if reply is False:  # not all of one yet
                return
            if _refused_as_replica(reply):  # the master is a replica now (a failover)
                self.owner.broken(self, RedisConnectionError("the Redis master is now a replica (READONLY)"))
                return
            if not in_flight:  # a reply nobody waits for: the stream is out of step
                self.owner.broken(self, RedisConnectionError("unexpected reply from Redis"))
                return
            pending = in_flight[0]
            if isinstance(pending, _Transaction | _Replicated):
                if pending.take(reply):
                    in_flight.popleft()
            else:
                in_flight.popleft()
                _settle(pending, reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.broken(self, RedisConnectionError("Connection closed by server."))


def _refused_as_replica(reply: Any) -> bool:
    """``READONLY``, for a command or for any of a transaction's (``EXEC``'s array)."""
    if type(reply) is list:
        return any(isinstance(each, ReadOnlyError) for each in reply)
    return isinstance(reply, ReadOnlyError)


class GroupCommit:
    """One pipelined connection: :meth:`call` from any number of tasks, replies in order."""

    def __init__(
        self,
        redis: Redis,
        reply_timeout_s: float = REPLY_TIMEOUT_S,
        *,
        min_replicas: int = 0,
        replica_timeout_ms: int = 1000,
    ) -> None:
        self._redis = redis  # whose pool's address, auth and TLS it connects with (a deadline per batch)
        self._pipe: _Pipe | None = None
        self._queued: list[tuple[bytes, asyncio.Future[Any], bool]] = []
        self._flushing = False  # a flush of the queue is scheduled (or connecting first)
        self._connecting: asyncio.Task[None] | None = None
        self.min_replicas, self.replica_timeout_ms = min_replicas, replica_timeout_ms
        self._wait = pack_command("WAIT", min_replicas, replica_timeout_ms)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reply_timeout_s = reply_timeout_s
        self.batches = 0  # sends, and the commands they carried (tests, benchmarks)
        self.commands = 0

    def call(self, packed: bytes, *, write: bool = False) -> asyncio.Future[Any]:
        """Queue one command packed by :func:`pack_command`; the future gets its reply (or its
        error). A ``write`` waits for ``min_replicas`` replicas to confirm it."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = self._loop.create_future()
        self._queued.append((packed, fut, write))
        if not self._flushing:
            self._schedule()
        return fut

    def _schedule(self) -> None:
        """Send what is queued in the next loop turn (the rest of this turn's calls go with it),
        connecting first when there is no connection."""
        assert self._loop is not None
        self._flushing = True
        if self._pipe is not None:
            self._loop.call_soon(self._flush)
        else:
            self._connecting = tasks.spawn("group-commit-connect", self._connect_and_flush(), self._loop)

    async def close(self) -> None:
        await tasks.cancel(self._connecting)
        self._flushing = False
        if self._pipe is not None:
            self.broken(self._pipe, RedisConnectionError("the group commit connection was closed"))
        self._fail([fut for _, fut, _ in self._queued], RedisConnectionError("closed"))
        self._queued = []

    # ---- sending: one write per batch ------------------------------------------------------

    async def _connect_and_flush(self) -> None:
        try:
            writer, transport = await taken_over(self._redis)
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            self._flushing = False
            queued, self._queued = self._queued, []
            self._fail([fut for _, fut, _ in queued], exc)
            return
        finally:
            self._connecting = None
        self._pipe = _Pipe(self, writer, transport)
        transport.set_protocol(self._pipe)
        self._flush()

    def _flush(self) -> None:
        self._flushing = False
        batch, self._queued = self._queued, []
        batch = [queued for queued in batch if not queued[1].done()]  # given up
        if not batch:
            return
        pipe = self._pipe
        if pipe is None:  # dropped since the flush was scheduled: connect afresh
            self._queued = batch
            self._schedule()
            return
        futures = [fut for _, fut, _ in batch]
        writes = [write for _, _, write in batch]
        replicated = self.min_replicas > 0 and any(writes)
        assert self._loop is not None
        answered = [self._loop.create_future() for _ in futures] if replicated else futures
        if len(batch) > 1:
            parts = [MULTI, *(packed for packed, _, _ in batch), EXEC]
            pipe.in_flight.append(_Transaction(answered))
        else:
            parts = [batch[0][0]]
            pipe.in_flight.append(answered[0])
        if replicated:
            parts.append(self._wait)
            pipe.in_flight.append(_Replicated(answered, futures, writes, self.min_replicas))
        pipe.transport.writelines(parts)
        self.batches += 1
        self.commands += len(futures)
        self._loop.call_later(self._reply_timeout_s, self._check_answered, futures[-1], pipe)

    def _check_answered(self, last: asyncio.Future[Any], pipe: _Pipe) -> None:
        if not last.done() and self._pipe is pipe:
            self.broken(pipe, RedisTimeoutError(f"no answer from Redis in {self._reply_timeout_s:g}s"))

    def broken(self, pipe: _Pipe, error: Exception) -> None:
        """Fail what was sent on ``pipe`` and drop it (once); the next call connects afresh."""
        if pipe.lost:
            return
        pipe.lost = True
        if self._pipe is pipe:
            self._pipe = None
        pipe.transport.close()
        self._fail(pipe.in_flight, error)
        pipe.in_flight.clear()

    @staticmethod
    def _fail(pending: Iterable[Pending], error: Exception) -> None:
        for item in pending:
            for fut in item.futures if isinstance(item, _Transaction | _Replicated) else (item,):
                if not fut.done():
                    fut.set_exception(error)
            if isinstance(item, _Replicated):  # its held replies are nobody's now
                for held in item.held:
                    if held.done() and not held.cancelled():
                        held.exception()
                    else:
                        held.cancel()
