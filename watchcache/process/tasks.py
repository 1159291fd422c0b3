"""Named, guarded background tasks: every forever-task is started here so a crash is logged."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("watchcache.tasks")

_running: set[asyncio.Task[Any]] = set()


def spawn(
    name: str, coro: Coroutine[Any, Any, Any], loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Task[Any]:
    """Start ``coro`` as a task called ``name``; log if it dies of anything but cancellation.

    Hot callers pass the running ``loop``: looking it up is a system call on Python 3.11.
    """
    task = (loop or asyncio.get_running_loop()).create_task(coro, name=name)
    _running.add(task)
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if task.cancelled():
        return
    exc = task.exception()
    if exc is not None:
        log.error("background task %s crashed", task.get_name(), exc_info=exc)


async def cancel(*tasks: asyncio.Task[Any] | None) -> None:
    """Cancel tasks and wait until they are gone (clean shutdown)."""
    live = [t for t in tasks if t is not None and not t.done()]
    for task in live:
        task.cancel()
    await asyncio.gather(*live, return_exceptions=True)
