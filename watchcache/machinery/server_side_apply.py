"""Server-side apply for v1 Pods (patch.md §5): merge, ownership, conflicts. Pure, no I/O.

A field set is a set of :data:`Path` tuples of FieldsV1 path elements (``f:spec``,
``k:{"name":"web"}``, ``v:"example.com/x"``), members only, so the set algebra apply needs is
Python's. ``metadata.managedFields[].fieldsV1`` converts to and from it; a path that is a
member *and* has children carries ``"."`` (list elements), as structured-merge-diff writes it.

One apply, as structured-merge-diff's ``Updater.Apply`` does it:

1. the applied set = every field of the applied configuration (minus the parts the target
   resets: ``status`` on the main resource, ``spec`` on ``/status``; minus server-set metadata);
2. merge the configuration into the live object (maps key by key, keyed lists by their
   ``listType=map`` keys, ``finalizers`` as a set, every other list atomic);
3. conflicts = fields of the applied set that the merge changed and another manager owns;
   409 unless ``force``, which moves them to the applier instead;
4. fields the applier owned before, no longer sends, and nobody else owns are removed;
5. the applier's ``Apply`` entry is replaced by the applied set.

The merge is not :func:`strategic_merge.apply_strategic_merge`: apply keys ``ports`` by
``containerPort`` *and* ``protocol`` (and topology spread constraints by two keys), where the
strategic patch metadata has one key, so 53/TCP and 53/UDP would collapse into one element.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any, Final

import orjson
import yaml

from watchcache.machinery import errors
from watchcache.machinery.jsonshape import copied
from watchcache.machinery.managed_fields import MAP_FIELDS, MERGE_KEYS, UNOWNED_METADATA
from watchcache.machinery.yaml_loaders import TextKeyLoader, first_document

Path = tuple[str, ...]
JSON = Any
Entry = dict[str, Any]  # one metadata.managedFields item

APPLY: Final = "Apply"
API_VERSION: Final = "v1"
SET_LISTS: Final = frozenset({"finalizers"})  # listType=set in core/v1 Pod
# List-map key fields with a schema default, which structured-merge-diff fills in when an element
# omits them: a port without a protocol is the TCP port (``protocol`` keys no other Pod list).
KEY_DEFAULTS: Final[dict[str, JSON]] = {"protocol": "TCP"}
_LIST_FIELDS: Final = SET_LISTS | frozenset(MERGE_KEYS)


class _Missing:
    """No value at a path (distinct from JSON null)."""


_MISSING: Final = _Missing()


# --- request body -------------------------------------------------------------------------------


def parse_apply_body(body: bytes, kind: str = "Pod", api_version: str = API_VERSION) -> dict[str, Any]:
    """The applied configuration of a ``kind`` served as ``api_version``, checked as
    kube-apiserver's apply patcher checks it (400s)."""
    obj = _load(body)
    if obj is None:  # an empty document unmarshals into an empty map
        obj = {}
    if not isinstance(obj, dict):
        raise errors.BadRequest(
            "error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot "
            f"unmarshal {errors.go_json_type(obj)} into Go value of type map[string]interface {{}}"
        )
    version = _group_version(obj.get("apiVersion"))
    if version != api_version:
        raise errors.BadRequest(
            "Incorrect version specified in apply patch. "
            f"Specified patch version: {version}, expected: {api_version}"
        )
    given = obj.get("kind")
    if given != kind:
        shown = given if isinstance(given, str) else ""
        raise errors.BadRequest(f"invalid object type: {_gvk_text(api_version, shown)}")
    meta = obj.get("metadata")
    if isinstance(meta, dict) and meta.get("managedFields") is not None:
        raise errors.BadRequest("metadata.managedFields must be nil")
    return obj


def _gvk_text(api_version: str, kind: str) -> str:
    """A group-version-kind as Go prints it: ``/v1, Kind=Pod``, ``events.k8s.io/v1, Kind=Event``."""
    group_version = api_version if "/" in api_version else "/" + api_version
    return f"{group_version}, Kind={kind}"


