"""Update rules of ``/status`` and ``/ephemeralcontainers`` (pod-semantics.md §4, §5), pure."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from watchcache.kinds.pods.defaults import apply_defaults
from watchcache.kinds.pods.strategy import canonical, prepare_ephemeral_update, prepare_status_update
from watchcache.kinds.pods.subresources import host_ip_errors, ip_family
from watchcache.machinery import errors
from watchcache.machinery.strategic_merge import apply_strategic_merge

UID = "6f1c0000-0000-4000-8000-000000000001"
RV = "42"
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
INVALID_IP = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
EPHEMERAL_FORBIDDEN = "Forbidden: cannot be set for an Ephemeral Container"
NON_TERMINATED = "Forbidden: may not be transitioned to non-terminated state"

Object = dict[str, Any]
Mutation = Callable[[Object], Any]


def _stored(mutate: Mutation | None = None) -> Object:
    """A pod as the store hands it to the strategy: defaulted, canonical, rv stamped."""
    pod: Object = {
        "metadata": {
            "name": "web",
            "namespace": "default",
            "uid": UID,
            "creationTimestamp": "2024-05-01T10:00:00Z",
        },
        "spec": {
            "containers": [{"name": "web", "image": "nginx"}],
            "initContainers": [{"name": "init", "image": "busybox"}],
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }
    if mutate:
        mutate(pod)
    apply_defaults(pod)
    pod = canonical(pod)
    pod["metadata"]["resourceVersion"] = RV
    return pod


def _body(old: Object, mutate: Mutation | None = None) -> Object:
    """A client's full-object write: the stored pod, edited."""
    body = copy.deepcopy(old)
    if mutate:
        mutate(body)
    return body


def _texts(exc: errors.Invalid) -> list[str]:
    return [e.text() for e in exc.errors]


def _status_errors(old: Object, mutate: Mutation) -> list[str]:
    with pytest.raises(errors.Invalid) as info:
        prepare_status_update(_body(old, mutate), old, "default", "web")
    return _texts(info.value)


def _ephemeral_errors(old: Object, mutate: Mutation) -> list[str]:
    with pytest.raises(errors.Invalid) as info:
        prepare_ephemeral_update(_body(old, mutate), old, "default", "web")
    return _texts(info.value)


def _status(**fields: Any) -> Mutation:
    return lambda pod: pod["status"].update(fields)


def _ephemeral(*containers: dict[str, Any]) -> Mutation:
    return lambda pod: pod["spec"].__setitem__("ephemeralContainers", list(containers))


# --- /status ----------------------------------------------------------------------------------


def test_kubelet_status_update_pending_to_running() -> None:
    """The kubelet's write: phase, IPs, container statuses, conditions; qosClass omitted."""
    old = _stored()
    running = {
        "name": "web",
        "ready": True,
        "restartCount": 0,
        "image": "nginx:latest",
        "imageID": "docker.io/library/nginx@sha256:" + "a" * 64,
        "started": True,
        "state": {"running": {"startedAt": "2024-05-01T10:00:05Z"}},
    }
    conditions = [
        {"type": t, "status": "True"}
        for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
    ]
    body = _body(
        old,
        lambda p: p.__setitem__(
            "status",
            {
                "phase": "Running",
                "hostIP": "192.168.1.5",
                "podIPs": [{"ip": "10.1.2.3"}],
                "startTime": "2024-05-01T10:00:01Z",
                "conditions": conditions,
                "containerStatuses": [running],
            },
        ),
    )
    result = prepare_status_update(body, old, "default", "web")
    status = result["status"]
    assert status["phase"] == "Running"
    assert status["podIP"] == "10.1.2.3"
    assert status["hostIPs"] == [{"ip": "192.168.1.5"}]
    assert status["qosClass"] == "BestEffort"  # back-filled from storage
    assert status["containerStatuses"] == [running]
    assert result["spec"] == old["spec"]
    assert result["metadata"]["resourceVersion"] == ""  # the write stamps the next one
    assert list(result) == ["kind", "apiVersion", "metadata", "spec", "status"]


