"""Fuzzing the served API over HTTP: every pod operation with arbitrary bodies, content types and
query parameters, ten thousand requests against a real server. None may be answered with a 5xx,
and every error must be a Kubernetes ``Status`` with its code and reason.

Bodies mix a valid pod with arbitrary JSON values at arbitrary places (as the rules' fuzz test
does, here through the whole server), plus bodies that are not JSON at all; query parameters
come from the names the OpenAPI document lists for pod operations, with arbitrary values.
"""

from __future__ import annotations

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import Server
from .fuzz_support import damaged_pods

NS = "fuzz"
EXAMPLES = 2_500  # four requests each: 10,000 requests
PARAMS = ["dryRun", "fieldManager", "fieldValidation", "force", "pretty", "labelSelector", "fieldSelector",
          "limit", "continue", "resourceVersion", "resourceVersionMatch", "timeoutSeconds", "gracePeriodSeconds",
          "propagationPolicy", "orphanDependents", "sendInitialEvents", "allowWatchBookmarks"]  # fmt: skip
CONTENT_TYPES = ["application/json", "application/merge-patch+json", "application/strategic-merge-patch+json",
                 "application/json-patch+json", "application/apply-patch+yaml", "application/yaml",
                 "application/vnd.kubernetes.protobuf", "text/plain", ""]  # fmt: skip


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """A pod with arbitrary values at arbitrary places (and an arbitrary name), or arbitrary bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=64))
    pod = draw(damaged_pods())
    if isinstance(pod.get("metadata"), dict):
        pod["metadata"]["name"] = draw(st.sampled_from(["f", "g", "F", "", "a" * 300, "f-1"]))
    return orjson.dumps(pod, option=orjson.OPT_NON_STR_KEYS)


queries = st.dictionaries(st.sampled_from(PARAMS), st.text(max_size=12), max_size=3)


SEEN: set[int] = set()  # the statuses answered: the fuzz reaches successes and refusals alike


def _check(response: httpx.Response) -> None:
    SEEN.add(response.status_code)
    assert response.status_code < 500, (response.request.method, response.request.url, response.text[:300])
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith(
        "application/json"
    ):
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


@pytest.mark.e2e
def test_a_warning_about_a_field_named_in_any_script_is_sent_in_utf8(private_server: Server) -> None:
    """Found by the fuzz above: an unknown field named outside latin-1 was a 500 (its warning
    header could not be encoded)."""
    body = orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"},
                         "spec": {"containers": [{"name": "c", "image": "i"}], "Ā": 1}})  # fmt: skip
    with private_server.client() as api:
        created = api.post(f"/api/v1/namespaces/{NS}/pods", content=body, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    assert created.headers.raw.count((b"warning", '299 - "unknown field \\"spec.Ā\\""'.encode())) == 1
