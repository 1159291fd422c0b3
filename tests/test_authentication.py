"""A token-protected server: every API path answers 401 without a valid bearer token."""

from __future__ import annotations

import httpx
import pytest

from .conftest import Cluster, pod_manifest

UNAUTHORIZED = {
    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
    "message": "Unauthorized", "reason": "Unauthorized", "code": 401,
}  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/api",
        "/api/v1",
        "/apis",
        "/version",
        "/api/v1/pods",
        "/api/v1/watch/pods",
        "/api/v1/namespaces/default/pods/x",
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer wrong", "Basic YTpi", "Token x"])
def test_requests_without_a_valid_token_get_401(
    secure_cluster: Cluster, path: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(
        secure_cluster.server.url + path, headers=headers, verify=secure_cluster.ssl_context()
    )
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_refused_write_changes_nothing(secure_cluster: Cluster, ns: str) -> None:
    url = f"{secure_cluster.server.url}/api/v1/namespaces/{ns}/pods"
    ca = secure_cluster.ssl_context()
    assert httpx.post(url, json=pod_manifest("web"), verify=ca).status_code == 401
    good = {"Authorization": f"bearer {secure_cluster.token}"}  # the scheme is case-insensitive
    assert httpx.get(url, headers=good, verify=ca).json()["items"] == []


def test_health_endpoints_stay_open_for_load_balancers(secure_cluster: Cluster) -> None:
    response = httpx.get(secure_cluster.server.url + "/readyz", verify=secure_cluster.ssl_context())
    assert response.status_code == 200
