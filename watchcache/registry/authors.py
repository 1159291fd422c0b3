"""Who wrote each version: the request's user, verb, field manager and user agent.

The HTTP edge says who is writing (:func:`writing_as`) for the request it serves; the registry
records it in the log entry of every version that request writes (``a``, beside the object), so
the log, which already holds every version, holds who made each (``watchcache history``). A
context variable carries it, as kube-apiserver's request context carries the user down to its
audit: every verb of every kind and every write path (apply, binding, deletecollection) gets
it without a parameter each. Background work (graceful deletions finished, namespaces emptied,
events expired) writes as the server itself: no author.
"""

from __future__ import annotations

from contextvars import ContextVar

import orjson

_AUTHOR: ContextVar[bytes] = ContextVar("author", default=b"")


def writing_as(user: str, verb: str, manager: str, agent: str) -> None:
    """The current request's writes are this user's."""
    _AUTHOR.set(orjson.dumps([user, verb, manager, agent]))


def author() -> bytes:
    """Who is writing now, as recorded in the log (b"": the server itself)."""
    return _AUTHOR.get()


def parse(recorded: bytes) -> tuple[str, str, str, str]:
    """(user, verb, field manager, user agent) of a recorded author; empty for the server's."""
    if not recorded:
        return "", "", "", ""
    user, verb, manager, agent = orjson.loads(recorded)
    return user, verb, manager, agent
