"""Semantic comparison of pod specs: apimachinery's ``equality.Semantic.DeepEqual`` for JSON.

The pod update rule (spec mutability) and the ``/ephemeralcontainers`` append-only rule compare
specs with it and print ``spec_diff`` when they differ.
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from watchcache.machinery.quantity import parse_quantity

# apimachinery Semantic.DeepEqual treats nil and empty slices/maps alike and compares quantities
# by value; Go's non-pointer scalars make "" / 0 / false indistinguishable from absent. These
# tables approximate that for JSON: a PUT that spells out a zero value is not a change.
_MAP_FIELDS = frozenset({"nodeSelector", "limits", "requests", "overhead", "labels", "annotations"})
_QUANTITY_MAPS = frozenset({"limits", "requests", "overhead"})
_QUANTITY_FIELDS = frozenset({"sizeLimit"})
_NON_POINTER_SCALARS = frozenset(
    {
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "stdin",
        "stdinOnce",
        "tty",
        "readOnly",
        "hostPort",
        "containerPort",
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
        "weight",
        "maxSkew",
    }
)


def semantic_form(value: Any, key: str = "") -> Any:
    """``value`` with Go-indistinguishable spellings removed, for semantic comparison."""
    if isinstance(value, dict):
        if key in _QUANTITY_MAPS:
            return {k: _quantity_value(v) for k, v in value.items()}
        result = {}
        for k, v in value.items():
            canonical = semantic_form(v, k)
            if not _is_zero(canonical, k):
                result[k] = canonical
        return result
    if isinstance(value, list):
        return [semantic_form(item) for item in value]
    if key in _QUANTITY_FIELDS:
        return _quantity_value(value)
    return value


def _is_zero(value: Any, key: str) -> bool:
    if value is None or value == "" or (isinstance(value, list) and not value):
        return True
    if isinstance(value, dict) and not value:
        return key in _MAP_FIELDS  # an empty struct (emptyDir: {}) is not nil
    return key in _NON_POINTER_SCALARS and value in (0, False)


def _quantity_value(value: Any) -> Any:
    try:
        return parse_quantity(value)
    except ValueError:
        return value


def spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A unified diff of two specs as sorted, indented JSON (the real server prints Go's
    ``cmp.Diff``; clients only show the text)."""
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    before = orjson.dumps(old, option=option).decode().splitlines()
    after = orjson.dumps(new, option=option).decode().splitlines()
    lines = difflib.unified_diff(before, after, "old spec", "new spec", n=2, lineterm="")
    return "\n".join(lines)
