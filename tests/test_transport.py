"""CoalescingTransport over a real TCP connection: what one turn writes goes out together at
the turn's end, in order, and closing or shutting the write side sends what is queued first."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from watchcache.http.transport import CoalescingTransport


@asynccontextmanager
async def connection() -> AsyncIterator[tuple[CoalescingTransport, asyncio.StreamReader]]:
    """A coalescing transport on a fresh TCP connection, and the reader at its other end."""
    accepted: asyncio.Queue[asyncio.StreamReader] = asyncio.Queue()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(reader)

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    try:
        yield CoalescingTransport(transport, loop), await accepted.get()
    finally:
        transport.abort()
        server.close()


async def test_a_turns_writes_are_held_until_its_end_then_sent_in_order() -> None:
    async with connection() as (transport, peer):
        transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
        transport.writelines([b"{", b"}"])
        transport.write(b"")  # nothing to send: nothing queued
        assert transport.get_write_buffer_size() == 21  # queued, counted for flow control
        await asyncio.sleep(0)  # the turn ends
        assert await asyncio.wait_for(peer.readexactly(21), 5) == b"HTTP/1.1 200 OK\r\n\r\n{}"
        assert transport.get_write_buffer_size() == 0


async def test_close_sends_what_is_queued_first() -> None:
    async with connection() as (transport, peer):
        transport.write(b"last words")
        transport.close()
        assert await asyncio.wait_for(peer.read(), 5) == b"last words"  # then EOF


async def test_write_eof_sends_what_is_queued_first() -> None:
    async with connection() as (transport, peer):
        transport.write(b"431")
        assert transport.can_write_eof()
        transport.write_eof()
        assert await asyncio.wait_for(peer.read(), 5) == b"431"
        assert not transport.is_closing()  # only the write side is shut


async def test_abort_drops_what_is_queued() -> None:
    async with connection() as (transport, peer):
        transport.write(b"never sent")
        transport.abort()
        await asyncio.sleep(0)  # the turn's flush finds nothing
        assert await asyncio.wait_for(peer.read(), 5) == b""
