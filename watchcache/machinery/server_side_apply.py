"""Server-side apply for v1 Pods (patch.md §5): merge, ownership, conflicts. Pure, no I/O.

Field sets are FieldsV1 trees of path elements (``f:spec``, ``k:{"name":"web"}``,
``v:"example.com/x"``), as ``metadata.managedFields[].fieldsV1`` holds them; a member that has
children carries ``"."`` (list elements), as structured-merge-diff writes it. Where set algebra
is needed (an applier no longer sending fields it owned) they become sets of :data:`Path` tuples.

One apply, as structured-merge-diff's ``Updater.Apply`` does it, in one walk of the
configuration:

1. merge the configuration into the live object (maps key by key, keyed lists by their
   ``listType=map`` keys, ``finalizers`` as a set, every other list atomic), building on the way
   the applied set (every field of the configuration, minus the parts the target resets:
   ``status`` on the main resource, ``spec`` on ``/status``; minus server-set metadata) and the
   fields whose value the merge changes; a map or keyed list the live object already holds
   as applied is kept as it is, its field set read off the configuration (:func:`_held_map`);
2. conflicts = those changed fields that another manager owns (looked up in its tree); 409
   unless ``force``, which moves them to the applier instead;
3. fields the applier owned before, no longer sends, and nobody else owns are removed;
4. the applier's ``Apply`` entry is replaced by the applied set.

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
from watchcache.machinery.managed_fields import MAP_FIELDS, MERGE_KEYS, UNOWNED_METADATA, field_element
from watchcache.machinery.memo import ContentMemo
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

Tree = dict[str, Any]  # FieldsV1: path element -> subtree; {} a member leaf, "." a member with children
_NO_KEYS: Final[frozenset[str]] = frozenset()
_TOP_UNOWNED: Final = frozenset({"apiVersion", "kind"})
_METADATA: Final[Path] = ("f:metadata",)


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
    base = live if live is not None else {}  # never changed: the merge copies what it changes
    entries = [dict(e) for e in (base.get("metadata") or {}).get("managedFields") or []]
    mine = _find_entry(entries, manager, subresource)
    others = [e for e in entries if e is not mine]
    owned_before = [e.get("fieldsV1") or {} for e in others]
    walk = _Walk(applied, track=bool(others))
    config = {k: v for k, v in applied.items() if k != reset}
    try:
        merged, new_tree = _merge_map(base, config, (), walk, _TOP_UNOWNED)
    except errors.BadRequest:
        _check_typed(_owned(config), "", (), applied)  # the first such element in document order
        raise
    new_tree = new_tree or {}
    conflicts = _conflicts(walk.changed, others)
    if conflicts and not force:
        raise conflict_error(conflicts)
    for entry, path in conflicts:  # force: the applier takes these fields over
        entry["fieldsV1"] = _without(entry.get("fieldsV1") or {}, path) or {}
    old_tree = (mine.get("fieldsV1") or {}) if mine else {}
    same = new_tree == old_tree
    if not same and old_tree:  # the applier's fields moved: compare as sets, drop what it no longer sends
        new_set, old_set = fields_from_v1(new_tree), fields_from_v1(old_tree)
        same = new_set == old_set
        if dropped := old_set - new_set:
            for path in removable(dropped, new_set.union(*map(fields_from_v1, owned_before))):
                _remove(merged, path)
    if live is not None and not conflicts and same and _content(merged) == _content(live):
        return merged  # re-applying the same configuration: no change, not even the entry's time
    entry = {"manager": manager, "operation": APPLY, "apiVersion": api_version, "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": new_tree}  # fmt: skip
    if subresource:
        entry["subresource"] = subresource
    _set_entries(merged, [entry if e is mine else e for e in entries] + ([] if mine else [entry]))
    return merged


def _set_entries(obj: dict[str, Any], entries: list[Entry]) -> None:
    """Entries left with no fields go, and an empty list with them (a manager owns something)."""
    meta = obj["metadata"] = dict(obj.get("metadata") or {})  # (may still be the live object's)
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


# --- merge, and the applied field set on the way --------------------------------------------------


class _Walk:
    """What one walk of an applied configuration learns besides the merged object: the member
    paths whose value the merge changes (a leaf's value, or a list element that is new), the
    only fields that can conflict, as structured-merge-diff's ``Compare`` reports them. With no
    other manager there is nothing to conflict with, and nothing is recorded."""

    def __init__(self, applied: dict[str, Any], track: bool) -> None:
        self.applied = applied  # for the text of a 400
        self.track = track
        self.changed: set[Path] = set()

    def change(self, path: Path) -> None:
        if self.track:
            self.changed.add(path)


def _merge_map(
    live: JSON, applied: dict[str, Any], path: Path, walk: _Walk, unowned: frozenset[str]
) -> tuple[dict[str, Any], Tree | None]:
    """``applied`` merged into ``live`` (left as it is: the maps the merge changes are copies,
    what it leaves alone is shared), and the FieldsV1 tree of what the applier owns in it
    (None: nothing; keys in ``unowned`` are merged but owned by no one)."""
    out: dict[str, Any] = dict(live) if isinstance(live, dict) else {}
    if not applied and not unowned:  # an empty map is a leaf of its own
        if not isinstance(live, dict):
            walk.change(path)
        return out, {}
    tree: Tree = {}
    for key, value in applied.items():
        if key in unowned:
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key, _MISSING), value, key)
            continue
        pe = field_element(key)
        sub = (*path, pe)
        if value is None:  # the applier owns the field and wants it unset
            if key in out:
                del out[key]
                walk.change(sub)
            tree[pe] = {}
            continue
        merged, node = _merge_owned(out.get(key, _MISSING), value, key, sub, walk)
        out[key] = merged
        if node is not None:
            tree[pe] = node
    if not tree:
        return out, None
    return out, {pe: tree[pe] for pe in sorted(tree)}


def _merge_owned(live: JSON, applied: JSON, field: str, path: Path, walk: _Walk) -> tuple[JSON, Tree | None]:
    """One owned value merged: maps key by key, keyed lists element by element, else a leaf.
    A map or keyed list that the live value already holds as applied stays the live value."""
    if isinstance(applied, dict):
        if path == _METADATA:
            return _merge_map(live, applied, path, walk, UNOWNED_METADATA)
        held = _held_map(live, applied)
        if held is not None:
            return live, held
        return _merge_map(live, applied, path, walk, _NO_KEYS)
    if _keyed(applied, field):
        held = _held_keyed(live, applied, field)
        if held is not None:
            return live, held
        return _merge_keyed(live, applied, field, path, walk)
    merged = _merge(live, applied, field)  # a scalar, an atomic list or an empty one
    if merged != live:
        walk.change(path)
    return merged, {}


def _keyed(applied: JSON, field: str) -> bool:
    """Whether ``applied`` is merged element by element: a non-empty keyed list or set (an
    empty one is a leaf, as is every other list)."""
    return isinstance(applied, list) and bool(applied) and field in _LIST_FIELDS


def _merge_keyed(
    live: JSON, applied: list[JSON], field: str, path: Path, walk: _Walk
) -> tuple[list[JSON], Tree]:
    """A list keyed by its merge keys (or a set) merged by element identity, in
    structured-merge-diff's order (``visitListItems`` in typed/merge.go): live elements keep
    their places; applied elements not yet live go where the applied list puts them relative
    to the shared ones. Against a live value that is no list, the applied list replaces it."""
    keys = _element_keys(applied, field, path, walk.applied)
    nodes: Tree = {}
    out: list[JSON] = []
    if isinstance(live, list):
        lkeys = [_live_element(e, field) for e in live]
        by_key: dict[str | None, JSON] = {}
        for k, e in zip(lkeys, live, strict=True):
            by_key.setdefault(k, e)
        last = dict(zip(keys, applied, strict=True))  # an applied key twice (a set): its last element
        for index in _interleave(lkeys, keys):
            if index >= 0:
                out.append(live[index])
                continue
            k = keys[-index - 1]
            element, nodes[k] = _merge_element(by_key.get(k, _MISSING), last[k], field, (*path, k), walk)
            out.append(element)
    else:
        for k, e in zip(keys, applied, strict=True):
            element, nodes[k] = _merge_element(_MISSING, e, field, (*path, k), walk)
            out.append(element)
    return out, {k: nodes[k] for k in sorted(nodes, key=_element_order)}


def _merge_element(live: JSON, applied: JSON, field: str, path: Path, walk: _Walk) -> tuple[JSON, Tree]:
    if live is _MISSING:
        walk.change(path)  # a new element
    if field in SET_LISTS:
        return applied, {}
    merged, node = _merge_map(live, applied, path, walk, _NO_KEYS)
    return merged, {".": {}, **node} if node else {}


# --- values the live object already holds: kept as they are ---------------------------------------
#
# Re-applying a manifest with a change or two is the common apply: most of the configuration is
# in the live object already (with the defaults the server added beside it). Merging such a
# value copies every map and list of it only to build an equal one. The functions below check
# instead that the merge would change nothing (same keys, values equal as the merge compares
# them, keyed elements in the same order, once each) and work out the applier's field set on
# the way; the caller then keeps the live value, shared as the merge shares what it does not
# touch. Each returns None where the merge would change something, and the caller merges.


def _held_map(live: JSON, applied: dict[str, Any]) -> Tree | None:
    """The field set of ``applied`` (an owned map, not metadata) if ``live`` holds it all."""
    if not isinstance(live, dict):
        return None
    tree: Tree = {}
    for key, value in applied.items():
        pe = field_element(key)
        if value is None:  # unset: held only where live has no such key
            if key in live:
                return None
            tree[pe] = {}
            continue
        current = live.get(key, _MISSING)
        if current is _MISSING:
            return None
        if isinstance(value, dict):
            node = _held_map(current, value)
        elif _keyed(value, key):
            node = _held_keyed(current, value, key)
        else:
            node = {} if _merge(current, value, key) == current else None
        if node is None:
            return None
        tree[pe] = node
    return {pe: tree[pe] for pe in sorted(tree)}


def _held_keyed(live: JSON, applied: list[JSON], field: str) -> Tree | None:
    """The field set of a keyed list if ``live`` holds each applied element, in the same order,
    and each key once (where the merge would reorder or drop duplicates, or fail an element
    without its keys with a 400, it merges)."""
    if not isinstance(live, list):
        return None
    places = {_live_element(e, field): i for i, e in enumerate(live)}
    if None in places or len(places) != len(live):
        return None
    nodes: Tree = {}
    last = -1
    for element in applied:
        k = _path_element(element, field)
        if k is None:  # no key fields: the merge fails it with a 400
            return None
        place = places.get(k, -1)
        if place <= last:  # not live, out of the live order, or applied twice
            return None
        last = place
        if field in SET_LISTS:
            nodes[k] = {}  # the same key: the same value
            continue
        node = _held_element(live[place], element)
        if node is None:
            return None
        nodes[k] = {".": {}, **node} if node else {}
    return {k: nodes[k] for k in sorted(nodes, key=_element_order)}


def _held_element(live: JSON, applied: JSON) -> Tree | None:
    """:func:`_held_map` of a keyed list's element. One that holds maps or lists (a container,
    a volume) is remembered by its live and applied content: a workload's pods share their
    containers, and re-applying one asks the same of each container again. Flat elements (a
    port, most env vars) cost less to walk than to encode."""
    if not any(isinstance(v, (dict, list)) for v in applied.values()):
        return _held_map(live, applied)
    found: Tree | None = _HELD_ELEMENTS((live, applied))
    return found


def _held_pair(pair: tuple[JSON, dict[str, Any]]) -> Tree | None:
    return _held_map(pair[0], pair[1])


# what the walk concluded per (live, applied) element with nested values: its field set, or None
# (not held). Room for the containers and volumes of a few hundred templates.
_HELD_ELEMENTS: Final = ContentMemo(_held_pair, limit=2048)


def _element_keys(applied: list[JSON], field: str, path: Path, root: dict[str, Any]) -> list[str]:
    """Each applied element's path element; one without its key fields, or a key twice in a
    keyed list, fails the apply (structured-merge-diff cannot type the configuration)."""
    seen: set[str] = set()
    return [_typed_element(element, field, index, seen, path, root) for index, element in enumerate(applied)]


def _typed_element(
    element: JSON, field: str, index: int, seen: set[str], path: Path, root: dict[str, Any]
) -> str:
    """One element's path element, added to ``seen``; 400 without key fields or a key seen."""
    pe = _path_element(element, field)
    if pe is None:
        raise _typed_patch_error(root, path, index, element)
    if pe in seen and field not in SET_LISTS:
        raise _typed_patch_error(root, path, index, element, duplicate=pe)
    seen.add(pe)
    return pe


