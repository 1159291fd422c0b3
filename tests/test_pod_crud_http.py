"""Create, get, list, replace, patch and delete over raw HTTP against a real server."""

from __future__ import annotations

import time

import httpx
import orjson

from .conftest import pod_manifest

JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def create(api: httpx.Client, ns: str, manifest: dict) -> dict:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=manifest)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_201_with_server_owned_metadata_and_defaults(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    meta = pod["metadata"]
    assert meta["namespace"] == ns
    assert len(meta["uid"]) == 36
    assert meta["resourceVersion"].isdigit()
    assert meta["creationTimestamp"].endswith("Z")
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


def test_the_creator_owns_the_defaulted_request_not_the_status_the_server_sets(
    api: httpx.Client, ns: str
) -> None:
    """kube's field manager records the decoded pod, defaults included, before PrepareForCreate
    sets the phase and QoS class (objects-and-errors.md §2)."""
    pod = create(api, ns, pod_manifest("web", labels={"run": "web"}))
    (entry,) = pod["metadata"]["managedFields"]
    assert set(entry["fieldsV1"]) == {"f:metadata", "f:spec"}
    assert entry["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"web"}'] == {
        ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {},
        "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {},
    }  # fmt: skip
    assert {"f:dnsPolicy", "f:restartPolicy", "f:schedulerName"} <= set(entry["fieldsV1"]["f:spec"])


def test_create_with_generate_name_appends_five_random_characters(api: httpx.Client, ns: str) -> None:
    manifest = pod_manifest("")
    manifest["metadata"] = {"generateName": "job-"}
    pod = create(api, ns, manifest)
    name = pod["metadata"]["name"]
    assert name.startswith("job-") and len(name) == 9
    assert api.get(f"/api/v1/namespaces/{ns}/pods/{name}").status_code == 200


def test_create_of_existing_name_is_409_already_exists(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest("web"))
    assert response.status_code == 409
    assert response.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'pods "web" already exists', "reason": "AlreadyExists",
        "details": {"name": "web", "kind": "pods"}, "code": 409,
    }  # fmt: skip


def test_create_with_other_namespace_in_body_is_400(api: httpx.Client, ns: str) -> None:
    manifest = pod_manifest("web")
    manifest["metadata"]["namespace"] = "elsewhere"
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=manifest)
    assert response.status_code == 400
    assert response.json()["message"] == (
        "the namespace of the provided object does not match the namespace sent on the request"
    )


def test_invalid_pod_is_422_with_every_cause(api: httpx.Client, ns: str) -> None:
    manifest = pod_manifest("web", restartPolicy="Sometimes")
    manifest["spec"]["containers"][0]["image"] = ""
    response = api.post(f"/api/v1/namespaces/{ns}/pods", json=manifest)
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert [c["field"] for c in body["details"]["causes"]] == [
        "spec.containers[0].image",
        "spec.restartPolicy",
    ]


def test_get_missing_pod_is_404_not_found(api: httpx.Client, ns: str) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods/nope")
    assert response.status_code == 404
    assert response.json()["message"] == 'pods "nope" not found'
    assert response.json()["details"] == {"name": "nope", "kind": "pods"}


def test_plain_get_answers_exactly_what_the_full_get_path_answers(api: httpx.Client, ns: str) -> None:
    # no query and a JSON Accept take the raw fast path; "?resourceVersion=" the full endpoint
    created = create(api, ns, pod_manifest("same-bytes"))
    path = f"/api/v1/namespaces/{ns}/pods/same-bytes"
    fast = api.get(path, headers={"Accept": "application/json"})
    full = api.get(path, params={"resourceVersion": ""}, headers={"Accept": "application/json"})
    assert fast.status_code == full.status_code == 200
    assert fast.content == full.content
    assert fast.json()["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    for header in ("content-type", "content-length"):
        assert fast.headers[header] == full.headers[header]


def test_list_returns_items_in_name_order_with_list_resource_version(api: httpx.Client, ns: str) -> None:
    for name in ("b", "a", "c"):
        create(api, ns, pod_manifest(name))
    body = api.get(f"/api/v1/namespaces/{ns}/pods").json()
    assert body["kind"] == "PodList"
    assert [p["metadata"]["name"] for p in body["items"]] == ["a", "b", "c"]
    newest = max(int(p["metadata"]["resourceVersion"]) for p in body["items"])
    assert int(body["metadata"]["resourceVersion"]) >= newest


def test_lists_declare_their_length_instead_of_chunked_framing(api: httpx.Client, ns: str) -> None:
    for i in range(3):
        create(api, ns, pod_manifest(f"sized-{i}"))
    for path in (f"/api/v1/namespaces/{ns}/pods", f"/api/v1/namespaces/{ns}-empty/pods"):
        response = api.get(path)
        assert response.headers["content-length"] == str(len(response.content))
        assert "transfer-encoding" not in response.headers
        assert response.json()["kind"] == "PodList"
    assert len(api.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]) == 3


