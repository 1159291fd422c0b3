"""The only code that talks to Redis.

Layout (one hash tag, so every key lives in one Cluster slot):

- ``{wc}:rv``  — the resourceVersion counter (``INCR``);
- ``{wc}:log`` — the event stream of every kind, entry id ``<rv>-0``, fields ``g`` the
  object's resource (``pods``, ``namespaces``; entries written before kinds have none: pods),
  ``t`` type, ``k`` key within the resource, ``o`` the object's JSON (stamped with its rv),
  ``p`` msgpack previous selector state, ``r`` the rv of the version replaced, ``ts`` the
  Redis clock in ms, ``s`` the writer's packed summary of the version (what the view keeps
  beside the JSON: labels, selectable fields, uid);
- ``{wc}:epoch`` — the identity of the history the log holds, written once when a replica
  first finds none (a new or emptied Redis); every write names the epoch it was decided in;
- ``{wc}:lost`` — rv ranges a history lost (Redis came back from an older state): a sorted
  set, member ``"<after> <upto>"`` scored ``upto``; a watch or list from an rv in one is 410;
- ``{wc}:compactor`` — the lease of the one replica trimming the stream right now;
- ``{wc}:logs:<ns>/<pod>/<container>[:previous]`` — a container instance's log lines
  (fields ``ts`` RFC 3339 time, ``l`` the line), ids are Redis ms times;
- ``{wc}:obj:<resource>`` — the Redis-side view of a resource: key → ``b"<rv> <n> " + summary
  (n bytes) + JSON`` (the same bytes as in the log); pods' is ``{wc}:obj``, its name from
  before there were other kinds, so that stores written then stay readable.

Every write goes through :data:`WRITE_SCRIPT`: precondition, ``INCR``, ``XADD`` and the view
update happen in one atomic Lua call (design.md invariants 1-2). Preconditions are a
compare-and-swap on the stored rv: whatever else a caller checked on the version it read holds
as long as that version is still the stored one.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import uuid
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

import hiredis
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from watchcache.machinery.objects import Object
from watchcache.machinery.selectors import SelectorState
from watchcache.storage.entries import (
    LEGACY_RESOURCE,
    Event,
    EventType,
    Unstamped,
    decode_entry,
    pack_previous,
    parsed,
    stored_json,
    unstamped,
)
from watchcache.storage.groupcommit import GroupCommit, NotReplicated, pack_command, taken_over

WRITE_SCRIPT = """
-- KEYS[1] rv counter, KEYS[2] event stream, KEYS[3] Redis-side view (hash)
-- ARGV[1] object key "<ns>/<name>"
-- ARGV[2] event type: ADDED | MODIFIED | DELETED
-- ARGV[3] precondition: "" = must not exist, else the rv the object must still have
-- ARGV[4] the pod's JSON with an empty resourceVersion (for DELETED: the last stored state)
-- ARGV[5] msgpack previous selector state, or ""
-- ARGV[6] the offset in ARGV[4] where the rv's digits go
-- ARGV[7] the version's packed summary (opaque here; "" for none)
-- ARGV[8] the object's resource (the log holds every kind; KEYS[3] is this resource's view)
-- ARGV[11] who wrote it (opaque here: JSON [user, verb, field manager, user agent]; "": none)
-- ARGV[12] where its managedFields' field sets lie in the JSON (opaque here; "": not noted)
-- KEYS[4] the history's epoch; ARGV[9] the epoch the writer follows ("": not checked),
-- ARGV[10] the rv the writer's view has reached: a log head behind it means Redis lost data
-- returns {"ok", rv} | {"exists", current} | {"missing"} | {"conflict", current} | {"history"}
-- The entry also records "r", the rv of the version it replaces ("0": none), so the state at
-- any retained rv can be rebuilt, and "ts", the Redis clock in ms, for age-based retention.
if ARGV[9] ~= '' then
  local seen = tonumber(ARGV[10])
  if redis.call('GET', KEYS[4]) ~= ARGV[9] then return {'history'} end
  if seen > 1 and tonumber(redis.call('GET', KEYS[1]) or '0') < seen then return {'history'} end
end
local current = redis.call('HGET', KEYS[3], ARGV[1])
local previous_rv = '0'
if current then
  previous_rv = string.sub(current, 1, string.find(current, ' ', 1, true) - 1)