def _load(body: bytes) -> JSON:
    if body.lstrip()[:1] == b"{":  # kubectl sends JSON: the fast path
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # still YAML's to judge (flow mappings are not always JSON)
    try:
        document = first_document(TextKeyLoader(body, _key_text))
    except yaml.MarkedYAMLError as exc:
        line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        raise errors.BadRequest(f"error decoding YAML: yaml: {line}{exc.problem}") from None
    except yaml.YAMLError as exc:
        raise errors.BadRequest(f"error decoding YAML: yaml: {exc}") from None
    return _jsonable(document)


def _jsonable(value: Any) -> JSON:
    """A YAML value as sigs.k8s.io/yaml turns it into JSON (keys are text already, see
    ``TextKeyLoader``): binary becomes text; what has no JSON form is a 400, not a crash."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (set, frozenset)):  # !!set: a map of nulls
        return dict.fromkeys(value)
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes):  # !!binary: go-yaml yields the decoded bytes as a string
        return value.decode("utf-8", "replace")
    if isinstance(value, int) and not -(2**63) <= value < 2**64:  # go-yaml: a float beyond 64 bits
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _not_json(f"json: unsupported value: {_float_text(value)}")
    return value


def _key_text(key: Any, value: Any) -> str:
    """A YAML map key as JSON text: numbers and booleans written out, anything else a 400."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):  # before int: bool is an int in Python
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return _float_text(key)
    kind, shown = ("<nil>", "<nil>") if key is None else (type(key).__name__, repr(key))
    raise _not_json(f"unsupported map key of type: {kind}, key: {shown}, value: {value!r}")


def _float_text(number: float) -> str:
    """go-yaml's spelling of a float key: ``.inf``, ``.nan``, else the shortest decimal."""
    if math.isnan(number):
        return ".nan"
    if math.isinf(number):
        return ".inf" if number > 0 else "-.inf"
    return repr(number).removesuffix(".0")


def _not_json(problem: str) -> errors.BadRequest:
    return errors.BadRequest(f"error decoding YAML: error converting YAML to JSON: {problem}")


def _group_version(value: JSON) -> str:
    """``schema.ParseGroupVersion(...).String()``; unparsable or non-string → ``""``."""
    if not isinstance(value, str):
        return ""
    parts = value.split("/")
    if len(parts) == 1:
        return value
    if len(parts) == 2:
        return parts[1] if not parts[0] else value
    return ""


# --- apply --------------------------------------------------------------------------------------


def apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    now: str,
    subresource: str | None = None,
    api_version: str = API_VERSION,
) -> dict[str, Any]:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: create); inputs untouched.
    Both are in ``api_version``, which the manager's entry records.

    The result is neither defaulted nor validated: the caller runs the create or update strategy
    on it. Raises a 409 ``Conflict`` (patch.md §5 texts) unless ``force``.
    """
    reset = "spec" if subresource == "status" else "status"
    config = {k: v for k, v in applied.items() if k != reset}
    new_set = applied_fields(applied, subresource)
    base = copied(live) if live is not None else {}
    entries = [dict(e) for e in (base.get("metadata") or {}).get("managedFields") or []]
    merged = _merge(base, copied(config), "")
    mine = _find_entry(entries, manager, subresource)
    others = [(e, fields_from_v1(e.get("fieldsV1") or {})) for e in entries if e is not mine]
    conflicts = find_conflicts(live or {}, merged, new_set, others)
    if conflicts and not force:
        raise conflict_error(conflicts)
    taken: dict[int, set[Path]] = {}
    for entry, path in conflicts:  # force: the applier takes these fields over
        taken.setdefault(id(entry), set()).add(path)
    for entry, owned in others:
        if id(entry) in taken:
            entry["fieldsV1"] = fields_to_v1(owned - taken[id(entry)])
    old_set = fields_from_v1(mine.get("fieldsV1") or {}) if mine else set()
    for path in removable(old_set - new_set, new_set.union(*(s for _, s in others))):
        _remove(merged, path)
    if live is not None and not conflicts and new_set == old_set and _content(merged) == _content(live):
        return base  # re-applying the same configuration: no change, not even the entry's time
    entry = {"manager": manager, "operation": APPLY, "apiVersion": api_version, "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": fields_to_v1(new_set)}  # fmt: skip
    if subresource:
        entry["subresource"] = subresource
    _set_entries(merged, [entry if e is mine else e for e in entries] + ([] if mine else [entry]))
    return merged


def _set_entries(obj: dict[str, Any], entries: list[Entry]) -> None:
    """Entries left with no fields go, and an empty list with them (a manager owns something)."""
    meta = obj.setdefault("metadata", {})
    meta["managedFields"] = [e for e in entries if e.get("fieldsV1")]
    if not meta["managedFields"]:
        del meta["managedFields"]


def _find_entry(entries: list[Entry], manager: str, subresource: str | None) -> Entry | None:
    """The applier's own entry: one per (manager, operation, subresource)."""
    for entry in entries:
        if (entry.get("manager"), entry.get("operation"), entry.get("subresource")) == (
            manager, APPLY, subresource,
        ):  # fmt: skip
            return entry
    return None


