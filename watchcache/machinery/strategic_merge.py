"""Strategic merge patch and JSON merge patch for v1 Pods (patch.md §3, §4).

Hand-written because no Python library implements Kubernetes' strategic merge patch, yet
kubectl (``apply``, ``edit``, ``debug``, default ``patch``) and the Python client send one for
every PATCH. Semantics are those of apimachinery's ``strategicpatch`` apply half, driven by
:data:`PATCH_RULES`, the Pod's patch metadata keyed by path pattern (list indexes dropped:
``spec.containers[].env``). Lists not in the table are atomic; maps always merge key by key.

Choices where the Go code is accidental rather than specified, stated once:

- Values with nothing to merge into (a new key, a type change, an atomic list, an appended list
  element, a ``$patch: replace`` map) are copied with nulls and directives removed, as newer
  apimachinery does; Go 1.32 copied some of them verbatim, leaving ``$patch`` for the decoder to
  drop as an unknown field.
- ``$setElementOrder`` on an atomic list is ignored (Go panics there: HTTP 500).
- Errors the real server returns as HTTP 500 with an empty reason are raised as 400 with the
  same text, as patch.md §4 asks.

Results share untouched subtrees with ``original`` (copy-on-write along the patched paths), so
a caller that mutates the result in place must copy it first or it mutates ``original`` too.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

import orjson

from watchcache.machinery import errors

JSON = Any
JSONMap = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ListRule:
    """Patch metadata of one merging list (the ``patchStrategy``/``patchMergeKey`` Go tags)."""

    merge_key: str | None  # None: a set of scalars (finalizers)
    # Documents the Go tag only: like apimachinery, `$retainKeys` is honoured in any map it
    # appears in; kubectl sends it only for these lists' elements.
    retain_keys: bool = False


_CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")
_PER_CONTAINER = {
    "env": "name",
    "ports": "containerPort",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
}

PATCH_RULES: Final = MappingProxyType(
    {
        "metadata.finalizers": ListRule(None),
        "metadata.ownerReferences": ListRule("uid"),
        **{f"spec.{c}": ListRule("name") for c in _CONTAINER_LISTS},
        **{
            f"spec.{c}[].{field}": ListRule(key)
            for c in _CONTAINER_LISTS
            for field, key in _PER_CONTAINER.items()
        },
        "spec.volumes": ListRule("name", retain_keys=True),
        "spec.imagePullSecrets": ListRule("name"),
        "spec.hostAliases": ListRule("ip"),
        "spec.topologySpreadConstraints": ListRule("topologyKey"),
        "spec.schedulingGates": ListRule("name"),
        "spec.resourceClaims": ListRule("name", retain_keys=True),
        "status.conditions": ListRule("type"),
        "status.podIPs": ListRule("ip"),
        "status.hostIPs": ListRule("ip"),
        "status.resourceClaimStatuses": ListRule("name", retain_keys=True),
    }
)
"""Every merging list of core/v1 Pod (patch.md §4); anything else is atomic."""

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_FROM = "$deleteFromPrimitiveList"

RETAIN_KEYS_FORMAT = "invalid patch format of retainKeys"
PRIMITIVE_LIST_FORMAT = "invalid patch format of primitive list"
SET_ORDER_FORMAT = "invalid patch format of setElementOrder list"


class _Drop:
    """Marks a value that must vanish (a new map carrying ``$patch: delete``)."""


_DROP: Final = _Drop()
_NO_KEY: Final = object()


# --- public API -------------------------------------------------------------------------------


def apply_strategic_merge(original: JSONMap, patch: JSON) -> JSONMap:
    """``original`` (the stored pod) with the strategic merge ``patch`` applied; inputs untouched."""
    if patch is None:  # Go's json.Unmarshal of `null` into a map leaves it empty: a no-op patch
        patch = {}
    if not isinstance(patch, dict):
        raise errors.BadRequest(
            f"json: cannot unmarshal {errors.go_json_type(patch)} "
            "into Go value of type map[string]interface {}"
        )
    return _merge_map(original, patch, "")


def apply_json_merge_patch(original: JSON, patch: JSON) -> JSON:
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_json_merge_patch(out.get(key), value)
    return out


# --- maps -------------------------------------------------------------------------------------


def _merge_map(original: JSONMap, patch: JSONMap, path: str) -> JSONMap:
    """Merge one patch map: its directives first (as apimachinery orders them), then its keys."""
    if PATCH in patch:
        return _map_directive(patch)
    out = dict(original)
    if RETAIN_KEYS in patch:
        _retain_keys(out, patch)
    ordered = _apply_element_orders(out, patch, path)
    for key, value in patch.items():
        if key in ordered or key == RETAIN_KEYS or key.startswith(SET_ORDER):
            continue
        if key.startswith(DELETE_FROM):
            _delete_from_list(out, key, value)
        elif value is None:
            out.pop(key, None)
        else:
            merged = _merge_value(out.get(key, _NO_KEY), value, _child(path, key))
            if merged is _DROP:
                out.pop(key, None)
            else:
                out[key] = merged
    return out


def _merge_value(old: JSON, new: JSON, path: str) -> JSON:
    if isinstance(new, dict) and isinstance(old, dict):
        return _merge_map(old, new, path)
    if isinstance(new, list) and isinstance(old, list):
        rule = PATCH_RULES.get(path)
        return _fresh_list(new) if rule is None else _merge_list(old, new, path, rule)
    return _fresh(new)


def _map_directive(patch: JSONMap) -> JSONMap:
    """``$patch`` in a map: ``replace`` takes the patch map, ``delete`` empties the map."""
    directive = patch[PATCH]
    if directive == "delete":
        return {}
    if directive != "replace":
        raise _bad_patch_type(directive, patch)
    return _fresh_map(patch)


def _retain_keys(out: JSONMap, patch: JSONMap) -> None:
    """Drop original keys ``$retainKeys`` does not list (how a volume switches its source)."""
    listed = patch[RETAIN_KEYS]
    if not isinstance(listed, list):
        raise errors.BadRequest(RETAIN_KEYS_FORMAT)
    keep = {k for k in listed if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key == RETAIN_KEYS or key.startswith((SET_ORDER, DELETE_FROM)):
            continue
        if key not in keep:
            raise errors.BadRequest(RETAIN_KEYS_FORMAT)
    for key in [k for k in out if k not in keep]:
        del out[key]


def _delete_from_list(out: JSONMap, directive: str, values: JSON) -> None:
    """``$deleteFromPrimitiveList/<list>``: drop those scalars; a missing list stays missing."""
    name = _directive_target(directive, DELETE_FROM, PRIMITIVE_LIST_FORMAT)
    if not isinstance(values, list):
        raise errors.BadRequest(PRIMITIVE_LIST_FORMAT)
    current = out.get(name)
    if isinstance(current, list):
        gone = {_ident(v) for v in values}
        out[name] = [v for v in current if _ident(v) not in gone]


# --- $setElementOrder -------------------------------------------------------------------------


def _apply_element_orders(out: JSONMap, patch: JSONMap, path: str) -> set[str]:
    """Merge every list named by a ``$setElementOrder/<list>`` and order it; return their names."""
    done: set[str] = set()
    for directive, order in patch.items():
        if not directive.startswith(SET_ORDER):
            continue
        name = _directive_target(directive, SET_ORDER, SET_ORDER_FORMAT)
        if not isinstance(order, list):
            raise errors.BadRequest(SET_ORDER_FORMAT)
        child = _child(path, name)
        rule = PATCH_RULES.get(child)
        old, new = out.get(name, []), patch.get(name, [])
        if rule is None or not isinstance(old, list) or not isinstance(new, list):
            continue  # atomic, or a null/type change: replaced by the ordinary key loop
        if name not in out and name not in patch:
            continue
        _check_order(new, order, rule.merge_key)
        out[name] = _merge_list(old, new, child, rule, order)
        done.add(name)
    return done


def _check_order(items: list[JSON], order: list[JSON], key: str | None) -> None:
    """The patch list must follow the order list (apimachinery rejects a contradicting one)."""
    if not items or not order:
        return
    listed = [i for i in items if not (isinstance(i, dict) and PATCH in i)]
    if key is not None:
        for item in listed:
            if not isinstance(item, dict):
                raise errors.BadRequest(SET_ORDER_FORMAT)
            if key not in item:
                raise _no_merge_key(item, key)
    wanted = iter(_order_keys(order, key))
    if not all(_item_key(i, key) in wanted for i in listed):
        raise errors.BadRequest(
            f"The order in patch list:\n{_go(items)}\n doesn't match {SET_ORDER} list:\n{_go(order)}\n"
        )


def _order_keys(order: list[JSON], key: str | None) -> list[Hashable]:
    if key is None:
        return [_ident(v) for v in order]
    for entry in order:
        if not isinstance(entry, dict):
            raise errors.BadRequest(SET_ORDER_FORMAT)
        if key not in entry:
            raise _no_merge_key(entry, key)
    return [_ident(entry[key]) for entry in order]


# --- lists ------------------------------------------------------------------------------------


def _merge_list(
    old: list[JSON], new: list[JSON], path: str, rule: ListRule, order: list[JSON] | None = None
) -> list[JSON]:
    """Merge a list with a merge strategy; ``order`` is its ``$setElementOrder``, if sent."""
    if not old and not new:
        return []
    if _element_type(old, new) is not dict:
        return _merge_scalars(old, new, order)
    if rule.merge_key is None:
        raise errors.BadRequest("cannot merge lists without merge key for type map")
    return _merge_keyed(old, new, path, rule.merge_key, order)


def _element_type(old: list[JSON], new: list[JSON]) -> type:
    types = {type(v) for v in old} | {type(v) for v in new}
    if list in types:
        # 422, not 400: apimachinery's ErrNoListOfLists maps to Unprocessable (patch.md §4)
        raise errors.APIError(422, "Invalid", "lists of lists are not supported")
    if len(types) > 1:
        raise errors.BadRequest(f"list element types are not identical: {_go([old, new])}")
    return types.pop()


def _merge_scalars(old: list[JSON], new: list[JSON], order: list[JSON] | None) -> list[JSON]:
    """A set of scalars (finalizers): the union, without duplicates."""
    merged: list[JSON] = []
    seen: set[Hashable] = set()
    for value in (*old, *new):
        ident = _ident(value)
        if ident not in seen:
            seen.add(ident)
            merged.append(value)
    wanted = [_ident(v) for v in (new if order is None else order)]
    return _normalize_order(merged, [_ident(v) for v in merged], wanted, old, None)


def _merge_keyed(
    old: list[JSON], new: list[JSON], path: str, key: str, order: list[JSON] | None
) -> list[JSON]:
    """Elements identified by ``key``: delete, merge into the match, or add."""
    base, regular, replace = _list_directives(old, new, key)
    if replace and order is None:
        return _fresh_list(regular)
    merged = _fresh_list(regular) if replace else _merge_elements(base, regular, path, key)
    keys = [_item_key(e, key) for e in merged]
    wanted = [_ident(item[key]) for item in regular] if order is None else _order_keys(order, key)
    return _normalize_order(merged, keys, wanted, old, key)


def _list_directives(old: list[JSON], new: list[JSON], key: str) -> tuple[list[JSON], list[JSON], bool]:
    """Apply the ``$patch`` elements: the surviving original, the plain patch, whether to replace."""
    base, regular, replace = old, [], False
    for item in new:
        if PATCH not in item:
            regular.append(item)
            continue
        directive = item[PATCH]
        if directive == "delete":
            if key not in item:
                raise _no_merge_key(item, key)
            gone = _ident(item[key])
            base = [e for e in base if _item_key(e, key) != gone]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise errors.BadRequest("merging lists cannot yet be specified in the patch")
        else:
            raise _bad_patch_type(directive, item)
    return base, regular, replace


def _merge_elements(base: list[JSON], patch: list[JSON], path: str, key: str) -> list[JSON]:
    merged = list(base)
    index: dict[Hashable, int] = {}
    for i, element in enumerate(merged):
        index.setdefault(_item_key(element, key), i)
    element_path = path + "[]"
    for item in patch:
        if key not in item:
            raise _no_merge_key(item, key)
        ident = _ident(item[key])
        at = index.get(ident)
        if at is None:
            index[ident] = len(merged)
            merged.append(_fresh(item))
        else:
            merged[at] = _merge_map(merged[at], item, element_path)
    return merged


def _normalize_order(
    merged: list[JSON],
    keys: list[Hashable],
    wanted: list[Hashable],
    server: list[JSON],
    key: str | None,
) -> list[JSON]:
    """apimachinery's order: patch items as wanted, interleaved best-effort with server-only ones.

    A server-only item goes before the next patch item when both exist on the server and it
    came first there; so items new to the list land ahead of trailing server-only items.
    """
    rank: dict[Hashable, int] = {}
    for i, ident in enumerate(wanted):
        rank.setdefault(ident, i)
    position: dict[Hashable, int] = {}
    for i, element in enumerate(server):
        position.setdefault(_item_key(element, key), i)
    patched = sorted(
        ((k, e) for k, e in zip(keys, merged, strict=True) if k in rank), key=lambda p: rank[p[0]]
    )
    server_only = [(k, e) for k, e in zip(keys, merged, strict=True) if k not in rank]
    out: list[JSON] = []
    i = j = 0
    while i < len(server_only) and j < len(patched):
        left, right = position.get(server_only[i][0]), position.get(patched[j][0])
        if left is not None and right is not None and left < right:
            out.append(server_only[i][1])
            i += 1
        else:
            out.append(patched[j][1])
            j += 1
    out.extend(e for _, e in server_only[i:])
    out.extend(e for _, e in patched[j:])
    return out


# --- values with nothing to merge into ----------------------------------------------------------


def _fresh(value: JSON) -> JSON:
    """A patch value taken as is: nulls and directives removed (``_DROP`` if it deletes itself)."""
    if isinstance(value, dict):
        if value.get(PATCH, "replace") == "replace":
            return _fresh_map(value)
        if value[PATCH] == "delete":
            return _DROP
        raise _bad_patch_type(value[PATCH], value)
    if isinstance(value, list):
        return _fresh_list(value)
    return value


def _fresh_map(value: JSONMap) -> JSONMap:
    out: JSONMap = {}
    for key, item in value.items():
        if item is None or _is_directive(key):
            continue
        fresh = _fresh(item)
        if fresh is not _DROP:
            out[key] = fresh
    return out


def _fresh_list(items: Sequence[JSON]) -> list[JSON]:
    """Elements with ``$patch`` are list directives, meaningless without an original: dropped."""
    out: list[JSON] = []
    for item in items:
        if isinstance(item, dict) and PATCH in item:
            if item[PATCH] == "merge":
                raise errors.BadRequest("merging lists cannot yet be specified in the patch")
            if item[PATCH] not in ("delete", "replace"):
                raise _bad_patch_type(item[PATCH], item)
            continue
        out.append(_fresh(item))
    return out


def _is_directive(key: str) -> bool:
    return key[:1] == "$" and (key in (PATCH, RETAIN_KEYS) or key.startswith((SET_ORDER, DELETE_FROM)))


# --- helpers ----------------------------------------------------------------------------------


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _directive_target(directive: str, prefix: str, error: str) -> str:
    """``$setElementOrder/containers`` → ``containers`` (the prefix must end at the slash)."""
    head, slash, name = directive.partition("/")
    if head != prefix or not slash:
        raise errors.BadRequest(error)
    return name


def _ident(value: JSON) -> Hashable:
    """A hashable identity with Go's equality: ``true`` is not ``1``; maps compare by content."""
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if value is True or value is False:
        return ("bool", value)
    return value


def _item_key(element: JSON, key: str | None) -> Hashable:
    if key is None:
        return _ident(element)
    if isinstance(element, dict) and key in element:
        return _ident(element[key])
    return _NO_KEY


def _no_merge_key(item: JSONMap, key: str) -> errors.BadRequest:
    return errors.BadRequest(f"map: {_go(item)} does not contain declared merge key: {key}")


def _bad_patch_type(directive: JSON, item: JSONMap) -> errors.BadRequest:
    shown = (
        directive
        if isinstance(directive, str)
        else f"%!s({_go_type(directive)}={_go(directive)})"  # Go's %s of a non-string
    )
    return errors.BadRequest(f"unknown patch type: {shown} in map: {_go(item)}")


def _go(value: JSON) -> str:
    """Go's ``%v`` of decoded JSON (``map[k:v]``, keys sorted), for error texts clients show."""
    if value is None:
        return "<nil>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go(v)}" for k, v in sorted(value.items())) + "]"
    if isinstance(value, list):
        return "[" + " ".join(_go(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return str(int(value))  # apimachinery decodes integral JSON numbers as int64
    return str(value)


def _go_type(value: JSON) -> str:
    if value is True or value is False:
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "map[string]interface {}" if isinstance(value, dict) else "[]interface {}"
