"""Property tests for selectors and patches: any text is a selector or a 400, never another
exception, and a parsed selector judges any labels or fields; any patch document of any type,
applied to a pod, gives a patched document or an API error (the API would answer anything else
with a 500)."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from watchcache.machinery import errors
from watchcache.machinery.patches import APPLY_PATCH, PATCH_TYPES, apply_patch, parse_patch
from watchcache.machinery.selectors import parse_field_selector, parse_label_selector

SELECTOR_ALPHABET = st.sampled_from([*"abcxyz019-_./=!,() \\<>", "in", "notin", "=", "!=", "=="])
selector_texts = st.lists(SELECTOR_ALPHABET, max_size=20).map("".join) | st.text(max_size=30)
labels = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)
POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "n", "labels": {"a": "1"}, "finalizers": ["f"]},
    "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}],
             "tolerations": [{"key": "k"}]},
}  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
json_patch_ops = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "nope"]),
         "path": st.sampled_from(["/metadata/labels/a", "/spec/containers/0", "/spec/containers/-", "", "/x/y",
                                  "/metadata/finalizers/5", "/spec/tolerations/0/key"])},
        optional={"value": json_values, "from": st.sampled_from(["/metadata/labels", "/spec", "/nope"])},
    ),
    max_size=4,
)  # fmt: skip


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(text=selector_texts, labels=labels)
def test_any_label_selector_is_parsed_or_refused(text: str, labels: dict[str, str]) -> None:
    try:
        selector = parse_label_selector(text)
    except errors.BadRequest:
        return
    assert selector.matches(labels) in (True, False)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(text=selector_texts, fields=labels)
def test_any_field_selector_is_parsed_or_refused(text: str, fields: dict[str, str]) -> None:
    try:
        selector = parse_field_selector(text)
    except errors.APIError:
        return
    assert selector.matches(fields) in (True, False)


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(patch_type=st.sampled_from([t for t in PATCH_TYPES if t != APPLY_PATCH]),
       document=json_values | json_patch_ops | st.dictionaries(st.sampled_from(["metadata", "spec", "$patch"]),
                                                                 json_values, max_size=2))  # fmt: skip
def test_any_patch_applies_or_is_an_api_error(patch_type: str, document: Any) -> None:
    try:
        parsed = parse_patch(patch_type, orjson.dumps(document))
        apply_patch(patch_type, copy.deepcopy(POD), parsed)
    except errors.APIError:
        pass


@settings(max_examples=500, deadline=None, derandomize=True)
@given(patch_type=st.sampled_from([t for t in PATCH_TYPES if t != APPLY_PATCH]),
       document=json_patch_ops | st.dictionaries(st.sampled_from(["metadata", "spec"]), json_values, max_size=2))  # fmt: skip
def test_a_patch_leaves_the_current_pod_as_it_was(patch_type: str, document: Any) -> None:
    """Updates lend the registry's parse of the current pod to the patch (one parse a write):
    every patch type must build its result beside it, never in it."""
    pod = copy.deepcopy(POD)
    with contextlib.suppress(errors.APIError):
        apply_patch(patch_type, pod, parse_patch(patch_type, orjson.dumps(document)))
    assert pod == POD
