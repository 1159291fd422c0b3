"""Protobuf request bodies (what kubectl's typed creates send), read into their JSON form."""

from __future__ import annotations

import httpx
import pytest

from watchcache.kinds.namespaces.protobuf import NAMESPACE_MESSAGE
from watchcache.machinery.protobuf import MAGIC, ProtobufError, decode_body

from .conftest import pod_manifest

PROTOBUF = {"content-type": "application/vnd.kubernetes.protobuf"}
# What kubectl 1.32 sends for `kubectl create namespace demo` (captured): every string field of
# ObjectMeta written, empty; an empty Time; an empty spec; a status with an empty phase.
KUBECTL_CREATE_NS = (
    b'k8s\x00\n\x0f\n\x02v1\x12\tNamespace\x12\x1c\n\x14\n\x04demo\x12\x00\x1a\x00"\x00*\x002\x008\x00'
    b'B\x00\x12\x00\x1a\x02\n\x00\x1a\x00"\x00'
)


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def envelope(obj: bytes, kind: bytes = b"Namespace", api_version: bytes = b"v1") -> bytes:
    return MAGIC + field(1, field(1, api_version) + field(2, kind)) + field(2, obj)


def reference(ns: str, name: str) -> bytes:
    return field(1, b"Pod") + field(2, ns.encode()) + field(3, name.encode()) + field(5, b"v1")


def test_kubectls_create_namespace_body_reads_as_its_json() -> None:
    assert decode_body(KUBECTL_CREATE_NS, NAMESPACE_MESSAGE) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": "demo"},
    }


def test_maps_repeated_fields_times_and_unknown_fields() -> None:
    label = field(11, field(1, b"team") + field(2, b"a"))
    created = field(8, field(1, 1_700_000_000) + field(2, 5))
    meta = field(1, b"ns1") + label + field(14, b"example.com/x") + field(14, b"example.com/y") + created
    meta += field(99, b"ignored")  # a field this table does not know: skipped, as protobuf readers do
    body = envelope(field(1, meta) + field(2, field(1, b"kubernetes")) + field(3, field(1, b"Active")))
    assert decode_body(body, NAMESPACE_MESSAGE) == {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {
            "name": "ns1",
            "labels": {"team": "a"},
            "finalizers": ["example.com/x", "example.com/y"],
            "creationTimestamp": "2023-11-14T22:13:20Z",
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"kind":"Namespace"}', "magic number"),
        (MAGIC + b"\x0a\x05ab", "truncated field"),  # a length running past the end
        (MAGIC + b"\x08\xff\xff", "truncated varint"),
        (MAGIC + b"\x0b", "wire type"),  # group start: not a Kubernetes encoding
    ],
)
def test_malformed_bodies_are_refused(body: bytes, problem: str) -> None:
    with pytest.raises(ProtobufError, match=problem):
        decode_body(body, NAMESPACE_MESSAGE)


def test_a_protobuf_namespace_is_created_and_bad_ones_get_400(api: httpx.Client, ns: str) -> None:
    meta = field(1, ns.encode()) + field(11, field(1, b"team") + field(2, b"a"))
    created = api.post("/api/v1/namespaces", content=envelope(field(1, meta)), headers=PROTOBUF)
    assert created.status_code == 201, created.text
    assert created.json()["metadata"]["labels"] == {"team": "a", "kubernetes.io/metadata.name": ns}
    assert created.json()["spec"] == {"finalizers": ["kubernetes"]}
    bad = api.post("/api/v1/namespaces", content=MAGIC + b"\x0a\x05ab", headers=PROTOBUF)
    assert bad.status_code == 400
    assert (
        bad.json()["message"]
        == "the object provided is unrecognized (must be of type Namespace): truncated field"
    )


def test_kinds_without_a_field_table_refuse_protobuf(api: httpx.Client, ns: str) -> None:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", content=KUBECTL_CREATE_NS, headers=PROTOBUF)
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"
    assert api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("web")).status_code == 201


def test_a_protobuf_binding_binds_the_pod(api: httpx.Client, ns: str) -> None:
    """client-go's typed clients (schedulers) post bindings as protobuf."""
    api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("web")).raise_for_status()
    binding = field(1, field(1, b"web")) + field(2, field(1, b"Node") + field(3, b"node-7"))
    response = api.post(
        f"/api/v1/namespaces/{ns}/pods/web/binding", content=envelope(binding, b"Binding"), headers=PROTOBUF
    )
    assert response.status_code == 201, response.text
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").json()["spec"]["nodeName"] == "node-7"
    broken = api.post(f"/api/v1/namespaces/{ns}/pods/web/binding", content=b"nope", headers=PROTOBUF)
    assert broken.status_code == 400


def test_a_kubelets_protobuf_event_is_created(api: httpx.Client, ns: str) -> None:
    """A kubelet's recorder posts core/v1 Events as protobuf: every string written, even empty,
    and a zero eventTime (an old-style event)."""
    seen = field(1, 1_765_000_000)
    event = (
        field(1, field(1, b"web.1") + field(3, ns.encode()))
        + field(2, reference(ns, "web"))
        + field(3, b"Pulled") + field(4, b"Container image pulled")
        + field(5, field(1, b"kubelet") + field(2, b"node-1"))
        + field(6, seen) + field(7, seen) + field(8, 1) + field(9, b"Normal")
        + field(10, b"") + field(12, b"") + field(14, b"kubelet") + field(15, b"node-1")
    )  # fmt: skip
    response = api.post(
        f"/api/v1/namespaces/{ns}/events", content=envelope(event, b"Event"), headers=PROTOBUF
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["involvedObject"] == {"kind": "Pod", "namespace": ns, "name": "web", "apiVersion": "v1"}
    assert (created["source"], created["count"]) == ({"component": "kubelet", "host": "node-1"}, 1)
    assert (created["firstTimestamp"], created["eventTime"]) == ("2025-12-06T05:46:40Z", None)
    assert "action" not in created


def test_a_schedulers_protobuf_events_k8s_io_event_is_created(api: httpx.Client, ns: str) -> None:
    """kube-scheduler's recorder posts events.k8s.io/v1 Events as protobuf, with a MicroTime."""
    event = (
        field(1, field(1, b"web.2") + field(3, ns.encode()))
        + field(2, field(1, 1_765_000_000) + field(2, 123_456_789))
        + field(4, b"default-scheduler") + field(5, b"default-scheduler-node-1")
        + field(6, b"Binding") + field(7, b"Scheduled") + field(8, reference(ns, "web"))
        + field(10, b"Successfully assigned") + field(11, b"Normal")
    )  # fmt: skip
    body = envelope(event, b"Event", b"events.k8s.io/v1")
    response = api.post(f"/apis/events.k8s.io/v1/namespaces/{ns}/events", content=body, headers=PROTOBUF)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["eventTime"] == "2025-12-06T05:46:40.123456Z"
    assert (created["regarding"]["name"], created["note"]) == ("web", "Successfully assigned")
    core = api.get(f"/api/v1/namespaces/{ns}/events/web.2").json()
    assert core["reportingComponent"] == "default-scheduler"
