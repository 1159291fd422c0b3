"""Request bodies decode like kube-apiserver's decoder: texts, strictness, normalisation."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from watchcache.http.responses import warning_header
from watchcache.kinds.pods.schema import POD_SCHEMA
from watchcache.machinery.decode import (
    DecodeError,
    DecodeResult,
    check_fields,
    decode_object,
    decode_object_json,
    go_syntax_error,
)
from watchcache.machinery.errors import BadRequest


def decode_pod(body: bytes, **options: Any) -> DecodeResult:
    """The decoder as the API runs it for pods."""
    return decode_object(body, POD_SCHEMA, **options)


PREFIX = 'Pod in version "v1" cannot be handled as a Pod: '
UNRECOGNIZED = (
    "the object provided is unrecognized (must be of type Pod): couldn't get version/kind; json parse error: "
)

GOLDEN: dict = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {
        "name": "web-7d4b9c",
        "generateName": "web-",
        "namespace": "default",
        "uid": "0b5f6c1e-2f7a-4c1d-9a52-3f3b2d7c8e11",
        "resourceVersion": "12345",
        "creationTimestamp": "2024-05-01T10:00:00Z",
        "labels": {"app": "web", "pod-template-hash": "7d4b9c"},
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": '{"apiVersion":"v1","kind":"Pod"}\n'
        },
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": "web-7d4b9c",
                "uid": "5a1c2b3d-0000-4000-8000-000000000001",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
        "managedFields": [
            {
                "manager": "kube-controller-manager",
                "operation": "Update",
                "apiVersion": "v1",
                "time": "2024-05-01T10:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}}}},
                },
            }
        ],
    },
    "spec": {
        "volumes": [
            {"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
            {
                "name": "cfg",
                "configMap": {
                    "name": "web-config",
                    "defaultMode": 420,
                    "items": [{"key": "app.yaml", "path": "app.yaml"}],
                },
            },
            {
                "name": "kube-api-access",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {
                            "downwardAPI": {
                                "items": [
                                    {
                                        "path": "namespace",
                                        "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    }
                                ]
                            }
                        },
                    ],
                },
            },
        ],
        "containers": [
            {
                "name": "web",
                "image": "nginx:1.25",
                "command": ["nginx"],
                "args": ["-g", "daemon off;"],
                "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                "env": [
                    {"name": "MODE", "value": "prod"},
                    {
                        "name": "POD_IP",
                        "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "status.podIP"}},
                    },
                    {
                        "name": "CPU",
                        "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}},
                    },
                ],
                "resources": {
                    "limits": {"cpu": "500m", "memory": "256Mi"},
                    "requests": {"cpu": "250m", "memory": "128Mi"},
                },
                "livenessProbe": {
                    "httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10,
                    "timeoutSeconds": 1,
                    "successThreshold": 1,
                    "failureThreshold": 3,
                },
                "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data"},
                    {"name": "cfg", "mountPath": "/etc/app", "readOnly": True},
                ],
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": 1000,
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "serviceAccountName": "default",
        "nodeName": "node-1",
        "securityContext": {"fsGroup": 2000, "supplementalGroups": [3000]},
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
                    ]
                }
            }
        },
        "tolerations": [
            {
                "key": "node.kubernetes.io/not-ready",
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }
        ],
        "schedulerName": "default-scheduler",
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    },
    "status": {
        "phase": "Running",
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": "2024-05-01T10:00:05Z",
            }
        ],
        "hostIP": "10.0.0.1",
        "hostIPs": [{"ip": "10.0.0.1"}],
        "podIP": "10.1.0.7",
        "podIPs": [{"ip": "10.1.0.7"}],
        "startTime": "2024-05-01T10:00:00Z",
        "containerStatuses": [
            {
                "name": "web",
                "state": {"running": {"startedAt": "2024-05-01T10:00:03Z"}},
                "lastState": {},
                "ready": True,
                "restartCount": 0,
                "image": "nginx:1.25",
                "imageID": "docker.io/library/nginx@sha256:abc",
                "containerID": "containerd://abc",
                "started": True,
            }
        ],
        "qosClass": "Burstable",
    },
}


def body(obj: object) -> bytes:
    return orjson.dumps(obj)


def pod_with(**parts: object) -> bytes:
    return body({"apiVersion": "v1", "kind": "Pod", **parts})


def expected_golden() -> dict:
    want = copy.deepcopy(GOLDEN)
    del want["status"]["conditions"][0]["lastProbeTime"]  # null means absent
    return want


# --- happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("directive", ["Strict", "Warn", "Ignore", ""])
def test_golden_pod_decodes_unchanged(directive):
    result = decode_pod(body(GOLDEN), field_validation=directive)
    assert result.obj == expected_golden()
    assert result.warnings == []


def test_golden_pod_pretty_printed_takes_exact_path_with_same_result():
    import json

    pretty = json.dumps(GOLDEN, indent=2, separators=(",", " : ")).encode()
    assert decode_pod(pretty, field_validation="Strict").obj == expected_golden()


def test_golden_pod_as_yaml():
    import yaml

    text = yaml.safe_dump(GOLDEN).encode()
    result = decode_pod(text, field_validation="Strict", content_type="application/yaml")
    assert result.obj == expected_golden()


def test_kind_and_api_version_default():
    result = decode_pod(b'{"metadata":{"name":"a"}}', field_validation="Strict")
    assert result.obj == {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "a"}}


def test_null_body_is_an_empty_pod():
    assert decode_pod(b"null", field_validation="Strict").obj == {"kind": "Pod", "apiVersion": "v1"}


@pytest.mark.parametrize(("port", "expected"), [(8080, 8080), ("http", "http")])
@pytest.mark.parametrize("action", ["httpGet", "tcpSocket"])
def test_int_or_string_ports(action, port, expected):
    probe = {action: {"port": port}}
    pod = decode_pod(
        pod_with(spec={"containers": [{"name": "c", "livenessProbe": probe}]}), field_validation="Strict"
    ).obj
    assert pod["spec"]["containers"][0]["livenessProbe"][action]["port"] == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(b'"500m"', "500m"), (b"2", "2"), (b"0.5", "0.5"), (b"1e3", "1e3"), (b"null", "0")],
)
def test_quantities_accept_strings_and_numbers(raw, expected):
    data = b'{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":' + raw + b"}}}]}}"
    pod = decode_pod(data, field_validation="Strict").obj
    assert pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] == expected


def test_timestamps_normalised_everywhere():
    pod = decode_pod(
        pod_with(
            metadata={
                "creationTimestamp": "2024-05-01T12:00:00.5+02:00",
                "managedFields": [{"manager": "m", "time": "2024-05-01T10:00:00+00:00"}],
            },
            status={
                "conditions": [{"type": "Ready", "lastTransitionTime": "2024-05-01T09:00:00-01:00"}],
                "containerStatuses": [
                    {"name": "c", "state": {"terminated": {"finishedAt": "2024-05-01T10:00:00.999999Z"}}}
                ],
            },
        ),
        field_validation="Strict",
    ).obj
    assert pod["metadata"]["creationTimestamp"] == "2024-05-01T10:00:00Z"
    assert pod["metadata"]["managedFields"][0]["time"] == "2024-05-01T10:00:00Z"
    assert pod["status"]["conditions"][0]["lastTransitionTime"] == "2024-05-01T10:00:00Z"
    assert (
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] == "2024-05-01T10:00:00Z"
    )


def test_nulls_drop_struct_fields_and_zero_map_and_list_entries():
    pod = decode_pod(
        pod_with(
            metadata={"name": "a", "namespace": None, "labels": {"x": None}},
            spec={"containers": [None], "nodeSelector": None},
        ),
        field_validation="Strict",
    ).obj
    assert pod["metadata"] == {"name": "a", "labels": {"x": ""}}
    assert pod["spec"] == {"containers": [{}]}


def test_invalid_utf8_is_replaced_like_go():
    pod = decode_pod(b'{"metadata":{"name":"a\xff"}}', field_validation="Strict").obj
    assert pod["metadata"]["name"] == "a\ufffd"


def test_lone_surrogate_escape_becomes_replacement_char():
    pod = decode_pod(b'{"metadata":{"name":"a\\ud800"}}', field_validation="Strict").obj
    assert pod["metadata"]["name"] == "a\ufffd"


# --- decode errors -------------------------------------------------------------------------------


def error_of(data: bytes, directive: str = "Strict", content_type: str = "application/json") -> str:
    with pytest.raises(DecodeError) as exc:
        decode_pod(data, field_validation=directive, content_type=content_type)
    assert exc.value.code == 400 and exc.value.reason == "BadRequest"
    assert isinstance(exc.value, BadRequest)
    return exc.value.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", UNRECOGNIZED + "unexpected end of JSON input (<empty>)"),
        (b'{"kind":"Pod",', UNRECOGNIZED + 'unexpected end of JSON input ({"kind":"Pod",)'),
        (b"hello", UNRECOGNIZED + "invalid character 'h' looking for beginning of value (68656c6c6f)"),
        (
            b'{"metadata":{"name":"a"}} x',
            UNRECOGNIZED + 'invalid character \'x\' after top-level value ({"metadata":{"name":"a"}} x)',
        ),
        (b'{"metadata":{"name":"aaaaaaaaaaaaaaaaaaaaaaa"}}', None),
        (b'{"a" 1}', UNRECOGNIZED + "invalid character '1' after object key ({\"a\" 1})"),
        (
            b'{"a":1 "b":2}',
            UNRECOGNIZED + 'invalid character \'"\' after object key:value pair ({"a":1 "b":2})',
        ),
        (b'{"a":[1 2]}', UNRECOGNIZED + "invalid character '2' after array element ({\"a\":[1 2]})"),
        (
            b"{'a':1}",
            UNRECOGNIZED + "invalid character '\\'' looking for beginning of object key string ({'a':1})",
        ),
        (b'{"a":tru}', UNRECOGNIZED + "invalid character '}' in literal true (expecting 'e') ({\"a\":tru})"),
        (b'{"a":01}', UNRECOGNIZED + "invalid character '1' after object key:value pair ({\"a\":01})"),
        (b'{"a":"\n"}', UNRECOGNIZED + 'invalid character \'\\n\' in string literal ({"a":"\n"})'),
        (
            b"[]",
            UNRECOGNIZED + "json: cannot unmarshal array into Go value of type struct { APIVersion string "
            '"json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" } (5b5d)',
        ),
        (
            b'{"kind":5}',
            UNRECOGNIZED
            + 'json: cannot unmarshal number into Go struct field .kind of type string ({"kind":5})',
        ),
        (
            b'{"apiVersion":"a/b/c"}',
            "the object provided is unrecognized (must be of type Pod): "
            'unexpected GroupVersion string: a/b/c ({"apiVersion":"a/b/c"})',
        ),
    ],
)
def test_unreadable_bodies(data, message):
    if message is None:
        decode_pod(data, field_validation="Strict")
        return
    assert error_of(data) == message


def test_summary_is_cut_at_30_bytes():
    data = b'{"metadata":{"name":"abcdefghijklmnopqrstuvwxyz"}'
    assert error_of(data).endswith('({"metadata":{"name":"abcdefghi ...)')


SCHEME = 'in scheme "pkg/api/legacyscheme/scheme.go:30"'


def conversion(kind: str) -> str:
    head = f'{kind} in version "v1" cannot be handled as a Pod: '
    return head + f"converting (v1.{kind}) to (core.Pod): unknown conversion"


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ({"apiVersion": "apps/v1"}, PREFIX + f'no kind "Pod" is registered for version "apps/v1" {SCHEME}'),
        (
            {"apiVersion": "v2"},
            'Pod in version "v2" cannot be handled as a Pod: '
            f'no kind "Pod" is registered for version "v2" {SCHEME}',
        ),
        ({"kind": "Service", "apiVersion": "v1"}, conversion("Service")),
        ({"kind": "Service"}, conversion("Service")),
        ({"kind": "Deployment", "apiVersion": "apps/v1"}, conversion("Deployment")),
        (
            {"kind": "Foo", "apiVersion": "v1"},
            'Foo in version "v1" cannot be handled as a Pod: '
            f'no kind "Foo" is registered for version "v1" {SCHEME}',
        ),
        ({"Kind": "Service"}, conversion("Service")),
    ],
)
def test_kind_and_version_errors(head, message):
    assert error_of(body({**head, "metadata": {"name": "a"}})) == message


def cannot(found: str, where: str, go: str) -> str:
    return f"{PREFIX}json: cannot unmarshal {found} into Go struct field {where} of type {go}"


C = {"name": "c", "image": "x"}


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({"spec": {"containers": "x"}}, cannot("string", "PodSpec.spec.containers", "[]v1.Container")),
        ({"spec": "x"}, cannot("string", "Pod.spec", "v1.PodSpec")),
        ({"metadata": []}, cannot("array", "Pod.metadata", "v1.ObjectMeta")),
        ({"metadata": {"name": 5}}, cannot("number", "ObjectMeta.metadata.name", "string")),
        ({"metadata": {"labels": {"a": 1}}}, cannot("number", "ObjectMeta.metadata.labels", "string")),
        ({"metadata": {"labels": []}}, cannot("array", "ObjectMeta.metadata.labels", "map[string]string")),
        ({"metadata": {"generation": "1"}}, cannot("string", "ObjectMeta.metadata.generation", "int64")),
        ({"spec": {"containers": ["x"]}}, cannot("string", "PodSpec.spec.containers", "v1.Container")),
        (
            {"spec": {"containers": [{**C, "image": 5}]}},
            cannot("number", "Container.spec.containers.image", "string"),
        ),
        (
            {"spec": {"containers": [{**C, "args": [1]}]}},
            cannot("number", "Container.spec.containers.args", "string"),
        ),
        (
            {"spec": {"containers": [{**C, "stdin": "yes"}]}},
            cannot("string", "Container.spec.containers.stdin", "bool"),
        ),
        (
            {"spec": {"containers": [{**C, "ports": [{"containerPort": 3000000000}]}]}},
            cannot("number 3000000000", "ContainerPort.spec.containers.ports.containerPort", "int32"),
        ),
        (
            {"spec": {"containers": [{**C, "ports": [{"containerPort": "80"}]}]}},
            cannot("string", "ContainerPort.spec.containers.ports.containerPort", "int32"),
        ),
        (
            {"spec": {"containers": [{**C, "livenessProbe": {"httpGet": {"port": True}}}]}},
            cannot("bool", "HTTPGetAction.spec.containers.livenessProbe.httpGet.port", "int32"),
        ),
        (
            {"spec": {"containers": [{**C, "resources": {"limits": "x"}}]}},
            cannot("string", "ResourceRequirements.spec.containers.resources.limits", "v1.ResourceList"),
        ),
        (
            {"metadata": {"creationTimestamp": 5}},
            cannot("number", "ObjectMeta.metadata.creationTimestamp", "string"),
        ),
        (
            {"spec": {"securityContext": {"supplementalGroups": ["a"]}}},
            cannot("string", "PodSecurityContext.spec.securityContext.supplementalGroups", "int64"),
        ),
    ],
)
def test_wrong_json_types(parts, message):
    for directive in ("Strict", "Warn", "Ignore"):
        assert error_of(pod_with(**parts), directive) == message


def test_float_literal_is_printed_as_sent():
    data = b'{"spec":{"terminationGracePeriodSeconds":30.0}}'
    assert error_of(data) == cannot("number 30.0", "PodSpec.spec.terminationGracePeriodSeconds", "int64")
    data = b'{"spec":{"terminationGracePeriodSeconds":1e2}}'
    assert error_of(data) == cannot("number 1e2", "PodSpec.spec.terminationGracePeriodSeconds", "int64")


def test_huge_integer_overflows_like_go():
    data = b'{"spec":{"priority":123456789012345678901234}}'
    assert error_of(data) == cannot("number 123456789012345678901234", "PodSpec.spec.priority", "int32")


def test_bad_timestamp_is_a_decode_error():
    assert error_of(pod_with(metadata={"creationTimestamp": "yesterday"})) == (
        PREFIX + 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"'
    )


def test_bad_quantity_is_a_decode_error():
    data = pod_with(spec={"containers": [{**C, "resources": {"requests": {"cpu": "lots"}}}]})
    assert (
        error_of(data)
        == PREFIX
        + "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )


def test_type_errors_win_over_strict_errors():
    data = pod_with(spec={"foo": 1, "containers": "x"})
    assert error_of(data) == cannot("string", "PodSpec.spec.containers", "[]v1.Container")


# --- unknown and duplicate fields ---------------------------------------------------------------

STRICT_CASES = [
    (b'{"spec":{"foo":1}}', ['unknown field "spec.foo"']),
    (b'{"metadata":{"name":"a","name":"b"}}', ['duplicate field "metadata.name"']),
    (
        b'{"spec":{"foo":1},"metadata":{"name":"a","name":"b"}}',
        ['unknown field "spec.foo"', 'duplicate field "metadata.name"'],
    ),
    (
        b'{"spec":{"containers":[{"name":"a"},{"name":"b","foo":{"x":1}}]}}',
        ['unknown field "spec.containers[1].foo"'],
    ),
    (b'{"metadata":{"labels":{"a":"1","a":"2"}}}', ['duplicate field "metadata.labels.a"']),
    (b'{"metadata":{"Name":"a"}}', ['unknown field "metadata.Name"']),
    (b'{"spec":{"foo":1,"foo":2}}', ['unknown field "spec.foo"']),
    (
        b'{"status":{"conditions":[{"type":"Ready","type":"x","bogus":1}]}}',
        ['duplicate field "status.conditions[0].type"', 'unknown field "status.conditions[0].bogus"'],
    ),
]


@pytest.mark.parametrize(("data", "problems"), STRICT_CASES)
def test_strict_lists_every_problem(data, problems):
    assert error_of(data) == PREFIX + "strict decoding error: " + ", ".join(problems)


@pytest.mark.parametrize(("data", "problems"), STRICT_CASES)
def test_warn_drops_and_warns(data, problems):
    result = decode_pod(data, field_validation="Warn")
    assert result.warnings == problems
    assert "foo" not in result.obj.get("spec", {})


@pytest.mark.parametrize(("data", "problems"), STRICT_CASES)
def test_ignore_drops_silently(data, problems):
    assert decode_pod(data, field_validation="Ignore").warnings == []


def test_duplicates_last_wins_and_objects_merge():
    data = (
        b'{"metadata":{"name":"a","labels":{"x":"1"},"name":"b","labels":{"y":"2"}},'
        b'"spec":{"containers":[],"containers":[{"name":"c"}]}}'
    )
    pod = decode_pod(data, field_validation="Ignore").obj
    assert pod["metadata"] == {"name": "b", "labels": {"x": "1", "y": "2"}}
    assert pod["spec"]["containers"] == [{"name": "c"}]


def test_duplicates_inside_opaque_fields_are_not_reported():
    data = b'{"metadata":{"managedFields":[{"fieldsV1":{"f:a":{},"f:a":{}}}]}}'
    assert decode_pod(data, field_validation="Strict").obj["metadata"]["managedFields"] == [
        {"fieldsV1": {"f:a": {}}}
    ]


def test_escaped_quotes_in_values_do_not_fool_the_key_count():
    value = '{"a":1,"b":{"c":"d"}} "x": y'
    data = body({"metadata": {"name": "a", "annotations": {"k": value}}})
    assert decode_pod(data, field_validation="Strict").obj["metadata"]["annotations"]["k"] == value
    dup = data[:-2] + b',"name":"z"}}'
    assert error_of(dup) == PREFIX + 'strict decoding error: duplicate field "metadata.name"'


def test_space_before_colon_everywhere_with_duplicate_is_still_caught():
    data = b'{"metadata" : {"name" : "a", "name" : "b"}}'
    assert error_of(data) == PREFIX + 'strict decoding error: duplicate field "metadata.name"'


def test_newline_before_colon_takes_the_exact_pass():
    data = b'{"metadata"\n:{"name":"a","name"\n:"b"}}'
    assert error_of(data) == PREFIX + 'strict decoding error: duplicate field "metadata.name"'


def test_pretty_printed_duplicate_is_caught():
    data = b'{\n  "metadata": {\n    "name": "a",\n    "name": "b"\n  }\n}'
    assert error_of(data) == PREFIX + 'strict decoding error: duplicate field "metadata.name"'


def test_control_characters_in_paths_are_go_quoted():
    assert decode_pod(b'{"spec":{"a\\nb":1}}', field_validation="Warn").warnings == [
        'unknown field "spec.a\\nb"'
    ]


# --- YAML ------------------------------------------------------------------------------------------

YAML = "application/yaml"


def test_yaml_keeps_timestamps_as_text_and_normalises_them():
    data = b"metadata:\n  name: a\n  creationTimestamp: 2024-05-01T12:00:00+02:00\n"
    pod = decode_pod(data, field_validation="Strict", content_type=YAML).obj
    assert pod["metadata"] == {"name": "a", "creationTimestamp": "2024-05-01T10:00:00Z"}


def test_yaml_duplicate_keys():
    data = b"metadata:\n  name: a\n  name: b\nspec:\n  foo: 1\n"
    assert error_of(data, content_type=YAML) == (
        PREFIX + "strict decoding error: error converting YAML to JSON: yaml: unmarshal errors:\n"
        '  line 3: key "name" already set in map, unknown field "spec.foo"'
    )
    assert decode_pod(data, field_validation="Ignore", content_type=YAML).obj["metadata"] == {"name": "b"}


def test_yaml_syntax_error():
    message = error_of(b"metadata:\n  name: a\n b: c\n", content_type=YAML)
    head = "the object provided is unrecognized (must be of type Pod): "
    assert message.startswith(head + "error converting YAML to JSON: yaml: line ")


def test_yaml_wrong_type():
    data = b"spec:\n  containers: x\n"
    assert error_of(data, content_type=YAML) == cannot("string", "PodSpec.spec.containers", "[]v1.Container")


# --- check_fields, plain JSON, warnings ---------------------------------------------------------


def test_check_fields_reports_but_never_raises_for_problems():
    obj = {"metadata": {"name": "a"}, "spec": {"foo": 1, "containers": [{"name": "c", "bar": 2}]}}
    pod, problems = check_fields(obj, POD_SCHEMA, field_validation="Strict")
    assert problems == ['unknown field "spec.foo"', 'unknown field "spec.containers[0].bar"']
    assert pod == {"metadata": {"name": "a"}, "spec": {"containers": [{"name": "c"}]}}


def test_check_fields_type_error_carries_bare_detail():
    with pytest.raises(DecodeError) as exc:
        check_fields({"spec": {"containers": "x"}}, POD_SCHEMA, field_validation="Warn")
    assert (
        exc.value.detail
        == "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"
    )


def test_check_fields_float_quantity():
    obj = {"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": 0.5}}}]}}
    pod, _ = check_fields(obj, POD_SCHEMA, field_validation="Strict")
    assert pod["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "0.5"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"a":1,"a":2}', {"a": 2}),
        (b"[1,2]", [1, 2]),
        (b'{"x":1.5}', {"x": 1.5}),
        (b'"s"', "s"),
        (b'{"a":"\xff"}', {"a": "\ufffd"}),
        (b'{"a":{"b":1,"b":[{"c":1,"c":2}]}}', {"a": {"b": [{"c": 2}]}}),
    ],
)
def test_decode_object_json(data, expected):
    assert decode_object_json(data) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "unexpected end of JSON input"),
        (b"{x}", "invalid character 'x' looking for beginning of object key string"),
        (b'{"a":"\\q"}', "invalid character 'q' in string escape code"),
        (b'{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"),
        (b"-", "unexpected end of JSON input"),
        (b"-x", "invalid character 'x' in numeric literal"),
        (b"1.x", "invalid character 'x' after decimal point in numeric literal"),
        (b"1ex", "invalid character 'x' in exponent of numeric literal"),
        (b"nul", "unexpected end of JSON input"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b"NaN", "invalid character 'N' looking for beginning of value"),
    ],
)
def test_decode_object_json_errors(data, message):
    with pytest.raises(BadRequest) as exc:
        decode_object_json(data)
    assert exc.value.message == message


def test_deep_nesting_does_not_crash_the_scanner():
    assert go_syntax_error(b"[" * 100000 + b"]" * 100000) is None
    with pytest.raises(BadRequest):
        decode_object_json(b"[" * 5000 + b"]" * 5000)


@pytest.mark.parametrize(
    ("text", "header"),
    [
        ('unknown field "spec.foo"', '299 - "unknown field \\"spec.foo\\""'),
        ("a\\b", '299 - "a\\\\b"'),
        ("plain", '299 - "plain"'),
    ],
)
def test_format_warning_header(text, header):
    assert warning_header(text) == header


def test_unknown_directive_is_a_programming_error():
    with pytest.raises(ValueError):
        decode_pod(b"{}", field_validation="Loud")