def _interleave(lkeys: list[str | None], rkeys: list[str]) -> list[int]:
    """The merged list's order: ``i >= 0`` keeps live element ``i``, ``-j - 1`` merges the
    element keyed as applied element ``j`` (each key once, at its first place)."""
    rset, lset = set(rkeys), set(lkeys)
    shared = iter([k for k in rkeys if k in lset])
    next_shared = next(shared, None)
    done: set[str] = set()
    out: list[int] = []
    li = ri = 0
    while li < len(lkeys) or ri < len(rkeys):
        if li < len(lkeys):
            lk = lkeys[li]
            if lk not in rset:
                out.append(li)
                li += 1
                continue
            if lk in done or next_shared not in (None, lk):
                li += 1  # merged already, or shared but placed when the applied list reaches it
                continue
        k = rkeys[ri]
        if k not in done:
            done.add(k)
            out.append(-ri - 1)
        if k == next_shared:
            next_shared = next(shared, None)
        ri += 1
    return out


def _merge(live: JSON, applied: JSON, field: str) -> JSON:
    """``applied`` merged into ``live`` where nobody's fields are tracked: unowned metadata,
    and the values of leaves (an atomic list is replaced, a keyed one given no elements kept)."""
    if isinstance(applied, dict):
        out = dict(live) if isinstance(live, dict) else {}
        for key, value in applied.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(out.get(key, _MISSING), value, key)
        return out
    if isinstance(applied, list):
        if not applied and isinstance(live, list) and field in _LIST_FIELDS:
            return list(live)
        return [_merge(_MISSING, e, "") if isinstance(e, dict) else e for e in applied]
    return applied


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


