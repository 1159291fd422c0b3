"""The endpoints' request: headers indexed once, query parses shared, Starlette's answers kept."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from watchcache.http.request import ApiRequest, parsed_query


def scope(headers: list[tuple[bytes, bytes]], query: bytes = b"") -> dict[str, Any]:
    return {
        "type": "http",
        "method": "PUT",
        "path": "/api/v1/pods",
        "query_string": query,
        "headers": headers,
    }


HEADERS = [
    (b"content-type", b"application/json"),
    (b"accept", b"application/json;as=Table;v=v1;g=meta.k8s.io"),
    (b"x-repeated", b"first"),
    (b"x-repeated", b"second"),
]


def test_headers_answer_as_starlettes_do() -> None:
    ours, theirs = ApiRequest(scope(HEADERS)).headers, Request(scope(HEADERS)).headers
    for name in ("content-type", "Content-Type", "ACCEPT", "x-repeated", "user-agent"):
        assert ours.get(name) == theirs.get(name), name
        assert ours.get(name, "") == theirs.get(name, ""), name
        assert (name in ours) == (name in theirs), name
    assert ours["X-Repeated"] == "first"  # the first of a repeated header, as Starlette's
    assert ours.getlist("x-repeated") == ["first", "second"]
    assert ours.get("user-agent") is None
    assert 3 not in ours


def test_a_query_string_is_parsed_once_and_shared() -> None:
    query = b"fieldManager=kubectl&dryRun=All&dryRun=All&force="
    first, second = ApiRequest(scope([], query)), ApiRequest(scope([], query))
    assert first.query_params is second.query_params is parsed_query(query)
    assert first.query_params == Request(scope([], query)).query_params
    assert first.query_params.getlist("dryRun") == ["All", "All"]
    assert first.query_params["force"] == ""
    other = ApiRequest(scope([], b"fieldManager=other")).query_params
    assert other["fieldManager"] == "other"
    assert ApiRequest(scope([])).query_params == Request(scope([])).query_params
