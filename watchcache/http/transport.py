"""A connection's transport that sends what one event-loop turn writes in one system call.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and on a
socket with nothing queued each is a ``send`` system call of its own (strace of a GET: a
127-byte head, then the pod). :class:`CoalescingTransport` queues the writes of the current
turn and hands them to the socket's transport together at the turn's end, as one ``writev``:
one system call per response, and one for a run of pipelined responses or for the events a
watch fan-out writes to one stream in one turn. Nothing waits longer than the turn that wrote
it; closing, or shutting the write side, sends what is queued first.
"""

from __future__ import annotations

import asyncio
from typing import Any


class CoalescingTransport(asyncio.Transport):
    """Wraps the socket's transport; everything but writing goes straight to it."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._queued: list[bytes | bytearray | memoryview] = []
        self._queued_bytes = 0

    # ---- writing -------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._queued:
            self._loop.call_soon(self.flush)
        self._queued.append(data)
        self._queued_bytes += len(data)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send what is queued now (the end of the turn calls it; so do close and write_eof)."""
        queued, self._queued, self._queued_bytes = self._queued, [], 0
        if not queued or self._transport.is_closing():
            return
        if len(queued) == 1:
            self._transport.write(queued[0])
        else:
            self._transport.writelines(queued)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._queued_bytes

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._queued, self._queued_bytes = [], 0
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
