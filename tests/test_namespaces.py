"""Namespaces: served as kube-apiserver serves them, with their lifecycle (NamespaceLifecycle
admission and the namespace controller) and on the same log and rv sequence as pods."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from watchcache.process.embedded_redis import EmbeddedRedis

from .conftest import Server, eventually, pod_manifest, start_server
from .watch_support import RawWatch, create

NS = "/api/v1/namespaces"
TERMINATING_MESSAGE = (
    'Operation cannot be fulfilled on namespaces "{}": The system is ensuring all content is removed '
    "from this namespace.  Upon completion, this namespace will automatically be purged by the system."
)


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    assert eventually(check, timeout), "timed out"


def make_namespace(api: httpx.Client, name: str, **extra: Any) -> dict:
    response = api.post(NS, json={"metadata": {"name": name, **extra}})
    assert response.status_code == 201, response.text
    return response.json()


def test_the_default_namespaces_exist_from_the_start(api: httpx.Client) -> None:
    items = {n["metadata"]["name"]: n for n in api.get(NS).json()["items"]}
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert items[name]["status"] == {"phase": "Active"}
        assert items[name]["spec"] == {"finalizers": ["kubernetes"]}
        assert items[name]["metadata"]["labels"] == {"kubernetes.io/metadata.name": name}


def test_create_get_and_list_a_namespace(api: httpx.Client, ns: str) -> None:
    created = make_namespace(api, ns, labels={"team": ns}, namespace="ignored")
    assert created["kind"] == "Namespace" and created["apiVersion"] == "v1"
    meta = created["metadata"]
    assert "namespace" not in meta  # cluster-scoped: the body's namespace is dropped
    assert meta["labels"] == {"team": ns, "kubernetes.io/metadata.name": ns}
    assert created["spec"] == {"finalizers": ["kubernetes"]}
    assert created["status"] == {"phase": "Active"}
    assert api.get(f"{NS}/{ns}").json() == created
    listed = api.get(NS, params={"labelSelector": f"team={ns}"}).json()
    assert listed["kind"] == "NamespaceList"
    assert [n["metadata"]["name"] for n in listed["items"]] == [ns]


def test_the_creator_owns_what_it_sent_not_the_finalizer_the_server_adds(api: httpx.Client, ns: str) -> None:
    """kube's field manager records the decoded request (its defaults too: the name label)
    before the strategy adds the kubernetes finalizer and the phase."""
    created = api.post(NS, json={"metadata": {"name": ns}}, params={"fieldManager": "maker"}).json()
    (entry,) = created["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"]) == ("maker", "Update")
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}}
    assert created["spec"] == {"finalizers": ["kubernetes"]}
    held = api.post(NS, json={"metadata": {"name": f"{ns}-b"}, "spec": {"finalizers": ["example.com/x"]}})
    (entry,) = held.json()["metadata"]["managedFields"]
    assert entry["fieldsV1"]["f:spec"] == {"f:finalizers": {}}  # what the request set, it owns
    api.put(f"{NS}/{ns}-b/finalize", json={**held.json(), "spec": {"finalizers": []}}).raise_for_status()
    api.delete(f"{NS}/{ns}-b").raise_for_status()


def test_duplicate_and_invalid_namespaces_get_kube_apiserver_errors(api: httpx.Client, ns: str) -> None:
    make_namespace(api, ns)
    again = api.post(NS, json={"metadata": {"name": ns}})
    assert again.status_code == 409
    assert again.json()["message"] == f'namespaces "{ns}" already exists'
    assert again.json()["details"] == {"name": ns, "kind": "namespaces"}
    bad = api.post(NS, json={"metadata": {"name": "Not_A_Label"}})
    assert bad.status_code == 422
    assert bad.json()["message"].startswith(
        'Namespace "Not_A_Label" is invalid: metadata.name: Invalid value'
    )
    missing = api.get(f"{NS}/{ns}-absent")
    assert missing.status_code == 404
    assert missing.json()["message"] == f'namespaces "{ns}-absent" not found'


def test_a_pod_in_a_namespace_that_does_not_exist_creates_it(api: httpx.Client, ns: str) -> None:
    assert api.get(f"{NS}/{ns}").status_code == 404
    create(api, ns, pod_manifest("web"))
    namespace = api.get(f"{NS}/{ns}").json()
    assert namespace["status"]["phase"] == "Active"


def test_a_dry_run_create_does_not_create_its_namespace(api: httpx.Client, ns: str) -> None:
    response = api.post(f"{NS}/{ns}/pods", params={"dryRun": "All"}, json=pod_manifest("web"))
    assert response.status_code == 201, response.text
    assert api.get(f"{NS}/{ns}").status_code == 404


def test_updates_keep_spec_finalizers_and_status_which_have_their_own_subresources(
    api: httpx.Client, ns: str
) -> None:
    current = make_namespace(api, ns)
    body = {**current, "spec": {"finalizers": []}, "status": {"phase": "Terminating"}}
    body["metadata"] = {**current["metadata"], "labels": {"x": "1"}}
    updated = api.put(f"{NS}/{ns}", json=body).json()
    assert updated["spec"] == {"finalizers": ["kubernetes"]}
    assert updated["status"] == {"phase": "Active"}
    assert updated["metadata"]["labels"] == {"x": "1", "kubernetes.io/metadata.name": ns}
    status = api.patch(
        f"{NS}/{ns}/status",
        json={"status": {"phase": "Terminating"}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert status.status_code == 422
    assert "may only be 'Active' if `deletionTimestamp` is empty" in status.json()["message"]
    assert api.patch(f"{NS}/{ns}/finalize", json={}).status_code == 405


def test_a_finalized_namespace_goes_at_once_when_deleted(api: httpx.Client, ns: str) -> None:
    current = make_namespace(api, ns)
    finalized = api.put(f"{NS}/{ns}/finalize", json={**current, "spec": {"finalizers": []}})
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["spec"] == {}
    deleted = api.delete(f"{NS}/{ns}")
    assert deleted.status_code == 200
    assert api.get(f"{NS}/{ns}").status_code == 404


def release_held_pod_and_wait_for_the_namespace_to_go(api: httpx.Client, ns: str) -> None:
    """Remove the finalizer holding pod "held"; the namespace controller then finalizes ``ns``."""
    release = api.patch(
        f"{NS}/{ns}/pods/held",
        json={"metadata": {"finalizers": None}},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert release.status_code == 200
    wait_until(lambda: api.get(f"{NS}/{ns}").status_code == 404)


def test_deleting_a_namespace_terminates_it_and_deletes_its_content(api: httpx.Client, ns: str) -> None:
    make_namespace(api, ns)
    create(api, ns, pod_manifest("plain"))
    create(
        api, ns, {**pod_manifest("held"), "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    )
    deleted = api.delete(f"{NS}/{ns}")
    assert deleted.status_code == 200
    assert deleted.json()["status"]["phase"] == "Terminating"
    assert "deletionTimestamp" in deleted.json()["metadata"]
    # no new content while it terminates
    refused = api.post(f"{NS}/{ns}/pods", json=pod_manifest("late"))
    assert refused.status_code == 403
    assert refused.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'pods "late" is forbidden: unable to create new content in namespace {ns} '
        "because it is being terminated",
        "reason": "Forbidden",
        "details": {
            "name": "late",
            "kind": "pods",
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {ns} is being terminated",
                    "field": "metadata.namespace",
                }
            ],
        },
        "code": 403,
    }
    # the controller deletes what it can; the held pod waits for its finalizer
    wait_until(lambda: api.get(f"{NS}/{ns}/pods/plain").status_code == 404)
    wait_until(lambda: "deletionTimestamp" in api.get(f"{NS}/{ns}/pods/held").json()["metadata"])
    again = api.delete(f"{NS}/{ns}")
    assert again.status_code == 409
    assert again.json()["message"] == TERMINATING_MESSAGE.format(ns)
    assert api.get(f"{NS}/{ns}").json()["status"]["phase"] == "Terminating"
    release_held_pod_and_wait_for_the_namespace_to_go(api, ns)
    assert api.get(f"{NS}/{ns}/pods").json()["items"] == []


def test_a_terminating_namespace_says_what_holds_it_in_its_conditions(api: httpx.Client, ns: str) -> None:
    """kube's namespace controller: five conditions, True for what is left, False when all is well."""
    make_namespace(api, ns)
    held = {**pod_manifest("held"), "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    create(api, ns, held)
    assert api.delete(f"{NS}/{ns}").status_code == 200

    def conditions() -> list[tuple[str, str, str, str]]:
        status = api.get(f"{NS}/{ns}").json()["status"]
        return [(c["type"], c["status"], c["reason"], c["message"]) for c in status.get("conditions") or []]

    wait_until(lambda: len(conditions()) == 5)
    assert conditions() == [
        ("NamespaceDeletionDiscoveryFailure", "False", "ResourcesDiscovered", "All resources successfully discovered"),
        ("NamespaceDeletionGroupVersionParsingFailure", "False", "ParsedGroupVersions",
         "All legacy kube types successfully parsed"),
        ("NamespaceDeletionContentFailure", "False", "ContentDeleted",
         "All content successfully deleted, may be waiting on finalization"),
        ("NamespaceContentRemaining", "True", "SomeResourcesRemain",
         "Some resources are remaining: pods. has 1 resource instances"),
        ("NamespaceFinalizersRemaining", "True", "SomeFinalizerRemain",
         "Some finalizers are remaining: example.com/hold in 1 resource instances"),
    ]  # fmt: skip
    namespace = api.get(f"{NS}/{ns}").json()
    assert all(c["lastTransitionTime"] for c in namespace["status"]["conditions"])
    assert namespace["metadata"]["managedFields"][-1]["subresource"] == "status"
    release_held_pod_and_wait_for_the_namespace_to_go(api, ns)


def test_namespace_field_selectors_are_name_and_phase(api: httpx.Client, ns: str) -> None:
    make_namespace(api, ns)
    by_name = api.get(NS, params={"fieldSelector": f"metadata.name={ns},status.phase=Active"}).json()
    assert [n["metadata"]["name"] for n in by_name["items"]] == [ns]
    unsupported = api.get(NS, params={"fieldSelector": "spec.nodeName=n1"})
    assert unsupported.status_code == 400
    assert unsupported.json()["message"] == "field label not supported: spec.nodeName"


def test_namespaces_and_pods_share_one_rv_sequence_and_watches_see_only_their_kind(
    server: Server, api: httpx.Client, ns: str
) -> None:
    start = api.get(NS).json()["metadata"]["resourceVersion"]
    params = {"watch": "1", "resourceVersion": start}
    with (
        RawWatch(server.url, NS, params) as namespaces,
        RawWatch(server.url, "/api/v1/pods", params) as pods,
    ):
        made = make_namespace(api, ns)
        pod = create(api, ns, pod_manifest("web"))
        ns_event = namespaces.next_event(5)
        pod_event = pods.next_event(5)
    assert ns_event is not None and pod_event is not None
    assert (ns_event["type"], ns_event["object"]["metadata"]["name"]) == ("ADDED", ns)
    assert (pod_event["type"], pod_event["object"]["kind"]) == ("ADDED", "Pod")
    ns_rv, pod_rv = int(made["metadata"]["resourceVersion"]), int(pod["metadata"]["resourceVersion"])
    assert int(start) < ns_rv < pod_rv  # one global sequence across kinds


def test_kubectl_sees_namespaces(api: httpx.Client, ns: str) -> None:
    table = api.get(NS, headers={"accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Status", "Age"]
    default = next(r for r in table["rows"] if r["cells"][0] == "default")
    assert default["cells"][1] == "Active"
    resources = {r["name"]: r for r in api.get("/api/v1").json()["resources"]}
    assert resources["namespaces"]["namespaced"] is False
    assert resources["namespaces"]["shortNames"] == ["ns"]
    assert "deletecollection" not in resources["namespaces"]["verbs"]
    assert resources["namespaces/finalize"]["verbs"] == ["update"]
    assert resources["namespaces/status"]["verbs"] == ["get", "patch", "update"]


@pytest.fixture(scope="module")
def strict_server(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(redis_server.url, tmp_path_factory.mktemp("strict"), "--strict-namespaces")
    yield srv
    srv.stop()


def test_strict_namespaces_refuse_pods_in_a_namespace_that_does_not_exist(strict_server: Server) -> None:
    name = f"t-{uuid.uuid4().hex[:10]}"
    with strict_server.client() as api:
        refused = api.post(f"{NS}/{name}/pods", json=pod_manifest("web"))
        assert refused.status_code == 404
        assert refused.json()["message"] == f'namespaces "{name}" not found'
        make_namespace(api, name)
        assert api.post(f"{NS}/{name}/pods", json=pod_manifest("web")).status_code == 201


@pytest.mark.e2e
def test_kubectl_get_and_delete_namespaces(server: Server, tmp_path: Path, ns: str) -> None:
    import subprocess

    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    assert kubectl("create", "namespace", ns).strip() == f"namespace/{ns} created"  # a protobuf body
    with server.client() as api:
        create(api, ns, pod_manifest("web"))
    table = kubectl("get", "ns", ns).splitlines()
    assert table[0].split() == ["NAME", "STATUS", "AGE"]
    assert table[1].split()[:2] == [ns, "Active"]
    assert kubectl("delete", "namespace", ns).strip() == f'namespace "{ns}" deleted'  # waits until gone
    assert kubectl("get", "pods", "-n", ns, "-o", "name").strip() == ""


@pytest.mark.e2e
def test_kubectl_describe_shows_what_holds_a_terminating_namespace(
    server: Server, tmp_path: Path, ns: str
) -> None:
    import subprocess

    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    with server.client() as api:
        held = {**pod_manifest("held"), "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
        create(api, ns, held)
        done = kubectl("delete", "namespace", ns, "--wait=false").strip()
        assert done == f'namespace "{ns}" deleted'
        wait_until(lambda: len(api.get(f"{NS}/{ns}").json()["status"].get("conditions") or []) == 5)
        described = kubectl("describe", "namespace", ns)  # what holds it, as kube's controller says
        assert "Status:       Terminating" in described
        rows = [line.split()[:2] for line in described.splitlines() if line.startswith("  Namespace")]
        assert rows[-2:] == [["NamespaceContentRemaining", "True"], ["NamespaceFinalizersRemaining", "True"]]
        assert "Some finalizers are remaining: example.com/hold in 1 resource instances" in described
        api.patch(
            f"{NS}/{ns}/pods/held",
            json={"metadata": {"finalizers": None}},
            headers={"content-type": "application/merge-patch+json"},
        ).raise_for_status()
        wait_until(lambda: api.get(f"{NS}/{ns}").status_code == 404)
