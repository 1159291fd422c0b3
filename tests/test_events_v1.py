"""events.k8s.io/v1 Events: the core/v1 Events served in their newer version, as kube-apiserver
serves both from one storage — converted fields, the strict rules of the newer version, its own
field labels, watch lines, discovery, kubectl and the official client."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kubernetes import client, config

from .conftest import Cluster, Server, pod_manifest
from .test_events import event_body, post_event
from .watch_support import RawWatch, create

GROUP = "/apis/events.k8s.io/v1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def events_v1(ns: str) -> str:
    return f"{GROUP}/namespaces/{ns}/events"


def new_style(ns: str, pod: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What client-go's events.k8s.io recorder (kube-scheduler's) posts about a pod."""
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"{pod['metadata']['name']}.1", "namespace": ns},
        "eventTime": "2026-12-06T10:00:00.123456Z",
        "reportingController": "default-scheduler",
        "reportingInstance": "default-scheduler-node-1",
        "action": "Binding",
        "reason": "Scheduled",
        "regarding": {"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"],
                      "uid": pod["metadata"]["uid"], "apiVersion": "v1"},
        "note": "Successfully assigned to node-1",
        "type": "Normal",
        **extra,
    }  # fmt: skip


def post_v1(api: httpx.Client, ns: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(events_v1(ns), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_event_posted_as_events_k8s_io_reads_in_both_versions(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    event = post_v1(api, ns, new_style(ns, pod))
    assert list(event) == [
        "kind",
        "apiVersion",
        "metadata",
        "eventTime",
        "reportingController",
        "reportingInstance",
        "action",
        "reason",
        "regarding",
        "note",
        "type",
        "deprecatedSource",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
    ]  # fmt: skip: Go's field order, the zero-valued structs written as Go writes them
    assert event["apiVersion"] == "events.k8s.io/v1"
    assert (event["deprecatedSource"], event["deprecatedFirstTimestamp"]) == ({}, None)
    core = api.get(f"/api/v1/namespaces/{ns}/events/web.1").json()
    assert core["apiVersion"] == "v1"
    assert core["involvedObject"] == event["regarding"]
    assert (core["message"], core["reportingComponent"]) == (event["note"], "default-scheduler")
    assert core["metadata"] == event["metadata"]  # one object: same uid, same resourceVersion
    again = api.get(f"{events_v1(ns)}/web.1").json()
    assert again == event


def test_an_old_style_event_shows_its_deprecated_fields_in_events_k8s_io(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    posted = post_event(api, ns, event_body(ns, pod, count=4))
    seen = api.get(f"{events_v1(ns)}/{posted['metadata']['name']}").json()
    assert seen["regarding"] == posted["involvedObject"]
    assert seen["note"] == posted["message"]
    assert seen["deprecatedSource"] == {"component": "kopf"}
    assert seen["deprecatedFirstTimestamp"] == "2026-12-06T10:00:00Z"
    assert seen["deprecatedCount"] == 4
    assert seen["reportingController"] == "kopf"
    assert not {"involvedObject", "message", "source", "count", "reportingComponent"} & set(seen)


def test_events_k8s_io_adds_its_strict_rules_to_a_create(api: httpx.Client, ns: str) -> None:
    body = {"metadata": {"name": "e"}, "type": "Bogus", "deprecatedCount": 3}
    strict = api.post(events_v1(ns), json=body)
    assert strict.status_code == 422
    assert strict.json()["message"] == (
        'Event.events.k8s.io "e" is invalid: [involvedObject.namespace: Invalid value: "": does not '
        'match event.namespace, eventTime: Required value, type: Invalid value: "": has invalid '
        'value: Bogus, count: Invalid value: "": needs to be unset]'
    )
    assert strict.json()["details"]["group"] == "events.k8s.io"
    # the same event through core/v1 meets the legacy rules alone
    legacy = api.post(f"/api/v1/namespaces/{ns}/events", json={"metadata": {"name": "e"}, "type": "Bogus"})
    assert legacy.status_code == 422
    assert legacy.json()["message"] == (
        'Event "e" is invalid: involvedObject.namespace: Invalid value: "": does not match event.namespace'
    )


def test_a_new_style_event_must_say_who_reported_it_in_either_version(api: httpx.Client, ns: str) -> None:
    body = {
        "metadata": {"name": "e"},
        "involvedObject": {"namespace": ns},
        "eventTime": "2026-12-06T10:00:00Z",
    }
    response = api.post(f"/api/v1/namespaces/{ns}/events", json=body)
    assert response.status_code == 422
    message = response.json()["message"]
    assert message.startswith('Event "e" is invalid: [reportingController: Required value, ')
    assert "reportingInstance: Required value, action: Required value, reason: Required value]" in message


def test_an_event_series_is_the_one_thing_events_k8s_io_may_change(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    post_v1(api, ns, new_style(ns, pod))
    merge = {"content-type": "application/merge-patch+json"}
    series = {"series": {"count": 2, "lastObservedTime": "2026-12-06T10:05:00.000001Z"}}
    patched = api.patch(f"{events_v1(ns)}/web.1", content=orjson.dumps(series), headers=merge)
    assert patched.status_code == 200, patched.text
    assert patched.json()["series"] == series["series"]
    short = {"series": {"count": 1, "lastObservedTime": "2026-12-06T10:06:00Z"}}
    refused = api.patch(f"{events_v1(ns)}/web.1", content=orjson.dumps(short), headers=merge)
    assert refused.status_code == 422
    assert refused.json()["message"].endswith('series.count: Invalid value: "": should be at least 2')
    note = api.patch(f"{events_v1(ns)}/web.1", content=b'{"note":"changed"}', headers=merge)
    assert note.status_code == 422
    assert note.json()["message"] == (
        'Event.events.k8s.io "web.1" is invalid: message: Invalid value: "changed": field is immutable'
    )
    # core/v1 keeps its lenient update rules
    core = api.patch(f"/api/v1/namespaces/{ns}/events/web.1", content=b'{"message":"changed"}', headers=merge)
    assert core.status_code == 200 and core.json()["message"] == "changed"


def test_the_writer_owns_fields_in_the_version_it_wrote_through(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    event = post_v1(api, ns, new_style(ns, pod))
    (entry,) = event["metadata"]["managedFields"]
    assert entry["apiVersion"] == "events.k8s.io/v1"
    assert {"f:note", "f:regarding", "f:reportingController"} <= set(entry["fieldsV1"])
    merge = {"content-type": "application/merge-patch+json"}
    api.patch(f"/api/v1/namespaces/{ns}/events/web.1", content=b'{"message":"m"}', headers=merge)
    core = api.get(f"/api/v1/namespaces/{ns}/events/web.1").json()
    versions = [(e["apiVersion"], set(e["fieldsV1"])) for e in core["metadata"]["managedFields"]]
    assert versions[1] == ("v1", {"f:message"})  # the same manager, its own entry per version


def test_server_side_apply_through_events_k8s_io(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    body = orjson.dumps(new_style(ns, pod))
    url = f"{events_v1(ns)}/web.1"
    headers = {"content-type": "application/apply-patch+yaml"}
    applied = api.patch(url, content=body, params={"fieldManager": "scheduler"}, headers=headers)
    assert applied.status_code == 201, applied.text
    (entry,) = applied.json()["metadata"]["managedFields"]
    assert (entry["operation"], entry["apiVersion"]) == ("Apply", "events.k8s.io/v1")
    assert "f:note" in entry["fieldsV1"]
    core_kind = api.patch(
        url, content=body.replace(b"events.k8s.io/v1", b"v1"), params={"fieldManager": "x"}, headers=headers
    )
    assert core_kind.status_code == 400
    assert core_kind.json()["message"] == (
        "Incorrect version specified in apply patch. Specified patch version: v1, expected: events.k8s.io/v1"
    )


def test_events_k8s_io_selects_on_its_own_field_labels(api: httpx.Client, ns: str) -> None:
    web, other = create(api, ns, pod_manifest("web")), create(api, ns, pod_manifest("other"))
    post_v1(api, ns, new_style(ns, web))
    post_v1(api, ns, new_style(ns, other))

    def names(path: str, selector: str) -> list[str]:
        response = api.get(path, params={"fieldSelector": selector})
        assert response.status_code == 200, response.text
        return [e["metadata"]["name"] for e in response.json()["items"]]

    assert names(events_v1(ns), "regarding.name=web") == ["web.1"]
    assert names(events_v1(ns), "reportingController=default-scheduler,type=Normal") == ["other.1", "web.1"]
    assert names(f"{GROUP}/events", f"source=default-scheduler,metadata.namespace={ns}") == [
        "other.1",
        "web.1",
    ]
    assert names(f"/api/v1/namespaces/{ns}/events", "involvedObject.name=other") == ["other.1"]
    refused = api.get(events_v1(ns), params={"fieldSelector": "involvedObject.name=web"})
    assert refused.status_code == 400
    assert refused.json()["message"] == "field label not supported: involvedObject.name"


def test_lists_tables_and_errors_speak_events_k8s_io(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    post_v1(api, ns, new_style(ns, pod))
    listed = api.get(events_v1(ns)).json()
    assert (listed["kind"], listed["apiVersion"]) == ("EventList", "events.k8s.io/v1")
    assert listed["items"][0]["note"] == "Successfully assigned to node-1"
    table = api.get(events_v1(ns), headers={"accept": TABLE}, params={"includeObject": "Object"}).json()
    (row,) = table["rows"]
    assert row["cells"][1:7] == ["Normal", "Scheduled", "pod/web", "", "default-scheduler, default-scheduler-node-1",
                                 "Successfully assigned to node-1"]  # fmt: skip
    assert row["object"]["apiVersion"] == "events.k8s.io/v1"
    missing = api.get(f"{events_v1(ns)}/nope")
    assert missing.status_code == 404
    assert missing.json()["message"] == 'events.events.k8s.io "nope" not found'
    assert missing.json()["details"] == {"name": "nope", "group": "events.k8s.io", "kind": "events"}
    gone = api.delete(events_v1(ns))
    assert gone.status_code == 200
    assert [e["apiVersion"] for e in gone.json()["items"]] == ["events.k8s.io/v1"]
    assert api.get(f"/api/v1/namespaces/{ns}/events").json()["items"] == []


def test_a_watch_sees_each_event_in_the_version_it_watches(
    server: Server, api: httpx.Client, ns: str
) -> None:
    params = {"watch": "1", "allowWatchBookmarks": "true"}
    with (
        RawWatch(server.url, events_v1(ns), params) as newer,
        RawWatch(server.url, f"/api/v1/namespaces/{ns}/events", params) as older,
    ):
        pod = create(api, ns, pod_manifest("web"))
        post_v1(api, ns, new_style(ns, pod))
        api.delete(f"/api/v1/namespaces/{ns}/events/web.1")
        (added, deleted) = newer.read_count(2, timeout=10)
        assert [added["type"], deleted["type"]] == ["ADDED", "DELETED"]
        assert added["object"]["apiVersion"] == "events.k8s.io/v1"
        assert added["object"]["regarding"]["name"] == "web"
        assert deleted["object"]["note"] == "Successfully assigned to node-1"
        (core_added, _) = older.read_count(2, timeout=10)
        assert core_added["object"]["involvedObject"]["name"] == "web"
    rv = added["object"]["metadata"]["resourceVersion"]
    initial = {"watch": "1", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
               "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "2"}  # fmt: skip
    post_v1(api, ns, new_style(ns, pod))
    with RawWatch(server.url, events_v1(ns), initial) as listing:
        first, bookmark = listing.read_count(2, timeout=10)
    assert first["object"]["apiVersion"] == "events.k8s.io/v1"
    assert bookmark["type"] == "BOOKMARK"
    assert {k: bookmark["object"][k] for k in ("kind", "apiVersion", "eventTime", "regarding")} == {
        "kind": "Event", "apiVersion": "events.k8s.io/v1", "eventTime": None, "regarding": {},
    }  # fmt: skip
    assert int(bookmark["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_discovery_lists_the_events_k8s_io_group(api: httpx.Client) -> None:
    groups = api.get("/apis").json()["groups"]
    assert groups[0] == {
        "name": "events.k8s.io",
        "versions": [{"groupVersion": "events.k8s.io/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "events.k8s.io/v1", "version": "v1"},
    }
    group = api.get("/apis/events.k8s.io").json()
    assert (group["kind"], group["name"]) == ("APIGroup", "events.k8s.io")
    resources = api.get(GROUP).json()
    assert (resources["apiVersion"], resources["groupVersion"]) == ("v1", "events.k8s.io/v1")
    assert [r["name"] for r in resources["resources"]] == ["events"]
    root = api.get("/openapi/v3").json()["paths"]
    document = api.get(root["apis/events.k8s.io/v1"]["serverRelativeURL"]).json()
    operation = document["paths"][f"{GROUP}/namespaces/{{namespace}}/events"]["get"]
    assert operation["operationId"] == "listEventsV1NamespacedEvent"
    assert operation["x-kubernetes-group-version-kind"] == {
        "group": "events.k8s.io",
        "kind": "Event",
        "version": "v1",
    }
    schema = document["components"]["schemas"]["io.k8s.api.events.v1.Event"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "events.k8s.io", "kind": "Event", "version": "v1"}
    ]
    assert schema["properties"]["regarding"]["allOf"][0]["$ref"].endswith(
        "io.k8s.api.core.v1.ObjectReference"
    )


@pytest.mark.e2e
def test_the_official_client_reads_and_writes_events_k8s_io(cluster: Cluster, ns: str) -> None:
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        core, events = client.CoreV1Api(api_client), client.EventsV1Api(api_client)
        pod = core.create_namespaced_pod(ns, pod_manifest("web"))
        body = client.EventsV1Event(
            metadata=client.V1ObjectMeta(generate_name="web-"),
            event_time=pod.metadata.creation_timestamp,
            reporting_controller="example.com/operator",
            reporting_instance="operator-0",
            action="Reconcile",
            reason="Reconciled",
            regarding=client.V1ObjectReference(kind="Pod", namespace=ns, name="web", uid=pod.metadata.uid),
            note="all good",
            type="Normal",
        )
        made = events.create_namespaced_event(ns, body)
        assert made.metadata.name.startswith("web-")
        found = events.list_namespaced_event(ns, field_selector="regarding.name=web").items
        assert [(e.note, e.regarding.uid) for e in found] == [("all good", pod.metadata.uid)]
        assert core.list_namespaced_event(ns).items[0].message == "all good"
    finally:
        api_client.close()


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_gets_and_explains_events_k8s_io(server: Server, tmp_path: Path, ns: str) -> None:
    with server.client() as api:
        pod = create(api, ns, pod_manifest("web"))
        post_v1(api, ns, new_style(ns, pod))

    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    got = orjson.loads(kubectl("get", "events.v1.events.k8s.io", "-n", ns, "-o", "json"))
    assert [(e["apiVersion"], e["note"]) for e in got["items"]] == [
        ("events.k8s.io/v1", "Successfully assigned to node-1")
    ]
    table = kubectl("get", "events.events.k8s.io", "-n", ns).splitlines()
    assert table[1].split()[1:4] == ["Normal", "Scheduled", "pod/web"]
    explained = kubectl("explain", "events.regarding", "--api-version=events.k8s.io/v1")
    assert "GROUP:      events.k8s.io" in explained and "ObjectReference" in explained
