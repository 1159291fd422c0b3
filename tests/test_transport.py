"""HeadJoiningTransport over a real TCP connection: a response head goes out with the body
written after it, or at the end of its turn; closing or shutting the write side sends it
first; every other write goes straight through."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from watchcache.http.transport import HeadJoiningTransport


@asynccontextmanager
async def connection() -> AsyncIterator[tuple[HeadJoiningTransport, asyncio.StreamReader]]:
    """The transport on a fresh TCP connection, and the reader at its other end."""
    accepted: asyncio.Queue[asyncio.StreamReader] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(reader)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    try:
        yield HeadJoiningTransport(transport, loop), await accepted.get()
    finally:
        transport.abort()
        server.close()


HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"


async def test_a_head_is_held_until_its_body_then_both_are_sent() -> None:
    async with connection() as (transport, peer):
        transport.write(HEAD)
        assert transport.get_write_buffer_size() == len(HEAD)  # held, counted for flow control
        transport.write(b"{}")
        assert transport.get_write_buffer_size() == 0  # both handed to the socket
        assert await asyncio.wait_for(peer.readexactly(len(HEAD) + 2), 5) == HEAD + b"{}"


async def test_a_head_nothing_follows_goes_at_the_end_of_its_turn() -> None:
    async with connection() as (transport, peer):
        transport.write(HEAD)  # a stream's head: its first event comes later
        await asyncio.sleep(0)
        assert transport.get_write_buffer_size() == 0
        assert await asyncio.wait_for(peer.readexactly(len(HEAD)), 5) == HEAD


async def test_other_writes_go_straight_through() -> None:
    async with connection() as (transport, peer):
        transport.writelines([b"5\r\nevent\r\n", b"2\r\n{}\r\n"])  # a watch's chunks
        assert transport.get_write_buffer_size() == 0
        assert await asyncio.wait_for(peer.readexactly(17), 5) == b"5\r\nevent\r\n2\r\n{}\r\n"


async def test_close_sends_a_held_head_first() -> None:
    async with connection() as (transport, peer):
        transport.write(HEAD)
        transport.close()
        assert await asyncio.wait_for(peer.read(), 5) == HEAD  # then EOF


async def test_write_eof_sends_a_held_head_first() -> None:
    async with connection() as (transport, peer):
        transport.write(HEAD)
        assert transport.can_write_eof()
        transport.write_eof()
        assert await asyncio.wait_for(peer.read(), 5) == HEAD
        assert not transport.is_closing()  # only the write side is shut


async def test_abort_drops_a_held_head() -> None:
    async with connection() as (transport, peer):
        transport.write(HEAD)
        transport.abort()
        await asyncio.sleep(0)  # the turn's flush finds nothing
        assert await asyncio.wait_for(peer.read(), 5) == b""
