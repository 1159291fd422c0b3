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
import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchcache.http.resources import _check_applied_fields
from watchcache.kinds.pods import POD as POD_KIND
from watchcache.kinds.pods.schema import POD_SCHEMA
from watchcache.kinds.pods.strategy import prepare_create, prepare_update
from watchcache.machinery import errors, managed_fields, server_side_apply
from watchcache.machinery.decode import DecodeResult, check_fields, decode_object
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


def _merge_without_shortcut() -> ModuleType:
    """``server_side_apply`` loaded from its source with the held-value shortcut off: the merge
    of every value, which keeping a held live value must equal (``_merge_owned``)."""
    source = Path(server_side_apply.__file__).with_name("server_side_apply.py")
    spec = importlib.util.spec_from_file_location("server_side_apply_reference", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for shortcut in ("_held_map", "_held_keyed"):  # renamed: this comparison would prove nothing
        assert callable(getattr(module, shortcut, None)), shortcut
        setattr(module, shortcut, lambda *args: None)
    return module


REFERENCE = _merge_without_shortcut()
SIDECAR = {"name": "side", "image": "proxy:1", "ports": [{"containerPort": 9090}]}
FINALIZERS = ([], ["a/x"], ["a/x", "a/x"], ["a/x", "a/y"], ["a/y", "a/x"])


@st.composite
def live_and_configuration(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """A live pod and a configuration that overlap: the rich pod, damaged, as another manager
    applied it, and that pod again (or one damaged apart), each with a second container
    before or after the first (or twice) and finalizers in any order (or one twice), so that
    kept, changed, reordered and duplicated values all come up."""
    body = _accepted(draw(damaged_pods()))
    documents = [body, copy.deepcopy(body) if draw(st.booleans()) else _accepted(draw(damaged_pods()))]
    for pod in documents:
        spec = pod.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("containers"), list):
            placed = draw(st.sampled_from(("alone", "after", "before", "twice")))
            if placed == "after":
                spec["containers"].append(copy.deepcopy(SIDECAR))
            elif placed == "before":
                spec["containers"].insert(0, copy.deepcopy(SIDECAR))
            elif placed == "twice":
                spec["containers"] += [copy.deepcopy(SIDECAR), copy.deepcopy(SIDECAR)]
        if isinstance(pod.get("metadata"), dict):  # a set, which may hold a value twice
            pod["metadata"]["finalizers"] = draw(st.sampled_from(FINALIZERS))
    live, applied = documents
    try:
        live = apply(None, live, manager="other", force=False, now="t0")
    except errors.APIError:
        live = copy.deepcopy(STORED)
    return live, applied


def _accepted(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` as a configuration the API would merge, else the pod undamaged."""
    try:
        applied = parse_apply_body(orjson.dumps(document))
        _check_applied_fields(POD_KIND, applied, "ns", "web")  # as the API does before merging
    except errors.APIError:
        return parse_apply_body(orjson.dumps(POD))
    return applied


def _outcome(merge: Any, live: dict[str, Any], configuration: dict[str, Any], force: bool) -> Any:
    try:
        merged = merge(live, configuration, manager="m", force=force, now="t1")
    except errors.APIError as exc:
        return exc.status()
    return orjson.dumps(merged)


@FUZZ
@given(live_and_configuration(), st.booleans())
def test_keeping_the_values_live_already_holds_merges_as_merging_them_all(
    pair: tuple[dict[str, Any], dict[str, Any]], force: bool
) -> None:
    live, configuration = pair
    before = orjson.dumps(live)
    assert _outcome(apply, live, configuration, force) == _outcome(
        REFERENCE.apply, live, configuration, force
    )
    assert orjson.dumps(live) == before  # kept values are shared, never changed


def test_a_remembered_container_stands_only_for_the_same_live_and_applied_content() -> None:
    """The held-value shortcut remembers its answer per container, by the live and the applied
    content both: a container that one pod holds as applied is kept there, and merged in a pod
    where another manager has changed it since, with the same configuration."""
    configuration = parse_apply_body(orjson.dumps(POD))
    image = configuration["spec"]["containers"][0]["image"]
    live = apply(None, configuration, manager="other", force=False, now="t0")
    changed = copy.deepcopy(live)
    changed["spec"]["containers"][0]["image"] = "changed:2"
    for pod in (live, changed, live, changed):  # each asked again once the answer is remembered
        merged = _outcome(apply, pod, configuration, True)
        assert merged == _outcome(REFERENCE.apply, pod, configuration, True)
        assert orjson.loads(merged)["spec"]["containers"][0]["image"] == image
    kept = apply(live, configuration, manager="m", force=True, now="t1")
    assert kept["spec"]["containers"][0] is live["spec"]["containers"][0]  # held: the live value


def _checked(document: dict[str, Any], cleaning: bool) -> tuple[list[str], str]:
    """The problems ``check_fields`` finds in ``document``, or the text of its error."""
    try:
        return check_fields(document, POD_SCHEMA, field_validation="Strict", cleaning=cleaning)[1], ""
    except errors.APIError as exc:
        return [], str(exc.status())


@FUZZ
@given(damaged_pods())
def test_judging_a_document_finds_what_cleaning_it_finds_and_leaves_it_as_it_was(
    document: dict[str, Any],
) -> None:
    """Apply checks the configuration it merges without a copy (``cleaning=False``): the
    problems or the error must be those of the check that cleans, and the document untouched
    (nulls, unknown fields and values the check would normalise all stay)."""
    before = orjson.dumps(document)
    assert _checked(document, cleaning=False) == _checked(copy.deepcopy(document), cleaning=True)
    assert orjson.dumps(document) == before
