"""coordination.k8s.io/v1 Leases: what kubelets renew per node, and what ``kubectl describe
node`` shows of it."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from .conftest import Server

LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


def node_lease(name: str, **spec: object) -> dict:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"renewTime": "2026-12-07T01:00:00.123456+00:00", "leaseDurationSeconds": 40,
                 "holderIdentity": name, "strategy": "OldestEmulationVersion", **spec},
    }  # fmt: skip


def test_a_node_lease_is_kept_in_go_field_order_and_renewed(api: httpx.Client) -> None:
    name = f"node-{uuid.uuid4().hex[:8]}"
    created = api.post(LEASES, json=node_lease(name))
    assert created.status_code == 201, created.text
    lease = created.json()
    assert (lease["apiVersion"], lease["kind"]) == ("coordination.k8s.io/v1", "Lease")
    assert lease["spec"] == {  # Go's order; MicroTime in UTC; the alpha strategy dropped (1.32)
        "holderIdentity": name,
        "leaseDurationSeconds": 40,
        "renewTime": "2026-12-07T01:00:00.123456Z",
    }
    renew = {"spec": {"renewTime": "2026-12-07T01:00:10.000001Z"}}
    patched = api.patch(
        f"{LEASES}/{name}", json=renew, headers={"content-type": "application/merge-patch+json"}
    )
    assert patched.json()["spec"]["renewTime"] == "2026-12-07T01:00:10.000001Z"
    listed = api.get(LEASES, params={"fieldSelector": f"metadata.name={name}"}).json()
    assert (listed["kind"], [i["metadata"]["name"] for i in listed["items"]]) == ("LeaseList", [name])


def test_bad_leases_get_the_apiservers_errors(api: httpx.Client) -> None:
    response = api.post(LEASES, json=node_lease("bad", leaseDurationSeconds=0, leaseTransitions=-1))
    assert response.status_code == 422
    assert response.json()["message"] == (
        'Lease.coordination.k8s.io "bad" is invalid: [spec.leaseDurationSeconds: Invalid value: 0: must be '
        "greater than 0, spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0]"
    )
    missing = api.get(f"{LEASES}/nope")
    assert (missing.status_code, missing.json()["message"]) == (
        404,
        'leases.coordination.k8s.io "nope" not found',
    )
    wrong_field = api.get(LEASES, params={"fieldSelector": "spec.holderIdentity=x"})
    assert wrong_field.json()["message"] == "field label not supported: spec.holderIdentity"


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_shows_leases_and_a_nodes_lease(server: Server, tmp_path: Path) -> None:
    name = f"node-{uuid.uuid4().hex[:8]}"
    with server.client() as api:
        api.post("/api/v1/nodes", json={"metadata": {"name": name}}).raise_for_status()
        api.post(LEASES, json=node_lease(name)).raise_for_status()

    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    rows = {
        line.split()[0]: line.split()
        for line in kubectl("get", "leases", "-n", "kube-node-lease").splitlines()
    }
    assert rows["NAME"] == ["NAME", "HOLDER", "AGE"] and rows[name][1] == name
    described = kubectl("describe", "node", name)
    assert "Failed to get lease" not in described
    lease_section = described[described.index("Lease:") :].splitlines()
    assert lease_section[1].split() == ["HolderIdentity:", name]