end
if ARGV[3] == '' then
  if current then return {'exists', current} end
else
  if not current then return {'missing'} end
  if previous_rv ~= ARGV[3] then return {'conflict', current} end
end
local rv = redis.call('INCR', KEYS[1])
if rv == 1 then
  -- rv 1 names the empty store (a list's rv is never "0"), so no event may have it
  rv = redis.call('INCR', KEYS[1])
end
local now = redis.call('TIME')
local ts = tostring(now[1] * 1000 + math.floor(now[2] / 1000))
local at = tonumber(ARGV[6])
local object = string.sub(ARGV[4], 1, at) .. rv .. string.sub(ARGV[4], at + 1)
redis.call('XADD', KEYS[2], rv .. '-0', 'g', ARGV[8], 't', ARGV[2], 'k', ARGV[1], 'o', object,
  'p', ARGV[5], 'r', previous_rv, 'ts', ts, 's', ARGV[7], 'a', ARGV[11] or '', 'f', ARGV[12] or '')
if ARGV[2] == 'DELETED' then
  redis.call('HDEL', KEYS[3], ARGV[1])
else
  redis.call('HSET', KEYS[3], ARGV[1], rv .. ' ' .. string.len(ARGV[7]) .. ' ' .. ARGV[7] .. object)
end
return {'ok', rv}
"""
WRITE_SCRIPT_SHA = hashlib.sha1(WRITE_SCRIPT.encode(), usedforsecurity=False).hexdigest()

# A replica (re)joining the log: KEYS epoch, rv counter, lost ranges; ARGV a new epoch (kept
# only where there is none) and the highest rv the replica served before (0: none). A log head
# behind that rv is a history that lost its newest events: the counter moves past them, so no
# rv is given twice, the range is recorded as lost, and the new epoch replaces the old one, so
# every other replica rebuilds too (some may have seen the lost events, and the moved counter
# hides the loss from them). Returns the epoch and the lost ranges.
CLAIM_SCRIPT = """
local head = tonumber(redis.call('GET', KEYS[2]) or '0')
local seen = tonumber(ARGV[2])
if seen > 1 and head < seen then
  redis.call('SET', KEYS[2], seen)
  redis.call('ZADD', KEYS[3], seen, head .. ' ' .. seen)
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
return {redis.call('GET', KEYS[1]), redis.call('ZRANGE', KEYS[3], 0, -1)}
"""

LOG_TTL_S = 7 * 24 * 3600  # a container's log (and its previous) outlives its last line this long
# A container log append: KEYS the instance's stream, the previous instance's, and a hash of
# the log's instance and byte count; ARGV the writer's instance (restart count), the line and
# byte caps, the TTL, then (ms, timestamp, line) triples. Entry ids are the lines' times in ms
# (never below the last one's), so ``sinceTime`` reads them. Returns the log's instance.
LOG_APPEND_SCRIPT = """
local instance = tonumber(ARGV[1])
local held = tonumber(redis.call('HGET', KEYS[3], 'instance') or '-1')
if instance < held then
  return held
end
if instance > held then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('RENAME', KEYS[1], KEYS[2])
  end
  redis.call('HSET', KEYS[3], 'instance', instance, 'bytes', 0)
end
local bytes = tonumber(redis.call('HGET', KEYS[3], 'bytes'))
local top = 0
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  top = tonumber(string.match(last[1][1], '^(%d+)'))
end
for i = 5, #ARGV, 3 do
  top = math.max(top, tonumber(ARGV[i]))
  redis.call('XADD', KEYS[1], string.format('%.0f-*', top), 'ts', ARGV[i + 1], 'l', ARGV[i + 2])
  bytes = bytes + #ARGV[i + 2]
end
local max_lines, max_bytes = tonumber(ARGV[2]), tonumber(ARGV[3])
local excess = redis.call('XLEN', KEYS[1]) - max_lines
while excess > 0 or bytes > max_bytes do
  local oldest = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
  if #oldest == 0 then break end
  local gone = {}
  for _, entry in ipairs(oldest) do
    if excess <= 0 and bytes <= max_bytes then break end
    table.insert(gone, entry[1])
    bytes = bytes - #entry[2][4]
    excess = excess - 1
  end
  redis.call('XDEL', KEYS[1], unpack(gone))
end
redis.call('HSET', KEYS[3], 'bytes', bytes)
for _, key in ipairs(KEYS) do
  redis.call('EXPIRE', key, ARGV[4])
end
return instance
"""

SNAPSHOT_SCAN_COUNT = 500  # HSCAN batch (~2 MB of pods): keeps each Redis call short (a few ms)
RANGE_BATCH = 1000  # XRANGE/XREAD batch size


@dataclass(frozen=True, slots=True)
class Stored:
    """One object as the Redis-side view holds it."""

    rv: int
    json: bytes  # stamped with rv
    summary: bytes = b""  # as the writer packed it; empty for versions of older releases
    noted: bytes = b""  # where its managedFields' field sets lie (entries.parsed)

    def pod(self) -> Object:
        """A fresh, mutable dict of this version: each call parses anew (a deep copy for free),
        but for the field sets of its managedFields, which are shared and never changed."""
        return parsed(self.json, self.noted)


@dataclass(frozen=True, slots=True)
class Committed:
    """A write's outcome: the rv the log gave it and the version's JSON, stamped with that rv."""

    rv: int
    json: bytes
    noted: bytes = b""  # (Unstamped.noted)


class HistoryChanged(Exception):
    """Redis holds another history than the one this replica follows: emptied (a new epoch)
    or back at an older state (a head behind the replica's view)."""


class StoreError(Exception):
    """A failed precondition; carries the current stored version when there is one."""

    def __init__(self, current: Stored | None = None) -> None:
        super().__init__(type(self).__name__)
        self.current = current


class KeyExists(StoreError):
    pass


class KeyMissing(StoreError):
    pass


class VersionMismatch(StoreError):
    pass


# A stream entry as redis-py returns it on our connections (bytes, never decoded).
StreamEntry = tuple[bytes, dict[bytes, bytes]]


def _xread_entries(reply: Any) -> list[StreamEntry]:
    """The one stream's entries of redis-py's XREAD reply: ``[[stream, entries]]`` in RESP2,
    ``{stream: [entries]}`` in RESP3 (a Redis URL may choose either with ``?protocol=``)."""
    if isinstance(reply, dict):
        ((entries,),) = reply.values()
        return cast(list[StreamEntry], entries)
    return cast(list[StreamEntry], reply[0][1])


def _log_line(entry_id: bytes, fields: dict[bytes, bytes]) -> tuple[int, bytes, bytes]:
    return int(entry_id.partition(b"-")[0]), fields[b"ts"], fields[b"l"]


def _decode_stored(raw: bytes) -> Stored:
    """``b"<rv> <n> " + summary + JSON``; older releases wrote ``b"<rv> " + msgpack``.

    Cut by positions: each ``partition`` copied the rest of the value, the ~8 KB JSON twice
    more per pod a bootstrap loads."""
    rv, start = _rv_of(raw)
    if not raw[start : start + 1].isdigit():  # a JSON object or a msgpack map: never a digit
        return Stored(rv, stored_json(raw[start:], rv))
    space = raw.index(b" ", start)
    summary_at = space + 1
    json_at = summary_at + int(raw[start:space])
    return Stored(rv, raw[json_at:], raw[summary_at:json_at])


def _rv_of(raw: bytes) -> tuple[int, int]:
    """A stored value's rv, and where the rest of it starts."""
    space = raw.index(b" ")
    return int(raw[:space]), space + 1


REDIS_TIMEOUT_S = 10.0  # longest wait for any Redis command; > every XREAD BLOCK we send
HEAD_TIMEOUT_S = 3.0  # longest wait for the log head before consistent reads answer 503
# the errors of a master Sentinel demoted: a blocked read is unblocked, a write refused
DEMOTED = ("UNBLOCKED", "READONLY")
SENTINEL_TIMEOUT_S = 1.0  # a Sentinel that does not answer in this is skipped for the next

# TCP keepalive: first probe after 10 s idle, then every 3 s; dead after 3 unanswered
KEEPALIVE = {socket.TCP_KEEPIDLE: 10, socket.TCP_KEEPINTVL: 3, socket.TCP_KEEPCNT: 3}


def connect(url: str | None, *, sentinels: Sequence[tuple[str, int]] = (), master: str = "") -> Redis:
    """The replica's Redis client: at ``url``, or the master Sentinel names (``sentinels`` and
    ``master``), asked again whenever a connection is made, so after a failover every
    connection reconnects to the new master (one to the old one, now a replica, is closed by
    it or answers READONLY, and redis-py's Sentinel connections then reconnect).

    Its socket timeout, :data:`REDIS_TIMEOUT_S`, bounds every command, so a Redis that hangs
    fails requests with 503 instead of holding them; it is longer than any ``XREAD BLOCK`` we
    send (the tailer's 5 s, a followed log's 1 s). redis-py 8's default of 5 s cut the idle
    tailer off every 5 s. Over TCP, keepalive finds a silently dead peer; idle pooled
    connections are pinged before reuse.

    A command that meets a connection Redis has closed (a restart) is sent once more on a
    fresh one; ``from_url`` clients do not retry otherwise. Should the connection break after
    Redis ran a write, the resent write fails its precondition (409): never applied twice.
    """
    options: dict[str, Any] = {
        "decode_responses": False,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "socket_timeout": REDIS_TIMEOUT_S,
        "health_check_interval": 30,
        "socket_keepalive": True,
        "socket_keepalive_options": KEEPALIVE,
    }
    if sentinels:
        asked = {"socket_timeout": SENTINEL_TIMEOUT_S}
        return Sentinel(sentinels, sentinel_kwargs=asked, **options).master_for(master, redis_class=Redis)
    if url is None:
        raise ValueError("connect needs a Redis URL or Sentinels")
    if url.startswith("unix:"):  # a unix socket has no TCP keepalive (redis-py refuses the options)
        del options["socket_keepalive"], options["socket_keepalive_options"]
    return Redis.from_url(url, **options)


class OwnConnection:
    """A connection of its own, for one task that sends in a loop (the head reader, the tailer).

    Under load that task sends back to back, and per round trip redis-py's layers (pool
    checkout, retry wrapper, stream reader and writer, response callbacks) cost more CPU than
    the round trip itself. So redis-py's connection only connects and shakes hands (address,
    auth, TLS, database, protocol), then hands its transport over to :class:`_Replies`, which
    feeds what arrives to hiredis and answers the one waiting call: an XREAD round trip costs a
    third less. Each call has a deadline of its own, kept by one watchdog timer that is re-armed
    only when it fires (``asyncio.timeout`` scheduled and cancelled a timer per round trip: a
    tenth of a tailing replica's CPU). After an error the connection is closed and the next call
    connects afresh; a connection Redis closed gets one resend (as the client's retry policy,
    see :func:`connect`). One caller at a time; replies come raw.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._writer: asyncio.StreamWriter | None = None  # held: collecting it closes the transport
        self._replies: _Replies | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._caller: asyncio.Task[Any] | None = None  # the call in flight, if any
        self._due = 0.0  # when it must have been answered (loop time)
        self._watchdog: asyncio.TimerHandle | None = None
        self._expired = False  # the watchdog cancelled the call in flight

    async def call(self, command: bytes, deadline_s: float) -> Any:
        """Send a packed command and read its reply; a Redis that does not answer within
        ``deadline_s`` fails it with redis-py's TimeoutError."""
        return (await self.call_many((command,), deadline_s))[0]

    async def call_many(self, commands: tuple[bytes, ...], deadline_s: float) -> list[Any]:
        """Send packed commands in one write and read their replies (one round trip)."""
        loop = self._loop = self._loop or asyncio.get_running_loop()
        self._caller, self._due, self._expired = asyncio.current_task(loop), loop.time() + deadline_s, False
        if self._watchdog is None or self._watchdog.when() > self._due:  # (a shorter deadline)
            if self._watchdog is not None:
                self._watchdog.cancel()
            self._watchdog = loop.call_at(self._due, self._watch)
        try:
            try:
                return await self._round_trip(commands)
            except RedisConnectionError:  # a connection Redis closed: once more, afresh
                return await self._round_trip(commands)
        except asyncio.CancelledError:
            await self.close()  # a reply may still be on its way
            assert self._caller is not None
            if not self._expired or self._caller.uncancel() > 0:  # (someone else cancels too)
                raise
            raise RedisTimeoutError(f"no answer from Redis in {deadline_s:g}s") from None
        except ResponseError as exc:
            if not str(exc).startswith(DEMOTED):
                raise
            await self.close()  # a master turned replica (a failover): the next call asks again
            raise RedisConnectionError(f"the Redis master is now a replica ({exc})") from None
        except BaseException:  # an error or a cancellation: a reply may still be on its way
            await self.close()
            raise
        finally:
            self._caller = None

    def _watch(self) -> None:
        """The watchdog: cancel a call past its deadline, else wait for the next one's."""
        self._watchdog = None
        caller, loop = self._caller, self._loop
        if caller is None or loop is None:
            return  # idle: the next call arms it
        if loop.time() >= self._due:
            self._expired = True
            caller.cancel()
        else:
            self._watchdog = loop.call_at(self._due, self._watch)

    async def _round_trip(self, commands: tuple[bytes, ...]) -> list[Any]:
        replies = self._replies
        if replies is None or replies.lost:
            replies = await self._connect()
        futures = replies.request(commands)
        try:
            return [await reply for reply in futures]
        finally:
            for reply in futures:  # on an error or a cancellation, the rest are nobody's
                if not reply.done():
                    reply.cancel()
                elif not reply.cancelled():
                    reply.exception()  # seen: not "never retrieved"

    async def _connect(self) -> _Replies:
        await self.close()
        writer, transport = await taken_over(self._redis)  # the handshake done, hiredis reads
        replies = _Replies(transport)
        transport.set_protocol(replies)
        self._writer, self._replies = writer, replies
        return replies

    async def close(self) -> None:
        writer, self._writer, self._replies = self._writer, None, None
        if writer is not None:
            writer.transport.close()


class _Replies(asyncio.Protocol):
    """The protocol of an :class:`OwnConnection`'s transport: one request (of one or more
    commands) at a time, the replies parsed by hiredis as the bytes arrive."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)
        self.reader = hiredis.Reader()
        self.waiters: deque[asyncio.Future[Any]] = deque()
        self.lost = False

    def request(self, commands: tuple[bytes, ...]) -> list[asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in commands]
        self.waiters.extend(futures)
        self.transport.write(commands[0] if len(commands) == 1 else b"".join(commands))
        return futures

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:  # False: not all of one yet
            waiter = self.waiters.popleft() if self.waiters else None
            if waiter is None or waiter.done():  # nobody asked (its caller gave up): close
                self.transport.close()
                return
            if isinstance(reply, hiredis.ReplyError):
                waiter.set_exception(ResponseError(str(reply)))
            else:
                waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(RedisConnectionError("Connection closed by server."))


class HeadReader:
    """Reads the log head for the one task that reads it in a loop (``Replica._read_heads``):
    every consistent read waits on it, so a Redis that hangs fails it in
    :data:`HEAD_TIMEOUT_S`, sooner than the client's socket timeout."""

    def __init__(self, redis: Redis, rv_key: str, epoch_key: str) -> None:
        self._conn = OwnConnection(redis)
        self._command = pack_command("MGET", rv_key, epoch_key)

    async def head(self) -> tuple[int, bytes | None]:
        """As :meth:`Store.head`, with the history's epoch read at the same instant."""
        raw, epoch = await self._conn.call(self._command, HEAD_TIMEOUT_S)
        return (int(raw) if raw else 0), epoch

    async def close(self) -> None:
        await self._conn.close()


class LogFollower:
    """Reads new events for the tailer, the one task that reads them in a loop."""

    def __init__(self, redis: Redis, log_key: str, epoch_key: str) -> None:
        self._conn = OwnConnection(redis)
        self._log_key = log_key
        self._epoch = pack_command("GET", epoch_key)

    async def next(
        self, after_rv: int, block_ms: int, count: int = RANGE_BATCH
    ) -> tuple[list[Event], bytes | None]:
        """Block up to ``block_ms`` for events with rv > ``after_rv`` (XREAD BLOCK); a Redis that
        does not answer within the block time plus :data:`REDIS_TIMEOUT_S` fails it.

        With them comes the epoch, read in the same round trip right after the events: when it
        is the one the reader follows, the events are of its history.
        """
        command = pack_command(
            "XREAD", "COUNT", count, "BLOCK", block_ms, "STREAMS", self._log_key, f"{after_rv}-0"
        )
        reply, epoch = await self._conn.call_many((command, self._epoch), block_ms / 1e3 + REDIS_TIMEOUT_S)
        if not reply:
            return [], epoch
        # RESP3 (redis-py 8's default) answers a map {stream: entries}, RESP2 [[stream, entries]]
        (entries,) = reply.values() if isinstance(reply, dict) else (entries for _, entries in reply)
        return [decode_entry(entry_id, _pairs(flat)) for entry_id, flat in entries], epoch

    async def close(self) -> None:
        await self._conn.close()


def _pairs(flat: list[bytes]) -> dict[bytes, bytes]:
    """A raw reply's ``[field, value, field, value, ...]`` as a dict."""
    it = iter(flat)
    return dict(zip(it, it, strict=True))


class Store:
    """The replica's Redis operations. Writes, and the reads of the version a write replaces,
    go through :class:`GroupCommit` (one send per event-loop turn); everything else through
    the client."""

    def __init__(
        self, redis: Redis, prefix: str = "{wc}", *, min_replicas: int = 0, replica_timeout_ms: int = 1000
    ) -> None:
        self.redis = redis
        self.rv_key = f"{prefix}:rv"
        self.log_key = f"{prefix}:log"
        self.obj_key = f"{prefix}:obj"
        self.lease_key = f"{prefix}:compactor"
        self.epoch_key = f"{prefix}:epoch"
        self.lost_key = f"{prefix}:lost"
        self.prefix = prefix
        self.commits = GroupCommit(redis, min_replicas=min_replicas, replica_timeout_ms=replica_timeout_ms)
        self.epoch = b""  # the history this store's writes belong to ("": any; see claim)

    async def close(self) -> None:
        await self.commits.close()

    async def head(self) -> int:
        """The newest rv in the log (0 for an empty store)."""
        raw = await self.redis.get(self.rv_key)
        return int(raw) if raw else 0

    async def claim(self, served_rv: int = 0) -> list[tuple[int, int]]:
        """Join the log's history (:data:`CLAIM_SCRIPT`): from now on writes are refused
        unless Redis still holds it. Returns the rv ranges lost so far, as (after, upto]."""
        keys = (self.epoch_key, self.rv_key, self.lost_key)
        epoch, lost = await self.redis.eval(CLAIM_SCRIPT, 3, *keys, uuid.uuid4().hex, served_rv)
        self.epoch = epoch
        ranges = (member.split() for member in lost)
        return [(int(after), int(upto)) for after, upto in ranges]

    def head_reader(self) -> HeadReader:
        return HeadReader(self.redis, self.rv_key, self.epoch_key)

    def log_follower(self) -> LogFollower:
        return LogFollower(self.redis, self.log_key, self.epoch_key)

    def objects_key(self, resource: str) -> str:
        """The Redis-side view of one resource (see the module doc for pods' name)."""
        return self.obj_key if resource == LEGACY_RESOURCE else f"{self.obj_key}:{resource}"

    async def get(self, resource: str, key: str) -> Stored | None:
        raw = await self._current(resource, key)
        return None if raw is None else _decode_stored(raw)

    async def current_rv(self, resource: str, key: str) -> int | None:
        """The rv of ``key``'s current version (None: there is none), decoding nothing else:
        what confirms that the version a replica holds is still the latest. (Redis reads no
        part of a hash value; a script cutting the rv out there cost Redis more than sending
        the whole, and Redis's core is the one every replica shares.)"""
        raw = await self._current(resource, key)
        return None if raw is None else _rv_of(raw)[0]

    async def _current(self, resource: str, key: str) -> bytes | None:
        """The Redis-side view's entry of ``key``, over the writes' connection (after them)."""
        return cast(
            bytes | None, await self.commits.call(pack_command("HGET", self.objects_key(resource), key))
        )

    async def write(
        self,
        resource: str,
        key: str,
        event_type: EventType,
        pod: Object | Unstamped,
        *,
        expected_rv: int | None,
        previous: SelectorState | None = None,
        summary: bytes = b"",
        seen_rv: int = 0,
        author: bytes = b"",
    ) -> Committed:
        """Append one event and update the Redis-side view.

        ``expected_rv=None`` means the key must not exist (create). The pod is encoded once,
        here or by the caller (an :class:`Unstamped`: a writer that lets go of the dict before
        the round trip); the result carries the JSON every reader will serve, stamped with the
        rv the log gave it. ``summary`` is stored beside it as is, for readers that need it
        without parsing the JSON. The write is refused with :class:`HistoryChanged` unless
        Redis still holds the claimed history up to ``seen_rv``, the rv the writer's view has
        reached.
        """
        precondition = "" if expected_rv is None else str(expected_rv)
        version = pod if isinstance(pod, Unstamped) else unstamped(pod)
        del pod  # not held across the round trip
        keys = (self.rv_key, self.log_key, self.objects_key(resource), self.epoch_key)
        args = (*keys, key, event_type, precondition, version.json)
        tail = (
            pack_previous(previous), version.at, summary, resource, self.epoch, seen_rv, author,
            version.noted,
        )  # fmt: skip
        try:
            result = await self._write_script(*args, *tail)
        except NotReplicated as exc:
            if exc.reply[0] == b"ok":
                raise  # written, and not confirmed: the caller cannot know whether it will last
            result = exc.reply  # nothing was written: the outcome stands
        status = result[0]
        if status == b"ok":
            rv = int(result[1])
            return Committed(rv, version.stamped(rv), version.noted)
        if status == b"exists":
            raise KeyExists(_decode_stored(result[1]))
        if status == b"missing":
            raise KeyMissing()
        if status == b"history":
            raise HistoryChanged()
        raise VersionMismatch(_decode_stored(result[1]))

    async def _write_script(self, *args: Any) -> Any:
        try:
            return await self.commits.call(pack_command("EVALSHA", WRITE_SCRIPT_SHA, 4, *args), write=True)
        except NoScriptError:
            # a Redis restarted or flushed forgets its scripts; EVAL also caches it again
            return await self.commits.call(pack_command("EVAL", WRITE_SCRIPT, 4, *args), write=True)

    async def event(self, rv: int) -> Event | None:
        """The log's entry at ``rv`` (None: compacted away, or never written)."""
        entries = await self._xrange(self.log_key, min=f"{rv}-0", max=f"{rv}-0", count=1)
        return decode_entry(*entries[0]) if entries else None

    async def last_event_of(self, resource: str, key: str, batch: int = RANGE_BATCH) -> Event | None:
        """The newest retained event of one object, found by reading the log backwards: for an
        object the view no longer holds (a history of a deleted object)."""
        upper, wanted = "+", (key.encode(), resource.encode())
        while entries := cast(
            list[StreamEntry], await self.redis.xrevrange(self.log_key, max=upper, min="-", count=batch)
        ):
            for entry_id, fields in entries:
                if (fields.get(b"k"), fields.get(b"g", LEGACY_RESOURCE.encode())) == wanted:
                    return decode_entry(entry_id, fields)
            oldest = int(entries[-1][0].partition(b"-")[0])
            if len(entries) < batch or oldest <= 1:
                return None
            upper = f"{oldest - 1}-0"
        return None

    async def oldest_rv(self) -> int | None:
        """The rv of the oldest event still retained in the log (None for an empty log)."""
        entries = await self._xrange(self.log_key, count=1)
        return int(entries[0][0].partition(b"-")[0]) if entries else None

    async def event_time_ms(self, rv: int) -> int | None:
        """When the first retained event with rv ≥ ``rv`` was written (Redis clock, ms)."""
        entries = await self._xrange(self.log_key, min=f"{rv}-0", count=1)
        return int(entries[0][1][b"ts"]) if entries else None

    async def _hscan_step(self, hash_key: str, cursor: int) -> tuple[int, dict[bytes, bytes]]:
        step = await self.redis.hscan(hash_key, cursor, count=SNAPSHOT_SCAN_COUNT)
        return cast(tuple[int, dict[bytes, bytes]], step)

    async def _xrange(self, key: str, **bounds: Any) -> list[StreamEntry]:
        return cast(list[StreamEntry], await self.redis.xrange(key, **bounds))

    async def trim_before(self, rv: int) -> int:
        """Drop every event older than ``rv`` (XTRIM MINID); returns how many went."""
        return await self.redis.xtrim(self.log_key, minid=f"{rv}-0", approximate=False)

    async def acquire_lease(self, owner: str, ttl_ms: int) -> bool:
        """Take or renew the compaction lease: one replica compacts at a time."""
        if await self.redis.set(self.lease_key, owner, nx=True, px=ttl_ms):
            return True
        held = await self.redis.get(self.lease_key)
        if held == owner.encode():
            await self.redis.pexpire(self.lease_key, ttl_ms)
            return True
        return False

    def container_log_key(self, uid: str, container: str, *, previous: bool = False) -> str:
        """One stream per container instance, keyed by the pod's uid (a pod made again under
        the same name never shows its predecessor's lines); ``previous`` is the instance before."""
        return f"{self.prefix}:logs:{uid}/{container}" + (":previous" if previous else "")

    async def append_log(
        self,
        uid: str,
        container: str,
        instance: int,
        entries: list[tuple[int, bytes, bytes]],
        *,
        max_lines: int,
        max_bytes: int,
    ) -> int:
        """Append ``(ms, rfc3339 timestamp, line)`` entries to a container's log, in one transaction
        (:data:`LOG_APPEND_SCRIPT`). ``instance`` is the container's restart count: a higher one
        than the log's turns the log into the previous instance's first. The oldest lines go
        beyond ``max_lines`` or ``max_bytes``. Returns the log's instance: higher than
        ``instance`` means the lines came from an instance that has been replaced, and were
        not kept."""
        current = self.container_log_key(uid, container)
        keys = (current, f"{current}:previous", f"{current}:state")
        flat = [part for entry in entries for part in entry]
        args = (instance, max_lines, max_bytes, LOG_TTL_S, *flat)
        return int(await self.redis.eval(LOG_APPEND_SCRIPT, len(keys), *keys, *args))

    async def log_exists(self, key: str) -> bool:
        return bool(await self.redis.exists(key))

    async def read_log(
        self, key: str, *, since_ms: int | None, tail: int | None
    ) -> tuple[list[tuple[int, bytes, bytes]], str]:
        """Stored lines (ms, timestamp, line) newer than ``since_ms``, the last ``tail`` of them,
        and the id to follow from."""
        start = f"{since_ms}-0" if since_ms is not None else "-"
        pipe = self.redis.pipeline(transaction=True)  # lines and follow position from one instant
        if tail is not None:
            pipe.xrevrange(key, max="+", min=start, count=max(tail, 1))
        else:
            pipe.xrange(key, min=start)
        pipe.xrevrange(key, count=1)
        raw, last = await pipe.execute()
        if tail is not None:
            raw = list(reversed(raw))[len(raw) - tail :] if tail else []
        follow_from = last[0][0].decode() if last else "0-0"
        return [_log_line(entry_id, fields) for entry_id, fields in raw], follow_from

    async def follow_log(
        self, key: str, after: str, block_ms: int
    ) -> tuple[list[tuple[int, bytes, bytes]], str]:
        reply = await self.redis.xread({key: after}, block=block_ms, count=RANGE_BATCH)
        if not reply:
            return [], after
        entries = _xread_entries(reply)
        return [_log_line(i, f) for i, f in entries], entries[-1][0].decode()

    async def snapshot(self, resource: str) -> AsyncIterator[tuple[str, Stored]]:
        """Scan a resource's Redis-side view in short HSCAN steps (never one long blocking call).

        The scan is not atomic: callers read :meth:`head` first and replay the log from there,
        applying an event only when it is newer than what they hold (see ``view.apply``).
        """
        hash_key = self.objects_key(resource)
        cursor, batch = await self._hscan_step(hash_key, 0)
        while True:
            # the next step is on its way (sent: one loop turn) while the caller takes this one
            following = None
            if cursor:
                following = asyncio.ensure_future(self._hscan_step(hash_key, cursor))
                await asyncio.sleep(0)
            try:
                for name, raw in batch.items():
                    yield name.decode(), _decode_stored(raw)
            except BaseException:  # the caller stopped early (GeneratorExit) or failed
                if following is not None:
                    following.cancel()
                raise
            if following is None:
                return
            cursor, batch = await following

    async def read_range(self, after_rv: int, count: int = RANGE_BATCH) -> list[Event]:
        """Events with rv > ``after_rv`` already in the log (XRANGE, exclusive start)."""
        entries = await self._xrange(self.log_key, min=f"({after_rv}-0", count=count)
        return [decode_entry(entry_id, fields) for entry_id, fields in entries]
