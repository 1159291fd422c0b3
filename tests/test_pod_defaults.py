"""v1 Pod defaulting, QoS class and pod IP mirroring (pod-semantics.md §1)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from watchcache.kinds.pods.defaults import apply_defaults, image_pull_policy, qos_class, sync_pod_ips

DIGEST = "sha256:" + "a" * 64


def _defaulted(spec: dict[str, Any]) -> dict[str, Any]:
    pod = {"metadata": {"name": "web"}, "spec": spec}
    apply_defaults(pod)
    return pod["spec"]


def _container(**fields: Any) -> dict[str, Any]:
    return {"name": "web", "image": "nginx", **fields}


def test_minimal_pod_gets_exactly_the_documented_defaults() -> None:
    pod = {"metadata": {"name": "web"}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}
    apply_defaults(pod)
    assert pod == {
        "metadata": {"name": "web"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "Always",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "enableServiceLinks": True,
        },
    }


def test_defaulting_twice_changes_nothing() -> None:
    pod = {
        "metadata": {"name": "web"},
        "spec": {
            "hostNetwork": True,
            "containers": [
                _container(
                    ports=[{"containerPort": 80}],
                    resources={"limits": {"cpu": "0.0001"}},
                    livenessProbe={"httpGet": {"port": 80}},
                )
            ],
            "volumes": [{"name": "a"}, {"name": "b", "secret": {"secretName": "s"}}],
        },
    }
    apply_defaults(pod)
    once = copy.deepcopy(pod)
    apply_defaults(pod)
    assert pod == once


def test_pod_without_spec_gets_a_defaulted_spec() -> None:
    pod: dict[str, Any] = {"metadata": {"name": "web"}}
    apply_defaults(pod)
    assert pod["spec"]["restartPolicy"] == "Always"


@pytest.mark.parametrize(
    ("field", "explicit"),
    [
        ("restartPolicy", "Never"),
        ("dnsPolicy", "Default"),
        ("terminationGracePeriodSeconds", 0),
        ("schedulerName", "my-scheduler"),
        ("securityContext", {"runAsUser": 1000}),
        ("enableServiceLinks", False),
    ],
)
def test_explicit_pod_fields_are_kept(field: str, explicit: Any) -> None:
    assert _defaulted({"containers": [_container()], field: explicit})[field] == explicit


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("library/nginx", "Always"),
        ("registry.example.com/team/app", "Always"),
        ("localhost:5000/nginx", "Always"),
        ("Registry.Example.com:443/a/b", "Always"),
        (f"nginx:latest@{DIGEST}", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("localhost:5000/nginx:1", "IfNotPresent"),
        (f"repo@{DIGEST}", "IfNotPresent"),
        ("nginx:Latest", "IfNotPresent"),
        ("Nginx", "IfNotPresent"),
        ("", "IfNotPresent"),
        (" nginx", "IfNotPresent"),
        ("nginx@sha256:abc", "IfNotPresent"),
        ("nginx:bad/tag", "IfNotPresent"),
        ("a" * 64, "IfNotPresent"),
        ("x" * 256, "IfNotPresent"),
        ("a" * 5000 + "!", "IfNotPresent"),
    ],
)
def test_image_pull_policy_follows_the_image_reference_rule(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy
    assert _defaulted({"containers": [_container(image=image)]})["containers"][0]["imagePullPolicy"] == policy


@pytest.mark.parametrize("list_name", ["containers", "initContainers", "ephemeralContainers"])
def test_every_container_kind_gets_container_defaults(list_name: str) -> None:
    spec = _defaulted({"containers": [_container(name="main")], list_name: [_container()]})
    container = spec[list_name][-1]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["imagePullPolicy"] == "Always"
    assert container["resources"] == {}


def test_explicit_container_fields_are_kept() -> None:
    container = _container(
        terminationMessagePath="/tmp/x",
        terminationMessagePolicy="FallbackToLogsOnError",
        imagePullPolicy="Never",
    )
    assert _defaulted({"containers": [dict(container)]})["containers"][0] == {**container, "resources": {}}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        (None, {}),
        ({"limits": {"cpu": "1"}}, {"limits": {"cpu": "1"}, "requests": {"cpu": "1"}}),
        (
            {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}},
            {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m", "memory": "1Gi"}},
        ),
        ({"requests": {"memory": "64Mi"}}, {"requests": {"memory": "64Mi"}}),
        ({"limits": {}}, {"limits": {}}),
        (
            {"limits": {"cpu": "0.0001"}, "requests": {"memory": "1.5Ki"}},
            {"limits": {"cpu": "1m"}, "requests": {"memory": "1.5Ki", "cpu": "1m"}},
        ),
    ],
)
def test_requests_default_to_limits_and_quantities_round_up_to_milli(
    resources: dict[str, Any] | None, expected: dict[str, Any]
) -> None:
    container = _container() if resources is None else _container(resources=resources)
    spec = _defaulted({"containers": [container], "initContainers": [copy.deepcopy(container)]})
    assert spec["containers"][0]["resources"] == expected
    assert spec["initContainers"][0]["resources"] == expected


def test_ephemeral_containers_do_not_copy_limits_into_requests() -> None:
    spec = _defaulted(
        {
            "containers": [_container(name="main")],
            "ephemeralContainers": [_container(resources={"limits": {"cpu": "1"}})],
        }
    )
    assert spec["ephemeralContainers"][0]["resources"] == {"limits": {"cpu": "1"}}


@pytest.mark.parametrize("probe_name", ["livenessProbe", "readinessProbe", "startupProbe"])
def test_probes_get_timing_and_http_defaults(probe_name: str) -> None:
    spec = _defaulted({"containers": [_container(**{probe_name: {"httpGet": {"port": 80}}})]})
    assert spec["containers"][0][probe_name] == {
        "httpGet": {"port": 80, "path": "/", "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }


def test_explicit_probe_values_are_kept() -> None:
    probe = {
        "tcpSocket": {"port": 80},
        "timeoutSeconds": 5,
        "periodSeconds": 2,
        "successThreshold": 1,
        "failureThreshold": 7,
    }
    spec = _defaulted({"containers": [_container(readinessProbe=dict(probe))]})
    assert spec["containers"][0]["readinessProbe"] == probe


def test_grpc_probe_service_and_lifecycle_http_get_are_defaulted() -> None:
    spec = _defaulted(
        {
            "containers": [
                _container(
                    livenessProbe={"grpc": {"port": 9000}},
                    lifecycle={"preStop": {"httpGet": {"port": 80, "path": "/stop"}}},
                )
            ]
        }
    )
    container = spec["containers"][0]
    assert container["livenessProbe"]["grpc"] == {"port": 9000, "service": ""}
    assert container["lifecycle"]["preStop"]["httpGet"] == {"port": 80, "path": "/stop", "scheme": "HTTP"}


def test_container_ports_default_to_tcp() -> None:
    spec = _defaulted(
        {"containers": [_container(ports=[{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}])]}
    )
    assert [p["protocol"] for p in spec["containers"][0]["ports"]] == ["TCP", "UDP"]


@pytest.mark.parametrize(
    ("host_network", "port", "expected_host_port"),
    [
        (True, {"containerPort": 80}, 80),
        (True, {"containerPort": 80, "hostPort": 8080}, 8080),
        (False, {"containerPort": 80}, None),
    ],
)
def test_host_network_sets_host_port_to_container_port(
    host_network: bool, port: dict[str, Any], expected_host_port: int | None
) -> None:
    spec = _defaulted({"hostNetwork": host_network, "containers": [_container(ports=[port])]})
    assert spec["containers"][0]["ports"][0].get("hostPort") == expected_host_port


def test_env_field_ref_api_version_defaults_to_v1() -> None:
    spec = _defaulted(
        {
            "containers": [
                _container(env=[{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}])
            ]
        }
    )
    assert spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"] == {
        "fieldPath": "spec.nodeName",
        "apiVersion": "v1",
    }


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        ({"name": "v"}, {"name": "v", "emptyDir": {}}),
        ({"name": "v", "secret": None}, {"name": "v", "secret": None, "emptyDir": {}}),
        ({"name": "v", "emptyDir": {"medium": "Memory"}}, {"name": "v", "emptyDir": {"medium": "Memory"}}),
        (
            {"name": "v", "secret": {"secretName": "s"}},
            {"name": "v", "secret": {"secretName": "s", "defaultMode": 420}},
        ),
        (
            {"name": "v", "configMap": {"name": "c", "defaultMode": 256}},
            {"name": "v", "configMap": {"name": "c", "defaultMode": 256}},
        ),
        (
            {"name": "v", "configMap": {"name": "c"}},
            {"name": "v", "configMap": {"name": "c", "defaultMode": 420}},
        ),
        (
            {
                "name": "v",
                "downwardAPI": {"items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name"}}]},
            },
            {
                "name": "v",
                "downwardAPI": {
                    "defaultMode": 420,
                    "items": [{"path": "n", "fieldRef": {"fieldPath": "metadata.name", "apiVersion": "v1"}}],
                },
            },
        ),
        (
            {"name": "v", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
            {
                "name": "v",
                "projected": {
                    "defaultMode": 420,
                    "sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 3600}}],
                },
            },
        ),
        (
            {"name": "v", "hostPath": {"path": "/data"}},
            {"name": "v", "hostPath": {"path": "/data", "type": ""}},
        ),
        (
            {"name": "v", "persistentVolumeClaim": {"claimName": "c"}},
            {"name": "v", "persistentVolumeClaim": {"claimName": "c"}},
        ),
    ],
)
def test_volume_sources_get_their_defaults(volume: dict[str, Any], expected: dict[str, Any]) -> None:
    assert _defaulted({"containers": [_container()], "volumes": [volume]})["volumes"] == [expected]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"serviceAccount": "old"}, {"serviceAccount": "old", "serviceAccountName": "old"}),
        ({"serviceAccountName": "new"}, {"serviceAccount": "new", "serviceAccountName": "new"}),
        (
            {"serviceAccountName": "new", "serviceAccount": "old"},
            {"serviceAccount": "new", "serviceAccountName": "new"},
        ),
        ({}, {}),
    ],
)
def test_deprecated_service_account_mirrors_service_account_name(
    given: dict[str, str], expected: dict[str, str]
) -> None:
    spec = _defaulted({"containers": [_container()], **given})
    assert {k: spec[k] for k in ("serviceAccount", "serviceAccountName") if k in spec} == expected


def _resources(
    cpu: str | None = None, memory: str | None = None, *, requests: bool = False
) -> dict[str, Any]:
    values = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"requests" if requests else "limits": values}


@pytest.mark.parametrize(
    ("containers", "init_containers", "qos"),
    [
        ([{}], [], "BestEffort"),
        ([_resources("0", "0")], [], "BestEffort"),
        ([_resources("0", requests=True)], [], "BestEffort"),
        ([{"limits": {"nvidia.com/gpu": "1"}}], [], "BestEffort"),
        ([_resources("100m", requests=True)], [], "Burstable"),
        ([_resources("1")], [], "Burstable"),
        ([_resources("1", "1Gi")], [], "Guaranteed"),
        (
            [{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "1000m", "memory": "1Gi"}}],
            [],
            "Guaranteed",
        ),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}}], [], "Burstable"),
        ([{"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "0"}}], [], "Burstable"),
        ([_resources("1", "1Gi"), {}], [], "Burstable"),
        ([_resources("1", "1Gi")], [{}], "Burstable"),
        ([_resources("1", "1Gi")], [_resources("2", "2Gi")], "Guaranteed"),
        ([{}], [_resources("1", requests=True)], "Burstable"),
        ([_resources("garbage", "1Gi")], [], "Burstable"),
    ],
)
def test_qos_class_follows_requests_and_limits(
    containers: list[dict[str, Any]], init_containers: list[dict[str, Any]], qos: str
) -> None:
    spec = {
        "containers": [_container(name=f"c{i}", resources=r) for i, r in enumerate(containers)],
        "initContainers": [_container(name=f"i{i}", resources=r) for i, r in enumerate(init_containers)],
    }
    assert qos_class({"spec": spec}) == qos
    assert qos_class({"spec": _defaulted(copy.deepcopy(spec))}) == qos


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"podIP": "10.1.2.3"}, {"podIP": "10.1.2.3", "podIPs": [{"ip": "10.1.2.3"}]}),
        (
            {"podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00::1"}]},
            {"podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00::1"}], "podIP": "10.1.2.3"},
        ),
        (
            {"podIP": "10.9.9.9", "podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00::1"}]},
            {"podIP": "10.9.9.9", "podIPs": [{"ip": "10.9.9.9"}]},
        ),
        (
            {"podIP": "10.1.2.3", "podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00::1"}]},
            {"podIP": "10.1.2.3", "podIPs": [{"ip": "10.1.2.3"}, {"ip": "fd00::1"}]},
        ),
        ({"hostIP": "192.168.0.1"}, {"hostIP": "192.168.0.1", "hostIPs": [{"ip": "192.168.0.1"}]}),
        (
            {"hostIP": "192.168.0.9", "hostIPs": [{"ip": "192.168.0.1"}]},
            {"hostIP": "192.168.0.9", "hostIPs": [{"ip": "192.168.0.9"}]},
        ),
        ({"hostIPs": [{"ip": "192.168.0.1"}]}, {"hostIPs": [{"ip": "192.168.0.1"}], "hostIP": "192.168.0.1"}),
        ({"phase": "Pending"}, {"phase": "Pending"}),
    ],
)
def test_singular_pod_and_host_ip_are_authoritative(status: dict[str, Any], expected: dict[str, Any]) -> None:
    sync_pod_ips(status)
    assert status == expected
