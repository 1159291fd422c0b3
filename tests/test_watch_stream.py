"""Watch over raw HTTP: wire format, paths, start positions, selectors, bookmarks, options.

Black-box against a real server (list-watch.md §5-8, spec README "kubectl get -w"). Every read
is bounded: a stream that stalls fails the test with ``TimeoutError``. "Nothing else arrived"
is proven with a sentinel: a later write the watch must see; everything before it is exact.

Not tested: 410 Expired (list-watch §6) — the server keeps the whole stream, so an expired
resourceVersion cannot be provoked yet.
"""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from .conftest import Server, pod_manifest
from .watch_support import (
    TABLE_ACCEPT,
    RawWatch,
    create,
    delete,
    is_added,
    list_rv,
    name_of,
    patch_labels,
    rv_of,
    summary,
)

READ_S = 5.0  # the longest any single expected event may take to arrive


def collection(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/pods"


def watch(server: Server, path: str, **params: str) -> RawWatch:
    return RawWatch(server.url, path, params)


def events_of(received: list[dict]) -> list[tuple[str, str, int]]:
    return summary(received)


# ---- wire format -------------------------------------------------------------------------------


def test_watch_is_a_chunked_200_of_newline_terminated_json_events(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a"))
    create(api, ns, pod_manifest("b"))
    params = {"watch": "true", "timeoutSeconds": "1"}
    with api.stream("GET", collection(ns), params=params, timeout=httpx.Timeout(10.0)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["transfer-encoding"] == "chunked"
        assert "content-length" not in response.headers
        body = b"".join(response.iter_raw())
    assert body.endswith(b"\n")
    lines = body.split(b"\n")[:-1]
    assert len(lines) == 2
    events = [json.loads(line) for line in lines]
    for event in events:
        assert set(event) == {"type", "object"}
        assert event["type"] == "ADDED"
        assert event["object"]["kind"] == "Pod" and event["object"]["apiVersion"] == "v1"
    assert sorted(e["object"]["metadata"]["name"] for e in events) == ["a", "b"]


def test_each_live_event_is_flushed_as_soon_as_it_happens(server: Server, api: httpx.Client, ns: str) -> None:
    with watch(server, collection(ns), watch="true", resourceVersion=str(list_rv(api, ns))) as w:
        assert w.status == 200 and w.chunked
        for name in ("a", "b", "c"):
            pod = create(api, ns, pod_manifest(name))
            started = time.monotonic()
            event = w.next_event(READ_S)
            assert event is not None and event["type"] == "ADDED" and name_of(event) == name
            assert rv_of(event) == int(pod["metadata"]["resourceVersion"])
            assert time.monotonic() - started < 2.0  # generous: the test box may be busy
            assert w.leftover() == b""  # the event's line was complete, newline included
        assert all(line.endswith(b"\n") and line.count(b"\n") == 1 for line in w.lines)


def test_accept_stream_watch_media_type_is_accepted(server: Server, api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a"))
    headers = {"Accept": "application/json;stream=watch"}
    with RawWatch(server.url, collection(ns), {"watch": "true"}, headers=headers) as w:
        assert w.status == 200
        assert w.headers["content-type"] == "application/json"
        assert events_of(w.read_count(1, READ_S))[0][:2] == ("ADDED", "a")


# ---- paths and the watch flag --------------------------------------------------------------------


@pytest.mark.parametrize("style", ["query", "deprecated"])
def test_namespaced_watch_paths_see_only_their_namespace(
    server: Server, api: httpx.Client, ns: str, style: str
) -> None:
    start = str(list_rv(api))
    if style == "query":
        w = watch(server, collection(ns), watch="true", resourceVersion=start)
    else:
        w = watch(server, f"/api/v1/watch/namespaces/{ns}/pods", resourceVersion=start)
    with w:
        assert w.status == 200 and w.chunked
        create(api, ns + "-other", pod_manifest("elsewhere"))
        create(api, ns, pod_manifest("a"))
        create(api, ns, pod_manifest("sentinel"))
        got = w.read_until(is_added("sentinel"), READ_S)
    assert [(t, n) for t, n, _ in events_of(got)] == [("ADDED", "a"), ("ADDED", "sentinel")]
    assert {e["object"]["metadata"]["namespace"] for e in got} == {ns}


@pytest.mark.parametrize("path", ["/api/v1/pods", "/api/v1/watch/pods"])
def test_all_namespaces_watch_paths_see_every_namespace(
    server: Server, api: httpx.Client, ns: str, path: str
) -> None:
    params = {"resourceVersion": str(list_rv(api))}
    if path == "/api/v1/pods":
        params["watch"] = "true"
    with RawWatch(server.url, path, params) as w:
        assert w.status == 200 and w.chunked
        create(api, ns + "-other", pod_manifest("a"))
        create(api, ns, pod_manifest("sentinel"))
        got = w.read_until(is_added("sentinel"), READ_S)
    assert [(e["object"]["metadata"]["namespace"], name_of(e)) for e in got] == [
        (ns + "-other", "a"),
        (ns, "sentinel"),
    ]


def test_deprecated_named_watch_path_sees_only_that_pod(server: Server, api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a"))
    create(api, ns, pod_manifest("b"))
    start = str(list_rv(api))
    with watch(server, f"/api/v1/watch/namespaces/{ns}/pods/a", resourceVersion=start) as w:
        assert w.status == 200 and w.chunked
        patch_labels(api, ns, "b", {"x": "1"})
        patched = patch_labels(api, ns, "a", {"x": "1"})
        got = w.read_count(1, READ_S)
    assert events_of(got) == [("MODIFIED", "a", int(patched["metadata"]["resourceVersion"]))]


def test_deprecated_named_watch_path_without_rv_starts_with_the_pod(
    server: Server, api: httpx.Client, ns: str
) -> None:
    pod = create(api, ns, pod_manifest("a"))
    create(api, ns, pod_manifest("b"))
    with watch(server, f"/api/v1/watch/namespaces/{ns}/pods/a") as w:
        got = w.read_count(1, READ_S)
        assert events_of(got) == [("ADDED", "a", int(pod["metadata"]["resourceVersion"]))]
        patch_labels(api, ns, "b", {"x": "1"})
        patched = patch_labels(api, ns, "a", {"x": "1"})
        got = w.read_count(1, READ_S)
    assert events_of(got) == [("MODIFIED", "a", int(patched["metadata"]["resourceVersion"]))]


def test_deprecated_named_watch_path_ands_an_extra_field_selector_naming_the_pod(
    server: Server, api: httpx.Client, ns: str
) -> None:
    create(api, ns, pod_manifest("a"))
    selector = "metadata.name=a,status.phase=Running"
    with watch(server, f"/api/v1/watch/namespaces/{ns}/pods/a", fieldSelector=selector) as w:
        assert w.status == 200
        # the pod is Pending: nothing matches, so the first event is its move to Running
        response = api.patch(
            f"/api/v1/namespaces/{ns}/pods/a/status",
            json={"status": {"phase": "Running"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
        got = w.read_count(1, READ_S)
    assert events_of(got) == [("ADDED", "a", int(response.json()["metadata"]["resourceVersion"]))]


def test_deprecated_named_watch_path_accepts_the_double_equals_name_term(
    server: Server, api: httpx.Client, ns: str
) -> None:
    pod = create(api, ns, pod_manifest("a"))
    with watch(server, f"/api/v1/watch/namespaces/{ns}/pods/a", fieldSelector="metadata.name==a") as w:
        assert w.status == 200
        assert events_of(w.read_count(1, READ_S)) == [("ADDED", "a", int(pod["metadata"]["resourceVersion"]))]


@pytest.mark.parametrize("selector", ["metadata.name=b", "status.phase=Running", "metadata.name!=a"])
def test_deprecated_named_watch_path_with_mismatched_field_selector_is_400(
    api: httpx.Client, ns: str, selector: str
) -> None:
    response = api.get(f"/api/v1/watch/namespaces/{ns}/pods/a", params={"fieldSelector": selector})
    assert response.status_code == 400
    assert response.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "fieldSelector metadata.name doesn't match requested name",
        "reason": "BadRequest", "code": 400,
    }  # fmt: skip


@pytest.mark.parametrize("value", ["true", "True", "1", "yes"])
def test_any_watch_value_but_false_or_0_starts_a_watch(
    server: Server, api: httpx.Client, ns: str, value: str
) -> None:
    pod = create(api, ns, pod_manifest("a"))
    with watch(server, collection(ns), watch=value) as w:
        assert w.status == 200 and w.chunked
        assert events_of(w.read_count(1, READ_S)) == [("ADDED", "a", int(pod["metadata"]["resourceVersion"]))]


@pytest.mark.parametrize("value", ["false", "False", "0"])
def test_watch_false_or_0_is_a_plain_list(api: httpx.Client, ns: str, value: str) -> None:
    create(api, ns, pod_manifest("a"))
    response = api.get(collection(ns), params={"watch": value})
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "PodList"
    assert [p["metadata"]["name"] for p in body["items"]] == ["a"]


def test_watch_true_on_the_item_url_is_a_plain_get(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("a"))
    response = api.get(f"{collection(ns)}/a", params={"watch": "true"})
    assert response.status_code == 200
    assert response.headers.get("transfer-encoding") != "chunked"
    assert response.json() == pod


# ---- where the stream starts -------------------------------------------------------------------


class Relabeler:
    """Patches label ``n`` of one pod to 1..count in a thread, recording each write's rv."""

    def __init__(self, server: Server, ns: str, count: int) -> None:
        self.server, self.ns, self.count = server, ns, count
        self.rvs: dict[int, int] = {}
        self.reached = {n: threading.Event() for n in (50, 100)}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with self.server.client() as client:
                for n in range(1, self.count + 1):
                    pod = patch_labels(client, self.ns, "x", {"n": str(n)})
                    self.rvs[n] = int(pod["metadata"]["resourceVersion"])
                    if n in self.reached:
                        self.reached[n].set()
        except BaseException as exc:  # reported by finish()
            self.error = exc
            for event in self.reached.values():
                event.set()

    def finish(self) -> None:
        self.thread.join(30)
        assert not self.thread.is_alive(), "writer did not finish"
        if self.error is not None:
            raise self.error


@pytest.mark.parametrize("replica", ["same", "other"])
def test_watch_without_rv_sends_current_state_then_every_later_change_without_gap_or_duplicate(
    server: Server, second_server: Server, api: httpx.Client, ns: str, replica: str
) -> None:
    create(api, ns, pod_manifest("x", labels={"n": "0"}))
    writer = Relabeler(server, ns, 300)
    writer.thread.start()
    assert writer.reached[50].wait(10)
    target = server if replica == "same" else second_server
    with watch(target, collection(ns), watch="true") as w:
        writer.finish()
        got = w.read_until(lambda e: e["object"]["metadata"]["labels"]["n"] == "300", 10)
    first, rest = got[0], got[1:]
    assert first["type"] == "ADDED"
    k = int(first["object"]["metadata"]["labels"]["n"])
    assert k >= 50 and rv_of(first) == writer.rvs[k]
    expected = [("MODIFIED", "x", writer.rvs[n]) for n in range(k + 1, 301)]
    assert events_of(rest) == expected


@pytest.mark.parametrize("replica", ["same", "other"])
def test_watch_from_rv_sends_exactly_the_later_events_and_joins_live_without_gap_or_duplicate(
    server: Server, second_server: Server, api: httpx.Client, ns: str, replica: str
) -> None:
    create(api, ns, pod_manifest("x", labels={"n": "0"}))
    writer = Relabeler(server, ns, 300)
    writer.thread.start()
    assert writer.reached[100].wait(10)
    start = writer.rvs[50]  # history from the past, then the live tail while the writer still runs
    target = server if replica == "same" else second_server
    with watch(target, collection(ns), watch="true", resourceVersion=str(start)) as w:
        writer.finish()
        got = w.read_until(lambda e: e["object"]["metadata"]["labels"]["n"] == "300", 10)
    assert events_of(got) == [("MODIFIED", "x", writer.rvs[n]) for n in range(51, 301)]


def test_watch_from_rv_has_no_initial_state(server: Server, api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a"))
    b = create(api, ns, pod_manifest("b"))
    c = create(api, ns, pod_manifest("c"))
    with watch(server, collection(ns), watch="true", resourceVersion=b["metadata"]["resourceVersion"]) as w:
        sentinel = create(api, ns, pod_manifest("sentinel"))
        got = w.read_until(is_added("sentinel"), READ_S)
    assert events_of(got) == [
        ("ADDED", "c", int(c["metadata"]["resourceVersion"])),
        ("ADDED", "sentinel", int(sentinel["metadata"]["resourceVersion"])),
    ]


def test_watch_from_a_future_rv_skips_events_up_to_it(server: Server, api: httpx.Client, ns: str) -> None:
    future = list_rv(api) + 3
    with watch(server, collection(ns), watch="true", resourceVersion=str(future)) as w:
        assert w.status == 200
        pods = [create(api, ns, pod_manifest(f"p{i}")) for i in range(6)]
        got = w.read_until(is_added("p5"), READ_S)
    expected = [("ADDED", p["metadata"]["name"], int(p["metadata"]["resourceVersion"])) for p in pods]
    assert events_of(got) == [e for e in expected if e[2] > future]


def test_deleting_an_unscheduled_pod_is_modified_then_deleted_at_the_deletion_rv(
    server: Server, api: httpx.Client, ns: str
) -> None:
    created = create(api, ns, pod_manifest("a", labels={"app": "web"}))
    with watch(
        server, collection(ns), watch="true", resourceVersion=created["metadata"]["resourceVersion"]
    ) as w:
        deleted = delete(api, ns, "a")
        got = w.read_count(2, READ_S)
    modified, gone = got
    assert [modified["type"], gone["type"]] == ["MODIFIED", "DELETED"]
    assert modified["object"]["metadata"]["deletionTimestamp"]
    assert modified["object"]["metadata"]["deletionGracePeriodSeconds"] == 0
    assert rv_of(modified) < rv_of(gone) == int(deleted["metadata"]["resourceVersion"])
    assert (
        gone["object"]["metadata"]["deletionTimestamp"] == modified["object"]["metadata"]["deletionTimestamp"]
    )
    assert gone["object"]["metadata"]["labels"] == {"app": "web"}
    assert gone["object"]["metadata"]["uid"] == created["metadata"]["uid"]


def test_event_rvs_strictly_increase_and_equal_the_acknowledged_writes(
    server: Server, api: httpx.Client, ns: str
) -> None:
    acked: list[tuple[str, str, int]] = []
    with watch(server, collection(ns), watch="true", resourceVersion=str(list_rv(api))) as w:
        for i in range(10):
            pod = create(api, ns, pod_manifest(f"p{i}"))
            acked.append(("ADDED", f"p{i}", int(pod["metadata"]["resourceVersion"])))
            if i % 2:
                pod = patch_labels(api, ns, f"p{i}", {"i": str(i)})
                acked.append(("MODIFIED", f"p{i}", int(pod["metadata"]["resourceVersion"])))
            if i % 3 == 2:
                pod = delete(api, ns, f"p{i}")
                acked.append(("DELETED", f"p{i}", int(pod["metadata"]["resourceVersion"])))
        sentinel = create(api, ns, pod_manifest("sentinel"))
        got = events_of(w.read_until(is_added("sentinel"), READ_S))
    rvs = [rv for _, _, rv in got]
    assert rvs == sorted(set(rvs)), "resourceVersions must strictly increase"
    assert rvs[-1] == int(sentinel["metadata"]["resourceVersion"])
    # every acknowledged write is there; the only others are the MODIFIED before each DELETED
    assert [e for e in got if e in acked] == acked
    extra = [e for e in got if e not in acked and e[1] != "sentinel"]
    assert [(t, n) for t, n, _ in extra] == [("MODIFIED", n) for t, n, _ in acked if t == "DELETED"]


# ---- selectors ---------------------------------------------------------------------------------


def test_label_selector_filters_and_relabels_are_added_and_deleted(
    server: Server, api: httpx.Client, ns: str
) -> None:
    start = str(list_rv(api))
    with watch(server, collection(ns), watch="true", labelSelector="app=web", resourceVersion=start) as w:
        create(api, ns, pod_manifest("db", labels={"app": "db"}))
        added = create(api, ns, pod_manifest("web", labels={"app": "web"}))
        enters = patch_labels(api, ns, "db", {"app": "web"})  # starts matching: ADDED
        stays = patch_labels(api, ns, "db", {"tier": "1"})  # matches before and after: MODIFIED
        leaves = patch_labels(api, ns, "db", {"app": "cache"})  # stops matching: DELETED
        patch_labels(api, ns, "db", {"tier": "2"})  # matches neither before nor after: nothing
        delete(api, ns, "db")  # deleted while not matching: nothing
        sentinel = create(api, ns, pod_manifest("sentinel", labels={"app": "web"}))
        got = w.read_until(is_added("sentinel"), READ_S)
    rv = lambda pod: int(pod["metadata"]["resourceVersion"])  # noqa: E731
    assert events_of(got) == [
        ("ADDED", "web", rv(added)),
        ("ADDED", "db", rv(enters)),
        ("MODIFIED", "db", rv(stays)),
        ("DELETED", "db", rv(leaves)),
        ("ADDED", "sentinel", rv(sentinel)),
    ]
    assert got[1]["object"]["metadata"]["labels"] == {"app": "web"}
    assert got[2]["object"]["metadata"]["labels"] == {"app": "web", "tier": "1"}
    # leaving the selector: the previous content, stamped with the new event's rv
    assert got[3]["object"]["metadata"]["labels"] == {"app": "web", "tier": "1"}


def test_set_based_label_selector_watch(server: Server, api: httpx.Client, ns: str) -> None:
    start = str(list_rv(api))
    selector = "app in (a,b),!legacy"
    with watch(server, collection(ns), watch="true", labelSelector=selector, resourceVersion=start) as w:
        create(api, ns, pod_manifest("p1", labels={"app": "a"}))
        create(api, ns, pod_manifest("p2", labels={"app": "c"}))
        create(api, ns, pod_manifest("p3", labels={"app": "b", "legacy": "y"}))
        patch_labels(api, ns, "p3", {"legacy": None})  # enters
        patch_labels(api, ns, "p1", {"legacy": "y"})  # leaves
        create(api, ns, pod_manifest("sentinel", labels={"app": "b"}))
        got = w.read_until(is_added("sentinel"), READ_S)
    assert [(t, n) for t, n, _ in events_of(got)] == [
        ("ADDED", "p1"), ("ADDED", "p3"), ("DELETED", "p1"), ("ADDED", "sentinel"),
    ]  # fmt: skip
    assert got[2]["object"]["metadata"]["labels"] == {"app": "a"}


def test_field_selector_filters_and_phase_changes_are_added_and_deleted(
    server: Server, api: httpx.Client, ns: str
) -> None:
    def set_phase(name: str, phase: str) -> dict:
        response = api.patch(
            f"{collection(ns)}/{name}/status",
            json={"status": {"phase": phase}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    create(api, ns, pod_manifest("a"))
    create(api, ns, pod_manifest("b"))
    start = str(list_rv(api))
    with watch(
        server, collection(ns), watch="true", fieldSelector="status.phase=Running", resourceVersion=start
    ) as w:
        running = set_phase("a", "Running")
        patch_labels(api, ns, "b", {"x": "1"})  # never Running: nothing
        finished = set_phase("a", "Succeeded")
        sentinel = set_phase("b", "Running")
        got = w.read_until(lambda e: name_of(e) == "b", READ_S)
    assert events_of(got) == [
        ("ADDED", "a", int(running["metadata"]["resourceVersion"])),
        ("DELETED", "a", int(finished["metadata"]["resourceVersion"])),
        ("ADDED", "b", int(sentinel["metadata"]["resourceVersion"])),
    ]
    assert got[1]["object"]["status"]["phase"] == "Running"  # the content before it left


def test_field_selector_on_name_watch(server: Server, api: httpx.Client, ns: str) -> None:
    start = str(list_rv(api))
    with watch(
        server, collection(ns), watch="true", fieldSelector="metadata.name!=b", resourceVersion=start
    ) as w:
        create(api, ns, pod_manifest("b"))
        create(api, ns, pod_manifest("a"))
        got = w.read_count(1, READ_S)
    assert [(t, n) for t, n, _ in events_of(got)] == [("ADDED", "a")]


def test_watch_without_rv_and_selector_starts_with_only_the_matching_pods(
    server: Server, api: httpx.Client, ns: str
) -> None:
    create(api, ns, pod_manifest("a", labels={"app": "web"}))
    create(api, ns, pod_manifest("b", labels={"app": "db"}))
    create(api, ns, pod_manifest("c", labels={"app": "web"}))
    with watch(server, collection(ns), watch="true", labelSelector="app=web") as w:
        got = w.read_count(2, READ_S)
        sentinel = create(api, ns, pod_manifest("sentinel", labels={"app": "web"}))
        live = w.read_count(1, READ_S)
    assert sorted(n for _, n, _ in events_of(got)) == ["a", "c"]
    assert {t for t, _, _ in events_of(got)} == {"ADDED"}
    assert events_of(live) == [("ADDED", "sentinel", int(sentinel["metadata"]["resourceVersion"]))]


@pytest.mark.parametrize("selector", ["app=(", "a b"])
def test_bad_label_selector_on_watch_is_400_before_streaming(
    api: httpx.Client, ns: str, selector: str
) -> None:
    response = api.get(collection(ns), params={"watch": "true", "labelSelector": selector})
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"


def test_unsupported_field_selector_on_watch_is_400(api: httpx.Client, ns: str) -> None:
    response = api.get(collection(ns), params={"watch": "true", "fieldSelector": "spec.image=x"})
    assert response.status_code == 400
    assert response.json()["message"] == "field label not supported: spec.image"


# ---- termination, bookmarks, watch-list ----------------------------------------------------------


@pytest.mark.parametrize("rv", ["abc", "-1"])
def test_non_numeric_resource_version_on_watch_is_400(api: httpx.Client, ns: str, rv: str) -> None:
    response = api.get(collection(ns), params={"watch": "true", "resourceVersion": rv})
    assert response.status_code == 400
    assert response.json()["message"] == (
        f'resourceVersion: Invalid value: "{rv}": strconv.ParseUint: parsing "{rv}": invalid syntax'
    )


def test_timeout_seconds_ends_the_stream(server: Server, api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a"))
    started = time.monotonic()
    with watch(server, collection(ns), watch="true", timeoutSeconds="1") as w:
        got = w.read_to_end(8)
        elapsed = time.monotonic() - started
        assert w.ended and w.leftover() == b""
    assert [(t, n) for t, n, _ in events_of(got)] == [("ADDED", "a")]
    assert 0.8 <= elapsed < 4, elapsed


@pytest.mark.parametrize("rv", [None, "0", "current"])
def test_send_initial_events_with_bookmarks_ends_the_initial_state_with_a_bookmark(
    server: Server, api: httpx.Client, ns: str, rv: str | None
) -> None:
    pods = [create(api, ns, pod_manifest(name)) for name in ("a", "b")]
    if rv == "current":
        rv = pods[-1]["metadata"]["resourceVersion"]
    params = {
        "watch": "true", "allowWatchBookmarks": "true", "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
    }  # fmt: skip
    if rv is not None:
        params["resourceVersion"] = rv
    with watch(server, collection(ns), **params) as w:
        got = w.read_count(3, READ_S)
        sentinel = create(api, ns, pod_manifest("sentinel"))
        live = w.read_count(1, READ_S)
    initial, bookmark = got[:2], got[2]
    assert sorted(events_of(initial)) == [
        ("ADDED", p["metadata"]["name"], int(p["metadata"]["resourceVersion"])) for p in pods
    ]
    assert bookmark["type"] == "BOOKMARK"
    obj = bookmark["object"]
    assert obj["kind"] == "Pod" and obj["apiVersion"] == "v1"
    assert obj["metadata"]["annotations"]["k8s.io/initial-events-end"] == "true"
    assert int(obj["metadata"]["resourceVersion"]) >= max(rv_of(e) for e in initial)
    assert int(obj["metadata"]["resourceVersion"]) < int(sentinel["metadata"]["resourceVersion"])
    assert events_of(live) == [("ADDED", "sentinel", int(sentinel["metadata"]["resourceVersion"]))]


def test_send_initial_events_without_bookmarks_sends_no_bookmark(
    server: Server, api: httpx.Client, ns: str
) -> None:
    create(api, ns, pod_manifest("a"))
    params = {"watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan"}
    with watch(server, collection(ns), **params) as w:
        got = w.read_count(1, READ_S)
        create(api, ns, pod_manifest("sentinel"))
        got += w.read_count(1, READ_S)
    assert [(t, n) for t, n, _ in events_of(got)] == [("ADDED", "a"), ("ADDED", "sentinel")]


@pytest.mark.parametrize("rv", [None, "0"])
def test_send_initial_events_false_sends_no_initial_state(
    server: Server, api: httpx.Client, ns: str, rv: str | None
) -> None:
    create(api, ns, pod_manifest("a"))
    params = {
        "watch": "true", "sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan",
        "timeoutSeconds": "1",
    }  # fmt: skip
    if rv is not None:
        params["resourceVersion"] = rv
    with watch(server, collection(ns), **params) as w:
        assert w.status == 200
        assert w.read_to_end(8) == []


def test_send_initial_events_false_delivers_every_write_made_after_the_watch_started(
    server: Server, api: httpx.Client, ns: str
) -> None:
    params = {"watch": "true", "sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan"}
    for attempt in range(50):  # the race is timing-dependent: try it many times
        with watch(server, collection(ns), **params) as w:
            assert w.status == 200  # the watch has started: every later write must be delivered
            first = create(api, ns, pod_manifest(f"first-{attempt}"))
            time.sleep(0.02)
            create(api, ns, pod_manifest(f"second-{attempt}"))
            got = w.read_count(1, READ_S)
        assert events_of(got) == [("ADDED", f"first-{attempt}", int(first["metadata"]["resourceVersion"]))], (
            f"attempt {attempt}: a write made after the 200 was not delivered"
        )


def test_send_initial_events_for_a_future_rv_is_an_error_event_504(
    server: Server, api: httpx.Client, ns: str
) -> None:
    future = list_rv(api) + 1000
    params = {
        "watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
        "resourceVersion": str(future),
    }  # fmt: skip
    with watch(server, collection(ns), **params) as w:
        assert w.status == 200
        got = w.read_to_end(10)
    assert [e["type"] for e in got] == ["ERROR"]
    status = got[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 504 and status["reason"] == "Timeout"
    assert status["message"].startswith(f"Timeout: Too large resource version: {future}, current: ")


FORBIDDEN_WITHOUT_NOT_OLDER = (
    "resourceVersionMatch: Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
)
FORBIDDEN_WITHOUT_INITIAL = (
    "resourceVersionMatch: Forbidden: "
    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"
)


@pytest.mark.parametrize(
    ("params", "message", "reason"),
    [
        ({"sendInitialEvents": "true"}, FORBIDDEN_WITHOUT_NOT_OLDER, "FieldValueForbidden"),
        ({"sendInitialEvents": "false"}, FORBIDDEN_WITHOUT_NOT_OLDER, "FieldValueForbidden"),
        ({"resourceVersionMatch": "NotOlderThan"}, FORBIDDEN_WITHOUT_INITIAL, "FieldValueForbidden"),
        (
            {"resourceVersionMatch": "Exact", "resourceVersion": "1"},
            FORBIDDEN_WITHOUT_INITIAL,
            "FieldValueForbidden",
        ),
        (
            {"sendInitialEvents": "true", "resourceVersionMatch": "Exact"},
            'resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"',
            "FieldValueNotSupported",
        ),
    ],
)
def test_bad_send_initial_events_combinations_are_422(
    api: httpx.Client, ns: str, params: dict[str, str], message: str, reason: str
) -> None:
    response = api.get(collection(ns), params={"watch": "true", **params})
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid" and body["code"] == 422
    assert body["message"] == f'ListOptions.meta.k8s.io "" is invalid: {message}'
    assert [(c["field"], c["reason"]) for c in body["details"]["causes"]] == [
        ("resourceVersionMatch", reason)
    ]


def test_send_initial_events_on_a_list_is_422(api: httpx.Client, ns: str) -> None:
    response = api.get(
        collection(ns),
        params={"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "resourceVersion": "0"},
    )
    assert response.status_code == 422
    assert response.json()["message"] == (
        'ListOptions.meta.k8s.io "" is invalid: '
        "sendInitialEvents: Forbidden: sendInitialEvents is forbidden for list"
    )


# ---- Table watches (kubectl get -w) -------------------------------------------------------------


def table_rows(events: list[dict]) -> list[tuple[str, str, str]]:
    """(type, name, status cell) of each Table event."""
    return [
        (e["type"], e["object"]["rows"][0]["cells"][0], e["object"]["rows"][0]["cells"][2]) for e in events
    ]


def assert_table_events(events: list[dict]) -> None:
    for i, event in enumerate(events):
        obj = event["object"]
        assert obj["kind"] == "Table" and obj["apiVersion"] == "meta.k8s.io/v1"
        assert len(obj["rows"]) == 1
        row_meta = obj["rows"][0]["object"]["metadata"]
        assert obj["metadata"]["resourceVersion"] == row_meta["resourceVersion"]
        assert obj["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
        if i == 0:
            assert [c["name"] for c in obj["columnDefinitions"]][:5] == [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
            ]
        else:
            assert "columnDefinitions" in obj and obj["columnDefinitions"] is None


@pytest.mark.parametrize("start", ["unset", "0", "list-rv", "history"])
def test_table_watch_sends_column_definitions_only_in_the_first_event(
    server: Server, api: httpx.Client, ns: str, start: str
) -> None:
    first = create(api, ns, pod_manifest("a"))
    create(api, ns, pod_manifest("b"))
    params = {"watch": "true"}
    if start == "0":
        params["resourceVersion"] = "0"
    elif start == "list-rv":
        params["resourceVersion"] = str(list_rv(api, ns))
    elif start == "history":
        params["resourceVersion"] = first["metadata"]["resourceVersion"]  # replays b's ADDED
    with RawWatch(server.url, collection(ns), params, headers={"Accept": TABLE_ACCEPT}) as w:
        assert w.status == 200 and w.headers["content-type"] == "application/json"
        initial = {"unset": 2, "0": 2, "list-rv": 0, "history": 1}[start]
        got = w.read_count(initial, READ_S) if initial else []
        patch_labels(api, ns, "a", {"x": "1"})
        delete(api, ns, "b")
        got += w.read_until(lambda e: e["type"] == "DELETED", READ_S)
    assert_table_events(got)
    assert table_rows(got)[initial:] == [
        ("MODIFIED", "a", "Pending"), ("MODIFIED", "b", "Terminating"), ("DELETED", "b", "Terminating"),
    ]  # fmt: skip


def test_table_watch_with_several_events_in_one_flush(server: Server, api: httpx.Client, ns: str) -> None:
    start = str(list_rv(api, ns))
    with RawWatch(
        server.url,
        collection(ns),
        {"watch": "true", "resourceVersion": start},
        headers={"Accept": TABLE_ACCEPT},
    ) as w:
        # the watcher is not reading while these land: they may reach it in one chunk
        for i in range(20):
            create(api, ns, pod_manifest(f"p{i:02}"))
        got = w.read_count(20, READ_S)
    assert_table_events(got)
    assert [n for _, n, _ in table_rows(got)] == [f"p{i:02}" for i in range(20)]


def test_table_watch_leaving_the_selector_is_a_deleted_row_at_the_new_rv(
    server: Server, api: httpx.Client, ns: str
) -> None:
    create(api, ns, pod_manifest("a", labels={"app": "web"}))
    params = {"watch": "true", "labelSelector": "app=web"}
    with RawWatch(server.url, collection(ns), params, headers={"Accept": TABLE_ACCEPT}) as w:
        got = w.read_count(1, READ_S)
        left = patch_labels(api, ns, "a", {"app": "db"})
        got += w.read_count(1, READ_S)
    assert_table_events(got)
    assert table_rows(got) == [("ADDED", "a", "Pending"), ("DELETED", "a", "Pending")]
    deleted = got[1]["object"]
    assert deleted["metadata"]["resourceVersion"] == left["metadata"]["resourceVersion"]
    assert deleted["rows"][0]["object"]["metadata"]["labels"] == {"app": "web"}  # the previous content


def test_watch_list_with_a_table_accept_header_streams_plain_pods(
    server: Server, api: httpx.Client, ns: str
) -> None:
    create(api, ns, pod_manifest("a"))
    params = {
        "watch": "true", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
    }  # fmt: skip
    with RawWatch(server.url, collection(ns), params, headers={"Accept": TABLE_ACCEPT}) as w:
        got = w.read_count(2, READ_S)
    assert [(e["type"], e["object"]["kind"]) for e in got] == [("ADDED", "Pod"), ("BOOKMARK", "Pod")]


@pytest.mark.parametrize("field", ["spec.nodeName", "spec.host"])
def test_node_name_field_selector_watch_across_namespaces(
    server: Server, api: httpx.Client, ns: str, field: str
) -> None:
    node = f"node-{ns}"
    start = str(list_rv(api))
    with RawWatch(
        server.url,
        "/api/v1/pods",
        {"watch": "true", "fieldSelector": f"{field}={node}", "resourceVersion": start},
    ) as w:
        create(api, ns, pod_manifest("elsewhere", nodeName=f"other-{ns}"))
        create(api, ns, pod_manifest("unscheduled"))
        here = create(api, ns + "-b", pod_manifest("here", nodeName=node))
        got = w.read_count(1, READ_S)
    assert events_of(got) == [("ADDED", "here", int(here["metadata"]["resourceVersion"]))]


def test_bookmarks_arrive_at_the_configured_interval_and_carry_the_current_rv(
    redis_server,
    tmp_path,
    ns: str,  # type: ignore[no-untyped-def]
) -> None:
    import orjson as _orjson

    from .conftest import start_server

    srv = start_server(redis_server.url, tmp_path, "--bookmark-interval-seconds", "0.5")
    try:
        with srv.client() as api:
            head = api.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
            params = {
                "watch": "1",
                "resourceVersion": head,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": 4,
            }
            with api.stream("GET", f"/api/v1/namespaces/{ns}/pods", params=params) as response:
                events = [_orjson.loads(line) for line in response.iter_lines() if line]
    finally:
        srv.stop()
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert len(bookmarks) >= 2, events  # every 0.5 s until ~2 s before the 4 s deadline
    assert all(int(b["object"]["metadata"]["resourceVersion"]) >= int(head) for b in bookmarks)
    assert bookmarks[0]["object"]["spec"] == {"containers": None}