def test_empty_list_has_items_array_and_nonzero_resource_version(api: httpx.Client, ns: str) -> None:
    body = api.get(f"/api/v1/namespaces/{ns}/pods").json()
    assert body["items"] == []
    assert int(body["metadata"]["resourceVersion"]) >= 1


def test_all_namespaces_list_contains_pods_of_every_namespace(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    create(api, ns + "-x", pod_manifest("web"))
    keys = {
        (p["metadata"]["namespace"], p["metadata"]["name"]) for p in api.get("/api/v1/pods").json()["items"]
    }
    assert {(ns, "web"), (ns + "-x", "web")} <= keys


def test_list_with_limit_pages_through_all_pods(api: httpx.Client, ns: str) -> None:
    for i in range(5):
        create(api, ns, pod_manifest(f"p{i}"))
    first = api.get(f"/api/v1/namespaces/{ns}/pods", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["metadata"]["remainingItemCount"] == 3
    names = [p["metadata"]["name"] for p in first["items"]]
    token = first["metadata"]["continue"]
    while token:
        page = api.get(f"/api/v1/namespaces/{ns}/pods", params={"limit": 2, "continue": token}).json()
        names += [p["metadata"]["name"] for p in page["items"]]
        token = page["metadata"].get("continue")
    assert names == [f"p{i}" for i in range(5)]


def test_replace_with_current_resource_version_updates_image(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    pod["spec"]["containers"][0]["image"] = "nginx:1.27"
    response = api.put(f"/api/v1/namespaces/{ns}/pods/web", json=pod)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert int(updated["metadata"]["resourceVersion"]) > int(pod["metadata"]["resourceVersion"])


def test_replace_with_stale_resource_version_is_409_conflict(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    api.patch(
        f"/api/v1/namespaces/{ns}/pods/web", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE_PATCH
    )
    response = api.put(f"/api/v1/namespaces/{ns}/pods/web", json=pod)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert "the object has been modified" in response.json()["message"]


def test_replace_without_resource_version_is_unconditional(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    del pod["metadata"]["resourceVersion"]
    pod["metadata"]["labels"] = {"x": "y"}
    response = api.put(f"/api/v1/namespaces/{ns}/pods/web", json=pod)
    assert response.status_code == 200
    assert response.json()["metadata"]["labels"] == {"x": "y"}


def test_unchanged_replace_is_a_no_op_keeping_the_resource_version(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    response = api.put(f"/api/v1/namespaces/{ns}/pods/web", json=pod)
    assert response.status_code == 200
    assert response.json()["metadata"]["resourceVersion"] == pod["metadata"]["resourceVersion"]


def test_replace_changing_a_immutable_spec_field_is_422(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    pod["spec"]["restartPolicy"] = "Never"
    response = api.put(f"/api/v1/namespaces/{ns}/pods/web", json=pod)
    assert response.status_code == 422
    assert response.json()["message"].startswith(
        'Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than'
    )


def test_merge_patch_sets_and_removes_labels(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web", labels={"a": "1", "b": "2"}))
    patch = {"metadata": {"labels": {"a": None, "c": "3"}}}
    response = api.patch(f"/api/v1/namespaces/{ns}/pods/web", json=patch, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["labels"] == {"b": "2", "c": "3"}


def test_json_patch_replaces_the_image(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    patch = [{"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.27"}]
    response = api.patch(f"/api/v1/namespaces/{ns}/pods/web", json=patch, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["spec"]["containers"][0]["image"] == "nginx:1.27"


def test_json_patch_with_failing_test_op_is_422(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    patch = [{"op": "test", "path": "/metadata/name", "value": "other"}]
    response = api.patch(f"/api/v1/namespaces/{ns}/pods/web", json=patch, headers=JSON_PATCH)
    assert response.status_code == 422
    assert response.json()["message"] == "the server rejected our request due to an error in our request"


def test_patch_with_stale_resource_version_in_body_is_409(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    patch = {"metadata": {"resourceVersion": "1", "labels": {"a": "b"}}}
    response = api.patch(f"/api/v1/namespaces/{ns}/pods/web", json=patch, headers=MERGE_PATCH)
    assert response.status_code == 409


def test_delete_of_unscheduled_pod_removes_it_and_returns_the_pod(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    response = api.delete(f"/api/v1/namespaces/{ns}/pods/web")
    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "Pod" and body["metadata"]["uid"] == pod["metadata"]["uid"]
    assert body["metadata"]["deletionGracePeriodSeconds"] == 0
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 404


def test_delete_of_scheduled_pod_marks_it_terminating(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web", nodeName="node-1"))
    response = api.delete(f"/api/v1/namespaces/{ns}/pods/web")
    assert response.status_code == 200
    assert response.json()["metadata"]["deletionGracePeriodSeconds"] == 30
    assert "deletionTimestamp" in api.get(f"/api/v1/namespaces/{ns}/pods/web").json()["metadata"]
    forced = api.request("DELETE", f"/api/v1/namespaces/{ns}/pods/web", json={"gracePeriodSeconds": 0})
    assert forced.status_code == 200
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 404


def test_delete_with_wrong_uid_precondition_is_409(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    body = {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}}
    response = api.request("DELETE", f"/api/v1/namespaces/{ns}/pods/web", json=body)
    assert response.status_code == 409
    assert "the UID in the precondition" in response.json()["message"]


def test_delete_collection_deletes_selected_pods_and_lists_them(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a", labels={"app": "x"}))
    create(api, ns, pod_manifest("b", labels={"app": "y"}))
    response = api.delete(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": "app=x"})
    assert response.status_code == 200
    assert [p["metadata"]["name"] for p in response.json()["items"]] == ["a"]
    remaining = api.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
    assert [p["metadata"]["name"] for p in remaining] == ["b"]


def test_dry_run_create_stores_nothing(api: httpx.Client, ns: str) -> None:
    response = api.post(f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "All"}, json=pod_manifest("web"))
    assert response.status_code == 201
    assert response.json()["metadata"]["resourceVersion"] == ""
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 404


def test_patch_making_a_field_the_wrong_type_is_422_patch_invalid(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    response = api.patch(
        f"/api/v1/namespaces/{ns}/pods/web", json={"spec": {"containers": "x"}}, headers=MERGE_PATCH
    )
    assert response.status_code == 422
    body = response.json()
    assert body["message"].startswith(' "" is invalid: patch: Invalid value: ')
    assert '\\"containers\\":\\"x\\"' in body["message"]  # the document as the patch made it
    assert body["details"]["causes"][0]["field"] == "patch"


def test_strict_patch_with_unknown_field_is_422_and_warn_is_a_warning_header(
    api: httpx.Client, ns: str
) -> None:
    create(api, ns, pod_manifest("web"))
    url = f"/api/v1/namespaces/{ns}/pods/web"
    patch = {"spec": {"foo": 1}}
    strict = api.patch(url, params={"fieldValidation": "Strict"}, json=patch, headers=MERGE_PATCH)
    assert strict.status_code == 422
    assert 'strict decoding error: unknown field "spec.foo"' in strict.json()["message"]
    assert '\\"foo\\":1' in strict.json()["message"]  # quoted before the check dropped it
    warn = api.patch(url, json={"spec": {"foo": 1}, "metadata": {"labels": {"a": "b"}}}, headers=MERGE_PATCH)
    assert warn.status_code == 200
    assert warn.headers.get_list("warning") == ['299 - "unknown field \\"spec.foo\\""']


def test_terminating_pod_is_removed_once_its_grace_period_is_over(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web", nodeName="node-1", terminationGracePeriodSeconds=1))
    assert (
        api.delete(f"/api/v1/namespaces/{ns}/pods/web").json()["metadata"]["deletionGracePeriodSeconds"] == 1
    )
    deadline = time.monotonic() + 10
    while api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 200:
        assert time.monotonic() < deadline, "the pod was never removed"
        time.sleep(0.2)


def test_terminating_pod_with_finalizer_stays_until_it_is_removed(api: httpx.Client, ns: str) -> None:
    manifest = pod_manifest("web")
    manifest["metadata"]["finalizers"] = ["example.com/keep"]
    create(api, ns, manifest)
    deleted = api.delete(f"/api/v1/namespaces/{ns}/pods/web").json()
    assert deleted["metadata"]["deletionGracePeriodSeconds"] == 0
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 200
    patch = {"metadata": {"finalizers": None}}
    assert api.patch(f"/api/v1/namespaces/{ns}/pods/web", json=patch, headers=MERGE_PATCH).status_code == 200
    assert api.get(f"/api/v1/namespaces/{ns}/pods/web").status_code == 404


def test_metrics_endpoint_reports_the_view_and_watchers(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    text = api.get("/metrics").text
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert float(samples['watchcache_view_objects{resource="pods"}']) >= 1
    assert float(samples["watchcache_view_resource_version"]) >= 1
    assert "watchcache_watchers" in samples
    before = float(samples["watchcache_consistent_reads_total"])
    api.get(f"/api/v1/namespaces/{ns}/pods/web")
    after = api.get("/metrics").text
    reads = dict(line.rsplit(" ", 1) for line in after.splitlines() if line and not line.startswith("#"))
    assert float(reads["watchcache_consistent_reads_total"]) == before + 1
    assert (
        1 <= float(reads["watchcache_head_reads_total"]) <= float(reads["watchcache_consistent_reads_total"])
    )


def test_delete_with_orphan_dependents_false_on_a_staying_pod_is_202(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web", nodeName="node-1"))
    response = api.request("DELETE", f"/api/v1/namespaces/{ns}/pods/web", json={"orphanDependents": False})
    assert response.status_code == 202
    assert response.json()["metadata"]["deletionGracePeriodSeconds"] == 30


def test_delete_with_unknown_propagation_policy_is_422(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("web"))
    response = api.delete(f"/api/v1/namespaces/{ns}/pods/web", params={"propagationPolicy": "x"})
    assert response.status_code == 422
    assert response.json()["message"] == (
        'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "x": '
        'supported values: "Foreground", "Background", "Orphan", "nil"'
    )


def test_dry_run_delete_and_delete_collection_keep_the_pods(api: httpx.Client, ns: str) -> None:
    pod = create(api, ns, pod_manifest("web"))
    deleted = api.delete(f"/api/v1/namespaces/{ns}/pods/web", params={"dryRun": "All"})
    assert deleted.status_code == 200 and "deletionTimestamp" in deleted.json()["metadata"]
    listed = api.delete(f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "All"})
    assert [p["metadata"]["name"] for p in listed.json()["items"]] == ["web"]
    kept = api.get(f"/api/v1/namespaces/{ns}/pods/web").json()
    assert kept["metadata"]["resourceVersion"] == pod["metadata"]["resourceVersion"]


def test_selective_lists_by_node_and_label(api: httpx.Client, ns: str) -> None:
    create(api, ns, pod_manifest("a", nodeName="n1", labels={"app": "x", "tier": "1"}))
    create(api, ns, pod_manifest("b", nodeName="n2", labels={"app": "x", "tier": "2"}))
    create(api, ns, pod_manifest("c", labels={"app": "y"}))

    def names(**params: str) -> list[str]:
        return [
            p["metadata"]["name"]
            for p in api.get(f"/api/v1/namespaces/{ns}/pods", params=params).json()["items"]
        ]

    assert names(fieldSelector="spec.nodeName=n1") == ["a"]
    assert names(fieldSelector="spec.nodeName=") == ["c"]
    assert names(labelSelector="app=x") == ["a", "b"]
    assert names(labelSelector="app=x,tier!=1") == ["b"]
    assert names(labelSelector="app=x", fieldSelector="spec.nodeName=n2") == ["b"]
    assert names(labelSelector="app in (y)") == ["c"]


def test_a_get_of_a_missing_pod_is_one_consistent_read_and_the_apiservers_404(
    api: httpx.Client, ns: str
) -> None:
    def consistent_reads() -> float:
        text = api.get("/metrics").text
        samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
        return float(samples["watchcache_consistent_reads_total"])

    before = consistent_reads()
    missing = api.get(f"/api/v1/namespaces/{ns}/pods/nobody")
    assert consistent_reads() == before + 1
    assert missing.status_code == 404
    assert missing.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "nobody" not found',
        "reason": "NotFound",
        "details": {"name": "nobody", "kind": "pods"},
        "code": 404,
    }


def test_a_yaml_apply_with_numeric_keys_is_applied_and_a_null_key_is_a_400(
    api: httpx.Client, ns: str
) -> None:
    """YAML is not JSON: keys are converted as kube-apiserver converts them, never a 500."""

    def apply(name: str, labels: str) -> httpx.Response:
        body = f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels: {labels}\n"
        body += "spec:\n  containers:\n  - name: c\n    image: nginx\n"
        return api.patch(
            f"/api/v1/namespaces/{ns}/pods/{name}",
            params={"fieldManager": "yaml-test"},
            content=body,
            headers={"content-type": "application/apply-patch+yaml"},
        )

    created = apply("numeric", "{1: x, true: y}")
    assert created.status_code == 201
    assert created.json()["metadata"]["labels"] == {"1": "x", "true": "y"}
    refused = apply("nullkey", "{null: x}")
    assert refused.status_code == 400
    assert refused.json()["reason"] == "BadRequest"


def test_a_null_in_an_applied_configuration_unsets_the_field_through_the_schema_check(
    api: httpx.Client, ns: str
) -> None:
    """The configuration's schema check only judges it: a check that cleaned it first would
    turn the null annotation into Go's zero value, "", and keep the annotation."""

    def apply(annotation: str | None) -> httpx.Response:
        body = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "nulled", "annotations": {"a": annotation, "b": "kept"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        }  # fmt: skip
        return api.patch(
            f"/api/v1/namespaces/{ns}/pods/nulled",
            params={"fieldManager": "null-test"},
            content=orjson.dumps(body),
            headers={"content-type": "application/apply-patch+yaml"},
        )

    assert apply("1").json()["metadata"]["annotations"] == {"a": "1", "b": "kept"}
    unset = apply(None)
    assert unset.status_code == 200
    assert unset.json()["metadata"]["annotations"] == {"b": "kept"}


def test_writes_that_take_fields_from_a_manager_leave_the_same_template_pods_as_they_were(
    api: httpx.Client, ns: str
) -> None:
    """Pods of one template share the parse of each managedFields field set (the server runs
    with its mutation detector on): an apply that takes a field from the creator on one pod, a
    patch and a status update on it, leave the other pod's owners as they were."""
    manifest = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    for name in ("twin-a", "twin-b"):
        create(api, ns, {**manifest, "metadata": {**manifest["metadata"], "name": name}})
    before = api.get(f"/api/v1/namespaces/{ns}/pods/twin-b").json()["metadata"]["managedFields"]
    taken = api.patch(
        f"/api/v1/namespaces/{ns}/pods/twin-a",
        params={"fieldManager": "taker", "force": "true"},
        content=orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "twin-a", "labels": {"app": "x"}}}),
        headers={"content-type": "application/apply-patch+yaml"},
    )
    assert taken.status_code == 200, taken.text
    (creator,) = [e for e in taken.json()["metadata"]["managedFields"] if e["manager"] != "taker"]
    assert "f:app" not in creator["fieldsV1"]["f:metadata"].get("f:labels", {})
    patched = api.patch(
        f"/api/v1/namespaces/{ns}/pods/twin-a",
        content=b'{"metadata":{"annotations":{"a":"1"}}}',
        headers={"content-type": "application/merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    status = api.patch(
        f"/api/v1/namespaces/{ns}/pods/twin-a/status",
        content=b'{"status":{"message":"m"}}',
        headers={"content-type": "application/merge-patch+json"},
    )
    assert status.status_code == 200, status.text
    assert api.get(f"/api/v1/namespaces/{ns}/pods/twin-b").json()["metadata"]["managedFields"] == before
    owners = api.get(f"/api/v1/namespaces/{ns}/pods/twin-a").json()["metadata"]["managedFields"]
    assert "taker" in [e["manager"] for e in owners] and any(e.get("subresource") == "status" for e in owners)


def test_each_write_records_the_manager_its_own_user_agent_or_field_manager_names(
    api: httpx.Client, ns: str
) -> None:
    """Writes with the same query from different clients (and the same client naming other
    managers) each get their own options; a refused option is refused every time it is sent."""
    managers = {}
    for name, agent, query in [
        ("by-kubectl", "kubectl/v1.32.0 (linux/amd64)", {}),
        ("by-operator", "my-operator/2.1", {}),
        ("by-kubectl-named", "kubectl/v1.32.0 (linux/amd64)", {"fieldManager": "named"}),
    ]:
        response = api.post(
            f"/api/v1/namespaces/{ns}/pods",
            params=query,
            json=pod_manifest(name),
            headers={"User-Agent": agent},
        )
        assert response.status_code == 201, response.text
        (entry,) = response.json()["metadata"]["managedFields"]
        managers[name] = entry["manager"]
    assert managers == {"by-kubectl": "kubectl", "by-operator": "my-operator", "by-kubectl-named": "named"}
    for _ in range(2):
        refused = api.post(
            f"/api/v1/namespaces/{ns}/pods", params={"dryRun": "true"}, json=pod_manifest("no")
        )
        assert refused.status_code == 422, refused.text
