"""Table rows of ``kubectl get pods`` (spec README "Cell rules", the 1.32 pod printer)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from watchcache.kinds.pods.printer import COLUMN_DEFINITIONS, POD_PRINTER
from watchcache.machinery import errors
from watchcache.machinery.table import human_duration, parse_include_object

pod_row = POD_PRINTER.table_row
table = POD_PRINTER.table

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat().replace("+00:00", "Z")


def running(ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    return {"state": {"running": {"startedAt": ago(hours=1)}}, "ready": ready,
            "restartCount": restarts, **extra}  # fmt: skip


def waiting(reason: str = "", restarts: int = 0, **extra: Any) -> dict[str, Any]:
    state = {"waiting": {"reason": reason} if reason else {}}
    return {"state": state, "ready": False, "restartCount": restarts, **extra}


def terminated(exit_code: int = 0, reason: str = "", signal: int = 0, **extra: Any) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"state": {"terminated": term}, "ready": False, "restartCount": 0, **extra}


def pod(
    containers: int = 1,
    statuses: list[dict[str, Any]] | None = None,
    *,
    init: list[dict[str, Any]] | None = None,
    init_statuses: list[dict[str, Any]] | None = None,
    phase: str = "Pending",
    conditions: list[dict[str, Any]] | None = None,
    meta: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A pod created 5 minutes before NOW; container statuses are named c0, c1, ..."""
    names = [f"c{i}" for i in range(containers)]
    body: dict[str, Any] = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(minutes=5),
                     "uid": "u-1", "resourceVersion": "7", "labels": {"run": "web"}, **(meta or {})},
        "spec": {"containers": [{"name": n, "image": "nginx"} for n in names], **(spec or {})},
        "status": {"phase": phase, **(status or {})},
    }  # fmt: skip
    if init is not None:
        body["spec"]["initContainers"] = init
    if statuses is not None:
        body["status"]["containerStatuses"] = [
            {"name": n, **s} for n, s in zip(names, statuses, strict=False)
        ]
    if init_statuses is not None:
        body["status"]["initContainerStatuses"] = [
            {"name": c["name"], **s} for c, s in zip(init or [], init_statuses, strict=False)
        ]
    if conditions is not None:
        body["status"]["conditions"] = conditions
    return body


def cells(p: dict[str, Any]) -> list[str]:
    return pod_row(p, NOW, "None")["cells"]


def summary(p: dict[str, Any]) -> tuple[str, str, str]:
    ready, status, restarts = cells(p)[1:4]
    return ready, status, restarts


INIT2 = [{"name": "i0", "image": "busybox"}, {"name": "i1", "image": "busybox"}]
SIDECAR = [{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}]
READY_TRUE = [{"type": "Ready", "status": "True"}]
DONE = terminated(0, "Completed")