def test_status_write_ignores_spec_and_keeps_owner_references_and_deletion() -> None:
    """Old kubelets corrupted ownerReferences; spec changes go through the main resource."""
    owner = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}]
    old = _stored(
        lambda p: p["metadata"].update(
            ownerReferences=owner,
            deletionTimestamp="2024-05-01T11:00:00Z",
            deletionGracePeriodSeconds=30,
            finalizers=["example.com/keep"],
        )
    )

    def edit(pod: Object) -> None:
        pod["spec"]["containers"][0]["image"] = "nginx:2"
        pod["spec"]["nodeSelector"] = {"disk": "ssd"}
        pod["spec"]["dnsPolicy"] = "Bogus"  # would be a 422 on the main resource
        pod["metadata"]["ownerReferences"] = []
        pod["metadata"].pop("deletionTimestamp")
        pod["status"]["phase"] = "Running"

    result = prepare_status_update(_body(old, edit), old, "default", "web")
    assert result["spec"] == old["spec"]
    assert result["metadata"]["ownerReferences"] == owner
    assert result["metadata"]["deletionTimestamp"] == "2024-05-01T11:00:00Z"
    assert result["status"]["phase"] == "Running"


def test_status_write_applies_labels_annotations_and_finalizers() -> None:
    """Pods do not reset metadata on /status: what the body says is what is stored."""
    old = _stored(lambda p: p["metadata"].update(labels={"app": "web"}, annotations={"a": "1"}))

    def edit(pod: Object) -> None:
        pod["metadata"]["labels"] = {"app": "web", "tier": "front"}
        pod["metadata"].pop("annotations")
        pod["metadata"]["finalizers"] = ["example.com/f"]

    meta = prepare_status_update(_body(old, edit), old, "default", "web")["metadata"]
    assert meta["labels"] == {"app": "web", "tier": "front"}
    assert "annotations" not in meta
    assert meta["finalizers"] == ["example.com/f"]