def _content(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


# --- field sets ---------------------------------------------------------------------------------


def applied_fields(applied: dict[str, Any], subresource: str | None = None) -> set[Path]:
    """Every field of an applied configuration that the applier will own."""
    reset = "spec" if subresource == "status" else "status"
    owned = {k: v for k, v in applied.items() if k not in ("apiVersion", "kind", reset)}
    meta = owned.get("metadata")
    if isinstance(meta, dict):
        owned["metadata"] = {k: v for k, v in meta.items() if k not in UNOWNED_METADATA}
        if not owned["metadata"]:
            del owned["metadata"]
    out: set[Path] = set()
    if owned:
        _collect(owned, "", (), out, applied)
    return out


def _collect(value: JSON, field: str, prefix: Path, out: set[Path], applied: dict[str, Any]) -> None:
    """Leaves, and keyed list elements as members; an empty map or list is a leaf itself."""
    if isinstance(value, dict) and value:
        for key, sub in value.items():
            _collect(sub, key, (*prefix, f"f:{key}"), out, applied)
    elif isinstance(value, list) and value and (field in MERGE_KEYS or field in SET_LISTS):
        seen: set[str] = set()
        for index, element in enumerate(value):
            pe = _path_element(element, field)
            if pe is None:
                raise _typed_patch_error(applied, prefix, index, element)
            if pe in seen and field not in SET_LISTS:
                raise _typed_patch_error(applied, prefix, index, element, duplicate=pe)
            seen.add(pe)
            out.add((*prefix, pe))
            if field in MERGE_KEYS:
                _collect(element, "", (*prefix, pe), out, applied)
    else:
        out.add(prefix)


def _path_element(element: JSON, field: str) -> str | None:
    """``k:{...}`` of a keyed element (key defaults filled in), ``v:...`` of a set member."""
    if field in SET_LISTS:
        return "v:" + orjson.dumps(element).decode()
    if not isinstance(element, dict):
        return None
    if any(name not in element and name not in KEY_DEFAULTS for name in MERGE_KEYS[field]):
        return None
    return _key_element(element, MERGE_KEYS[field])


def _key_element(element: dict[str, Any], names: Iterable[str]) -> str:
    return "k:" + orjson.dumps({n: element.get(n, KEY_DEFAULTS.get(n)) for n in names}).decode()


def _typed_patch_error(
    applied: dict[str, Any], prefix: Path, index: int, element: JSON, duplicate: str = ""
) -> errors.BadRequest:
    """structured-merge-diff's conversion error (HTTP 500 there; 400 as patch.md §5 prefers)."""
    meta = applied.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    where = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
    if duplicate:
        detail = f"duplicate entries for key {format_path((duplicate,))}"
    else:
        field = prefix[-1][2:]
        names = [n for n in MERGE_KEYS[field] if n not in KEY_DEFAULTS]
        missing = next((n for n in names if not isinstance(element, dict) or n not in element), names[0])
        detail = (
            f"element {index}: associative list with keys has an element that omits key field "
            f'"{missing}" (and doesn\'t have default value)'
        )
    gvk = _gvk_text(str(applied.get("apiVersion") or API_VERSION), str(applied.get("kind") or ""))
    return errors.BadRequest(
        f"failed to create typed patch object ({gvk}) {where}: {format_path(prefix)}: {detail}"
    )


def fields_from_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    """FieldsV1 JSON → member paths (``"."`` makes its parent a member)."""
    out: set[Path] = set()
    for key, sub in tree.items():
        if key == ".":
            out.add(prefix)
        elif isinstance(sub, dict) and sub:
            out |= fields_from_v1(sub, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def fields_to_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """Member paths → FieldsV1 JSON, ``"."`` first, then elements in structured-merge-diff order."""
    trie: dict[str, Any] = {}
    for path in paths:
        node = trie
        for pe in path:
            node = node.get(pe) or node.setdefault(pe, {})
        node[_MEMBER] = {}
    return _v1(trie)


_MEMBER: Final = ""  # in fields_to_v1's trie: the path so far is a member (no path element is "")


def _v1(node: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pe in sorted((pe for pe in node if pe), key=_element_order):
        child = node[pe]
        sub = _v1(child)
        out[pe] = {".": {}, **sub} if sub and _MEMBER in child else sub
    return out


def removable(dropped: set[Path], kept: set[Path]) -> list[Path]:
    """Fields to delete: dropped by the applier, owned by nobody, in an order safe to delete.

    A dropped element that still holds a kept field stays (only its dropped fields go, never
    its key fields). A list someone owns whole (an Update entry records ``finalizers``
    atomically, apply as a set of ``v:`` members) keeps its members too.
    """
    kept_prefixes = {p[:i] for p in kept for i in range(len(p))}
    kept_lists = {p for p in kept - kept_prefixes if p and p[-1][2:] in _LIST_FIELDS}
    out = []
    for path in sorted(dropped - kept, key=len):
        if path in kept_prefixes or any(path[:i] in kept_lists for i in range(1, len(path))):
            continue
        if len(path) >= 2 and path[-2].startswith("k:") and path[-1][2:] in orjson.loads(path[-2][2:]):
            continue  # a key field of a surviving element
        out.append(path)
    return out


# --- values at paths ----------------------------------------------------------------------------


def members(obj: JSON) -> dict[Path, JSON]:
    """Every member path of ``obj`` with its value (lists by element key, as :func:`_child`
    follows them), from one walk: a lookup per path then, instead of a walk from the root that
    scans lists and encodes keys."""
    out: dict[Path, JSON] = {}
    _members(obj, "", (), out)
    return out


def _members(node: JSON, field: str, prefix: Path, out: dict[Path, JSON]) -> None:
    if isinstance(node, dict):
        for key, sub in node.items():
            path = (*prefix, f"f:{key}")
            out[path] = sub
            _members(sub, key, path, out)
    elif isinstance(node, list) and field in _LIST_FIELDS:
        for element in node:
            if field in SET_LISTS:
                pe = "v:" + orjson.dumps(element).decode()
            elif isinstance(element, dict):
                pe = _key_element(element, MERGE_KEYS[field])
            else:
                continue
            path = (*prefix, pe)
            if path not in out:  # as _child: the first element with the key
                out[path] = element
                _members(element, "", path, out)


def _child(node: JSON, pe: str) -> JSON:
    if pe.startswith("f:"):
        return node.get(pe[2:], _MISSING) if isinstance(node, dict) else _MISSING
    if isinstance(node, list):
        for element in node:
            if _lenient_element(element, pe) == pe:
                return element
    return _MISSING


def _lenient_element(element: JSON, pe: str) -> str | None:
    """A live element's path element in the form ``pe`` has (live lists are not re-validated)."""
    if pe.startswith("v:"):
        return "v:" + orjson.dumps(element).decode()
    if not isinstance(element, dict):
        return None
    return _key_element(element, orjson.loads(pe[2:]))


def _remove(node: JSON, path: Path) -> None:
    """Delete the value at ``path``; lists and label-like maps left empty go too (omitempty)."""
    head, rest = path[0], path[1:]
    child = _child(node, head)
    if child is _MISSING:
        return
    name = head[2:] if head.startswith("f:") else ""
    if rest:
        _remove(child, rest)
        if not ((isinstance(child, list) or name in MAP_FIELDS) and not child):
            return
    if isinstance(node, dict):
        del node[name]
    else:
        node.remove(child)


# --- merge --------------------------------------------------------------------------------------


def _merge(live: JSON, applied: JSON, field: str) -> JSON:
    """``applied`` merged into ``live`` (both private copies): §4 semantics with apply's list keys."""
    if isinstance(applied, dict):
        out = live if isinstance(live, dict) else {}
        for key, value in applied.items():
            if value is None:  # the applier owns the field and wants it unset
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key, _MISSING), value, key)
        return out
    if isinstance(applied, list):
        keyed = field in SET_LISTS or (field in MERGE_KEYS and all(isinstance(e, dict) for e in applied))
        if keyed and isinstance(live, list):
            return _merge_list(live, applied, field)
        return [_merge(_MISSING, e, "") if isinstance(e, dict) else e for e in applied]
    return applied


def _merge_list(live: list[JSON], applied: list[JSON], field: str) -> list[JSON]:
    """Merge by element identity in structured-merge-diff's order.

    Live elements keep their places; applied elements not yet live go where the applied list
    puts them relative to the shared ones (``visitListItems`` in typed/merge.go).
    """
    lkeys = [_lenient_element(e, "v:" if field in SET_LISTS else _key_probe(field)) for e in live]
    rkeys = [_path_element(e, field) for e in applied]
    rset = set(rkeys)
    by_key: dict[str | None, JSON] = {}
    for k, e in zip(lkeys, live, strict=True):
        by_key.setdefault(k, e)
    applied_by_key = dict(zip(rkeys, applied, strict=True))
    shared = iter([k for k in rkeys if k in by_key])
    next_shared = next(shared, None)
    done: set[str | None] = set()
    out: list[JSON] = []
    li = ri = 0
    while li < len(live) or ri < len(applied):
        if li < len(live):
            lk = lkeys[li]
            if lk not in rset:
                out.append(live[li])
                li += 1
                continue
            if lk in done or next_shared not in (None, lk):
                li += 1  # merged already, or shared but placed when the applied list reaches it
                continue
        k = rkeys[ri]
        if k not in done:
            done.add(k)
            out.append(_merge_element(by_key.get(k, _MISSING), applied_by_key[k], field))
        if k == next_shared:
            next_shared = next(shared, None)
        ri += 1
    return out


def _key_probe(field: str) -> str:
    """A ``k:`` path element naming ``field``'s key fields, for :func:`_lenient_element`."""
    return "k:" + orjson.dumps(dict.fromkeys(MERGE_KEYS[field])).decode()


def _merge_element(live: JSON, applied: JSON, field: str) -> JSON:
    if field in SET_LISTS:
        return applied
    return _merge(live, applied, "")


# --- conflicts ----------------------------------------------------------------------------------


def find_conflicts(
    live: dict[str, Any],
    merged: dict[str, Any],
    applied: set[Path],
    others: list[tuple[Entry, set[Path]]],
) -> list[tuple[Entry, Path]]:
    """(entry, path) for each field another manager owns that the merge gives a new value.

    Leaves compare values; a member with children (a list element) only conflicts when it is
    new, as structured-merge-diff's ``Compare`` reports ``Modified`` on leaves only.
    """
    contested = applied.intersection(set().union(*(owned for _, owned in others)))
    if not contested:  # nobody else owns a field of the configuration
        return []
    parents = {p[:i] for p in applied for i in range(1, len(p))}
    before, after = members(live), members(merged)
    changed = {
        p for p in contested
        if (p not in before if p in parents else before.get(p, _MISSING) != after.get(p, _MISSING))
    }  # fmt: skip
    found = []
    for entry, owned in sorted(others, key=lambda o: _manager_id(o[0])):
        found += [(entry, p) for p in sorted(owned & changed, key=_path_order)]
    return found


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> errors.Conflict:
    """The 409 of patch.md §5 (apiserver's ``NewConflictError``), managers sorted."""
    causes = [
        {"reason": "FieldManagerConflict", "message": f"conflict with {_print_manager(e)}",
         "field": format_path(p)}
        for e, p in conflicts
    ]  # fmt: skip
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_print_manager(entry)}: {format_path(path)}"
    else:
        lines: list[str] = []
        last = None
        for entry, path in conflicts:
            if _manager_id(entry) != last:
                last = _manager_id(entry)
                lines.append(f"conflicts with {_print_manager(entry)}:")
            lines.append(f"- {format_path(path)}")
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.Conflict(409, "Conflict", message, {"causes": causes})


