"""Server-side apply (patch.md §5): ownership, removal, conflicts, merge, body parsing.

Pure-function tests of ``watchcache.apply``; other managers' ``Update`` ownership is produced by
``managed_fields.record``, exactly as the registry records a client-side write.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from watchcache.machinery import errors, managed_fields
from watchcache.machinery.server_side_apply import apply, format_path, parse_apply_body

T0, T1, T2 = "2024-05-01T10:00:00Z", "2024-05-01T10:01:00Z", "2024-05-01T10:02:00Z"
CSA = "kubectl-client-side-apply"


def config(spec: dict[str, Any] | None = None, **meta: Any) -> dict[str, Any]:
    """An applied configuration as kubectl --server-side sends it."""
    spec = spec if spec is not None else {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", **meta}, "spec": spec}


def stored(**meta: Any) -> dict[str, Any]:
    """A live pod created by client-side apply (an Update owner of everything it set)."""
    return with_update(plain_pod(**meta), None, CSA)


def plain_pod(**meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "5", **meta},
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}]},
            ],
            "restartPolicy": "Always",
        },
        "status": {"phase": "Pending"},
    }  # fmt: skip


def with_update(
    pod: dict[str, Any], old: dict[str, Any] | None, manager: str, subresource: str | None = None
) -> dict[str, Any]:
    managed_fields.record(pod, old, manager=manager, operation="Update", subresource=subresource, time=T0)
    return pod


def entry(pod: dict[str, Any], manager: str, operation: str = "Apply") -> dict[str, Any]:
    (found,) = [
        e for e in pod["metadata"]["managedFields"] if (e["manager"], e["operation"]) == (manager, operation)
    ]
    return found


def conflict(live: dict[str, Any] | None, applied: dict[str, Any], manager: str = "ssa") -> dict[str, Any]:
    with pytest.raises(errors.Conflict) as info:
        apply(live, applied, manager=manager, force=False, now=T1)
    return info.value.status()


# --- parse_apply_body -------------------------------------------------------------------------


def test_json_and_yaml_bodies_parse_to_the_same_configuration() -> None:
    json_body = b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web"},"spec":{"containers":[]}}'
    yaml_body = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: []\n"
    assert parse_apply_body(json_body) == parse_apply_body(yaml_body)


def test_yaml_timestamps_stay_text() -> None:
    body = b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  annotations:\n    at: 2024-05-01T10:00:00Z"
    assert parse_apply_body(body)["metadata"]["annotations"]["at"] == "2024-05-01T10:00:00Z"


def test_yaml_keys_and_binary_become_json_text_as_sigs_k8s_io_yaml_makes_them() -> None:
    body = (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  labels: {1: a, true: b, 1.5: c}\n"
        b"  annotations:\n    blob: !!binary aGVsbG8=\n"
    )
    meta = parse_apply_body(body)["metadata"]
    assert meta["labels"] == {"1": "a", "true": "b", "1.5": "c"}
    assert meta["annotations"] == {"blob": "hello"}


def test_a_yaml_integer_beyond_64_bits_is_a_float_as_go_yaml_reads_it() -> None:
    body = b"apiVersion: v1\nkind: Pod\nspec:\n  activeDeadlineSeconds: 99999999999999999999999\n"
    assert parse_apply_body(body)["spec"]["activeDeadlineSeconds"] == 1e23


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"apiVersion: v1\nkind: Pod\nmetadata: {name: web\n", "error decoding YAML: yaml: line "),
        (b"apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {null: x}\n",
         "error decoding YAML: error converting YAML to JSON: unsupported map key of type: <nil>"),
        (b"apiVersion: v1\nkind: Pod\nspec:\n  activeDeadlineSeconds: .inf\n",
         "error decoding YAML: error converting YAML to JSON: json: unsupported value: .inf"),
        (b"[1, 2]", "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot "
                    "unmarshal array into Go value of type map[string]interface {}"),
        (b'{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"web"}}',
         "Incorrect version specified in apply patch. Specified patch version: apps/v1, expected: v1"),
        (b'{"kind":"Pod","metadata":{"name":"web"}}',
         "Incorrect version specified in apply patch. Specified patch version: , expected: v1"),
        (b"", "Incorrect version specified in apply patch. Specified patch version: , expected: v1"),
        (b'{"apiVersion":"v1","kind":"Service","metadata":{"name":"web"}}',
         "invalid object type: /v1, Kind=Service"),
        (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","managedFields":[]}}',
         "metadata.managedFields must be nil"),
    ],
)  # fmt: skip
def test_bad_apply_bodies_are_400(body: bytes, message: str) -> None:
    with pytest.raises(errors.BadRequest) as info:
        parse_apply_body(body)
    assert info.value.code == 400
    assert info.value.message.startswith(message)


def test_null_managed_fields_is_accepted() -> None:
    body = b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","managedFields":null}}'
    assert parse_apply_body(body)["metadata"]["name"] == "web"


# --- create, re-apply, shape --------------------------------------------------------------------


def test_create_is_the_configuration_plus_its_apply_entry() -> None:
    applied = config(labels={"app": "web"})
    pod = apply(None, applied, manager="kubectl", force=False, now=T1)
    assert pod["metadata"].pop("managedFields") == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T1,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}},
            },
        }
    ]
    assert pod == applied


def test_inputs_are_left_untouched() -> None:
    live, applied = stored(), config(labels={"app": "web"})
    before = copy.deepcopy((live, applied))
    apply(live, applied, manager="ssa", force=True, now=T1)
    assert (live, applied) == before


def test_reapplying_the_same_configuration_changes_nothing() -> None:
    first = apply(None, config(labels={"app": "web"}), manager="ssa", force=False, now=T1)
    assert apply(first, config(labels={"app": "web"}), manager="ssa", force=False, now=T2) == first


def test_changing_its_own_image_updates_value_and_time() -> None:
    first = apply(None, config(), manager="ssa", force=False, now=T1)
    changed = config({"containers": [{"name": "web", "image": "nginx:1.28"}]})
    pod = apply(first, changed, manager="ssa", force=False, now=T2)
    assert pod["spec"]["containers"] == [{"name": "web", "image": "nginx:1.28"}]
    assert entry(pod, "ssa")["time"] == T2
    assert entry(pod, "ssa")["fieldsV1"] == entry(first, "ssa")["fieldsV1"]


def test_status_subresource_entry_owns_status_only() -> None:
    live = stored()
    applied = {**config(), "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    pod = apply(live, applied, manager="kubelet", force=False, now=T1, subresource="status")
    mine = entry(pod, "kubelet")
    assert mine["subresource"] == "status"
    assert mine["fieldsV1"] == {
        "f:status": {"f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}}}}
    }
    assert pod["spec"] == live["spec"]  # spec is reset on /status: neither merged nor owned


def test_status_is_neither_merged_nor_owned_on_the_main_resource() -> None:
    live = stored()
    pod = apply(live, {**config(), "status": {"phase": "Running"}}, manager="ssa", force=True, now=T1)
    assert pod["status"] == {"phase": "Pending"}
    assert "f:status" not in entry(pod, "ssa")["fieldsV1"]


# --- removal of dropped fields ----------------------------------------------------------------


def test_dropping_a_field_removes_it() -> None:
    first = apply(None, config(labels={"app": "web", "tier": "db"}), manager="ssa", force=False, now=T1)
    pod = apply(first, config(labels={"app": "web"}), manager="ssa", force=False, now=T2)
    assert pod["metadata"]["labels"] == {"app": "web"}
    assert entry(pod, "ssa")["fieldsV1"]["f:metadata"] == {"f:labels": {"f:app": {}}}


def test_dropping_the_last_label_removes_the_map() -> None:
    first = apply(None, config(labels={"app": "web"}), manager="ssa", force=False, now=T1)
    pod = apply(first, config(), manager="ssa", force=False, now=T2)
    assert "labels" not in pod["metadata"]


def test_dropping_a_container_removes_it_with_its_defaulted_fields() -> None:
    two = {"containers": [{"name": "web", "image": "nginx"}, {"name": "side", "image": "busybox"}]}
    first = apply(None, config(two), manager="ssa", force=False, now=T1)
    first["spec"]["containers"][1]["imagePullPolicy"] = "Always"  # defaulted: owned by nobody
    pod = apply(first, config({"containers": [{"name": "web", "image": "nginx"}]}), manager="ssa",
                force=False, now=T2)  # fmt: skip
    assert [c["name"] for c in pod["spec"]["containers"]] == ["web"]


def test_dropping_a_field_another_manager_also_owns_keeps_it() -> None:
    first = apply(None, config(labels={"app": "web"}), manager="a", force=False, now=T1)
    shared = apply(first, config(labels={"app": "web"}), manager="b", force=False, now=T1)
    pod = apply(shared, config(), manager="a", force=False, now=T2)
    assert pod["metadata"]["labels"] == {"app": "web"}
    assert "f:metadata" not in entry(pod, "a")["fieldsV1"]


def test_dropped_element_with_a_field_kept_by_another_manager_keeps_that_field_and_its_key() -> None:
    two = {"containers": [{"name": "web", "image": "nginx"}, {"name": "side", "image": "busybox",
                                                             "args": ["-v"]}]}  # fmt: skip
    first = apply(None, config(two), manager="a", force=False, now=T1)
    other = {"containers": [{"name": "side", "image": "busybox"}]}
    shared = apply(first, config(other), manager="b", force=False, now=T1)
    pod = apply(shared, config({"containers": [{"name": "web", "image": "nginx"}]}), manager="a",
                force=False, now=T2)  # fmt: skip
    assert pod["spec"]["containers"] == [{"name": "web", "image": "nginx"},
                                         {"name": "side", "image": "busybox"}]  # fmt: skip


def test_dropping_a_label_is_not_blocked_by_a_creator_owning_metadata_itself() -> None:
    live = stored()  # the client-side creator's entry holds a bare "f:metadata"
    same_image = {"containers": [{"name": "web", "image": "nginx:1.25"}]}
    first = apply(live, config(same_image, labels={"app": "web"}), manager="ssa", force=False, now=T1)
    pod = apply(first, config(same_image), manager="ssa", force=False, now=T2)
    assert "labels" not in pod["metadata"]


def test_finalizers_a_client_side_writer_set_are_kept_when_the_applier_drops_them() -> None:
    old = plain_pod()
    live = copy.deepcopy(old)
    live["metadata"]["finalizers"] = ["example.com/x"]
    with_update(live, old, "kubectl-edit")  # owns f:finalizers as a whole
    first = apply(live, config(finalizers=["example.com/x"]), manager="ssa", force=True, now=T1)
    pod = apply(first, config(), manager="ssa", force=False, now=T2)
    assert pod["metadata"]["finalizers"] == ["example.com/x"]


def test_an_applier_that_drops_everything_loses_its_entry() -> None:
    first = apply(None, config(labels={"app": "web"}), manager="ssa", force=False, now=T1)
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}
    pod = apply(first, bare, manager="ssa", force=False, now=T2)
    assert "managedFields" not in pod["metadata"] and "labels" not in pod["metadata"]


def test_null_in_the_configuration_unsets_the_field() -> None:
    first = apply(None, config(labels={"app": "web"}), manager="ssa", force=False, now=T1)
    pod = apply(first, config(labels={"app": None}), manager="ssa", force=False, now=T2)
    assert "app" not in pod["metadata"].get("labels", {})


# --- conflicts --------------------------------------------------------------------------------


def test_conflict_with_a_client_side_apply_owner() -> None:
    assert conflict(stored(), config()) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: '
        '.spec.containers[name="web"].image',
        "reason": "Conflict",
        "details": {
            "causes": [
                {
                    "reason": "FieldManagerConflict",
                    "message": 'conflict with "kubectl-client-side-apply" using v1',
                    "field": '.spec.containers[name="web"].image',
                }
            ]
        },
        "code": 409,
    }


def test_same_value_is_shared_ownership_not_a_conflict() -> None:
    live = stored()
    same = config({"containers": [{"name": "web", "image": "nginx:1.25"}]})
    pod = apply(live, same, manager="ssa", force=False, now=T1)
    assert entry(pod, CSA, "Update") == entry(live, CSA, "Update")
    assert entry(pod, "ssa")["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:image"] == {}


def test_force_takes_ownership_from_the_other_manager() -> None:
    pod = apply(stored(), config(), manager="ssa", force=True, now=T1)
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.27"
    web = entry(pod, CSA, "Update")["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"web"}']
    assert "f:image" not in web and "f:imagePullPolicy" in web
    assert entry(pod, "ssa")["time"] == T1
    # now the applier owns it alone: a later change by it is no conflict
    apply(pod, config({"containers": [{"name": "web", "image": "nginx:1.28"}]}), manager="ssa",
          force=False, now=T2)  # fmt: skip


def owner(manager: str, operation: str, fields: dict[str, Any], sub: str | None = None) -> dict[str, Any]:
    """A hand-made managedFields entry."""
    made = {"manager": manager, "operation": operation, "apiVersion": "v1", "time": T0,
            "fieldsType": "FieldsV1", "fieldsV1": fields}  # fmt: skip
    return {**made, "subresource": sub} if sub else made


def label(key: str, **more: Any) -> dict[str, Any]:
    return {"f:metadata": {"f:labels": {f"f:{key}": {}}}, **more}


IMAGE = {"f:containers": {'k:{"name":"web"}': {"f:image": {}}}}
M1_LABEL, M2_LABEL = ".metadata.labels.m1", ".metadata.labels.m2"
WEB_IMAGE = '.spec.containers[name="web"].image'


@pytest.mark.parametrize(
    ("owners", "message", "fields"),
    [
        ([owner("m1", "Apply", label("m1"))],
         'Apply failed with 1 conflict: conflict with "m1": .metadata.labels.m1', [M1_LABEL]),
        ([owner("m1", "Update", label("m1"), sub="status")],
         'Apply failed with 1 conflict: conflict with "m1" with subresource "status" using v1: '
         ".metadata.labels.m1", [M1_LABEL]),
        ([owner("m2", "Apply", label("m2")), owner("m1", "Update", label("m1", **{"f:spec": IMAGE}))],
         'Apply failed with 3 conflicts: conflicts with "m1" using v1:\n- .metadata.labels.m1\n'
         '- .spec.containers[name="web"].image\nconflicts with "m2":\n- .metadata.labels.m2',
         [M1_LABEL, WEB_IMAGE, M2_LABEL]),
    ],
)  # fmt: skip
def test_conflict_messages(owners: list[dict[str, Any]], message: str, fields: list[str]) -> None:
    live = plain_pod(labels={"m1": "old", "m2": "old"})
    live["metadata"]["managedFields"] = owners
    status = conflict(live, config(labels={"m1": "new", "m2": "new"}))
    assert status["message"] == message
    assert [c["field"] for c in status["details"]["causes"]] == fields
    assert {c["reason"] for c in status["details"]["causes"]} == {"FieldManagerConflict"}


def test_conflict_on_a_port_prints_both_keys() -> None:
    first = apply(None, config({"containers": [{"name": "web", "image": "nginx",
                                               "ports": [{"containerPort": 80, "name": "http"}]}]}),
                  manager="a", force=False, now=T1)  # fmt: skip
    renamed = config({"containers": [{"name": "web", "ports": [{"containerPort": 80, "name": "web"}]}]})
    status = conflict(first, renamed, manager="b")
    assert status["details"]["causes"][0]["field"] == (
        '.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].name'
    )


# --- merge semantics --------------------------------------------------------------------------


def test_labels_and_annotations_merge_key_by_key() -> None:
    live = stored(labels={"run": "web"}, annotations={"note": "x"})
    applied = config({"containers": [{"name": "web", "image": "nginx:1.25"}]},
                     labels={"app": "web"}, annotations={"team": "a"})  # fmt: skip
    pod = apply(live, applied, manager="ssa", force=False, now=T1)
    assert pod["metadata"]["labels"] == {"run": "web", "app": "web"}
    assert pod["metadata"]["annotations"] == {"note": "x", "team": "a"}
    assert entry(pod, "ssa")["fieldsV1"]["f:metadata"] == {
        "f:annotations": {"f:team": {}},
        "f:labels": {"f:app": {}},
    }


def test_containers_merge_by_name_and_other_fields_survive() -> None:
    live = stored()
    added = config({"containers": [{"name": "side", "image": "busybox"}]})
    pod = apply(live, added, manager="ssa", force=False, now=T1)
    assert [c["name"] for c in pod["spec"]["containers"]] == ["web", "side"]
    assert pod["spec"]["containers"][0] == live["spec"]["containers"][0]
    assert pod["spec"]["restartPolicy"] == "Always"


def test_new_elements_are_placed_before_the_shared_ones_they_precede() -> None:
    live = stored()
    pod = apply(live, config({"containers": [{"name": "init", "image": "busybox"},
                                             {"name": "web", "image": "nginx:1.25"}]}),
                manager="ssa", force=False, now=T1)  # fmt: skip
    assert [c["name"] for c in pod["spec"]["containers"]] == ["init", "web"]


def test_ports_are_keyed_by_port_and_protocol() -> None:
    udp, tcp = {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53, "protocol": "TCP"}
    dns = {"name": "dns", "image": "coredns", "ports": [udp, tcp]}
    first = apply(None, config({"containers": [dns]}), manager="a", force=False, now=T1)
    tcp_only = config({"containers": [{"name": "dns", "ports": [{"containerPort": 53, "name": "tcp"}]}]})
    pod = apply(first, tcp_only, manager="b", force=False, now=T1)
    b_ports = entry(pod, "b")["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"dns"}']["f:ports"]
    assert list(b_ports) == ['k:{"containerPort":53,"protocol":"TCP"}']  # the schema default filled in
    assert pod["spec"]["containers"][0]["ports"] == [
        {"containerPort": 53, "protocol": "UDP"},
        {"containerPort": 53, "protocol": "TCP", "name": "tcp"},
    ]


def test_atomic_lists_are_replaced() -> None:
    first = apply(None, config({"containers": [{"name": "web", "image": "nginx", "args": ["-a", "-b"]}]}),
                  manager="ssa", force=False, now=T1)  # fmt: skip
    pod = apply(first, config({"containers": [{"name": "web", "image": "nginx", "args": ["-c"]}]}),
                manager="ssa", force=False, now=T2)  # fmt: skip
    assert pod["spec"]["containers"][0]["args"] == ["-c"]
    assert entry(pod, "ssa")["fieldsV1"]["f:spec"]["f:containers"]['k:{"name":"web"}']["f:args"] == {}


def test_finalizers_are_a_set_owned_member_by_member() -> None:
    a = apply(None, config(finalizers=["example.com/a"]), manager="a", force=False, now=T1)
    both = apply(a, config(finalizers=["example.com/b"]), manager="b", force=False, now=T1)
    assert both["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    assert entry(both, "b")["fieldsV1"]["f:metadata"] == {"f:finalizers": {'v:"example.com/b"': {}}}
    dropped = apply(both, config(), manager="a", force=False, now=T2)
    assert dropped["metadata"]["finalizers"] == ["example.com/b"]


def test_an_element_without_its_merge_key_is_a_400() -> None:
    with pytest.raises(errors.BadRequest) as info:
        apply(None, config({"containers": [{"image": "nginx"}]}), manager="ssa", force=False, now=T1)
    assert info.value.message == (
        "failed to create typed patch object (/v1, Kind=Pod) /web: .spec.containers: element 0: "
        'associative list with keys has an element that omits key field "name" '
        "(and doesn't have default value)"
    )


def test_duplicate_elements_are_a_400() -> None:
    web = {"name": "web", "image": "nginx"}
    with pytest.raises(errors.BadRequest) as info:
        apply(None, config({"containers": [web, web]}), manager="ssa", force=False, now=T1)
    assert info.value.message.endswith('.spec.containers: duplicate entries for key [name="web"]')


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("f:metadata", "f:labels", "f:app"), ".metadata.labels.app"),
        (("f:spec", "f:containers", 'k:{"name":"web"}', "f:image"), '.spec.containers[name="web"].image'),
        (("f:spec", "f:containers", 'k:{"name":"web"}', "f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'),
         '.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]'),
        (("f:metadata", "f:finalizers", 'v:"example.com/x"'), '.metadata.finalizers[="example.com/x"]'),
    ],
)  # fmt: skip
def test_paths_print_as_structured_merge_diff_does(path: tuple[str, ...], text: str) -> None:
    assert format_path(path) == text
