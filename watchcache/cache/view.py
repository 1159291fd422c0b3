"""The per-replica materialized view: every pod's current version, kept as encoded JSON.

Only the tailer (``replica.Replica``) changes a view, by :meth:`View.load` during bootstrap and
:meth:`View.apply` afterwards, in log order. Readers get :class:`Entry` objects, which are
immutable: a reader holding one sees a consistent pod even while the view moves on.

Each pod version is encoded to JSON exactly once (design.md invariant 6); the same bytes serve
GET, LIST and every watcher. Dict trees are not kept: they cost ~8x the bytes in RSS.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from sys import intern

import orjson
from sortedcontainers import SortedList

from watchcache.machinery.memo import ContentMemo
from watchcache.machinery.objects import Object
from watchcache.machinery.selectors import FieldSet, SelectorState
from watchcache.storage.entries import Event, compact, pack, parsed, unpack


@dataclass(slots=True)
class Entry:
    """One pod version: its rv, its JSON bytes and what selectors and indexes need.

    Never changed once built (readers rely on it), but not a frozen dataclass: one is built
    per pod and per write, and a frozen dataclass's ``__init__`` costs four times as much.
    """

    key: str
    rv: int
    json: bytes
    uid: str
    selector_state: SelectorState
    terminating: bool = False
    noted: bytes = b""  # where its managedFields' field sets lie (entries.parsed)

    @property
    def namespace(self) -> str:
        """``""`` for a cluster-scoped kind, whose keys are names alone."""
        return self.key.rpartition("/")[0]

    @property
    def name(self) -> str:
        return self.key.rpartition("/")[2]

    def pod(self) -> Object:
        """A fresh, mutable dict of this version (for write paths; readers use ``json``); its
        managedFields' field sets are shared, never changed (``entries.parsed``)."""
        return parsed(self.json, self.noted)


@dataclass(slots=True)
class Summary:
    """What an entry keeps of a version beside its JSON. The writer stores it packed next to
    the JSON (``Store.write``), so a bootstrap or another replica's tailer builds the entry
    without parsing the pod."""

    uid: str
    selector_state: SelectorState
    terminating: bool

    @classmethod
    def of(cls, obj: Object, fields: FieldSet) -> Summary:
        meta = obj["metadata"]
        values = fields.of(obj)
        shared = {name: _shared_field(name, value) for name, value in values.items()}
        state = SelectorState(_LABELS(meta.get("labels") or {}), shared)
        return cls(meta.get("uid", ""), state, "deletionTimestamp" in meta)

    def packed(self, fields: FieldSet) -> bytes:
        """msgpack ``[uid, terminating, labels, field values in the kind's field order]``."""
        values = self.selector_state.fields
        return pack(
            [self.uid, self.terminating, self.selector_state.labels, [values[n] for n in fields.names]]
        )

    @classmethod
    def unpacked(cls, data: bytes, fields: FieldSet) -> Summary:
        uid, terminating, labels, values = unpack(data)
        names = fields.names
        if len(values) != len(names):
            raise ValueError(f"a summary holds {len(values)} field values, the kind has {len(names)}")
        # (a comprehension: compiled, it builds the dict directly; dict(zip()) is a generic call)
        shared = {names[i]: _shared_field(names[i], values[i]) for i in range(len(names))}
        return cls(uid, SelectorState(_LABELS(labels), shared), terminating)


# A selector state's strings are mostly those of many other pods (label keys and values, a
# namespace, a node, a phase), and a view holds one state per pod: each taken from a parse or
# an unpack is a new copy, ~720 bytes a pod in all. Interned, every pod's state refers to one.
# (The name is unique to its pod, and already in its key.)
_UNIQUE_FIELD = "metadata.name"


def _shared_labels(labels: dict[str, str]) -> dict[str, str]:
    return {_interned(key): _interned(value) for key, value in labels.items()}


# The pods of one template (a ReplicaSet's, a Job's) carry the same labels: their states share
# one dict of them (~190 bytes a pod more), as they share its strings. (States are never
# changed in place; the mutation detector checks every hit.)
LABEL_SETS = 4096
_LABELS = ContentMemo(_shared_labels, LABEL_SETS)


def _shared_field(name: str, value: str) -> str:
    return value if name == _UNIQUE_FIELD else _interned(value)


def _interned(text: str) -> str:
    # (validation lets only strings into labels and fields; anything else stays as it is)
    return intern(text) if type(text) is str else text


def entry_of(key: str, rv: int, json: bytes, summary: Summary, noted: bytes = b"") -> Entry:
    return Entry(key, rv, json, summary.uid, summary.selector_state, summary.terminating, noted)


def stored_entry(
    key: str, rv: int, json: bytes, summary: bytes, fields: FieldSet, noted: bytes = b""
) -> Entry:
    """An entry from a version as the log holds it: its packed summary, else (written by an
    older release) what parsing its JSON tells."""
    held = Summary.unpacked(summary, fields) if summary else Summary.of(orjson.loads(json), fields)
    return entry_of(key, rv, json, held, noted)