def _print_manager(entry: Entry) -> str:
    """``printManager``: Update managers show their API version, appliers do not."""
    text = _quote(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {_quote(entry['subresource'])}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion', '')}"
    return text


def _manager_id(entry: Entry) -> str:
    """``BuildManagerIdentifier``'s JSON, whose order sorts the conflict message."""
    ident: dict[str, Any] = {"manager": entry.get("manager", ""), "operation": entry.get("operation", "")}
    if entry.get("operation") == "Update":
        ident["apiVersion"] = entry.get("apiVersion", "")
    if entry.get("subresource"):
        ident["subresource"] = entry["subresource"]
    return orjson.dumps(ident).decode()


def _quote(text: str) -> str:
    return orjson.dumps(text).decode()


# --- path printing and order --------------------------------------------------------------------


def format_path(path: Path) -> str:
    """``fieldpath.Path.String()``, as conflicts print: ``.spec.containers[name="web"].image``."""
    out = []
    for pe in path:
        kind, body = pe[:2], pe[2:]
        if kind == "f:":
            out.append("." + body)
        elif kind == "k:":
            key = orjson.loads(body)
            out.append("[" + ",".join(f"{k}={errors.go_value(key[k])}" for k in sorted(key)) + "]")
        elif kind == "v:":
            out.append(f"[={errors.go_value(orjson.loads(body))}]")
        else:
            out.append(f"[{body}]")
    return "".join(out)


@functools.lru_cache(maxsize=4096)  # the same path elements come back in every apply
def _element_order(pe: str) -> tuple[int, Any]:
    """``PathElement.Less``: field names, then keys, then values, then indexes."""
    kind, body = pe[:2], pe[2:]
    if kind == "f:":
        return (0, body)
    if kind == "k:":
        key = orjson.loads(body)
        return (1, tuple((k, _value_order(key[k])) for k in sorted(key)))
    if kind == "v:":
        return (2, _value_order(orjson.loads(body)))
    return (3, body)


def _value_order(value: JSON) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value)
    return (0 if value is None else 4, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


def _path_order(path: Path) -> list[tuple[int, tuple[int, Any]]]:
    """``Set.Iterate`` order: at each level the members before the paths that go deeper."""
    return [(0 if i == len(path) - 1 else 1, _element_order(pe)) for i, pe in enumerate(path)]
