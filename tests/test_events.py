"""core/v1 Events: what kubectl describe, kubectl get events and operators (kopf) post and read,
and their expiry ``--event-ttl`` after their last write."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from watchcache.process.embedded_redis import EmbeddedRedis
from watchcache.process.settings import parse_duration

from .conftest import Server, pod_manifest, start_server
from .watch_support import RawWatch, create

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def event_body(ns: str, pod: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """What kopf posts about an object it handles (spec/clients-load-durability.md §6.1)."""
    return {
        "metadata": {"generateName": "kopf-event-"},
        "involvedObject": {
            "kind": "Pod",
            "apiVersion": "v1",
            "namespace": ns,
            "name": pod["metadata"]["name"],
            "uid": pod["metadata"]["uid"],
        },
        "reason": "Logging",
        "message": "Handler 'create_fn' succeeded.",
        "type": "Normal",
        "source": {"component": "kopf"},
        "firstTimestamp": "2026-12-06T10:00:00Z",
        "lastTimestamp": "2026-12-06T10:00:00Z",
        "eventTime": "2026-12-06T11:00:00.5+01:00",
        "reportingComponent": "kopf",
        "reportingInstance": "dev",
        "action": "Action?",
        **extra,
    }


def post_event(api: httpx.Client, ns: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/api/v1/namespaces/{ns}/events", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_an_event_is_stored_in_go_field_order_with_its_zero_fields(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    event = post_event(api, ns, event_body(ns, pod))
    assert event["metadata"]["name"].startswith("kopf-event-")
    assert list(event)[:6] == ["kind", "apiVersion", "metadata", "involvedObject", "reason", "message"]
    assert event["eventTime"] == "2026-12-06T10:00:00.500000Z"  # MicroTime: UTC, six digits
    bare = post_event(api, ns, {"metadata": {"name": "bare"}, "involvedObject": {"namespace": ns}})
    assert {k: bare[k] for k in list(bare)[3:]} == {
        "involvedObject": {"namespace": ns},
        "source": {},
        "firstTimestamp": None,
        "lastTimestamp": None,
        "eventTime": None,
        "reportingComponent": "",
        "reportingInstance": "",
    }
    assert api.get(f"/api/v1/namespaces/{ns}/events/bare").json() == bare


def test_describe_finds_a_pods_events_by_field_selector(api: httpx.Client, ns: str) -> None:
    web, other = create(api, ns, pod_manifest("web")), create(api, ns, pod_manifest("other"))
    mine = post_event(api, ns, event_body(ns, web))
    post_event(api, ns, event_body(ns, other))
    selector = (
        f"involvedObject.name=web,involvedObject.namespace={ns},involvedObject.uid={web['metadata']['uid']}"
    )
    listed = api.get(f"/api/v1/namespaces/{ns}/events", params={"fieldSelector": selector, "limit": "500"})
    assert listed.json()["kind"] == "EventList"
    assert [e["metadata"]["name"] for e in listed.json()["items"]] == [mine["metadata"]["name"]]
    by_reason = api.get(
        "/api/v1/events", params={"fieldSelector": f"reason=Logging,source=kopf,metadata.namespace={ns}"}
    )
    assert len(by_reason.json()["items"]) == 2
    bad = api.get(f"/api/v1/namespaces/{ns}/events", params={"fieldSelector": "spec.nodeName=n1"})
    assert bad.status_code == 400
    assert bad.json()["message"] == "field label not supported: spec.nodeName"


def test_an_event_about_an_object_of_another_namespace_is_invalid(api: httpx.Client, ns: str) -> None:
    body = {
        "metadata": {"name": "e"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "elsewhere"},
    }
    response = api.post(f"/api/v1/namespaces/{ns}/events", json=body)
    assert response.status_code == 422
    assert response.json()["message"] == (
        'Event "e" is invalid: involvedObject.namespace: Invalid value: "elsewhere": does not match event.namespace'
    )


def test_the_events_table_is_what_kubectl_get_events_prints(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    post_event(api, ns, event_body(ns, pod, count=3, message="  padded  "))
    table = api.get(f"/api/v1/namespaces/{ns}/events", headers={"accept": TABLE}).json()
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name",
    ]  # fmt: skip
    (row,) = table["rows"]
    cells = row["cells"]
    assert cells[1:7] == ["Normal", "Logging", "pod/web", "", "kopf, dev", "padded"]
    assert cells[8] == 3


@pytest.fixture(scope="module")
def short_ttl_server(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    srv = start_server(redis_server.url, tmp_path_factory.mktemp("ttl"), "--event-ttl", "2s")
    yield srv
    srv.stop()


def test_events_expire_their_ttl_after_their_last_write(short_ttl_server: Server) -> None:
    ns = f"t-{uuid.uuid4().hex[:10]}"
    with short_ttl_server.client() as api:
        pod = create(api, ns, pod_manifest("web"))
        start = api.get(f"/api/v1/namespaces/{ns}/events").json()["metadata"]["resourceVersion"]
        with RawWatch(
            short_ttl_server.url, f"/api/v1/namespaces/{ns}/events", {"watch": "1", "resourceVersion": start}
        ) as w:
            stale = post_event(api, ns, event_body(ns, pod))
            kept = post_event(api, ns, event_body(ns, pod, reason="Renewed"))
            name = kept["metadata"]["name"]
            for _ in range(3):  # rewritten every second: never 2 s old
                time.sleep(1)
                patched = api.patch(
                    f"/api/v1/namespaces/{ns}/events/{name}",
                    json={"count": int(time.time())},
                    headers={"content-type": "application/merge-patch+json"},
                )
                assert patched.status_code == 200
            seen = []
            while not any(e["type"] == "DELETED" for e in seen):  # 2 ADDED, 3 MODIFIED, then DELETED
                event = w.next_event(5)
                assert event is not None, f"no expiry seen after {seen}"
                seen.append(event)
        deleted = [e for e in seen if e["type"] == "DELETED"]
        assert [e["object"]["metadata"]["name"] for e in deleted] == [stale["metadata"]["name"]]
        assert api.get(f"/api/v1/namespaces/{ns}/events/{stale['metadata']['name']}").status_code == 404
        assert api.get(f"/api/v1/namespaces/{ns}/events/{name}").status_code == 200
        deadline = time.monotonic() + 10
        while api.get(f"/api/v1/namespaces/{ns}/events/{name}").status_code != 404:
            assert time.monotonic() < deadline, "the renewed event never expired"
            time.sleep(0.2)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1h", 3600.0),
        ("90s", 90.0),
        ("3s", 3.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1.5h", 5400.0),
        ("0", 0.0),
    ],
)
def test_event_ttl_takes_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "1d", "1h-", "5 s"])
def test_a_bad_duration_is_refused_with_gos_text(text: str) -> None:
    with pytest.raises(ValueError, match="time: invalid duration"):
        parse_duration(text)


@pytest.mark.e2e
@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_describe_pod_shows_its_events(server: Server, tmp_path: Path, ns: str) -> None:
    with server.client() as api:
        pod = create(api, ns, pod_manifest("web"))
        post_event(api, ns, event_body(ns, pod, reason="Scheduled", message="assigned to node-1"))

    def kubectl(*args: str) -> str:
        cmd = ["kubectl", "--server", server.url, "--cache-dir", str(tmp_path / "cache"), *args]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=60).stdout

    described = kubectl("describe", "pod", "web", "-n", ns)
    events = described[described.index("Events:") :].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[3].split()[:2] == ["Normal", "Scheduled"] and events[3].endswith("kopf  assigned to node-1")
    newer = kubectl("events", "-n", ns).splitlines()  # kubectl's own events command
    assert newer[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert newer[1].split()[1:4] == ["Normal", "Scheduled", "Pod/web"]
    listed = kubectl("get", "events", "-n", ns).splitlines()
    assert listed[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert listed[1].split()[1:4] == ["Normal", "Scheduled", "pod/web"]
