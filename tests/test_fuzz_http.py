"""Fuzzing the served API over HTTP: every pod operation with arbitrary bodies, content types and
query parameters, ten thousand requests against a real server. None may be answered with a 5xx,
and every error must be a Kubernetes ``Status`` with its code and reason.

Bodies mix a valid pod with arbitrary JSON values at arbitrary places (as the rules' fuzz test
does, here through the whole server), plus bodies that are not JSON at all; query parameters
come from the names the OpenAPI document lists for pod operations, with arbitrary values.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Server

NS = "fuzz"
EXAMPLES = 2_500  # four requests each: 10,000 requests
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "f", "labels": {"app": "web"}, "annotations": {"a": "b"}},
    "spec": {
        "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                        "env": [{"name": "E", "value": "v"}], "resources": {"limits": {"cpu": "1"}}}],
        "restartPolicy": "Always",
        "tolerations": [{"key": "k", "operator": "Exists"}],
    },
}  # fmt: skip
PARAMS = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty", "labelSelector", "fieldSelector",
          "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "gracePeriodSeconds",
          "propagationPolicy", "orphanDependents", "sendInitialEvents", "allowWatchBookmarks"]  # fmt: skip
CONTENT_TYPES = ["application/json", "application/merge-patch+json", "application/strategic-merge-patch+json",
                 "application/json-patch+json", "application/apply-patch+yaml", "application/yaml",
                 "application/vnd.kubernetes.protobuf", "text/plain", ""]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            found += _paths(value, (*prefix, index))
    return found


POD_PATHS = _paths(POD)[1:]


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A pod with an arbitrary value at an arbitrary place, or arbitrary bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    pod = copy.deepcopy(POD)
    pod["metadata"]["name"] = draw(st.sampled_from(["f", "g", "F", "", "a" * 300, "f-1"]))
    for _ in range(draw(st.integers(0, 2))):
        path = draw(st.sampled_from(POD_PATHS))
        node: Any = pod
        try:  # (an earlier change may have replaced what the path goes through)
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue
    return orjson.dumps(pod, option=orjson.OPT_NON_STR_KEYS)


queries = st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=12), max_size=3)


SEEN: set[int] = set()  # the statuses answered: the fuzz reaches successes and refusals alike


def _check(response: httpx.Response) -> None:
    SEEN.add(response.status_code)
    assert response.status_code < 500, (response.request.method, response.request.url, response.text[:300])
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        status = response.json()
        assert status["kind"] == "Status" and status["code"] == response.status_code and status["reason"]


@pytest.mark.e2e
def test_ten_thousand_arbitrary_requests_get_no_5xx(private_server: Server) -> None:
    client = httpx.Client(base_url=private_server.url, timeout=30)
    collection = f"/api/v1/namespaces/{NS}/pods"

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(body=bodies(), content_type=st.sampled_from(CONTENT_TYPES), query=queries,
           sub=st.sampled_from(["", "/status", "/ephemeralcontainers", "/binding", "/log"]))  # fmt: skip
    def requests(body: bytes, content_type: str, query: dict[str, str], sub: str) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        item = f"{collection}/f{sub}"
        _check(client.post(collection, content=body, headers=headers, params=query))
        _check(client.put(item, content=body, headers=headers, params=query))
        _check(client.patch(item, content=body, headers=headers, params=query))
        _check(client.get(item if sub != "/binding" else collection, params=query))

    try:
        requests()
        assert {200, 201, 400, 404, 415, 422} <= SEEN
        for done in (client.delete(collection), client.get(collection)):  # and the server still serves
            assert done.status_code == 200, done.text
    finally:
        client.close()
