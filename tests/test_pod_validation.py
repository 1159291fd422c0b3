"""Pod validation: create and update field errors (pod-semantics.md §2 and §3)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from watchcache.kinds.pods.defaults import apply_defaults
from watchcache.kinds.pods.validation import validate_pod, validate_pod_create
from watchcache.kinds.pods.validation_update import validate_pod_update
from watchcache.kinds.pods.warnings import create_warnings
from watchcache.machinery import errors
from watchcache.machinery.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    path_segment_name_errors,
    qualified_name_errors,
)

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SPEC_FORBIDDEN = (
    "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
    "to 1 if it was previously negative)\n"
)

Mutation = Callable[[dict[str, Any]], Any]


def _pod(mutate: Mutation | None = None) -> dict[str, Any]:
    """A valid, defaulted pod as the API layer hands it to validation."""
    pod: dict[str, Any] = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    }
    if mutate is not None:
        mutate(pod)
    apply_defaults(pod)
    return pod


def _texts(errs: list[errors.FieldError]) -> list[str]:
    return [e.text() for e in errs]


def _meta(**fields: Any) -> Mutation:
    return lambda pod: pod["metadata"].update(fields)


def _spec(**fields: Any) -> Mutation:
    return lambda pod: pod["spec"].update(fields)


def _ctr(**fields: Any) -> Mutation:
    return lambda pod: pod["spec"]["containers"][0].update(fields)


def _drop_meta(field: str) -> Mutation:
    return lambda pod: pod["metadata"].pop(field)


# --- the 422 envelope --------------------------------------------------------------------------


def test_invalid_pod_status_matches_the_documented_422_exactly() -> None:
    pod = _pod(lambda p: (_ctr(image="")(p), _spec(restartPolicy="Sometimes")(p)))
    status = errors.invalid("Pod", "web", validate_pod_create(pod)).status()
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Pod "web" is invalid: [spec.containers[0].image: Required value, '
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
        '"Always", "OnFailure", "Never"]',
        "reason": "Invalid",
        "details": {
            "name": "web",
            "kind": "Pod",
            "causes": [
                {
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                    "field": "spec.containers[0].image",
                },
                {
                    "reason": "FieldValueNotSupported",
                    "message": 'Unsupported value: "Sometimes": supported values: "Always", '
                    '"OnFailure", "Never"',
                    "field": "spec.restartPolicy",
                },
            ],
        },
        "code": 422,
    }


def test_minimal_defaulted_pod_is_valid() -> None:
    assert validate_pod_create(_pod()) == []


# --- create: one row per rule of §2 ------------------------------------------------------------

LONG = "a" * 254
BIG_ANNOTATION = "x" * 262144


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            _drop_meta("name"),
            ["metadata.name: Required value: name or generateName is required"],
            id="name-missing",
        ),
        pytest.param(
            _meta(name="Web_1"), [f'metadata.name: Invalid value: "Web_1": {SUBDOMAIN_MSG}'], id="name-bad"
        ),
        pytest.param(
            _meta(name=LONG),
            [f'metadata.name: Invalid value: "{LONG}": must be no more than 253 characters'],
            id="name-too-long",
        ),
        pytest.param(
            _meta(name="web\n"),
            [f'metadata.name: Invalid value: "web\\n": {SUBDOMAIN_MSG}'],
            id="name-trailing-newline",
        ),
        pytest.param(_meta(generateName="web-"), [], id="generate-name-trailing-dash-ok"),
        pytest.param(
            _meta(generateName="Web-"),
            [f'metadata.generateName: Invalid value: "Web-": {SUBDOMAIN_MSG}'],
            id="generate-name-bad",
        ),
        pytest.param(
            _meta(namespace="Foo"), [f'metadata.namespace: Invalid value: "Foo": {LABEL_MSG}'], id="namespace"
        ),
        pytest.param(_drop_meta("namespace"), ["metadata.namespace: Required value"], id="namespace-missing"),
        pytest.param(
            _meta(labels={"-bad": "x"}),
            [f'metadata.labels: Invalid value: "-bad": {NAME_PART_MSG}'],
            id="label-key",
        ),
        pytest.param(
            _meta(labels={"/x": "y"}),
            ['metadata.labels: Invalid value: "/x": prefix part must be non-empty'],
            id="label-key-empty-prefix",
        ),
        pytest.param(
            _meta(labels={"Ex.com/x": "y"}),
            [f'metadata.labels: Invalid value: "Ex.com/x": prefix part {SUBDOMAIN_MSG}'],
            id="label-key-bad-prefix",
        ),
        pytest.param(
            _meta(labels={"a" * 64: "y"}),
            [f'metadata.labels: Invalid value: "{"a" * 64}": name part must be no more than 63 characters'],
            id="label-key-too-long",
        ),
        pytest.param(
            _meta(labels={"app": "-x"}),
            [f'metadata.labels: Invalid value: "-x": {LABEL_VALUE_MSG}'],
            id="label-value",
        ),
        pytest.param(_meta(labels={"app": "", "example.com/MyName": "v.1"}), [], id="labels-ok"),
        pytest.param(_meta(annotations={"Example.COM/Key": "v"}), [], id="annotation-key-case-insensitive"),
        pytest.param(
            _meta(annotations={"a": BIG_ANNOTATION}),
            ["metadata.annotations: Too long: may not be more than 262144 bytes"],
            id="annotations-too-large",
        ),
        pytest.param(_meta(annotations={"a": BIG_ANNOTATION[:-1]}), [], id="annotations-at-limit"),
        pytest.param(
            _meta(finalizers=["example.com/x", "a/b/c"]),
            [
                'metadata.finalizers: Invalid value: "a/b/c": a qualified name must consist '
                "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
                "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
                "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an "
                "optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ],
            id="finalizer",
        ),
        pytest.param(_spec(containers=[]), ["spec.containers: Required value"], id="no-containers"),
        pytest.param(_ctr(name=""), ["spec.containers[0].name: Required value"], id="container-name-empty"),
        pytest.param(
            _ctr(name="Web"),
            [f'spec.containers[0].name: Invalid value: "Web": {LABEL_MSG}'],
            id="container-name-bad",
        ),
        pytest.param(_ctr(image=""), ["spec.containers[0].image: Required value"], id="image"),
        pytest.param(
            _ctr(terminationMessagePolicy="X"),
            [
                'spec.containers[0].terminationMessagePolicy: Unsupported value: "X": '
                'supported values: "File", "FallbackToLogsOnError"'
            ],
            id="tmp",
        ),
        pytest.param(
            _ctr(ports=[{"containerPort": 0}]),
            ["spec.containers[0].ports[0].containerPort: Required value"],
            id="port-zero",
        ),
        pytest.param(
            _ctr(ports=[{"containerPort": 70000}]),
            [
                "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be "
                "between 1 and 65535, inclusive"
            ],
            id="port-range",
        ),
        pytest.param(
            _ctr(ports=[{"containerPort": 80, "protocol": "HTTP"}]),
            [
                'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported '
                'values: "SCTP", "TCP", "UDP"'
            ],
            id="port-protocol",
        ),
        pytest.param(
            _ctr(ports=[{"containerPort": 80, "name": "http"}, {"containerPort": 81, "name": "http"}]),
            ['spec.containers[0].ports[1].name: Duplicate value: "http"'],
            id="port-name-duplicate",
        ),
        pytest.param(
            _ctr(ports=[{"containerPort": 80, "name": "8080"}]),
            [
                'spec.containers[0].ports[0].name: Invalid value: "8080": must contain at '
                "least one letter (a-z)"
            ],
            id="port-name",
        ),
        pytest.param(
            _ctr(env=[{"name": ""}, {"name": "A=B"}]),
            [
                "spec.containers[0].env[0].name: Required value",
                'spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment '
                "variable name must consist only of printable ASCII characters other than "
                "'='",
            ],
            id="env-names",
        ),
        pytest.param(
            _ctr(volumeMounts=[{"name": "data", "mountPath": "/data"}]),
            ['spec.containers[0].volumeMounts[0].name: Not found: "data"'],
            id="mount-unknown-volume",
        ),
        pytest.param(
            lambda p: (
                _spec(volumes=[{"name": "data"}])(p),
                _ctr(volumeMounts=[{"name": "data", "mountPath": "/d"}, {"name": "data", "mountPath": "/d"}])(
                    p
                ),
            ),
            ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique'],
            id="mount-path-duplicate",
        ),
        pytest.param(
            _ctr(imagePullPolicy="X"),
            [
                'spec.containers[0].imagePullPolicy: Unsupported value: "X": supported '
                'values: "Always", "IfNotPresent", "Never"'
            ],
            id="pull-policy",
        ),
        pytest.param(
            _ctr(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}}),
            [
                'spec.containers[0].resources.requests: Invalid value: "2": must be less '
                "than or equal to cpu limit of 1"
            ],
            id="request-above-limit",
        ),
        pytest.param(
            _ctr(resources={"limits": {"example.com/gpu": "2"}, "requests": {"example.com/gpu": "1"}}),
            [
                'spec.containers[0].resources.requests: Invalid value: "1": must be equal '
                "to example.com/gpu limit of 2"
            ],
            id="extended-resource-request",
        ),
        pytest.param(
            _ctr(resources={"requests": {"memory": "-1"}}),
            [
                'spec.containers[0].resources.requests[memory]: Invalid value: "-1": must '
                "be greater than or equal to 0"
            ],
            id="negative-quantity",
        ),
        pytest.param(
            _ctr(resources={"requests": {"memory": "lots"}}),
            [
                'spec.containers[0].resources.requests[memory]: Invalid value: "lots": '
                "quantities must match the regular expression "
                "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
            ],
            id="bad-quantity",
        ),
        pytest.param(
            lambda p: p["spec"]["containers"].append({"name": "web", "image": "x"}),
            ['spec.containers[1].name: Duplicate value: "web"'],
            id="duplicate-name",
        ),
        pytest.param(
            _ctr(livenessProbe={"periodSeconds": 5}),
            ["spec.containers[0].livenessProbe: Required value: must specify a handler type"],
            id="probe-without-handler",
        ),
        pytest.param(
            _ctr(restartPolicy="Always"),
            ["spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"],
            id="container-restart-policy",
        ),
        pytest.param(
            _spec(initContainers=[{"name": "web", "image": "busybox"}]),
            ['spec.initContainers[0].name: Duplicate value: "web"'],
            id="init-name-clash",
        ),
        pytest.param(
            _spec(initContainers=[{"name": "init", "image": "busybox", "restartPolicy": "Never"}]),
            ['spec.initContainers[0].restartPolicy: Unsupported value: "Never": supported values: "Always"'],
            id="init-restart-policy",
        ),
        pytest.param(
            _spec(
                initContainers=[
                    {"name": "init", "image": "busybox", "readinessProbe": {"exec": {"command": ["true"]}}}
                ]
            ),
            [
                "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init "
                "containers without restartPolicy=Always"
            ],
            id="init-probe",
        ),
        pytest.param(
            _spec(
                initContainers=[
                    {
                        "name": "side",
                        "image": "envoy",
                        "restartPolicy": "Always",
                        "readinessProbe": {"exec": {"command": ["true"]}},
                    }
                ]
            ),
            [],
            id="sidecar-probe-ok",
        ),
        pytest.param(
            _spec(volumes=[{"name": "Data"}, {"name": "x"}, {"name": "x"}]),
            [
                f'spec.volumes[0].name: Invalid value: "Data": {LABEL_MSG}',
                'spec.volumes[2].name: Duplicate value: "x"',
            ],
            id="volume-names",
        ),
        pytest.param(
            _spec(volumes=[{"name": "v", "emptyDir": {}, "hostPath": {"path": "/"}}]),
            ["spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"],
            id="two-volume-sources",
        ),
        pytest.param(
            lambda p: (_spec(hostNetwork=True)(p), _ctr(ports=[{"containerPort": 80, "hostPort": 81}])(p)),
            [
                "spec.containers[0].ports[0].hostPort: Invalid value: 81: must match "
                "`containerPort` when `hostNetwork` is true"
            ],
            id="host-network-port",
        ),
        pytest.param(
            _spec(restartPolicy="Sometimes"),
            [
                'spec.restartPolicy: Unsupported value: "Sometimes": supported values: '
                '"Always", "OnFailure", "Never"'
            ],
            id="restart-policy",
        ),
        pytest.param(
            _spec(dnsPolicy="X"),
            [
                'spec.dnsPolicy: Unsupported value: "X": supported values: '
                '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'
            ],
            id="dns-policy",
        ),
        pytest.param(
            _spec(dnsPolicy="None"),
            ["spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"],
            id="dns-none-without-config",
        ),
        pytest.param(
            _spec(nodeSelector={"disk": "s s"}),
            [f'spec.nodeSelector: Invalid value: "s s": {LABEL_VALUE_MSG}'],
            id="node-selector",
        ),
        pytest.param(
            _spec(schedulingGates=[{"name": "a"}, {"name": "a"}]),
            ['spec.schedulingGates[1].name: Duplicate value: "a"'],
            id="gate-duplicate",
        ),
        pytest.param(
            _spec(serviceAccountName="My_SA"),
            [f'spec.serviceAccountName: Invalid value: "My_SA": {SUBDOMAIN_MSG}'],
            id="service-account-name",
        ),
        pytest.param(
            _spec(nodeName="Node_1"),
            [f'spec.nodeName: Invalid value: "Node_1": {SUBDOMAIN_MSG}'],
            id="node-name",
        ),
        pytest.param(
            _spec(activeDeadlineSeconds=0),
            ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
            id="active-deadline",
        ),
        pytest.param(
            _spec(hostname="Host"), [f'spec.hostname: Invalid value: "Host": {LABEL_MSG}'], id="hostname"
        ),
        pytest.param(
            _spec(subdomain="a.b"), [f'spec.subdomain: Invalid value: "a.b": {LABEL_MSG}'], id="subdomain"
        ),
        pytest.param(
            _spec(tolerations=[{"key": "k", "operator": "X"}]),
            ['spec.tolerations[0].operator: Unsupported value: "X": supported values: "Equal", "Exists"'],
            id="toleration-operator",
        ),
        pytest.param(
            _spec(tolerations=[{"operator": "Equal"}]),
            [
                'spec.tolerations[0].operator: Invalid value: "Equal": operator must be '
                'Exists when `key` is empty, which means "match all values and all keys"'
            ],
            id="toleration-empty-key",
        ),
        pytest.param(
            _spec(
                tolerations=[
                    {"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 5}
                ]
            ),
            [
                'spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be '
                "'NoExecute' when `tolerationSeconds` is set"
            ],
            id="toleration-seconds-effect",
        ),
        pytest.param(_spec(tolerations=[{"operator": "Exists"}]), [], id="toleration-match-all"),
        pytest.param(
            _spec(priorityClassName="High"),
            [f'spec.priorityClassName: Invalid value: "High": {SUBDOMAIN_MSG}'],
            id="priority-class",
        ),
        pytest.param(
            _ctr(image=" nginx"),
            [
                'spec.containers[0].image: Invalid value: " nginx": must not have leading '
                "or trailing whitespace"
            ],
            id="image-whitespace",
        ),
        pytest.param(
            _spec(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]),
            ["spec.ephemeralContainers: Forbidden: cannot be set on create"],
            id="ephemeral-on-create",
        ),
        pytest.param(
            _spec(nodeName="node-1", schedulingGates=[{"name": "example.com/wait"}]),
            ["spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared"],
            id="node-name-while-gated",
        ),
    ],
)
def test_create_rejects_each_rule_with_the_exact_text(mutate: Mutation, expected: list[str]) -> None:
    assert _texts(validate_pod_create(_pod(mutate))) == expected


def test_errors_come_in_kube_apiserver_order() -> None:
    def break_everything(pod: dict[str, Any]) -> None:
        pod["metadata"].update(name="Web", labels={"a": "-"})
        pod["spec"].update(
            restartPolicy="X",
            hostname="H",
            activeDeadlineSeconds=-5,
            initContainers=[{"name": "i", "image": ""}],
            ephemeralContainers=[{"name": "e", "image": "busybox"}],
        )
        pod["spec"]["containers"][0].update(image=" nginx", imagePullPolicy="Y")

    fields = [e.field for e in validate_pod_create(_pod(break_everything))]
    assert fields == [
        "metadata.name",
        "metadata.labels",
        "spec.containers[0].imagePullPolicy",
        "spec.initContainers[0].image",
        "spec.restartPolicy",
        "spec.activeDeadlineSeconds",
        "spec.hostname",
        "spec.containers[0].image",
        "spec.ephemeralContainers",
    ]


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        ({"name": "dbg", "image": "busybox", "targetContainerName": "web"}, []),
        (
            {"name": "dbg", "image": "busybox", "targetContainerName": "nope"},
            ['spec.ephemeralContainers[0].targetContainerName: Not found: "nope"'],
        ),
        ({"name": "web", "image": "busybox"}, ['spec.ephemeralContainers[0].name: Duplicate value: "web"']),
        (
            {"name": "dbg", "image": "busybox", "ports": [{"containerPort": 80}]},
            ["spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container"],
        ),
        (
            {"name": "dbg", "image": "busybox", "resources": {"limits": {"cpu": "1"}}},
            ["spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container"],
        ),
    ],
)
def test_ephemeral_containers_are_validated_like_the_subresource_does(
    container: dict[str, Any], expected: list[str]
) -> None:
    pod = _pod(_spec(ephemeralContainers=[container]))
    assert _texts(validate_pod(pod)) == expected


# --- reusable name helpers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "subdomain", "label"),
    [
        ("web", [], []),
        ("web.example.com", [], [LABEL_MSG]),
        ("a" * 63, [], []),
        ("a" * 64, [], ["must be no more than 63 characters"]),
        ("a" * 254, ["must be no more than 253 characters"], ["must be no more than 63 characters"]),
        ("-web", [SUBDOMAIN_MSG], [LABEL_MSG]),
        ("", [SUBDOMAIN_MSG], [LABEL_MSG]),
        ("web\n", [SUBDOMAIN_MSG], [LABEL_MSG]),
    ],
)
def test_dns1123_helpers_return_apimachinery_messages(
    value: str, subdomain: list[str], label: list[str]
) -> None:
    assert dns1123_subdomain_errors(value) == subdomain
    assert dns1123_label_errors(value) == label


def test_qualified_name_and_label_value_helpers() -> None:
    assert qualified_name_errors("example.com/app") == []
    assert qualified_name_errors("") == ["name part must be non-empty", NAME_PART_MSG]
    assert label_value_errors("") == []
    assert label_value_errors("v" * 64) == ["must be no more than 63 characters"]


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("web", []),
        ("web.1", []),
        (".", ["may not be '.'"]),
        ("..", ["may not be '..'"]),
        ("a/b", ["may not contain '/'"]),
        ("a%2F/b", ["may not contain '/'", "may not contain '%'"]),
        ("...", []),
    ],
)
def test_path_segment_names_reject_dots_slashes_and_percent(name: str, messages: list[str]) -> None:
    assert path_segment_name_errors(name) == messages


@pytest.mark.parametrize(
    ("mutate", "warnings"),
    [
        (None, []),
        (
            _meta(name="web.v1"),
            [
                "metadata.name: this is used in the Pod's hostname, which can result in surprising "
                "behavior; a DNS label is recommended: [must not contain dots]"
            ],
        ),
        (lambda p: (_meta(name="web.v1")(p), _spec(hostname="web")(p)), []),
        (
            _spec(terminationGracePeriodSeconds=-1),
            [
                "spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and "
                "will be treated as 1"
            ],
        ),
        (
            _spec(nodeSelector={"beta.kubernetes.io/arch": "amd64"}),
            [
                "spec.nodeSelector[beta.kubernetes.io/arch]: deprecated since v1.14; use "
                '"kubernetes.io/arch" instead'
            ],
        ),
    ],
)
def test_create_warnings(mutate: Mutation | None, warnings: list[str]) -> None:
    assert create_warnings(_pod(mutate)) == warnings


# --- update ------------------------------------------------------------------------------------


def _update(mutate: Mutation, old_mutate: Mutation | None = None) -> list[str]:
    """Errors of updating a (defaulted) stored pod to its mutated, re-defaulted copy."""
    old = _pod(old_mutate)
    new = copy.deepcopy(old)
    mutate(new)
    apply_defaults(new)
    return _texts(validate_pod_update(new, old))


def _gated(pod: dict[str, Any]) -> None:
    pod["spec"]["schedulingGates"] = [{"name": "example.com/a"}, {"name": "example.com/b"}]
    pod["spec"]["nodeSelector"] = {"disk": "ssd"}


@pytest.mark.parametrize(
    ("mutate", "old_mutate"),
    [
        pytest.param(lambda p: None, None, id="unchanged"),
        pytest.param(_ctr(image="nginx:1.27", imagePullPolicy="Always"), None, id="image"),
        pytest.param(
            lambda p: p["spec"]["initContainers"][0].update(image="busybox:2"),
            _spec(initContainers=[{"name": "i", "image": "busybox", "imagePullPolicy": "Always"}]),
            id="init-image",
        ),
        pytest.param(
            _meta(labels={"a": "b"}, annotations={"c": "d"}, finalizers=["x.io/y"]),
            None,
            id="labels-annotations-finalizers",
        ),
        pytest.param(_spec(activeDeadlineSeconds=30), None, id="deadline-set"),
        pytest.param(
            _spec(activeDeadlineSeconds=20), _spec(activeDeadlineSeconds=30), id="deadline-shortened"
        ),
        pytest.param(_spec(tolerations=[{"key": "k", "operator": "Exists"}]), None, id="toleration-added"),
        pytest.param(
            _spec(
                tolerations=[
                    {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 10}
                ]
            ),
            _spec(
                tolerations=[
                    {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
                ]
            ),
            id="toleration-seconds-changed",
        ),
        pytest.param(
            _spec(terminationGracePeriodSeconds=1),
            _spec(terminationGracePeriodSeconds=-1),
            id="negative-grace-to-one",
        ),
        pytest.param(_spec(schedulingGates=[{"name": "example.com/b"}]), _gated, id="gate-removed"),
        pytest.param(
            _spec(nodeSelector={"disk": "ssd", "zone": "a"}), _gated, id="gated-node-selector-addition"
        ),
        pytest.param(
            _spec(hostNetwork=False, nodeSelector={}, hostAliases=[]), None, id="explicit-zero-values"
        ),
        pytest.param(
            _ctr(resources={"limits": {"cpu": "1000m"}}),
            _ctr(resources={"limits": {"cpu": "1"}}),
            id="same-quantity-other-spelling",
        ),
        pytest.param(
            _meta(creationTimestamp="2024-05-01T10:00:00+00:00"),
            _meta(creationTimestamp="2024-05-01T10:00:00Z"),
            id="same-instant",
        ),
        pytest.param(_drop_meta("uid"), _meta(uid="u-1"), id="uid-omitted"),
        pytest.param(
            lambda p: p["metadata"].pop("deletionGracePeriodSeconds"),
            _meta(deletionTimestamp="2024-05-01T10:00:30Z", deletionGracePeriodSeconds=30),
            id="deletion-grace-omitted",
        ),
        pytest.param(
            _meta(finalizers=[]),
            _meta(deletionTimestamp="2024-05-01T10:00:30Z", finalizers=["x.io/y"]),
            id="finalizer-removed-while-deleting",
        ),
    ],
)
def test_update_allows(mutate: Mutation, old_mutate: Mutation | None) -> None:
    assert _update(mutate, old_mutate) == []


@pytest.mark.parametrize(
    ("mutate", "old_mutate", "expected"),
    [
        pytest.param(
            _ctr(image=""), None, ["spec.containers[0].image: Required value"] * 2, id="image-emptied"
        ),
        pytest.param(
            lambda p: p["spec"]["containers"].append({"name": "b", "image": "x"}),
            None,
            ["spec.containers: Forbidden: pod updates may not add or remove containers"],
            id="container-added",
        ),
        pytest.param(
            lambda p: (p["spec"]["initContainers"].clear(), _spec(dnsPolicy="None")(p)),
            _spec(initContainers=[{"name": "i", "image": "busybox"}]),
            [
                "spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None",
                "spec.initContainers: Forbidden: pod updates may not add or remove containers",
            ],
            id="init-container-removed-stops",
        ),
        pytest.param(
            _spec(activeDeadlineSeconds=40),
            _spec(activeDeadlineSeconds=30),
            ["spec.activeDeadlineSeconds: Invalid value: 40: must be less than or equal to previous value"],
            id="deadline-extended",
        ),
        pytest.param(
            _spec(activeDeadlineSeconds=0),
            _spec(activeDeadlineSeconds=30),
            ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"],
            id="deadline-zero-fails-pod-validation",
        ),
        pytest.param(
            lambda p: p["spec"].pop("activeDeadlineSeconds"),
            _spec(activeDeadlineSeconds=30),
            [
                "spec.activeDeadlineSeconds: Invalid value: null: must not update from a "
                "positive integer to nil value"
            ],
            id="deadline-removed",
        ),
        pytest.param(
            _spec(activeDeadlineSeconds=-1),
            None,
            [
                "spec.activeDeadlineSeconds: Invalid value: -1: must be between 1 and 2147483647, inclusive",
                "spec.activeDeadlineSeconds: Invalid value: -1: must be between 0 and 2147483647, inclusive",
            ],
            id="deadline-negative",
        ),
        pytest.param(
            _spec(tolerations=[{"key": "k", "operator": "Exists", "effect": "NoSchedule"}]),
            _spec(tolerations=[{"key": "k", "operator": "Exists"}]),
            [
                "spec.tolerations: Forbidden: existing toleration can not be modified except "
                "its tolerationSeconds"
            ],
            id="toleration-modified",
        ),
        pytest.param(
            _spec(schedulingGates=[{"name": "example.com/a"}, {"name": "example.com/c"}]),
            _gated,
            [
                "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found "
                "new scheduling gate 'example.com/c'"
            ],
            id="gate-added",
        ),
        pytest.param(
            _spec(nodeSelector={"disk": "hdd"}),
            _gated,
            [
                'spec.nodeSelector: Invalid value: {"disk":"hdd"}: only additions to '
                "spec.nodeSelector are allowed (no mutations or deletions)"
            ],
            id="gated-node-selector-mutated",
        ),
        pytest.param(
            _meta(name="other"),
            None,
            ['metadata.name: Invalid value: "other": field is immutable'],
            id="name",
        ),
        pytest.param(
            _meta(namespace="other"),
            None,
            ['metadata.namespace: Invalid value: "other": field is immutable'],
            id="namespace",
        ),
        pytest.param(
            _meta(uid="u-2"),
            _meta(uid="u-1"),
            ['metadata.uid: Invalid value: "u-2": field is immutable'],
            id="uid",
        ),
        pytest.param(
            _meta(creationTimestamp="2024-05-01T10:00:01Z"),
            _meta(creationTimestamp="2024-05-01T10:00:00Z"),
            ['metadata.creationTimestamp: Invalid value: "2024-05-01T10:00:01Z": field is immutable'],
            id="creation-timestamp",
        ),
        pytest.param(
            _meta(deletionTimestamp="2024-05-01T10:00:00Z"),
            None,
            ['metadata.deletionTimestamp: Invalid value: "2024-05-01T10:00:00Z": field is immutable'],
            id="deletion-timestamp-set",
        ),
        pytest.param(
            _meta(deletionGracePeriodSeconds=5),
            None,
            ["metadata.deletionGracePeriodSeconds: Invalid value: 5: field is immutable"],
            id="deletion-grace-set",
        ),
        pytest.param(
            _meta(deletionGracePeriodSeconds=5),
            _meta(deletionTimestamp="2024-05-01T10:00:30Z", deletionGracePeriodSeconds=30),
            ["metadata.deletionGracePeriodSeconds: Invalid value: 5: field is immutable"],
            id="deletion-grace-changed",
        ),
        pytest.param(
            _meta(finalizers=["x.io/y", "x.io/b", "x.io/a"]),
            _meta(deletionTimestamp="2024-05-01T10:00:30Z", finalizers=["x.io/y"]),
            [
                "metadata.finalizers: Forbidden: no new finalizers can be added if the "
                'object is being deleted, found new finalizers []string{"x.io/a", '
                '"x.io/b"}'
            ],
            id="finalizer-added-while-deleting",
        ),
    ],
)
def test_update_rejects(mutate: Mutation, old_mutate: Mutation | None, expected: list[str]) -> None:
    assert _update(mutate, old_mutate) == expected


@pytest.mark.parametrize(
    ("mutate", "old_mutate", "changed"),
    [
        pytest.param(_spec(dnsPolicy="Default"), None, '"dnsPolicy": "Default"', id="dns-policy"),
        pytest.param(
            lambda p: (p["spec"]["containers"][0].pop("imagePullPolicy"), _ctr(image="nginx:1.27")(p)),
            None,
            '"imagePullPolicy": "IfNotPresent"',
            id="image-with-new-defaulted-pull-policy",
        ),
        pytest.param(
            _spec(terminationGracePeriodSeconds=1),
            None,
            '"terminationGracePeriodSeconds": 1',
            id="grace-not-negative",
        ),
        pytest.param(_spec(nodeSelector={"zone": "a"}), None, '"zone": "a"', id="node-selector-ungated"),
        pytest.param(_ctr(resources={"limits": {"cpu": "2"}}), None, '"cpu": "2"', id="resources"),
        pytest.param(
            _spec(ephemeralContainers=[{"name": "dbg", "image": "busybox"}]),
            None,
            '"name": "dbg"',
            id="ephemeral-containers",
        ),
        pytest.param(
            _spec(volumes=[{"name": "v", "hostPath": {"path": "/"}}]),
            _spec(volumes=[{"name": "v", "emptyDir": {}}]),
            '"hostPath"',
            id="volume-source",
        ),
    ],
)
def test_update_of_other_spec_fields_is_one_forbidden_error_with_a_diff(
    mutate: Mutation, old_mutate: Mutation | None, changed: str
) -> None:
    [text] = _update(mutate, old_mutate)
    assert text.startswith(SPEC_FORBIDDEN)
    diff = text.removeprefix(SPEC_FORBIDDEN)
    assert any(line.startswith("+") and changed in line for line in diff.splitlines())


def test_forbidden_spec_update_is_a_single_cause_on_field_spec() -> None:
    old = _pod()
    new = _pod(_spec(dnsPolicy="Default"))
    [error] = validate_pod_update(new, old)
    assert (error.type, error.field) == ("FieldValueForbidden", "spec")
    assert '\n-  "dnsPolicy": "ClusterFirst",\n+  "dnsPolicy": "Default",' in error.body