def test_status_write_never_fails_on_the_stored_spec() -> None:
    """Neither pod validation nor the spec mutability rule runs on a status write."""
    old = _stored(lambda p: p["spec"]["containers"][0].__setitem__("image", " nginx"))
    result = prepare_status_update(_body(old, _status(phase="Running")), old, "default", "web")
    assert result["status"]["phase"] == "Running"


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param({"podIP": "10.0.0.9"}, [{"ip": "10.0.0.9"}], id="podIP-alone-sets-list"),
        pytest.param(
            {"podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]},
            [{"ip": "10.0.0.9"}],
            id="differing-podIP-replaces-list",
        ),
        pytest.param(
            {"podIPs": [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]},
            [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}],
            id="dual-stack-list-sets-podIP",
        ),
    ],
)
def test_status_write_syncs_pod_ips(sent: dict[str, Any], stored: list[dict[str, str]]) -> None:
    """The singular field is authoritative on input (v1 conversion)."""
    old = _stored()
    status = prepare_status_update(_body(old, _status(**sent)), old, "default", "web")["status"]
    assert status["podIPs"] == stored
    assert status["podIP"] == stored[0]["ip"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            _status(qosClass="Guaranteed"),
            ['status.qosClass: Invalid value: "Guaranteed": field is immutable'],
            id="qosClass-immutable",
        ),
        pytest.param(
            _status(nominatedNodeName="Node_1"),
            [f'status.nominatedNodeName: Invalid value: "Node_1": {SUBDOMAIN_MSG}'],
            id="nominatedNodeName",
        ),
        pytest.param(
            _status(podIPs=[{"ip": "10.0.0.300"}]),
            [f'status.podIPs[0]: Invalid value: "10.0.0.300": {INVALID_IP}'],
            id="podIP-invalid",
        ),
        pytest.param(
            _status(podIPs=[{"ip": "10.0.0.1"}, {"ip": "fe80::1%eth0"}]),
            [
                f'status.podIPs[1]: Invalid value: "fe80::1%eth0": {INVALID_IP}',
                'status.podIPs: Invalid value: []core.PodIP{core.PodIP{IP:"10.0.0.1"}, '
                'core.PodIP{IP:"fe80::1%eth0"}}: may specify no more than one IP for each IP '
                "family",
            ],
            id="podIP-zone-refused",
        ),
        pytest.param(
            _status(podIPs=[{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]),
            [
                'status.podIPs: Invalid value: []core.PodIP{core.PodIP{IP:"10.0.0.1"}, '
                'core.PodIP{IP:"10.0.0.2"}}: may specify no more than one IP for each IP family'
            ],
            id="two-ipv4",
        ),
        pytest.param(
            _status(podIPs=[{"ip": "10.0.0.1"}, {"ip": "fd00::1"}, {"ip": "fd00::2"}]),
            [
                'status.podIPs: Invalid value: []core.PodIP{core.PodIP{IP:"10.0.0.1"}, '
                'core.PodIP{IP:"fd00::1"}, core.PodIP{IP:"fd00::2"}}: may specify no more than '
                "one IP for each IP family"
            ],
            id="three-ips",
        ),
        pytest.param(
            _status(hostIPs=[{"ip": "192.168.1.5"}, {"ip": "192.168.1.6"}]),
            [
                'status.hostIPs: Invalid value: []core.HostIP{core.HostIP{IP:"192.168.1.5"}, '
                'core.HostIP{IP:"192.168.1.6"}}: may specify no more than one IP for each IP '
                "family"
            ],
            id="two-ipv4-host-ips",
        ),
        pytest.param(
            _status(
                conditions=[{"type": "Ready", "status": "True"}, {"type": "bad type!", "status": "True"}]
            ),
            [f'metadata.conditions[1].Type: Invalid value: "bad type!": {NAME_PART_MSG}'],
            id="custom-condition-type",
        ),
        pytest.param(
            lambda p: p["metadata"].__setitem__("labels", {"a": "-x"}),
            [
                'metadata.labels: Invalid value: "-x": a valid label must be an empty string or '
                "consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                "with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
                "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
            ],
            id="metadata-labels",
        ),
    ],
)
def test_status_write_rejects(mutate: Mutation, expected: list[str]) -> None:
    assert _status_errors(_stored(), mutate) == expected


@pytest.mark.parametrize(
    "status",
    [
        pytest.param({"nominatedNodeName": "node-1.example.com"}, id="nominatedNodeName"),
        pytest.param({"podIPs": [{"ip": "fd00::1"}, {"ip": "10.0.0.1"}]}, id="v6-then-v4"),
        pytest.param({"podIPs": [{"ip": "010.000.000.001"}]}, id="sloppy-leading-zeros"),
        pytest.param({"podIPs": [{"ip": "::ffff:10.0.0.1"}, {"ip": "fd00::1"}]}, id="v4-mapped-is-v4"),
        pytest.param({"qosClass": ""}, id="empty-qosClass-backfilled"),
        pytest.param({"qosClass": "BestEffort"}, id="same-qosClass"),
        pytest.param(
            {
                "conditions": [
                    {"type": t, "status": "True"}
                    for t in (
                        "PodScheduled",
                        "Ready",
                        "Initialized",
                        "ContainersReady",
                        "PodReadyToStartContainers",
                        "DisruptionTarget",
                        "example.com/gate",
                    )
                ]
            },
            id="conditions",
        ),
    ],
)
def test_status_write_accepts(status: dict[str, Any]) -> None:
    old = _stored()
    result = prepare_status_update(_body(old, _status(**status)), old, "default", "web")
    assert result["status"]["qosClass"] == "BestEffort"


def test_adding_a_finalizer_while_terminating_is_forbidden_on_status_too() -> None:
    old = _stored(
        lambda p: p["metadata"].update(
            deletionTimestamp="2024-05-01T11:00:00Z", deletionGracePeriodSeconds=30
        )
    )
    assert _status_errors(old, lambda p: p["metadata"].__setitem__("finalizers", ["x"])) == [
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being "
        'deleted, found new finalizers []string{"x"}'
    ]


