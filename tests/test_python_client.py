"""The official Python client, unchanged, against watchcache."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from .conftest import pod_manifest

pytestmark = pytest.mark.e2e


def test_create_read_list_and_delete(core: client.CoreV1Api, ns: str) -> None:
    created = core.create_namespaced_pod(ns, pod_manifest("web", labels={"app": "web"}))
    assert created.metadata.uid and created.status.phase == "Pending"
    read = core.read_namespaced_pod("web", ns)
    assert read.metadata.resource_version == created.metadata.resource_version
    listed = core.list_namespaced_pod(ns, label_selector="app=web")
    assert [p.metadata.name for p in listed.items] == ["web"]
    assert any(p.metadata.namespace == ns for p in core.list_pod_for_all_namespaces().items)
    deleted = core.delete_namespaced_pod("web", ns)
    assert deleted.metadata.name == "web"
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("web", ns)
    assert caught.value.status == 404


def test_replace_and_both_patch_body_kinds(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("web"))
    pod.metadata.labels = {"a": "1"}
    replaced = core.replace_namespaced_pod("web", ns, pod)
    assert replaced.metadata.labels == {"a": "1"}
    patched = core.patch_namespaced_pod(
        "web", ns, [{"op": "add", "path": "/metadata/labels/b", "value": "2"}]
    )  # a list body is sent as application/json-patch+json
    assert patched.metadata.labels == {"a": "1", "b": "2"}
    patched = core.patch_namespaced_pod(
        "web", ns, {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}
    )
    assert patched.spec.containers[0].image == "nginx:1.27"  # dict body: strategic merge patch


def test_stale_replace_raises_409(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("web"))
    core.patch_namespaced_pod("web", ns, {"metadata": {"labels": {"x": "y"}}})
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_pod("web", ns, pod)
    assert caught.value.status == 409


def test_delete_collection(core: client.CoreV1Api, ns: str) -> None:
    for name in ("a", "b"):
        core.create_namespaced_pod(ns, pod_manifest(name))
    core.delete_collection_namespaced_pod(ns)
    assert core.list_namespaced_pod(ns).items == []


def test_dry_run_create(core: client.CoreV1Api, ns: str) -> None:
    pod = core.create_namespaced_pod(ns, pod_manifest("web"), dry_run="All")
    assert pod.metadata.uid
    assert core.list_namespaced_pod(ns).items == []


def test_status_and_ephemeral_containers_subresources(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_pod(ns, pod_manifest("web", nodeName="node-1"))
    status = {
        "status": {
            "phase": "Running",
            "podIP": "10.1.2.3",
            "conditions": [{"type": "Ready", "status": "True"}],
        }
    }
    updated = core.patch_namespaced_pod_status("web", ns, status)
    assert updated.status.phase == "Running"
    assert [ip.ip for ip in updated.status.pod_i_ps] == ["10.1.2.3"]
    debug = {
        "spec": {"ephemeralContainers": [{"name": "dbg", "image": "busybox", "targetContainerName": "web"}]}
    }
    patched = core.patch_namespaced_pod_ephemeralcontainers("web", ns, debug)
    assert [c.name for c in patched.spec.ephemeral_containers] == ["dbg"]
    assert core.read_namespaced_pod_status("web", ns).status.phase == "Running"


def test_paging_with_limit_and_continue(core: client.CoreV1Api, ns: str) -> None:
    for i in range(7):
        core.create_namespaced_pod(ns, pod_manifest(f"p{i}"))
    names, token = [], None
    while True:
        page = core.list_namespaced_pod(ns, limit=3, _continue=token)
        names += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"p{i}" for i in range(7)]
    selected = core.list_namespaced_pod(ns, field_selector="metadata.name=p3")
    assert [p.metadata.name for p in selected.items] == ["p3"]
