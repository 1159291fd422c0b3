"""Bad input of every kind gets a Kubernetes Status with the right code, never a 5xx."""

from __future__ import annotations

import httpx
import orjson
import pytest

from .conftest import pod_manifest


def status_of(response: httpx.Response) -> dict:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["kind"] == "Status" and body["status"] == "Failure"
    assert body["code"] == response.status_code
    return body


def test_malformed_json_body_is_400_bad_request(api: httpx.Client, ns: str) -> None:
    response = api.post(
        f"/api/v1/namespaces/{ns}/pods",
        content=b'{"metadata": {',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert status_of(response)["reason"] == "BadRequest"


def test_wrong_field_type_is_400_with_go_decoder_text(api: httpx.Client, ns: str) -> None:
    manifest = pod_manifest("web")
    manifest["spec"]["containers"] = "nginx"
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=manifest)
    assert response.status_code == 400
    assert (
        "cannot unmarshal string into Go struct field PodSpec.spec.containers"
        in status_of(response)["message"]
    )


def test_post_with_unsupported_content_type_is_415(api: httpx.Client, ns: str) -> None:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert status_of(response)["reason"] == "UnsupportedMediaType"


def test_a_body_without_content_type_is_read_as_json(api: httpx.Client, ns: str) -> None:
    """kube-apiserver's NegotiateInputSerializer takes an empty Content-Type as its first media
    type, application/json; a patch still needs its patch type."""
    pods = f"/api/v1/namespaces/{ns}/pods"
    created = api.post(pods, content=orjson.dumps(pod_manifest("web")))
    assert "content-type" not in created.request.headers
    assert created.status_code == 201, created.text
    pod = created.json()
    pod["metadata"]["labels"] = {"app": "web"}
    replaced = api.put(f"{pods}/web", content=orjson.dumps(pod))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["metadata"]["labels"] == {"app": "web"}
    patched = api.patch(f"{pods}/web", content=b'{"metadata":{"labels":null}}')
    assert patched.status_code == 415
    assert status_of(patched)["message"] == "415: Unsupported Media Type"
    only_parameters = api.post(
        pods, content=orjson.dumps(pod_manifest("b")), headers={"Content-Type": ";a=b"}
    )
    assert only_parameters.status_code == 415  # not empty: parsed, and not a media type


def test_patch_with_plain_json_content_type_is_415(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("web"))
    response = api.patch(
        f"/api/v1/namespaces/{ns}/pods/web", json={}, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 415


def test_accept_without_json_is_406(api: httpx.Client, ns: str) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert status_of(response)["reason"] == "NotAcceptable"


def test_body_over_3_mib_is_413(api: httpx.Client, ns: str) -> None:
    big = b'{"metadata":{"name":"x","annotations":{"a":"' + b"x" * (3 * 1024 * 1024) + b'"}}}'
    response = api.post(
        f"/api/v1/namespaces/{ns}/pods", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert status_of(response)["message"] == "Request entity too large: limit is 3145728"


def test_unsupported_method_is_405_with_allow_header(api: httpx.Client) -> None:
    response = api.post("/api/v1/pods", json={})
    assert response.status_code == 405
    assert status_of(response)["reason"] == "MethodNotAllowed"
    assert "GET" in response.headers["allow"]


def test_unknown_api_path_is_404_status(api: httpx.Client) -> None:
    response = api.get("/api/v1/foos")
    assert response.status_code == 404
    assert status_of(response)["message"] == "the server could not find the requested resource"


def test_path_outside_the_api_is_plain_404(api: httpx.Client) -> None:
    response = api.get("/foo")
    assert response.status_code == 404
    assert response.text == "404 page not found\n"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"limit": "abc"}, 400),
        ({"labelSelector": "a in (b"}, 400),
        ({"fieldSelector": "spec.foo=bar"}, 400),
        ({"resourceVersion": "abc"}, 400),
        ({"resourceVersionMatch": "Exact"}, 422),
        ({"continue": "!!!"}, 400),
        ({"sendInitialEvents": "true"}, 422),
    ],
)
def test_bad_list_parameters_get_a_status(api: httpx.Client, ns: str, query: dict, code: int) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods", params=query)
    assert response.status_code == code, response.text
    status_of(response)


@pytest.mark.parametrize("value", ["true", "Foo"])
def test_bad_dry_run_or_field_validation_is_422_create_options(
    api: httpx.Client, ns: str, value: str
) -> None:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", params={"dryRun": value}, json=pod_manifest("web"))
    assert response.status_code == 422
    assert status_of(response)["message"].startswith('CreateOptions.meta.k8s.io "" is invalid: dryRun')


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        ("%2E%2E", "Name parameter invalid: \"..\": may not be '..'"),
        ("a%25b", "Name parameter invalid: \"a%b\": may not contain '%'"),
    ],
)
def test_invalid_pod_name_in_path_is_400(api: httpx.Client, ns: str, segment: str, message: str) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods/{segment}")
    assert response.status_code == 400
    assert status_of(response)["message"] == message


def test_future_resource_version_get_is_504_after_waiting(api: httpx.Client, ns: str) -> None:
    api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("web"))
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web", params={"resourceVersion": "999999999"})
    assert response.status_code == 504
    body = status_of(response)
    assert body["reason"] == "Timeout"
    assert body["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


@pytest.mark.parametrize("rv", ["²", "١٢"])  # digits to Python's str.isdigit, not to Go's ParseUint
def test_resource_version_of_non_ascii_digits_is_400(api: httpx.Client, ns: str, rv: str) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods/web", params={"resourceVersion": rv})
    assert response.status_code == 400
    assert status_of(response)["message"] == (
        f'resourceVersion: Invalid value: "{rv}": strconv.ParseUint: parsing "{rv}": invalid syntax'
    )


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", "application/yaml"), (b"{}", "application/json"), (b'{"metadata": null}', "application/json")],
)
def test_a_create_without_metadata_is_422_not_a_crash(
    api: httpx.Client, ns: str, body: bytes, content_type: str
) -> None:
    """The creator's managedFields are recorded before validation (as kube's field manager runs
    before PrepareForCreate): a body with no ObjectMeta must still reach the 422."""
    response = api.post(f"/api/v1/namespaces/{ns}/pods", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 422
    assert status_of(response)["reason"] == "Invalid"
