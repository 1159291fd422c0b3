"""The request every endpoint gets: Starlette's, with its headers and query read cheaply.

A write's handlers ask for a header about ten times (Accept twice, Content-Type up to five
times, User-Agent, Content-Length). Starlette's ``Headers`` scans the raw list and encodes the
name at each lookup, and one that is absent raises ``KeyError`` inside ``get``: here the
headers are indexed once per request, the first of a repeated header winning as in Starlette.
A query string is parsed by ``parse_qsl`` into a new ``QueryParams`` per request (3 µs even
for an empty one). Clients send the same few strings again and again (``fieldManager=kubectl``,
``watch=1``, none at all), and ``QueryParams`` is immutable, so parses are shared by string.
"""

from __future__ import annotations

import functools
from collections.abc import MutableMapping
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request

QUERIES_CACHED = 1024  # distinct query strings whose parse is kept (LRU)


class IndexedHeaders(Headers):
    """Starlette's headers, looked up in a dict made once (ASGI gives lowercase names)."""

    def __init__(self, scope: MutableMapping[str, Any]) -> None:
        super().__init__(scope=scope)
        self._first = {key.decode("latin-1"): value.decode("latin-1") for key, value in reversed(self._list)}

    def __getitem__(self, key: str) -> str:
        return self._first[key.lower()]

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._first

    def get(self, key: str, default: Any = None) -> Any:
        return self._first.get(key.lower(), default)


@functools.lru_cache(maxsize=QUERIES_CACHED)
def parsed_query(raw: bytes) -> QueryParams:
    """The parse of a query string, shared by every request that sends the same one."""
    return QueryParams(raw)


class ApiRequest(Request):
    """Starlette's request, its headers indexed and its query's parse shared (see above)."""

    @property
    def headers(self) -> Headers:
        found: Headers | None = self.__dict__.get("_headers")
        if found is None:
            found = self._headers = IndexedHeaders(self.scope)
        return found

    @property
    def query_params(self) -> QueryParams:
        found: QueryParams | None = self.__dict__.get("_query_params")
        if found is None:
            found = self._query_params = parsed_query(self.scope.get("query_string", b""))
        return found
