"""Authorization as kube-apiserver's ABAC mode does it: the policy file, the request attributes
read from the path, kube-apiserver's 403 bodies word for word, SelfSubjectAccessReviews, and
``kubectl auth can-i`` against the real server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from watchcache.http.authorization import attributes
from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.process.policy import PolicyError, PolicyFile, Request
from watchcache.process.tokens import User

from .conftest import Server, pod_manifest, start_guarded_server, write_kubeconfig

V = '"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy"'
POLICY = f"""\
# bob owns team-a; carol reads everything; everyone may read discovery and OpenAPI
{{{V}, "spec": {{"user": "bob", "namespace": "team-a", "resource": "*", "apiGroup": "*"}}}}
{{{V}, "spec": {{"user": "carol", "namespace": "*", "resource": "*", "apiGroup": "*", "readonly": true}}}}
{{{V}, "spec": {{"group": "system:authenticated", "readonly": true, "nonResourcePath": "/api*"}}}}
{{{V}, "spec": {{"group": "system:authenticated", "readonly": true, "nonResourcePath": "/openapi/*"}}}}
{{{V}, "spec": {{"group": "system:authenticated", "readonly": true, "nonResourcePath": "/version"}}}}
"""
TOKENS = {"alice": "t-alice", "bob": "t-bob", "carol": "t-carol", "dave": "t-dave"}
NO_MATCH = ": No policy matched."


# ---- the request's attributes, as kube-apiserver's RequestInfoFactory reads them ----------------


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/a/pods", {}, ("list", "", "pods", "", "a", "")),
        ("GET", "/api/v1/namespaces/a/pods", {"watch": "true"}, ("watch", "", "pods", "", "a", "")),
        ("GET", "/api/v1/namespaces/a/pods", {"watch": "0"}, ("list", "", "pods", "", "a", "")),
        ("GET", "/api/v1/watch/namespaces/a/pods", {}, ("watch", "", "pods", "", "a", "")),
        ("GET", "/api/v1/watch/pods", {}, ("watch", "", "pods", "", "", "")),
        ("GET", "/api/v1/pods", {}, ("list", "", "pods", "", "", "")),
        ("GET", "/api/v1/namespaces/a/pods/web/log", {}, ("get", "", "pods", "log", "a", "web")),
        ("PUT", "/api/v1/namespaces/a/pods/web/status", {}, ("update", "", "pods", "status", "a", "web")),
        ("POST", "/api/v1/namespaces/a/pods", {}, ("create", "", "pods", "", "a", "")),
        ("PATCH", "/api/v1/namespaces/a/pods/web", {}, ("patch", "", "pods", "", "a", "web")),
        ("DELETE", "/api/v1/namespaces/a/pods/web", {}, ("delete", "", "pods", "", "a", "web")),
        ("DELETE", "/api/v1/namespaces/a/pods", {}, ("deletecollection", "", "pods", "", "a", "")),
        ("GET", "/api/v1/namespaces/a", {}, ("get", "", "namespaces", "", "a", "a")),
        ("PUT", "/api/v1/namespaces/a/finalize", {}, ("update", "", "namespaces", "finalize", "a", "a")),
        ("GET", "/api/v1/nodes/n1", {}, ("get", "", "nodes", "", "", "n1")),
        ("GET", "/apis/coordination.k8s.io/v1/namespaces/a/leases", {},
         ("list", "coordination.k8s.io", "leases", "", "a", "")),
    ],
)  # fmt: skip
def test_resource_requests_are_read_as_kube_apiserver_reads_them(
    method: str, path: str, query: dict[str, str], expected: tuple[str, ...]
) -> None:
    request = attributes(User("u", "1"), method, path, query)
    assert request.resource_request
    found = (request.verb, request.api_group, request.resource, request.subresource, request.namespace, request.name)
    assert found == expected


@pytest.mark.parametrize(
    "path", ["/api", "/api/v1", "/apis", "/apis/events.k8s.io", "/apis/events.k8s.io/v1", "/version", "/metrics"]
)
def test_discovery_and_other_paths_are_non_resource_requests(path: str) -> None:
    request = attributes(User("u", "1"), "GET", path, {})
    assert (request.resource_request, request.verb, request.path) == (False, "get", path)


# ---- the policy file ----------------------------------------------------------------------


def _asked(user: str, verb: str, resource: str = "pods", namespace: str = "team-a", **kw: str) -> Request:
    groups = kw.pop("groups", "system:authenticated").split(",")
    return Request(user, groups, verb, True, kw.pop("group", ""), resource, kw.pop("sub", ""), namespace)


def test_policies_match_as_kube_abac_matches_them() -> None:
    policy = PolicyFile.parse(POLICY.splitlines())
    assert policy.allows(_asked("bob", "delete"))
    assert policy.allows(_asked("bob", "get", sub="log"))  # a subresource is authorized as its resource
    assert policy.allows(_asked("bob", "create", "leases", group="coordination.k8s.io"))
    assert not policy.allows(_asked("bob", "delete", namespace="team-b"))
    assert not policy.allows(_asked("bob", "list", namespace=""))  # all namespaces: not team-a
    assert policy.allows(_asked("carol", "watch", namespace=""))
    assert not policy.allows(_asked("carol", "patch"))  # readonly
    assert not policy.allows(_asked("dave", "get"))
    discovery = Request("dave", ["system:authenticated"], "get", False, path="/apis/events.k8s.io/v1")
    assert policy.allows(discovery)
    assert not policy.allows(Request("dave", ["system:authenticated"], "get", False, path="/metrics"))
    assert not policy.allows(Request("dave", ["system:authenticated"], "post", False, path="/api"))  # readonly


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"spec": {"user": "x"}}', "want"),
        (f"{{{V}}}", 'no "spec" object'),
        (f'{{{V}, "spec": {{"users": "x"}}}}', 'unknown field "spec.users"'),
        (f'{{{V}, "spec": {{"user": "x", "readonly": "yes"}}}}', '"spec.readonly" must be a bool'),
        (f'{{{V}, "spec": {{"resource": "*"}}}}', "matches nobody"),
        ("{not json", "not JSON"),
    ],
)
def test_a_malformed_line_is_refused_naming_it(line: str, problem: str) -> None:
    with pytest.raises(PolicyError) as caught:
        PolicyFile.parse(["# fine", "", line], "policy.jsonl")
    assert "error reading policy file policy.jsonl, line 3: " in str(caught.value)
    assert problem in str(caught.value)


def test_serve_refuses_to_start_with_a_malformed_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.jsonl"
    policy.write_text(POLICY + "{oops\n")
    done = subprocess.run(
        [sys.executable, "-m", "watchcache", "serve", "--data-dir", str(tmp_path), "--authorization-policy-file",
         str(policy)], capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert "line 7" in done.stderr and "not JSON" in done.stderr


# ---- end to end ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_guarded_server(private_redis.url, tmp_path_factory.mktemp("authz"), TOKENS, POLICY)
    yield srv
    srv.stop()


def _as(server: Server, user: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=False, timeout=10, headers={"Authorization": f"Bearer {TOKENS[user]}"})


def _forbidden(response: httpx.Response, message: str, details: dict[str, str]) -> None:
    assert response.status_code == 403, response.text
    assert response.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                               "message": message, "reason": "Forbidden", "details": details, "code": 403}  # fmt: skip


@pytest.mark.e2e
def test_each_user_may_do_what_the_policy_allows(guarded: Server) -> None:
    with _as(guarded, "alice") as alice, _as(guarded, "bob") as bob, _as(guarded, "carol") as carol:
        assert bob.post("/api/v1/namespaces/team-a/pods", json=pod_manifest("web")).status_code == 201
        assert alice.post("/api/v1/namespaces/team-b/pods", json=pod_manifest("web")).status_code == 201
        assert carol.get("/api/v1/pods").status_code == 200
        assert carol.get("/api/v1/watch/namespaces/team-b/pods", params={"timeoutSeconds": "1"}).status_code == 200
        assert bob.get("/apis/coordination.k8s.io/v1").status_code == 200  # discovery, non-resource
        _forbidden(
            bob.delete("/api/v1/namespaces/team-b/pods/web"),
            'pods "web" is forbidden: User "bob" cannot delete resource "pods" in API group "" in the '
            'namespace "team-b"' + NO_MATCH, {"name": "web", "kind": "pods"},
        )  # fmt: skip
        _forbidden(
            carol.post("/api/v1/namespaces/team-a/pods", json=pod_manifest("x")),
            'pods is forbidden: User "carol" cannot create resource "pods" in API group "" in the namespace '
            '"team-a"' + NO_MATCH, {"kind": "pods"},
        )  # fmt: skip
        _forbidden(
            bob.get("/api/v1/pods"),
            'pods is forbidden: User "bob" cannot list resource "pods" in API group "" at the cluster scope'
            + NO_MATCH, {"kind": "pods"},
        )  # fmt: skip
        _forbidden(
            bob.get("/api/v1/watch/namespaces/team-b/pods"),
            'pods is forbidden: User "bob" cannot watch resource "pods" in API group "" in the namespace '
            '"team-b"' + NO_MATCH, {"kind": "pods"},
        )  # fmt: skip
        _forbidden(
            bob.get("/api/v1/namespaces/team-b/pods/web/log"),
            'pods "web" is forbidden: User "bob" cannot get resource "pods/log" in API group "" in the '
            'namespace "team-b"' + NO_MATCH, {"name": "web", "kind": "pods"},
        )  # fmt: skip
        _forbidden(
            carol.put("/apis/coordination.k8s.io/v1/namespaces/team-a/leases/l", json={}),
            'leases.coordination.k8s.io "l" is forbidden: User "carol" cannot update resource "leases" in '
            'API group "coordination.k8s.io" in the namespace "team-a"' + NO_MATCH,
            {"name": "l", "group": "coordination.k8s.io", "kind": "leases"},
        )  # fmt: skip
        _forbidden(bob.get("/metrics"), 'forbidden: User "bob" cannot get path "/metrics"' + NO_MATCH, {})
        assert httpx.get(f"{guarded.url}/readyz", verify=False).status_code == 200  # health: always open


@pytest.mark.e2e
def test_a_self_subject_access_review_answers_for_its_caller(guarded: Server) -> None:
    def review(client: httpx.Client, **attributes: str) -> dict:
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}  # fmt: skip
        answer = client.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["status"]

    with _as(guarded, "bob") as bob, _as(guarded, "dave") as dave:
        assert review(bob, verb="create", resource="pods", namespace="team-a") == {"allowed": True}
        assert review(bob, verb="create", resource="pods", namespace="team-b") == {
            "allowed": False, "reason": "No policy matched."
        }  # fmt: skip
        assert review(dave, verb="get", resource="pods", namespace="team-a")["allowed"] is False
        empty = dave.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json={"spec": {}})
        assert empty.status_code == 422
        assert empty.json()["message"] == (
            'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid '
            "value: null: exactly one of nonResourceAttributes or resourceAttributes must be specified"
        )


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_auth_can_i(guarded: Server, tmp_path: Path) -> None:
    """kubectl 1.32 posts the review in protobuf and finds the group through discovery."""
    workdir = Path(guarded.args[guarded.args.index("--data-dir") + 1])
    bob_tokens = tmp_path / "bob.csv"
    bob_tokens.write_text(f"{TOKENS['bob']},bob,2\n")
    kubeconfig = write_kubeconfig(workdir, guarded, "--token-file", str(bob_tokens))

    def can_i(*args: str) -> tuple[int, str]:
        command = ["kubectl", "--kubeconfig", str(kubeconfig), "auth", "can-i", *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
        return done.returncode, done.stdout.strip()

    assert can_i("create", "pods", "-n", "team-a") == (0, "yes")
    assert can_i("delete", "pods", "-n", "team-b") == (1, "no - No policy matched.")  # the ABAC reason
    assert can_i("get", "leases", "-n", "team-a") == (0, "yes")
    raw = ["kubectl", "--kubeconfig", str(kubeconfig), "get", "--raw", "/apis/authorization.k8s.io/v1"]
    answer = orjson.loads(subprocess.run(raw, capture_output=True, check=True).stdout)
    assert answer["resources"][0]["name"] == "selfsubjectaccessreviews"


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (the lengths here are all under 128)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


@pytest.mark.e2e
def test_a_review_in_protobuf_is_read(guarded: Server) -> None:
    """kubectl 1.32 sends SelfSubjectAccessReviews as application/vnd.kubernetes.protobuf."""
    attrs = _field(1, b"team-a") + _field(2, b"delete") + _field(5, b"pods")
    review = _field(2, _field(1, attrs))  # spec.resourceAttributes
    type_meta = _field(1, b"authorization.k8s.io/v1") + _field(2, b"SelfSubjectAccessReview")
    body = b"k8s\x00" + _field(1, type_meta) + _field(2, review)
    with _as(guarded, "bob") as bob:
        answer = bob.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", content=body,
                          headers={"Content-Type": "application/vnd.kubernetes.protobuf"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    assert answer.json()["spec"]["resourceAttributes"] == {"namespace": "team-a", "verb": "delete", "resource": "pods"}
    assert answer.json()["status"] == {"allowed": True}