def test_host_ips_first_entry_must_equal_host_ip() -> None:
    """Unreachable through a write (the singular field is synced first), checked directly."""
    status = {"hostIP": "192.168.1.5", "hostIPs": [{"ip": "192.168.1.6"}]}
    assert [e.text() for e in host_ip_errors(status)] == [
        'status.hostIPs[0].ip: Invalid value: "192.168.1.6": must be equal to `hostIP`'
    ]


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("10.1.2.3", 4),
        ("010.001.002.003", 4),
        ("::ffff:1.2.3.4", 4),
        ("2001:db8::1", 6),
        ("", None),
        ("10.1.2", None),
        ("256.1.1.1", None),
        ("fe80::1%eth0", None),
        ("x", None),
    ],
)
def test_ip_family_parses_like_parse_ip_sloppy(text: str, family: int | None) -> None:
    assert ip_family(text) == family


def _terminated(exit_code: int) -> dict[str, Any]:
    return {"terminated": {"exitCode": exit_code, "reason": "Completed" if not exit_code else "Error"}}


def _statuses(field: str, state: dict[str, Any], name: str) -> Mutation:
    return _status(
        **{
            field: [
                {"name": name, "ready": False, "restartCount": 0, "image": "x", "imageID": "", "state": state}
            ]
        }
    )


RUNNING = {"running": {"startedAt": "2024-05-01T10:01:00Z"}}
WAITING = {"waiting": {"reason": "CrashLoopBackOff"}}


@pytest.mark.parametrize(
    ("policy", "exit_code", "state", "allowed"),
    [
        pytest.param("Never", 0, RUNNING, False, id="never-after-success"),
        pytest.param("Never", 1, RUNNING, False, id="never-after-failure"),
        pytest.param("Never", 1, WAITING, False, id="never-waiting"),
        pytest.param("OnFailure", 0, RUNNING, False, id="onfailure-after-success"),
        pytest.param("OnFailure", 137, RUNNING, True, id="onfailure-after-failure"),
        pytest.param("Always", 0, RUNNING, True, id="always"),
        pytest.param("Never", 0, _terminated(0), True, id="never-stays-terminated"),
    ],
)
@pytest.mark.parametrize(
    ("field", "name"),
    [
        ("containerStatuses", "web"),
        ("initContainerStatuses", "init"),
    ],
)
def test_terminated_container_transition_follows_restart_policy(
    field: str, name: str, policy: str, exit_code: int, state: dict[str, Any], allowed: bool
) -> None:
    """A terminated container comes back only if the pod would restart it."""

    def stored(pod: Object) -> None:
        pod["spec"]["restartPolicy"] = policy
        _statuses(field, _terminated(exit_code), name)(pod)

    old = _stored(stored)
    body = _body(old, _statuses(field, state, name))
    if allowed:
        prepare_status_update(body, old, "default", "web")
    else:
        assert _status_errors(old, _statuses(field, state, name)) == [
            f"status.{field}[0].state: {NON_TERMINATED}"
        ]


def test_transition_error_uses_the_stored_index() -> None:
    """``ValidateContainerStateTransition`` loops over the old statuses."""

    def stored(pod: Object) -> None:
        pod["spec"]["restartPolicy"] = "Never"
        pod["spec"]["containers"].append({"name": "side", "image": "busybox"})
        pod["status"]["containerStatuses"] = [
            {"name": "web", "state": RUNNING},
            {"name": "side", "state": _terminated(0)},
        ]

    old = _stored(stored)
    reordered = _status(
        containerStatuses=[{"name": "side", "state": RUNNING}, {"name": "web", "state": RUNNING}]
    )
    assert _status_errors(old, reordered) == [f"status.containerStatuses[1].state: {NON_TERMINATED}"]