def make_entry(key: str, rv: int, obj: Object, fields: FieldSet) -> Entry:
    """An entry for ``obj`` (which already carries its resourceVersion), encoded here."""
    return entry_of(key, rv, compact(orjson.dumps(obj)), Summary.of(obj, fields))


class Bucket:
    """One index bucket: its entries by key, put in key order only when a list reads it.

    Every replica puts every new pod into a bucket per label and one for its node; a sorted
    container would pay a bisect and an insertion in Python for each, on the write path, for
    an order that only selective lists read. Here a write is a dict assignment, and a list
    sorts the bucket's keys once after it changed (a deletion keeps the order).
    """

    __slots__ = ("_order", "members")

    def __init__(self, members: dict[str, Entry] | None = None) -> None:
        self.members: dict[str, Entry] = members if members is not None else {}
        self._order: list[str] | None = None

    def __len__(self) -> int:
        return len(self.members)

    def put(self, entry: Entry) -> None:
        members = self.members
        size = len(members)
        members[entry.key] = entry  # one lookup in a bucket that may hold every pod
        if len(members) != size:
            self._order = None

    def remove(self, key: str) -> None:
        del self.members[key]
        order = self._order
        if order is not None:
            del order[bisect_left(order, key)]

    def in_order(self, lo: str | None = None, hi: str | None = None) -> list[Entry]:
        """The entries with ``lo`` <= key < ``hi`` (all by default), in key order."""
        order = self._order
        if order is None:
            order = self._order = sorted(self.members)
        start = 0 if lo is None else bisect_left(order, lo)
        stop = len(order) if hi is None else bisect_left(order, hi)
        return list(map(self.members.__getitem__, order[start:stop]))