def _live_element(element: JSON, field: str) -> str | None:
    """A live element's path element (live lists are not re-validated: no key defaults checked)."""
    if field in SET_LISTS:
        return "v:" + orjson.dumps(element).decode()
    return _key_element(element, MERGE_KEYS[field]) if isinstance(element, dict) else None


def _lenient_element(element: JSON, pe: str) -> str | None:
    """A live element's path element in the form ``pe`` has (live lists are not re-validated)."""
    if pe.startswith("v:"):
        return "v:" + orjson.dumps(element).decode()
    if not isinstance(element, dict):
        return None
    return _key_element(element, orjson.loads(pe[2:]))


def _owned(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a configuration the applier will own (server-set metadata is not owned)."""
    owned = {k: v for k, v in config.items() if k not in _TOP_UNOWNED}
    meta = owned.get("metadata")
    if isinstance(meta, dict):
        owned["metadata"] = {k: v for k, v in meta.items() if k not in UNOWNED_METADATA}
    return owned


def _check_typed(value: JSON, field: str, prefix: Path, root: dict[str, Any]) -> None:
    """Raise for the first element that cannot be typed in document order, as
    structured-merge-diff names it (the merge meets elements in the merged list's order)."""
    if isinstance(value, dict):
        for key, sub in value.items():
            _check_typed(sub, key, (*prefix, f"f:{key}"), root)
    elif _keyed(value, field):
        seen: set[str] = set()
        for index, element in enumerate(value):
            pe = _typed_element(element, field, index, seen, prefix, root)
            if field in MERGE_KEYS:
                _check_typed(element, "", (*prefix, pe), root)


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


# --- field sets: conflicts, taking over, removing -------------------------------------------------


def _conflicts(changed: set[Path], others: list[Entry]) -> list[tuple[Entry, Path]]:
    """(entry, path) for each changed field another manager owns, managers and paths in order."""
    if not changed:
        return []
    paths = sorted(changed, key=_path_order)
    found: list[tuple[Entry, Path]] = []
    for entry in sorted(others, key=_manager_id):
        tree = entry.get("fieldsV1") or {}
        found += [(entry, p) for p in paths if _owns(tree, p)]
    return found


def _owns(tree: Tree, path: Path) -> bool:
    """Whether ``path`` is a member of the FieldsV1 ``tree`` (a leaf, or a node with ``"."``)."""
    node: JSON = tree
    for pe in path:
        if not isinstance(node, dict):
            return False
        node = node.get(pe, _MISSING)
        if node is _MISSING:
            return False
    return not isinstance(node, dict) or not node or "." in node


def _without(tree: Tree, path: Path) -> Tree | None:
    """``tree`` less the member ``path`` (copied along it, the rest shared; None: nothing left):
    a node left with no member below goes, a member left with no children becomes a leaf."""
    out = dict(tree)
    head, rest = path[0], path[1:]
    child = out[head]
    if rest:
        reduced = _without(child, rest)
        if reduced is None:
            del out[head]
        else:
            out[head] = {} if reduced == {".": {}} else reduced
    elif isinstance(child, dict) and "." in child and len(child) > 1:
        out[head] = {k: v for k, v in child.items() if k != "."}  # its children stay owned
    else:
        del out[head]
    return out or None


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


def _child(node: JSON, pe: str) -> JSON:
    if pe.startswith("f:"):
        return node.get(pe[2:], _MISSING) if isinstance(node, dict) else _MISSING
    if isinstance(node, list):
        for element in node:
            if _lenient_element(element, pe) == pe:
                return element
    return _MISSING


def _remove(node: JSON, path: Path) -> None:
    """Delete the value at ``path`` from ``node`` (a copy of the merge's); lists and label-like
    maps left empty go too (omitempty). What lies along the path may still be the live object's,
    so it is copied before anything under it goes."""
    head, rest = path[0], path[1:]
    child = _child(node, head)
    if child is _MISSING:
        return
    name = head[2:] if head.startswith("f:") else ""
    if rest:
        child = _own_child(node, name, child)
        _remove(child, rest)
        if not ((isinstance(child, list) or name in MAP_FIELDS) and not child):
            return
    if isinstance(node, dict):
        del node[name]
    else:
        node.remove(child)


def _own_child(node: JSON, name: str, child: JSON) -> JSON:
    """A copy of ``child`` put in its place in ``node``."""
    own = dict(child) if isinstance(child, dict) else list(child) if isinstance(child, list) else child
    if isinstance(node, dict):
        node[name] = own
    else:
        node[next(i for i, e in enumerate(node) if e is child)] = own
    return own


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