def test_sidecar_init_container_may_restart_under_never() -> None:
    def stored(pod: Object) -> None:
        pod["spec"]["restartPolicy"] = "Never"
        pod["spec"]["initContainers"][0]["restartPolicy"] = "Always"
        _statuses("initContainerStatuses", _terminated(0), "init")(pod)

    old = _stored(stored)
    body = _body(old, _statuses("initContainerStatuses", RUNNING, "init"))
    prepare_status_update(body, old, "default", "web")


def test_ephemeral_container_statuses_never_restart_even_under_always() -> None:
    old = _stored(_statuses("ephemeralContainerStatuses", _terminated(1), "dbg"))
    assert _status_errors(old, _statuses("ephemeralContainerStatuses", RUNNING, "dbg")) == [
        f"status.ephemeralContainerStatuses[0].state: {NON_TERMINATED}"
    ]


def test_status_422_message_is_the_documented_format() -> None:
    old = _stored()
    with pytest.raises(errors.Invalid) as info:
        prepare_status_update(_body(old, _status(qosClass="Guaranteed")), old, "default", "web")
    assert info.value.status()["message"] == (
        'Pod "web" is invalid: status.qosClass: Invalid value: "Guaranteed": field is immutable'
    )
    assert info.value.status()["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "Guaranteed": field is immutable',
            "field": "status.qosClass",
        }
    ]


# --- preconditions, shared by both subresources -------------------------------------------------

PREPARERS = [
    pytest.param(prepare_status_update, id="status"),
    pytest.param(prepare_ephemeral_update, id="ephemeralcontainers"),
]


@pytest.mark.parametrize("prepare", PREPARERS)
@pytest.mark.parametrize(
    ("mutate", "error", "text"),
    [
        pytest.param(
            lambda p: p["metadata"].__setitem__("resourceVersion", "41"),
            errors.Conflict,
            'Operation cannot be fulfilled on pods "web": the object has been modified; '
            "please apply your changes to the latest version and try again",
            id="stale-rv",
        ),
        pytest.param(
            lambda p: p["metadata"].__setitem__("uid", "other"),
            errors.Conflict,
            "Precondition failed: UID in precondition: other, UID in object meta: " + UID,
            id="uid",
        ),
        pytest.param(
            lambda p: p["metadata"].__setitem__("name", "api"),
            errors.BadRequest,
            "the name of the object (api) does not match the name on the URL (web)",
            id="name",
        ),
        pytest.param(
            lambda p: p["metadata"].__setitem__("namespace", "kube-system"),
            errors.BadRequest,
            "the namespace of the object (kube-system) does not match the namespace on the request (default)",
            id="namespace",
        ),
    ],
)
def test_subresource_preconditions_are_those_of_put(
    prepare: Callable[..., Object], mutate: Mutation, error: type[errors.APIError], text: str
) -> None:
    old = _stored()
    with pytest.raises(error) as info:
        prepare(_body(old, mutate), old, "default", "web")
    assert text in info.value.message


@pytest.mark.parametrize("prepare", PREPARERS)
def test_empty_resource_version_is_unconditional(prepare: Callable[..., Object]) -> None:
    old = _stored()
    body = _body(old, lambda p: p["metadata"].pop("resourceVersion"))
    assert prepare(body, old, "default", "web")["metadata"]["uid"] == UID


# --- /ephemeralcontainers -----------------------------------------------------------------------

DEBUGGER = "debugger-x7k2p"


def test_kubectl_debug_patch_adds_a_defaulted_ephemeral_container() -> None:
    """kubectl debug's strategic merge patch (pod-semantics.md §5) on the stored pod."""
    old = _stored()
    patch = {
        "spec": {
            "$setElementOrder/ephemeralContainers": [{"name": DEBUGGER}],
            "ephemeralContainers": [
                {
                    "name": DEBUGGER,
                    "image": "busybox",
                    "stdin": True,
                    "tty": True,
                    "targetContainerName": "web",
                    "terminationMessagePolicy": "File",
                    "resources": {},
                }
            ],
        }
    }
    patched = apply_strategic_merge(copy.deepcopy(old), patch)
    result = prepare_ephemeral_update(patched, old, "default", "web")
    assert result["spec"]["ephemeralContainers"] == [
        {
            "name": DEBUGGER,
            "image": "busybox",
            "stdin": True,
            "tty": True,
            "targetContainerName": "web",
            "terminationMessagePolicy": "File",
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "imagePullPolicy": "Always",
        }
    ]
    assert {k: v for k, v in result["spec"].items() if k != "ephemeralContainers"} == old["spec"]
    assert list(result["spec"])[:3] == ["containers", "ephemeralContainers", "initContainers"]
    assert result["status"] == old["status"]


