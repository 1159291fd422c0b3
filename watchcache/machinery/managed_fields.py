"""``metadata.managedFields``: who set which fields (objects-and-errors.md §2).

A faithful-in-shape, simplified record: one entry per (manager, operation, subresource) whose
``fieldsV1`` lists the fields that manager set, in the FieldsV1 notation (``f:<field>``,
``k:{"name":"web"}`` for list elements with a merge key, ``"."`` for the element itself).
Fields a write changes move to its manager. Server-side apply builds on the same sets.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from watchcache.machinery.memo import ContentMemo
from watchcache.machinery.objects import Object

FieldSet = dict[str, Any]

# List fields whose elements are identified by a merge key (strategic-merge metadata of core/v1).
MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "ports": ("containerPort", "protocol"),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "volumes": ("name",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "schedulingGates": ("name",),
    "resourceClaims": ("name",),
    "conditions": ("type",),
    "podIPs": ("ip",),
    "hostIPs": ("ip",),
    "ownerReferences": ("uid",),
}
MAP_FIELDS = frozenset({"labels", "annotations", "nodeSelector", "limits", "requests"})
UNOWNED_METADATA = frozenset(
    {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
     "managedFields", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}
)  # fmt: skip


FIELD_ELEMENTS_MAX = 65_536  # names remembered by field_element (labels and annotations are open-ended)
_field_elements: dict[str, str] = {}


def field_element(name: str) -> str:
    """``f:<name>``, the path element of a field, made once per name: a field set names the same
    few hundred fields in every write, and a string made anew costs its allocation, its copy
    and, once it keys a dict, its hash; a remembered one has all three done."""
    element = _field_elements.get(name)
    if element is None:
        element = "f:" + name
        if len(_field_elements) < FIELD_ELEMENTS_MAX:
            _field_elements[name] = element
    return element


def changed_fields(old: Any, new: Any, field: str = "") -> FieldSet | None:
    """The FieldsV1 set of what ``new`` sets differently from ``old`` (None: nothing).

    Equal subtrees are dismissed by one C-level comparison before any walking, so an update
    costs in proportion to what it changed, not to the size of the pod.
    """
    if old is None:
        return None if new is None else all_fields(new, field)
    if old == new:
        return None
    if isinstance(new, dict):
        old_map = old if isinstance(old, dict) else {}
        out: FieldSet = {}
        for key, value in new.items():
            sub = changed_fields(old_map.get(key), value, key)
            if sub is not None:
                out[field_element(key)] = sub
        if out and field in MAP_FIELDS:
            out["."] = {}
        return out
    if isinstance(new, list) and field in MERGE_KEYS:
        keys = MERGE_KEYS[field]
        old_items = {_element_key(e, keys): e for e in old} if isinstance(old, list) else {}
        out = {}
        for element in new:
            ident = _element_key(element, keys)
            sub = changed_fields(old_items.get(ident), element)
            if sub is not None:
                sub["."] = {}
                out[ident] = sub
        return out
    return {}


def all_fields(value: Any, field: str = "") -> FieldSet:
    """``changed_fields(None, value)``: every field of ``value`` (a create), without the
    comparisons an update needs."""
    if isinstance(value, dict):
        out: FieldSet = {}
        for key, sub in value.items():
            if sub is not None:
                out[field_element(key)] = all_fields(sub, key)
        if out and field in MAP_FIELDS:
            out["."] = {}
        return out
    if isinstance(value, list) and field in MERGE_KEYS:
        keys = MERGE_KEYS[field]
        out = {}
        for element in value:
            if element is not None:
                sub = all_fields(element)
                sub["."] = {}
                out[_element_key(element, keys)] = sub
        return out
    return {}


_NOT_OWNED_TOP = ("kind", "apiVersion", "metadata", "status")


_key_elements: dict[tuple[tuple[str, Any], ...], str] = {}


def _element_key(element: Any, keys: tuple[str, ...]) -> str:
    if not isinstance(element, dict):
        return "v:" + orjson.dumps(element).decode()
    present = tuple([(k, element[k]) for k in keys if k in element])
    # (str and int keys only: True == 1 as a dict key, but they are two different JSON values)
    if not all(type(value) is str or type(value) is int for _, value in present):
        return "k:" + orjson.dumps(dict(present)).decode()
    found = _key_elements.get(present)
    if found is None:  # made once per key, as field_element
        found = "k:" + orjson.dumps(dict(present)).decode()
        if len(_key_elements) < FIELD_ELEMENTS_MAX:
            _key_elements[present] = found
    return found


def _owned(obj: Object, subresource: str | None) -> Object:
    """What a write can own: the status through ``/status``, else everything but the status."""
    meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in UNOWNED_METADATA}
    if subresource == "status":
        return {"metadata": meta, "status": obj.get("status") or {}}
    owned: Object = {"metadata": meta}
    for key, value in obj.items():
        if key not in _NOT_OWNED_TOP:
            owned[key] = value
    return owned


def _same(obj: Object) -> Object:
    return obj


def record(
    new: Object,
    old: Object | None,
    *,
    manager: str,
    operation: str,
    subresource: str | None,
    time: str,
    api_version: str = "v1",
    view: Callable[[Object], Object] = _same,
) -> None:
    """Update ``new``'s managedFields for a write by ``manager`` (in place). The fields are
    those of ``view`` of the objects: the version the write came through."""
    meta = new["metadata"]
    entries: list[dict[str, Any]] = list((old or {}).get("metadata", {}).get("managedFields") or [])
    owned = _owned(view(new), subresource)
    changed = changed_fields(_owned(view(old), subresource), owned) if old else _created_fields(owned)
    if not changed:
        if entries:
            meta["managedFields"] = entries
        return
    mine = None
    for entry in entries:  # an updater's entry is its own per apiVersion (kube's manager identity)
        if (
            entry.get("manager"),
            entry.get("operation"),
            entry.get("subresource"),
            entry.get("apiVersion"),
        ) == (
            manager,
            operation,
            subresource,
            api_version,
        ):
            mine = entry
    fields = _merge(mine.get("fieldsV1", {}) if mine else {}, changed)
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": time,
             "fieldsType": "FieldsV1", "fieldsV1": fields}  # fmt: skip
    if subresource:
        entry["subresource"] = subresource
    meta["managedFields"] = [e for e in entries if e is not mine] + [entry]


def _created_fields(owned: Object) -> FieldSet:
    """``changed_fields(None, owned)``, a create's: the spec, the desired state workloads stamp
    from templates, has its field set remembered per content."""
    out: FieldSet = {}
    for key, value in owned.items():
        if value is not None:
            out[field_element(key)] = _spec_fields(value) if key == "spec" else all_fields(value, key)
    return out


def _fields_of_spec(spec: Any) -> FieldSet:
    return all_fields(spec, "spec")


_spec_fields = ContentMemo(_fields_of_spec)


def _merge(a: FieldSet, b: FieldSet) -> FieldSet:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(out.get(key), dict) else value
    return out