class View:
    """One kind's objects by key, in key order (the list order). ``index_field`` is the
    selectable field kept in an index (pods' node). How far it reflects the log is the
    replica's ``rv``: one position for the views of every kind."""

    def __init__(self, fields: FieldSet, index_field: str | None = None) -> None:
        self.fields = fields
        self.index_field = index_field
        self.reset()

    def reset(self) -> None:
        """Forget everything (before a bootstrap loads a snapshot)."""
        # by key, and the keys in key order (the list order): a SortedDict is the two, but its
        # Python-level ``__setitem__`` looked the key up again on every write; the view knows
        # whether a key is new (it looked the held version up) and orders only new keys
        self._entries: dict[str, Entry] = {}
        self._keys: SortedList = SortedList()
        # secondary indexes, for what kubelets (spec.nodeName=X) and label-equality lists ask:
        # index_field's value -> its entries; a label's key -> its value -> its entries. Nested,
        # a write finds the buckets of its few-valued labels (tier, release, app) in small dicts
        # that stay in the cache; only a label with a value per pod costs a lookup in a dict as
        # large as the view. (One dict keyed by tuples built a tuple per bucket per write, and
        # looked each up in that large dict: on this box a cache and TLB miss each. A replica's
        # CPU per write grows with the pods it holds: 49-53 µs a foreign write at 20k, 63-84 at
        # 90k.)
        self._by_field: dict[str, Bucket] = {}
        self._by_label: dict[str, dict[str, Bucket]] = {}
        self._terminating: set[str] = set()  # keys of pods with a deletionTimestamp

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        return self._entries.get(key)

    def load(self, entries: Iterable[Entry]) -> None:
        """Bootstrap: take a snapshot's entries (a key met twice keeps its newer version).

        The key order and the indexes are built once the snapshot is in, one sort each:
        inserting 150k pods into sorted containers one by one would add seconds to a bootstrap.
        """
        merged: dict[str, Entry] = dict(self._entries)
        for entry in entries:
            held = merged.get(entry.key)
            if held is None or held.rv < entry.rv:
                merged[entry.key] = entry
        self._entries = merged
        self._keys = SortedList(merged)
        by_field: defaultdict[str, dict[str, Entry]] = defaultdict(dict)
        by_label: defaultdict[str, defaultdict[str, dict[str, Entry]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        index_field = self.index_field
        for key, entry in merged.items():
            state = entry.selector_state
            for name, value in state.labels.items():
                by_label[name][value][key] = entry
            if index_field is not None:
                by_field[state.fields.get(index_field, "")][key] = entry
        self._by_field = {value: Bucket(members) for value, members in by_field.items()}
        self._by_label = {
            name: {value: Bucket(members) for value, members in values.items()}
            for name, values in by_label.items()
        }
        self._terminating = {key for key, entry in merged.items() if entry.terminating}

    @property
    def terminating(self) -> set[str]:
        """Keys of the pods with a deletionTimestamp (the reaper's work list)."""
        return self._terminating

    def apply(self, event: Event, built: Entry | None = None) -> Entry | None:
        """Apply one event in log order; idempotent for events already reflected.

        ``built`` is the entry the writer of this event already made on this replica, if any.
        Returns the new entry (``None`` for a deletion or a skipped event). Events at or below
        the held version of their key are skipped: that is what makes snapshot-then-replay
        correct although the snapshot scan is not atomic.
        """
        held = self._entries.get(event.key)
        if held is not None and held.rv >= event.rv:
            return None
        if event.type == "DELETED":
            if held is not None:
                del self._entries[event.key]
                self._keys.remove(event.key)
                self._unindex(held)
            return None
        entry = (
            built
            if built is not None and built.rv == event.rv
            else stored_entry(event.key, event.rv, event.json, event.summary, self.fields, event.noted)
        )
        self._put(entry, held)
        return entry

    def _put(self, entry: Entry, held: Entry | None) -> None:
        key, state = entry.key, entry.selector_state
        self._entries[key] = entry
        if held is None:
            self._keys.add(key)  # a new key: ordered once
        else:
            self._unindex(held, state)
        by_label = self._by_label
        for name, value in state.labels.items():
            buckets = by_label.get(name)
            if buckets is None:
                buckets = by_label[name] = {}
            _bucket(buckets, value).put(entry)
        if self.index_field is not None:
            _bucket(self._by_field, state.fields.get(self.index_field, "")).put(entry)
        if entry.terminating:
            self._terminating.add(key)
        else:
            self._terminating.discard(key)

    def _unindex(self, entry: Entry, kept: SelectorState | None = None) -> None:
        """Take ``entry`` out of its buckets, but for those its next version (with ``kept``)
        stays in: putting that version there replaces it."""
        state, key = entry.selector_state, entry.key
        by_label = self._by_label
        for name, value in state.labels.items():
            if kept is None or kept.labels.get(name) != value:
                buckets = by_label[name]
                _take(buckets, value, key)
                if not buckets:
                    del by_label[name]
        if self.index_field is not None:
            value = state.fields.get(self.index_field, "")
            if kept is None or kept.fields.get(self.index_field, "") != value:
                _take(self._by_field, value, key)
        self._terminating.discard(key)

    def indexed(self, namespace: str | None, field: str | None, labels: dict[str, str]) -> list[Entry] | None:
        """Candidates from the smallest matching index, in key order; None: no index applies.

        Callers still apply the full selectors: an index only narrows the scan, so a selective
        list costs in proportion to what it returns, not to the number of pods.
        """
        if field is None and not labels:
            return None
        buckets: list[Bucket] = []
        for name, value in labels.items():
            values = self._by_label.get(name)
            bucket = None if values is None else values.get(value)
            if bucket is None:
                return []
            buckets.append(bucket)
        if field is not None:
            bucket = self._by_field.get(field)
            if bucket is None:
                return []
            buckets.append(bucket)
        smallest = min(buckets, key=len)
        if namespace is not None:  # "0" is the byte after "/"
            return smallest.in_order(f"{namespace}/", f"{namespace}0")
        return smallest.in_order()

    def entries(self, namespace: str | None = None, start_after: str | None = None) -> list[Entry]:
        """Entries in key order, optionally of one namespace and after a key (pagination).

        Returns a list (references only, 8 bytes per pod) so that a reader streaming it across
        awaits sees one consistent state while the tailer keeps applying events.
        """
        if namespace is None:
            lo, hi = None, None
        else:
            lo, hi = f"{namespace}/", f"{namespace}0"  # "0" is the byte after "/"
        if start_after is not None and (lo is None or start_after >= lo):
            keys = self._keys.irange(start_after, hi, inclusive=(False, False))
        else:
            keys = self._keys.irange(lo, hi, inclusive=(True, False))
        entries = self._entries
        return [entries[key] for key in keys]

    def window(self, namespace: str | None, start_after: str | None, limit: int) -> tuple[list[Entry], int]:
        """The first ``limit`` + 1 entries after ``start_after`` and how many there are in all:
        a page costs O(limit + log n), not O(pods), and ``remainingItemCount`` comes for free."""
        ordered, entries = self._keys, self._entries
        lo = 0 if namespace is None else ordered.bisect_left(f"{namespace}/")
        hi = len(ordered) if namespace is None else ordered.bisect_left(f"{namespace}0")
        if start_after is not None:
            lo = max(lo, ordered.bisect_right(start_after))
        keys = ordered[lo : min(hi, lo + limit + 1)]
        return [entries[key] for key in keys], max(hi - lo, 0)


def _bucket(buckets: dict[str, Bucket], value: str) -> Bucket:
    bucket = buckets.get(value)
    if bucket is None:  # (not setdefault: that would build a Bucket per write)
        bucket = buckets[value] = Bucket()
    return bucket


def _take(buckets: dict[str, Bucket], value: str, key: str) -> None:
    bucket = buckets[value]
    bucket.remove(key)
    if not bucket:
        del buckets[value]