def test_ephemeral_write_discards_everything_but_the_ephemeral_list() -> None:
    """Labels, other spec fields and status in the body are dropped, not rejected."""
    old = _stored()

    def edit(pod: Object) -> None:
        pod["metadata"]["labels"] = {"x": "y"}
        pod["metadata"]["ownerReferences"] = [{"kind": "X"}]
        pod["spec"]["containers"][0]["image"] = "nginx:2"
        pod["spec"]["dnsPolicy"] = "Bogus"
        pod["status"] = {"phase": "Running"}
        pod["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "busybox:1.36"}]

    result = prepare_ephemeral_update(_body(old, edit), old, "default", "web")
    assert result["metadata"] == {**old["metadata"], "resourceVersion": ""}
    assert result["status"] == old["status"]
    assert result["spec"]["containers"] == old["spec"]["containers"]
    assert result["spec"]["dnsPolicy"] == "ClusterFirst"
    assert result["spec"]["ephemeralContainers"][0]["imagePullPolicy"] == "IfNotPresent"


def _with_dbg(pod: Object) -> None:
    pod["spec"]["ephemeralContainers"] = [{"name": "dbg", "image": "busybox", "stdin": True}]


def test_existing_ephemeral_container_may_not_be_removed() -> None:
    old = _stored(_with_dbg)
    assert _ephemeral_errors(old, lambda p: p["spec"].pop("ephemeralContainers")) == [
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be removed'
    ]


def test_existing_ephemeral_container_may_not_be_changed_and_the_diff_is_shown() -> None:
    old = _stored(_with_dbg)
    [text] = _ephemeral_errors(
        old, lambda p: p["spec"]["ephemeralContainers"][0].__setitem__("image", "alpine")
    )
    head, diff = text.split("\n", 1)
    assert head == (
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed'
    )
    assert '-  "image": "busybox",' in diff
    assert '+  "image": "alpine",' in diff


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(
            lambda p: p["spec"]["ephemeralContainers"].append({"name": "dbg2", "image": "busybox"}),
            id="append",
        ),
        pytest.param(
            lambda p: p["spec"]["ephemeralContainers"].insert(0, {"name": "dbg2", "image": "busybox"}),
            id="reorder",
        ),
        pytest.param(
            lambda p: p["spec"]["ephemeralContainers"][0].update(
                terminationMessagePath="", tty=False, resources={}
            ),
            id="zero-values-and-defaults",
        ),
    ],
)
def test_existing_ephemeral_containers_survive_append_reorder_and_defaulting(
    mutate: Mutation,
) -> None:
    old = _stored(_with_dbg)
    result = prepare_ephemeral_update(_body(old, mutate), old, "default", "web")
    assert "dbg" in [c["name"] for c in result["spec"]["ephemeralContainers"]]


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        pytest.param(
            {"name": "web", "image": "busybox"},
            ['spec.ephemeralContainers[0].name: Duplicate value: "web"'],
            id="dup-regular",
        ),
        pytest.param(
            {"name": "init", "image": "busybox"},
            ['spec.ephemeralContainers[0].name: Duplicate value: "init"'],
            id="dup-init",
        ),
        pytest.param(
            {"name": "dbg", "image": "busybox", "targetContainerName": "x"},
            ['spec.ephemeralContainers[0].targetContainerName: Not found: "x"'],
            id="target-not-found",
        ),
        pytest.param(
            {"name": "dbg", "image": ""},
            ["spec.ephemeralContainers[0].image: Required value"],
            id="image-required",
        ),
        pytest.param(
            {"name": "Dbg", "image": "busybox"},
            [
                'spec.ephemeralContainers[0].name: Invalid value: "Dbg": a lowercase RFC 1123 '
                "label must consist of lower case alphanumeric characters or '-', and must start "
                "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
                "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
            ],
            id="name-label",
        ),
        *[
            pytest.param(
                {"name": "dbg", "image": "busybox", field: value},
                [f"spec.ephemeralContainers[0].{field}: {EPHEMERAL_FORBIDDEN}"],
                id=field,
            )
            for field, value in [
                ("ports", [{"containerPort": 80}]),
                ("resources", {"limits": {"cpu": "1"}}),
                ("livenessProbe", {"exec": {"command": ["true"]}}),
                ("readinessProbe", {"exec": {"command": ["true"]}}),
                ("startupProbe", {"exec": {"command": ["true"]}}),
                ("lifecycle", {"preStop": {"exec": {"command": ["true"]}}}),
                ("resizePolicy", [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]),
                ("restartPolicy", "Always"),
            ]
        ],
        *[
            pytest.param(
                {
                    "name": "dbg",
                    "image": "busybox",
                    "volumeMounts": [{"name": "data", "mountPath": "/d", field: "x"}],
                },
                [f"spec.ephemeralContainers[0].volumeMounts[0].{field}: {EPHEMERAL_FORBIDDEN}"],
                id=field,
            )
            for field in ("subPath", "subPathExpr")
        ],
    ],
)
def test_new_ephemeral_container_is_rejected_once(container: dict[str, Any], expected: list[str]) -> None:
    """Each rule fires exactly once: ``validate_pod`` owns them, the subresource adds none."""
    old = _stored(lambda p: p["spec"].__setitem__("volumes", [{"name": "data", "emptyDir": {}}]))
    assert _ephemeral_errors(old, _ephemeral(container)) == expected