STATES = [
    ("fresh pod", pod(), ("0/1", "Pending", "0")),
    ("no phase at all", pod(phase=""), ("0/1", "", "0")),
    ("two containers, nothing reported", pod(2), ("0/2", "Pending", "0")),
    ("running and ready", pod(1, [running()], phase="Running"), ("1/1", "Running", "0")),
    ("running, not ready", pod(1, [running(False)], phase="Running"), ("0/1", "Running", "0")),
    ("one of two ready", pod(2, [running(), running(False)], phase="Running"),
     ("1/2", "Running", "0")),
    ("container creating", pod(1, [waiting("ContainerCreating")]),
     ("0/1", "ContainerCreating", "0")),
    ("waiting without reason keeps the phase", pod(1, [waiting()]), ("0/1", "Pending", "0")),
    ("crash loop", pod(1, [waiting("CrashLoopBackOff", 4)], phase="Running"),
     ("0/1", "CrashLoopBackOff", "4")),
    ("first container's problem wins", pod(2, [waiting("ErrImagePull"),
     waiting("CrashLoopBackOff")], phase="Running"), ("0/2", "ErrImagePull", "0")),
    ("terminated with reason", pod(1, [terminated(1, "Error")], phase="Failed"),
     ("0/1", "Error", "0")),
    ("terminated without reason", pod(1, [terminated(3)], phase="Failed"),
     ("0/1", "ExitCode:3", "0")),
    ("killed by a signal", pod(1, [terminated(137, signal=9)], phase="Failed"),
     ("0/1", "Signal:9", "0")),
    ("completed", pod(1, [DONE], phase="Succeeded"), ("0/1", "Completed", "0")),
    ("completed next to a running ready pod", pod(2, [DONE, running()], phase="Running",
     conditions=READY_TRUE), ("1/2", "Running", "0")),
    ("completed next to a running container, pod not ready", pod(2, [DONE, running()],
     phase="Running"), ("1/2", "NotReady", "0")),
    ("status.reason replaces the phase", pod(phase="Failed", status={"reason": "Evicted"}),
     ("0/1", "Evicted", "0")),
    ("scheduling gated", pod(conditions=[{"type": "PodScheduled", "status": "False",
     "reason": "SchedulingGated"}]), ("0/1", "SchedulingGated", "0")),
    ("init containers not started", pod(init=INIT2), ("0/1", "Pending", "0")),
    ("first init container running", pod(1, [waiting("PodInitializing")], init=INIT2,
     init_statuses=[running(False), waiting("PodInitializing")]), ("0/1", "Init:0/2", "0")),
    ("second init container running", pod(init=INIT2, init_statuses=[DONE, running(False)]),
     ("0/1", "Init:1/2", "0")),
    ("init container failed", pod(init=INIT2, init_statuses=[terminated(1, "Error")]),
     ("0/1", "Init:Error", "0")),
    ("init container exit code", pod(init=INIT2, init_statuses=[terminated(2)]),
     ("0/1", "Init:ExitCode:2", "0")),
    ("init container signal", pod(init=INIT2, init_statuses=[terminated(1, signal=15)]),
     ("0/1", "Init:Signal:15", "0")),
    ("init container crash loop counts init restarts",
     pod(init=INIT2, init_statuses=[waiting("CrashLoopBackOff", 3)]),
     ("0/1", "Init:CrashLoopBackOff", "3")),
    ("init done, app running", pod(1, [running()], init=INIT2, init_statuses=[DONE, DONE],
     phase="Running"), ("1/1", "Running", "0")),
    ("sidecar started and ready counts as ready", pod(1, [running()], init=SIDECAR,
     init_statuses=[running(True, started=True)], phase="Running"), ("2/2", "Running", "0")),
    ("sidecar started, not ready", pod(1, [running()], init=SIDECAR,
     init_statuses=[running(False, started=True)], phase="Running"), ("1/2", "Running", "0")),
    ("sidecar not yet started blocks initialisation", pod(1, None, init=SIDECAR,
     init_statuses=[running(False, started=False)]), ("0/2", "Init:0/1", "0")),
    ("sidecar restarts count after init, init restarts do not", pod(1, [running(True, 1)],
     init=[INIT2[0], *SIDECAR], init_statuses=[{**DONE, "restartCount": 5},
     running(True, 2, started=True)], phase="Running"), ("2/2", "Running", "3")),
    ("once initialized, a crashing sidecar still counts app readiness", pod(1, [running()],
     init=SIDECAR, init_statuses=[waiting("CrashLoopBackOff", 2, started=False)],
     phase="Running", conditions=[{"type": "Initialized", "status": "True"}]),
     ("1/2", "Init:CrashLoopBackOff", "2")),
    ("once initialized, an app container's reason wins over the sidecar's", pod(1,
     [waiting("ImagePullBackOff")], init=SIDECAR, init_statuses=[waiting("CrashLoopBackOff", 2,
     started=False)], phase="Running", conditions=[{"type": "Initialized", "status": "True"}]),
     ("0/2", "ImagePullBackOff", "2")),
    ("terminating", pod(1, [running()], phase="Running", meta={"deletionTimestamp": ago()}),
     ("1/1", "Terminating", "0")),
    ("terminating overrides a waiting reason", pod(1, [waiting("CrashLoopBackOff")],
     meta={"deletionTimestamp": ago()}), ("0/1", "Terminating", "0")),
    ("deleted after success stays completed", pod(1, [DONE], phase="Succeeded",
     meta={"deletionTimestamp": ago()}), ("0/1", "Completed", "0")),
    ("deleted on a lost node is unknown", pod(1, [running()], phase="Running",
     status={"reason": "NodeLost"}, meta={"deletionTimestamp": ago()}), ("1/1", "Unknown", "0")),
    ("lost node without deletion shows the reason", pod(phase="Running",
     status={"reason": "NodeLost"}), ("0/1", "NodeLost", "0")),
]  # fmt: skip


@pytest.mark.parametrize(("p", "expected"), [s[1:] for s in STATES], ids=[s[0] for s in STATES])
def test_ready_status_and_restarts_follow_the_pod_printer(
    p: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    assert summary(p) == expected


def test_a_fresh_pod_prints_pending_with_its_age_and_no_wide_values() -> None:
    assert cells(pod()) == ["web", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>",
                            "<none>"]  # fmt: skip


def test_restarts_show_how_long_ago_the_last_container_finished() -> None:
    p = pod(2, [
        running(True, 2, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(minutes=30)}}),
        running(True, 1, lastState={"terminated": {"exitCode": 1, "finishedAt": ago(seconds=42)}}),
    ], phase="Running")  # fmt: skip
    assert summary(p) == ("2/2", "Running", "3 (42s ago)")


def test_restarts_without_a_finish_time_are_a_bare_count() -> None:
    p = pod(1, [running(True, 2, lastState={"terminated": {"exitCode": 1}})], phase="Running")
    assert summary(p)[2] == "2"


