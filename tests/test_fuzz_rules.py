"""Bad input never hurts, in the compiled rules too: any value anywhere in a pod gets an API
error or is accepted, never another exception (which the API would answer as a 500).

The rule modules run compiled (setup.py, mypyc), and compiled code checks its annotations at
run time: a value of an unexpected type that the interpreter let through would raise
``TypeError`` there. Hypothesis puts arbitrary JSON values at arbitrary places of a rich pod
and drives them through what a create, an update and a server-side apply run, in the order
the API runs them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchcache.http.resources import _check_applied_fields
from watchcache.kinds.pods import POD as POD_KIND
from watchcache.kinds.pods.schema import POD_SCHEMA
from watchcache.kinds.pods.strategy import prepare_create, prepare_update
from watchcache.machinery import errors, managed_fields
from watchcache.machinery.decode import DecodeResult, decode_object
from watchcache.machinery.server_side_apply import apply, parse_apply_body

from .fuzz_support import POD, damaged_pods


def decode_pod(body: bytes, **options: Any) -> DecodeResult:
    """The decoder as the API runs it for pods."""
    return decode_object(body, POD_SCHEMA, **options)


NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _stored() -> dict[str, Any]:
    decoded = decode_pod(orjson.dumps(POD), field_validation="Strict").obj
    POD_KIND.defaults(decoded)
    pod, _ = prepare_create(decoded, "ns", now=NOW)
    managed_fields.record(pod, None, manager="kubectl", operation="Update", subresource=None, time="t")
    pod["metadata"]["resourceVersion"] = "7"
    return pod


STORED = _stored()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(damaged_pods(), st.sampled_from(["Strict", "Warn", "Ignore"]))
def test_a_create_of_any_pod_is_an_api_error_or_a_pod(body: dict[str, Any], validation: str) -> None:
    try:
        pod = decode_pod(orjson.dumps(body), field_validation=validation).obj
        POD_KIND.defaults(pod)
        pod, _ = prepare_create(pod, "ns", now=NOW)
        managed_fields.record(pod, None, manager="m", operation="Update", subresource=None, time="t")
    except errors.APIError:
        return
    orjson.dumps(pod)  # what is stored can be encoded


@FUZZ
@given(damaged_pods())
def test_an_update_to_any_pod_is_an_api_error_or_a_pod(body: dict[str, Any]) -> None:
    old = copy.deepcopy(STORED)
    try:
        new = decode_pod(orjson.dumps(body), field_validation="Warn").obj
        new = prepare_update(new, old, "ns", "web")
        managed_fields.record(new, old, manager="m", operation="Update", subresource=None, time="t")
    except errors.APIError:
        return
    orjson.dumps(new)


@FUZZ
@given(damaged_pods())
def test_a_server_side_apply_of_any_configuration_is_an_api_error_or_a_pod(body: dict[str, Any]) -> None:
    live = copy.deepcopy(STORED)
    try:
        config = parse_apply_body(orjson.dumps(body))
        _check_applied_fields(POD_KIND, config, "ns", "web")  # as the API does before merging
        merged = apply(live, config, manager="m", force=False, now="2026-12-06T00:00:00Z")
    except errors.APIError:
        return
    orjson.dumps(merged)
