"""uvicorn, stopping the way kube-apiserver stops.

On SIGTERM or SIGINT uvicorn would close its listener at once and cut open watches after its
grace period, so clients behind a load balancer would see refused connections and watches
ending mid-stream. Here the first signal starts :func:`watchcache.http.app.drain` (``/readyz``
fails, requests are still served for the shutdown delay, watches end with a last bookmark) and
only then hands over to uvicorn's own shutdown; a second signal stops at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from types import FrameType

import uvicorn
from starlette.types import ASGIApp

from watchcache.http.app import drain

log = logging.getLogger("watchcache.server")


class GracefulServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: ASGIApp, delay: float) -> None:
        super().__init__(config)
        self.app, self.delay = app, delay
        self._loop: asyncio.AbstractEventLoop | None = None
        self._draining: asyncio.Task[None] | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """A signal handler: it only schedules the drain on the loop (a second signal, or one
        before the server has started, is uvicorn's)."""
        if self._loop is None or not self.started or self._draining is not None or self.should_exit:
            super().handle_exit(sig, frame)
            return
        self._loop.call_soon_threadsafe(self._start_drain, sig)

    def _start_drain(self, sig: int) -> None:
        if self._draining is not None or self.should_exit:
            return
        log.info(
            "%s: /readyz fails from now; serving %gs more, then ending watches with a bookmark "
            "(signal again to stop now)",
            signal.Signals(sig).name, self.delay,
        )  # fmt: skip
        self._draining = asyncio.ensure_future(self._drain_then_exit(sig))

    async def _drain_then_exit(self, sig: int) -> None:
        try:
            await drain(self.app, self.delay)
        finally:
            super().handle_exit(sig, None)  # uvicorn's shutdown, which re-raises the signal after