def test_wide_columns_show_ip_node_nominated_node_and_gates() -> None:
    p = pod(
        1,
        [running()],
        phase="Running",
        spec={"nodeName": "node-1", "readinessGates": [{"conditionType": "example.com/lb"},
                                                      {"conditionType": "example.com/dns"}]},
        status={"podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}], "nominatedNodeName": "n2"},
        conditions=[{"type": "example.com/lb", "status": "True"},
                    {"type": "example.com/dns", "status": "False"}],
    )  # fmt: skip
    assert cells(p)[5:] == ["10.0.0.7", "node-1", "n2", "1/2"]


def test_readiness_gates_without_conditions_count_zero() -> None:
    p = pod(spec={"readinessGates": [{"conditionType": "x"}]})
    assert cells(p)[8] == "0/1"


def test_age_is_unknown_without_a_creation_timestamp() -> None:
    p = pod(meta={"creationTimestamp": None})
    assert cells(p)[4] == "<unknown>"


@pytest.mark.parametrize(
    ("phase", "reason", "message"),
    [("Succeeded", "Succeeded", "The pod has completed successfully."),
     ("Failed", "Failed", "The pod failed.")],
)  # fmt: skip
def test_finished_pods_carry_a_completed_row_condition(phase: str, reason: str, message: str) -> None:
    row = pod_row(pod(phase=phase), NOW, "None")
    assert row["conditions"] == [
        {"type": "Completed", "status": "True", "reason": reason, "message": message}
    ]


@pytest.mark.parametrize("phase", ["Pending", "Running", "Unknown"])
def test_unfinished_pods_have_no_row_conditions(phase: str) -> None:
    assert "conditions" not in pod_row(pod(phase=phase), NOW, "Metadata")


def test_include_object_metadata_embeds_partial_object_metadata() -> None:
    p = pod()
    row = pod_row(p, NOW, "Metadata")
    assert row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": p["metadata"],
    }


def test_include_object_object_embeds_the_pod_and_none_omits_it() -> None:
    p = pod()
    assert pod_row(p, NOW, "Object")["object"] is p
    assert "object" not in pod_row(p, NOW, "None")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "Metadata"), ("", "Metadata"), ("Metadata", "Metadata"), ("Object", "Object"),
     ("None", "None")],
)  # fmt: skip
def test_include_object_defaults_to_metadata(value: str | None, expected: str) -> None:
    assert parse_include_object(value) == expected


@pytest.mark.parametrize("value", ["object", "All", "none "])
def test_an_unknown_include_object_is_a_bad_request(value: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        parse_include_object(value)
    assert caught.value.message == f'unrecognized includeObject value: "{value}"'


def test_the_table_body_carries_columns_metadata_and_rows() -> None:
    rows = [pod_row(pod(), NOW, "Metadata")]
    body = table(rows, {"resourceVersion": "7"})
    assert body["kind"] == "Table"
    assert body["apiVersion"] == "meta.k8s.io/v1"
    assert body["metadata"] == {"resourceVersion": "7"}
    assert body["columnDefinitions"] == COLUMN_DEFINITIONS
    assert body["rows"] == rows
    assert table([], {})["rows"] == []


def test_watch_events_after_the_first_send_null_columns() -> None:
    assert table([], {}, with_columns=False)["columnDefinitions"] is None


def test_column_definitions_are_the_nine_pod_columns() -> None:
    assert [(c["name"], c["priority"]) for c in COLUMN_DEFINITIONS] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0),
        ("IP", 1), ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1),
    ]  # fmt: skip
    assert COLUMN_DEFINITIONS[0]["format"] == "name"
    assert all(c["type"] == "string" and c["description"] for c in COLUMN_DEFINITIONS)
    assert all(c["format"] == "" for c in COLUMN_DEFINITIONS[1:])


MINUTE, HOUR, DAY, YEAR = 60, 3600, 86400, 365 * 86400

DURATIONS = [
    (-5, "<invalid>"),
    (-2, "<invalid>"),
    (-1.9, "0s"),  # within the 2 s clock-skew allowance (truncated to -1)
    (-1, "0s"),
    (-0.5, "0s"),
    (0, "0s"),
    (0.99, "0s"),
    (1, "1s"),
    (59, "59s"),
    (119.9, "119s"),
    (120, "2m"),
    (121, "2m1s"),
    (9 * MINUTE + 59, "9m59s"),
    (10 * MINUTE, "10m"),
    (10 * MINUTE + 30, "10m"),
    (3 * HOUR - 1, "179m"),
    (3 * HOUR, "3h"),
    (3 * HOUR + 5 * MINUTE, "3h5m"),
    (8 * HOUR - 1, "7h59m"),
    (8 * HOUR, "8h"),
    (47 * HOUR + 59 * MINUTE, "47h"),
    (48 * HOUR, "2d"),
    (2 * DAY + 5 * HOUR, "2d5h"),
    (8 * DAY - 1, "7d23h"),
    (8 * DAY, "8d"),
    (2 * YEAR - 1, "729d"),
    (2 * YEAR, "2y"),
    (2 * YEAR + 3 * DAY, "2y3d"),
    (8 * YEAR - 1, "7y364d"),
    (8 * YEAR, "8y"),
    (20 * YEAR + 100 * DAY, "20y"),
]


@pytest.mark.parametrize(("seconds", "expected"), DURATIONS)
def test_human_duration_matches_kubectl_ages(seconds: float, expected: str) -> None:
    assert human_duration(seconds) == expected
