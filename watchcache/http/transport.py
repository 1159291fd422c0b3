"""A connection's transport that sends a response's head together with its body.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and on a
socket with nothing queued each is a ``send`` system call of its own (strace of a GET: a
127-byte head, then the pod). :class:`HeadJoiningTransport` holds a head back until the next
write, which is the body in the same event-loop turn for every response but a stream, and sends
the two in one ``writev``. A head nothing follows in its turn (a watch's, a HEAD answer's) goes
out at the turn's end; closing, or shutting the write side, sends it first. Every other write
goes straight through: a watch's event chunks cost what they did.
"""

from __future__ import annotations

import asyncio
from typing import Any

# uvicorn's response heads (``HTTP/1.1 200 OK``); a body that happens to start so only waits
# for the end of its turn
HEAD_START = b"HTTP/"


class HeadJoiningTransport(asyncio.Transport):
    """Wraps the socket's transport; everything but writing goes straight to it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._head: bytes | None = None  # held until the body, or the end of the turn

    # ---- writing -------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._transport.writelines((head, data))
        elif data[:5] == HEAD_START:
            self._head = bytes(data)
            self._loop.call_soon(self.flush)
        else:
            self._transport.write(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send a head still held (the end of its turn calls this; so do close and write_eof)."""
        head, self._head = self._head, None
        if head is not None and not self._transport.is_closing():
            self._transport.write(head)

    def get_write_buffer_size(self) -> int:
        held = len(self._head) if self._head is not None else 0
        return self._transport.get_write_buffer_size() + held

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._head = None
        self._transport.abort()

    # ---- the rest, as the socket's transport has it ---------------------------------------

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()