def test_duplicate_among_new_ephemeral_containers() -> None:
    errs = _ephemeral_errors(
        _stored(), _ephemeral({"name": "dbg", "image": "busybox"}, {"name": "dbg", "image": "busybox"})
    )
    assert errs == ['spec.ephemeralContainers[1].name: Duplicate value: "dbg"']


def test_empty_resources_is_not_set() -> None:
    """``resources: {}`` is what defaulting and kubectl send; it is the zero value."""
    old = _stored()
    body = _body(old, _ephemeral({"name": "dbg", "image": "busybox", "resources": {}}))
    assert prepare_ephemeral_update(body, old, "default", "web")["spec"]["ephemeralContainers"]


def test_static_pods_do_not_support_ephemeral_containers() -> None:
    """One error at the empty path, whatever else is wrong (kubernetes#113935)."""
    old = _stored(lambda p: p["metadata"].__setitem__("annotations", {"kubernetes.io/config.mirror": "abc"}))
    with pytest.raises(errors.Invalid) as info:
        prepare_ephemeral_update(_body(old, _ephemeral({"name": "web", "image": ""})), old, "default", "web")
    assert info.value.message == (
        'Pod "web" is invalid: : Forbidden: static pods do not support ephemeral containers'
    )
    assert [e.field for e in info.value.errors] == [""]


@pytest.mark.parametrize("prepare", PREPARERS)
def test_the_stored_pod_is_never_mutated(prepare: Callable[..., Object]) -> None:
    """The stored pod is the view's object; a failed or retried write must leave it intact."""
    old = _stored(_with_dbg)
    before = copy.deepcopy(old)

    def edit(pod: Object) -> None:
        pod["metadata"]["labels"] = {"a": "b"}
        pod["status"]["phase"] = "Running"
        pod["spec"]["ephemeralContainers"].append({"name": "dbg2", "image": "busybox"})

    prepare(_body(old, edit), old, "default", "web")
    assert old == before
