"""fieldSelector parsing, pod fields and matching (list-watch.md §2, fields.ParseSelector)."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.kinds.pods.fields import POD_FIELDS, pod_fields
from watchcache.machinery import errors
from watchcache.machinery.selectors import FieldSelector, FieldTerm, parse_field_selector

RUNNING: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "nodeName": "node-1",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "serviceAccountName": "default",
        "hostNetwork": True,
    },
    "status": {
        "phase": "Running",
        "podIP": "10.0.0.7",
        "podIPs": [{"ip": "10.0.0.7"}, {"ip": "fd00::7"}],
        "nominatedNodeName": "node-2",
    },
}
PENDING: dict[str, Any] = {"metadata": {"name": "new", "namespace": "team-a"}, "spec": {}}


def test_pod_fields_are_the_selectable_fields_of_a_running_pod() -> None:
    assert pod_fields(RUNNING) == {
        "metadata.name": "web",
        "metadata.namespace": "default",
        "spec.nodeName": "node-1",
        "spec.restartPolicy": "Always",
        "spec.schedulerName": "default-scheduler",
        "spec.serviceAccountName": "default",
        "spec.hostNetwork": "true",
        "status.phase": "Running",
        "status.podIP": "10.0.0.7",
        "status.podIPs": "",
        "status.nominatedNodeName": "node-2",
    }


def test_missing_pod_fields_compare_as_empty_strings() -> None:
    fields = pod_fields(PENDING)
    assert fields["spec.nodeName"] == ""
    assert fields["status.phase"] == ""
    assert fields["status.podIP"] == ""
    assert fields["spec.hostNetwork"] == "false"
    assert pod_fields({}) == dict.fromkeys(fields, "") | {"spec.hostNetwork": "false"}


def test_pod_ip_falls_back_to_the_legacy_field_only_without_pod_ips() -> None:
    assert pod_fields({"status": {"podIP": "10.1.1.1"}})["status.podIP"] == "10.1.1.1"
    both = {"status": {"podIP": "10.1.1.1", "podIPs": [{"ip": "10.2.2.2"}]}}
    assert pod_fields(both)["status.podIP"] == "10.2.2.2"


# selector, pod, expected
MATCHING = [
    ("", RUNNING, True),
    (",", RUNNING, True),
    ("metadata.name=web", RUNNING, True),
    ("metadata.name==web", RUNNING, True),
    ("metadata.name=api", RUNNING, False),
    ("metadata.name!=api", RUNNING, True),
    ("metadata.name!=web", RUNNING, False),
    ("metadata.namespace=default,status.phase=Running", RUNNING, True),
    ("metadata.namespace=default,status.phase=Pending", RUNNING, False),
    ("spec.nodeName=node-1", RUNNING, True),
    ("spec.host=node-1", RUNNING, True),  # legacy alias
    ("spec.nodeName=", PENDING, True),  # unscheduled pods
    ("spec.nodeName=", RUNNING, False),
    ("spec.nodeName!=", RUNNING, True),
    ("spec.restartPolicy=Always", RUNNING, True),
    ("spec.schedulerName=default-scheduler", RUNNING, True),
    ("spec.serviceAccountName=default", RUNNING, True),
    ("spec.hostNetwork=true", RUNNING, True),
    ("spec.hostNetwork=false", PENDING, True),
    ("status.podIP=10.0.0.7", RUNNING, True),
    ("status.podIPs=10.0.0.7", RUNNING, False),  # accepted but never populated
    ("status.podIPs!=10.0.0.7", RUNNING, True),
    ("status.nominatedNodeName=node-2", RUNNING, True),
    ("metadata.name= web", RUNNING, False),  # nothing is trimmed
    ("metadata.name=web,,", RUNNING, True),  # empty terms are skipped
]


@pytest.mark.parametrize(("text", "pod", "expected"), MATCHING)
def test_a_field_selector_matches_pod_fields(text: str, pod: dict[str, Any], expected: bool) -> None:
    assert parse_field_selector(text, POD_FIELDS).matches(pod_fields(pod)) is expected


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (r"metadata.name=a\,b", "a,b"),
        (r"metadata.name=a\=b", "a=b"),
        (r"metadata.name=a\\b", "a\\b"),
        (r"metadata.name==\=", "="),
        ("metadata.name=", ""),
    ],
)
def test_backslash_escapes_comma_equals_and_backslash_in_values(text: str, value: str) -> None:
    selector = parse_field_selector(text, POD_FIELDS)
    assert selector.terms[0].value == value
    assert selector.matches({"metadata.name": value})


ERRORS = [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    (" ", "invalid selector: ' '; can't understand ' '"),
    # terms are examined in sorted order, so "a" is the first one that is not understood
    ("z=1,b,a", "invalid selector: 'z=1,b,a'; can't understand 'a'"),
    # syntax of every term is checked before any field name
    ("spec.foo=1,nonsense", "invalid selector: 'spec.foo=1,nonsense'; can't understand 'nonsense'"),
    ("spec.foo=1", "field label not supported: spec.foo"),
    ("status.podIP=1,metadata.labels=x", "field label not supported: metadata.labels"),
    ("y=1,x=2", "field label not supported: x"),
    ("metadata.name =web", "field label not supported: metadata.name "),
    ("=web", "field label not supported: "),
    ("metadata.name=a=b", "invalid field selector: unescaped character in value: 61"),
    ("metadata.name!==b", "invalid field selector: unescaped character in value: 61"),
    (r"metadata.name=a\x", "invalid field selector: invalid escape sequence: \\x"),
    ("metadata.name=a\\", "invalid field selector: invalid escape sequence: \\"),
]


@pytest.mark.parametrize(("text", "message"), ERRORS)
def test_a_bad_field_selector_is_a_bad_request_with_the_apiserver_text(text: str, message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        parse_field_selector(text, POD_FIELDS)
    assert caught.value.message == message
    assert caught.value.code == 400


def test_exact_gives_the_pinned_value_of_a_canonical_field() -> None:
    selector = parse_field_selector("spec.host=n1,metadata.name==web,status.phase!=Failed", POD_FIELDS)
    assert selector.exact("spec.nodeName") == "n1"
    assert selector.exact("metadata.name") == "web"
    assert selector.exact("status.phase") is None  # != pins nothing
    assert selector.exact("metadata.namespace") is None
    assert parse_field_selector("spec.nodeName=", POD_FIELDS).exact("spec.nodeName") == ""


def test_an_empty_selector_is_empty_and_matches_everything() -> None:
    selector = parse_field_selector("", POD_FIELDS)
    assert selector.empty
    assert selector == FieldSelector()
    assert selector.matches({})
    assert not parse_field_selector("metadata.name=x", POD_FIELDS).empty


def test_terms_are_canonical_and_render_back_escaped() -> None:
    selector = parse_field_selector(r"spec.host=n\,1,metadata.name!=x", POD_FIELDS)
    assert selector.terms == (
        FieldTerm("metadata.name", "!=", "x"),
        FieldTerm("spec.nodeName", "=", "n,1"),
    )
    assert str(selector) == r"metadata.name!=x,spec.nodeName=n\,1"
