"""Nodes, as kubectl and a kubelet use them, and pods/binding, as a scheduler uses it."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Server, pod_manifest
from .watch_support import create

NODES = "/api/v1/nodes"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
MERGE = {"content-type": "application/merge-patch+json"}


def node_manifest(name: str, **spec: Any) -> dict[str, Any]:
    """A node as a kubelet registers it: with its status."""
    return {
        "metadata": {"name": name, "labels": {"node-role.kubernetes.io/worker": ""}},
        "spec": spec,
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.7"}],
            "nodeInfo": {"kubeletVersion": "v1.32.0", "osImage": "Debian GNU/Linux 12",
                         "kernelVersion": "6.1.0", "containerRuntimeVersion": "containerd://1.7.0"},
        },
    }  # fmt: skip


@pytest.fixture
def node_name() -> str:
    return f"node-{uuid.uuid4().hex[:8]}"


def make_node(api: httpx.Client, name: str, **spec: Any) -> dict[str, Any]:
    response = api.post(NODES, json=node_manifest(name, **spec))
    assert response.status_code == 201, response.text
    return response.json()


def table_row(api: httpx.Client, name: str) -> list[Any]:
    table = api.get(f"{NODES}/{name}", headers={"accept": TABLE}).json()
    return table["rows"][0]["cells"]


def test_a_node_keeps_the_status_its_kubelet_registers(api: httpx.Client, node_name: str) -> None:
    node = make_node(api, node_name)
    assert "namespace" not in node["metadata"]
    assert node["status"]["allocatable"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}  # defaulted
    assert node["status"]["conditions"][0]["type"] == "Ready"
    assert api.get(f"{NODES}/{node_name}").json() == node
    cells = table_row(api, node_name)
    assert cells[:3] == [node_name, "Ready", "worker"] and cells[4:] == [
        "v1.32.0", "10.0.0.7", "<none>", "Debian GNU/Linux 12", "6.1.0", "containerd://1.7.0",
    ]  # fmt: skip


def test_cordon_keeps_the_status_and_shows_in_the_table_and_field_selector(
    api: httpx.Client, node_name: str
) -> None:
    make_node(api, node_name)
    patched = api.patch(
        f"{NODES}/{node_name}",
        json={"spec": {"unschedulable": True}, "status": {"conditions": []}},
        headers=MERGE,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["status"]["conditions"][0]["type"] == "Ready"  # the status only moves via /status
    assert table_row(api, node_name)[1] == "Ready,SchedulingDisabled"
    cordoned = api.get(NODES, params={"fieldSelector": "spec.unschedulable=true"}).json()["items"]
    assert node_name in [n["metadata"]["name"] for n in cordoned]
    by_name = api.get(NODES, params={"fieldSelector": f"metadata.name={node_name},spec.unschedulable=false"})
    assert by_name.json()["items"] == []
    status = api.patch(
        f"{NODES}/{node_name}/status",
        json={"status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        headers={"content-type": "application/strategic-merge-patch+json"},
    )
    assert status.status_code == 200, status.text
    assert table_row(api, node_name)[1] == "NotReady,SchedulingDisabled"


def test_invalid_nodes_get_kube_apiserver_errors(api: httpx.Client, node_name: str) -> None:
    bad = node_manifest(node_name, taints=[{"key": "k", "effect": "Sometimes"}])
    response = api.post(NODES, json=bad)
    assert response.status_code == 422
    assert response.json()["message"] == (  # kube's ValidateNode puts taints under metadata
        f'Node "{node_name}" is invalid: metadata.taints[0].effect: Unsupported value: "Sometimes": '
        'supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'
    )
    make_node(api, node_name, providerID="kind://a")
    moved = api.patch(f"{NODES}/{node_name}", json={"spec": {"providerID": "kind://b"}}, headers=MERGE)
    assert moved.status_code == 422
    assert moved.json()["message"] == (
        f'Node "{node_name}" is invalid: spec.providerID: Forbidden: '
        'node updates may not change providerID except from "" to valid'
    )
    assert api.get(NODES, params={"fieldSelector": "status.phase=Running"}).status_code == 400


def test_pod_cidrs_are_assigned_once_and_served_in_both_fields(api: httpx.Client, node_name: str) -> None:
    """v1's podCIDR is the first of podCIDRs (kube's NodeSpec conversion); either may go from
    none to valid (the controller manager assigns them), never change after."""
    node = make_node(api, node_name, podCIDR="10.244.1.0/24")
    assert node["spec"] == {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    assert api.get(f"{NODES}/{node_name}").json()["spec"] == node["spec"]
    changed = api.patch(f"{NODES}/{node_name}", json={"spec": {"podCIDR": "10.244.2.0/24"}}, headers=MERGE)
    assert changed.status_code == 422
    assert changed.json()["message"] == (
        f'Node "{node_name}" is invalid: spec.podCIDRs: Forbidden: '
        'node updates may not change podCIDR except from "" to valid'
    )
    assert changed.json()["details"]["causes"] == [
        {"reason": "FieldValueForbidden", "field": "spec.podCIDRs",
         "message": 'Forbidden: node updates may not change podCIDR except from "" to valid'},
    ]  # fmt: skip
    dual = {"spec": {"podCIDRs": ["10.244.1.0/24", "fd00:10:244:1::/64"]}}
    assert api.patch(f"{NODES}/{node_name}", json=dual, headers=MERGE).status_code == 422  # one more
    other = f"{node_name}-b"
    make_node(api, other)
    assigned = api.patch(f"{NODES}/{other}", json=dual, headers=MERGE)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["spec"] == {"podCIDR": "10.244.1.0/24", **dual["spec"]}
    for bad in (["10.0.0.1"], ["10.0.0.0/24", "10.1.0.0/24"]):
        response = api.post(NODES, json=node_manifest(f"{node_name}-c", podCIDRs=bad))
        assert response.status_code == 422, (bad, response.text)


def test_binding_assigns_a_pod_to_a_node_once(api: httpx.Client, ns: str, node_name: str) -> None:
    create(api, ns, pod_manifest("web"))
    binding = {"metadata": {"name": "web", "annotations": {"scheduler": "test"}},
               "target": {"kind": "Node", "name": node_name}}  # fmt: skip
    response = api.post(f"/api/v1/namespaces/{ns}/pods/web/binding", json=binding)
    assert response.status_code == 201, response.text
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "code": 201,
    }
    pod = api.get(f"/api/v1/namespaces/{ns}/pods/web").json()
    assert pod["spec"]["nodeName"] == node_name
    assert pod["metadata"]["annotations"] == {"scheduler": "test"}
    scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
    assert [(c["status"], c["lastTransitionTime"] is not None) for c in scheduled] == [("True", True)]
    again = api.post(f"/api/v1/namespaces/{ns}/pods/web/binding", json=binding)
    assert again.status_code == 409
    assert again.json()["message"] == (
        f'Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "{node_name}"'
    )
    assert again.json()["details"] == {"name": "web", "kind": "pods/binding"}


def test_binding_errors_and_the_deprecated_bindings_path(api: httpx.Client, ns: str, node_name: str) -> None:
    create(api, ns, pod_manifest("a"))
    create(api, ns, {**pod_manifest("held"), "metadata": {"name": "held", "finalizers": ["x.io/hold"]}})
    wrong_name = api.post(
        f"/api/v1/namespaces/{ns}/pods/a/binding",
        json={"metadata": {"name": "b"}, "target": {"name": node_name}},
    )
    assert wrong_name.status_code == 400
    assert wrong_name.json()["message"] == "name in URL does not match name in Binding object"
    wrong_kind = api.post(
        f"/api/v1/namespaces/{ns}/pods/a/binding",
        json={"metadata": {"name": "a"}, "target": {"kind": "Pod", "name": "x"}},
    )
    assert wrong_kind.status_code == 422
    assert 'target.kind: Unsupported value: "Pod"' in wrong_kind.json()["message"]
    missing = api.post(
        f"/api/v1/namespaces/{ns}/pods/nope/binding",
        json={"metadata": {"name": "nope"}, "target": {"name": node_name}},
    )
    assert missing.status_code == 404
    assert api.delete(f"/api/v1/namespaces/{ns}/pods/held").status_code == 200
    deleting = api.post(
        f"/api/v1/namespaces/{ns}/pods/held/binding",
        json={"metadata": {"name": "held"}, "target": {"name": node_name}},
    )
    assert deleting.status_code == 409
    assert deleting.json()["message"].endswith("pod held is being deleted, cannot be assigned to a host")
    legacy = api.post(
        f"/api/v1/namespaces/{ns}/bindings", json={"metadata": {"name": "a"}, "target": {"name": node_name}}
    )
    assert legacy.status_code == 201, legacy.text
    assert api.get(f"/api/v1/namespaces/{ns}/pods/a").json()["spec"]["nodeName"] == node_name
    api.patch(f"/api/v1/namespaces/{ns}/pods/held", json={"metadata": {"finalizers": None}}, headers=MERGE)


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_get_cordon_label_and_taint_nodes(server: Server, tmp_path: Path, node_name: str) -> None:
    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    with server.client() as api:
        make_node(api, node_name)
    table = kubectl("get", "node", node_name).splitlines()
    assert table[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
    assert table[1].split()[:3] == [node_name, "Ready", "worker"]
    assert kubectl("cordon", node_name).strip() == f"node/{node_name} cordoned"
    assert kubectl("get", "node", node_name).splitlines()[1].split()[1] == "Ready,SchedulingDisabled"
    assert kubectl("uncordon", node_name).strip() == f"node/{node_name} uncordoned"
    assert kubectl("label", "node", node_name, "zone=a").strip() == f"node/{node_name} labeled"
    assert (
        kubectl("taint", "node", node_name, "dedicated=gpu:NoSchedule").strip() == f"node/{node_name} tainted"
    )
    with server.client() as api:
        node = api.get(f"{NODES}/{node_name}").json()
    assert node["metadata"]["labels"]["zone"] == "a"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    assert "unschedulable" not in node["spec"]
    ns = f"t-{uuid.uuid4().hex[:10]}"
    with server.client() as api:
        create(api, ns, pod_manifest("web"))
        binding = {"metadata": {"name": "web"}, "target": {"name": node_name}}
        assert api.post(f"/api/v1/namespaces/{ns}/pods/web/binding", json=binding).status_code == 201
    described = kubectl("describe", "node", node_name)
    assert "Kubelet Version:            v1.32.0" in described
    assert "Non-terminated Pods:          (1 in total)" in described
    assert f"  {ns}" in described and "web" in described
