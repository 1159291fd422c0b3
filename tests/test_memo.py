"""Rules remembered by content (``machinery.memo``): a template's spec is judged once, and a
remembered conclusion is exactly the one computing it again would draw."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from watchcache.kinds.pods import POD
from watchcache.kinds.pods.defaults import qos_class
from watchcache.kinds.pods.validation import validate_pod_spec
from watchcache.machinery import errors, managed_fields
from watchcache.machinery.decode import decode_object
from watchcache.machinery.memo import JUDGED_LOOKUPS, MUTATION_DETECTOR_ENV, REST_CALLS, ContentMemo

from .fuzz_support import POD as POD_BODY
from .fuzz_support import damaged_pods


class Counted:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def __call__(self, value: Any) -> list[Any]:
        self.calls.append(value)
        return [len(self.calls)]


def test_the_same_content_is_computed_once() -> None:
    compute = Counted()
    memo = ContentMemo(compute)
    first = memo({"a": [1, "x"]})
    assert memo({"a": [1, "x"]}) is first  # an equal value built anew: the remembered result
    assert len(compute.calls) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),  # key order is document order: errors follow it
        ({"a": 1}, {"a": 1.0}),
        ({"a": 1}, {"a": True}),
        ({"a": None}, {}),
    ],
)
def test_contents_that_differ_in_json_are_computed_apart(one: Any, other: Any) -> None:
    compute = Counted()
    memo = ContentMemo(compute)
    assert memo(one) != memo(other)
    assert compute.calls == [one, other]


def test_a_value_json_cannot_hold_is_computed_every_time() -> None:
    compute = Counted()
    memo = ContentMemo(compute)
    memo({1: "int key"})
    memo({1: "int key"})
    memo({"big": 2**70})
    assert len(compute.calls) == 3


def test_the_oldest_content_goes_first_past_the_limit() -> None:
    compute = Counted()
    memo = ContentMemo(compute, limit=2)
    memo("a"), memo("b"), memo("c")  # "a" leaves
    memo("b"), memo("c")
    assert compute.calls == ["a", "b", "c"]
    memo("a")
    assert compute.calls == ["a", "b", "c", "a"]


def test_a_memo_that_keeps_missing_rests_then_tries_again() -> None:
    """Contents that are all different (a StatefulSet's specs) stop paying for encodings."""
    compute = Counted()
    memo = ContentMemo(compute, limit=JUDGED_LOOKUPS)
    for i in range(JUDGED_LOOKUPS):  # not one hit in a judged window
        memo(i)
    assert memo.resting()  # (and counts one call of the rest)
    calls = len(compute.calls)
    for _ in range(REST_CALLS - 1):
        memo(0)  # remembered, yet computed directly while resting
    assert len(compute.calls) == calls + REST_CALLS - 1
    assert not memo.resting()
    memo(0)
    assert len(compute.calls) == calls + REST_CALLS - 1  # awake again: a hit


def test_a_memo_that_hits_often_enough_stays_awake() -> None:
    compute = Counted()
    memo = ContentMemo(compute)
    for i in range(JUDGED_LOOKUPS * 4):
        memo(i % 8 if i % 4 else i)  # a quarter new contents, the rest a few templates
    assert not memo.resting()


def test_a_remembered_result_changed_in_place_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MUTATION_DETECTOR_ENV, "true")
    memo = ContentMemo(Counted())
    memo("x").append("changed")
    with pytest.raises(AssertionError, match="changed in place"):
        memo("x")


def test_a_result_is_not_checked_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MUTATION_DETECTOR_ENV)
    memo = ContentMemo(Counted())
    memo("x").append("changed")
    assert memo("x") == [1, "changed"]  # production trusts its callers: no encoding per hit


def test_the_spec_errors_a_caller_gets_are_its_own() -> None:
    spec = {"containers": [{"name": "BAD", "image": "x"}], "restartPolicy": "Sometimes"}
    errs = validate_pod_spec(copy.deepcopy(spec))
    judged = list(errs)
    assert "spec.restartPolicy" in [e.field for e in judged]
    errs.append(errors.forbidden("spec", "appended by a caller"))
    assert validate_pod_spec(copy.deepcopy(spec)) == judged


def test_qos_is_remembered_per_set_of_resources() -> None:
    guaranteed = {"limits": {"cpu": "1", "memory": "1Gi"}}
    pod = {"spec": {"containers": [{"name": "a", "resources": guaranteed}]}}
    burstable = {"spec": {"containers": [{"name": "a", "resources": guaranteed}, {"name": "b"}]}}
    assert qos_class(pod) == "Guaranteed"
    assert qos_class(burstable) == "Burstable"
    assert qos_class(copy.deepcopy(pod)) == "Guaranteed"
    assert qos_class({"spec": {"containers": [{"name": "a"}]}}) == "BestEffort"


NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _created(body: dict[str, Any]) -> tuple[bytes, list[str]] | str:
    """The stored pod (uid and name fixed) and warnings of a create, or its error."""
    try:
        pod = decode_object(orjson.dumps(body), POD.schema, field_validation="Warn").obj
        if not isinstance(pod.get("metadata"), dict):  # as the registry's create
            pod["metadata"] = {}
        POD.defaults(pod)
        managed_fields.record(pod, None, manager="m", operation="Update", subresource=None, time="t")
        pod, warnings = POD.create(pod, "ns", NOW)
    except errors.APIError as exc:
        return repr(exc.status())
    pod["metadata"].update(uid="fixed", name="fixed")  # drawn afresh each time (generateName too)
    return orjson.dumps(pod), warnings


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_pods())
def test_a_create_from_a_known_template_is_the_create_computed_afresh(body: dict[str, Any]) -> None:
    """The second create of a body meets every remembered conclusion of the first."""
    first = _created(body)
    assert _created(body) == first
    assert _created(copy.deepcopy(POD_BODY)) == _created(copy.deepcopy(POD_BODY))


def _decoded(body: bytes) -> tuple[dict[str, Any], list[str]]:
    result = decode_object(body, POD.schema, field_validation="Warn")
    return result.obj, result.warnings


def test_a_known_spec_decodes_as_it_did_the_first_time() -> None:
    body = b'{"metadata":{"name":"a"},"spec":{"foo":1,"containers":[{"name":"c","resources":{"limits":{"cpu":1}}}]}}'
    first, warnings = _decoded(body)
    assert warnings == ['unknown field "spec.foo"']
    assert first["spec"] == {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]}
    first["spec"]["containers"].append({"name": "changed by a later rule"})
    again, warnings = _decoded(body.replace(b'"a"', b'"b"'))
    assert warnings == ['unknown field "spec.foo"']
    assert again["spec"] == {"containers": [{"name": "c", "resources": {"limits": {"cpu": "1"}}}]}


def test_a_repeated_key_in_a_known_spec_is_still_reported() -> None:
    """The remembered key count is the plain spec's: the repeated key's body counts one more."""
    _decoded(b'{"metadata":{"name":"a"},"spec":{"nodeName":"n2"}}')
    obj, warnings = _decoded(b'{"metadata":{"name":"a"},"spec":{"nodeName":"n1","nodeName":"n2"}}')
    assert warnings == ['duplicate field "spec.nodeName"']
    assert obj["spec"] == {"nodeName": "n2"}


def test_a_wrong_type_in_a_spec_fails_every_time() -> None:
    body = b'{"metadata":{"name":"a"},"spec":{"containers":[{"name":7}]}}'
    for _ in range(2):
        with pytest.raises(errors.BadRequest, match="cannot unmarshal number into Go struct field"):
            _decoded(body)
