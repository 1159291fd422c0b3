"""Content negotiation and the response shapes every endpoint shares.

The server speaks JSON and the ``meta.k8s.io`` Table transform; any other representation the
client insists on is a 406 (spec README, "Content negotiation"). Pretty printing follows
``pretty=true`` or a browser/curl User-Agent, as kube-apiserver does.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Literal

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from watchcache.machinery import errors

JSON = "application/json"
Representation = Literal["json", "table"]

_JSON_RANGES = frozenset({"application/json", "application/*", "*/*"})
_TABLE_VERSIONS = frozenset({"v1", "v1beta1"})
_PRETTY_AGENTS = ("curl", "Wget", "Mozilla/")
_PRETTY_AGENTS_BYTES = tuple(agent.encode() for agent in _PRETTY_AGENTS)


def negotiate(accept: str | None) -> Representation:
    """Pick the first acceptable representation in the client's order (kubectl lists Table first)."""
    if not accept:
        return "json"
    found = _negotiate(accept)
    if found is None:
        raise errors.not_acceptable()
    return found


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct Accept headers
def _negotiate(accept: str) -> Representation | None:
    for part in accept.split(","):
        media, *raw_params = (p.strip() for p in part.split(";"))
        params = dict(p.partition("=")[::2] for p in raw_params)
        if media != "application/json" and media not in _JSON_RANGES:
            continue
        shape = params.get("as")
        if shape is None:
            return "json"
        if shape == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in _TABLE_VERSIONS:
            return "table"
    return None


def plain_json(headers: list[tuple[bytes, bytes]]) -> bool:
    """From raw ASGI headers: is the answer compact JSON (no Table, not pretty, nothing refused)?"""
    for name, value in headers:
        if name == b"accept":
            if value and _negotiate(value.decode("latin-1")) != "json":
                return False
        elif name == b"user-agent" and value.startswith(_PRETTY_AGENTS_BYTES):
            return False
    return True


def is_pretty(request: Request) -> bool:
    if b"pretty" in request.scope["query_string"]:  # parse the query only when it may say so
        pretty = request.query_params.get("pretty")
        if pretty is not None:
            return pretty != "0" and pretty.lower() != "false"
    return request.headers.get("user-agent", "").startswith(_PRETTY_AGENTS)


def prettify(body: bytes) -> bytes:
    return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2) + b"\n"


def json_response(
    request: Request,
    body: bytes,
    status_code: int = 200,
    *,
    warnings: Iterable[str] = (),
    headers: dict[str, str] | None = None,
) -> Response:
    if is_pretty(request):
        body = prettify(body)
    response = Response(body, status_code, headers=headers, media_type=JSON)
    if warnings:
        add_warnings(response, warnings)
    return response


def status_response(
    request: Request | None, error: errors.APIError, *, warnings: Iterable[str] = ()
) -> Response:
    body = orjson.dumps(error.status())
    if request is not None and is_pretty(request):
        body = prettify(body)
    response = Response(body, error.code, media_type=JSON)
    retry_after = (error.details or {}).get("retryAfterSeconds")
    if retry_after:  # as the apiserver does, so clients that honour the header back off
        response.headers["Retry-After"] = str(retry_after)
    add_warnings(response, warnings)
    return response


def warning_header(text: str) -> str:
    """``299 - "<text>"`` with ``"`` and ``\\`` escaped (RFC 7234 warn-text)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{escaped}"'


def add_warnings(response: Response, warnings: Iterable[str]) -> None:
    seen: set[str] = set()
    for text in warnings:
        if text not in seen:
            seen.add(text)
            # UTF-8 bytes, as kube-apiserver writes them (a field name in a warning may be any
            # text; a header encoded as latin-1, Starlette's way, fails on such a name: a 500)
            response.raw_headers.append((b"warning", warning_header(text).encode()))


async def until_disconnect(receive: Receive) -> None:
    """Return when the client goes away: a streaming response runs this beside its sends."""
    while (await receive())["type"] != "http.disconnect":
        pass
