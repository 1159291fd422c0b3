"""The generic registry: every verb of a kind, from a decoded request to events in the log.

Writes read the current version from the Redis-side view, run the pure strategy on it and
commit with a compare-and-swap on its rv; a lost race is retried on the fresh version, so
concurrent patches never 409 while a stale resourceVersion precondition always does. Reads are
served from this replica's view (design.md invariant 4).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from watchcache.cache.history import History
from watchcache.cache.replica import Replica
from watchcache.cache.view import Entry, Summary, entry_of
from watchcache.machinery import errors, managed_fields
from watchcache.machinery.kinds import Kind
from watchcache.machinery.memo import MUTATION_DETECTOR_ENV
from watchcache.machinery.objects import Object, object_key, with_resource_version
from watchcache.machinery.options import ListOptions, decode_continue, encode_continue
from watchcache.machinery.rest import GENERATE_NAME_ATTEMPTS, generate_name, same_content, timestamp
from watchcache.machinery.selectors import SelectorState
from watchcache.registry import authors
from watchcache.registry.deletion import (
    DeleteOptions,
    DeletePlan,
    check_preconditions,
    plan_delete,
    removes_after_update,
)
from watchcache.storage.entries import EventType, Unstamped, unstamped
from watchcache.storage.groupcommit import NotReplicated
from watchcache.storage.store import (
    Committed,
    HistoryChanged,
    KeyExists,
    KeyMissing,
    Store,
    Stored,
    VersionMismatch,
)

WRITE_ATTEMPTS = 16  # CAS retries under contention before answering 409 (apiserver retries too)
READ_WAIT_S = 3.0  # kube-apiserver waits this long for a resourceVersion "not older than" N

Mutation = Callable[[Object], Object]
# (resource, name, namespace, dry run): raises unless the create may go ahead
Admission = Callable[[str, str, str, bool], Awaitable[None]]
# Module aliases: inside ResourceRegistry the name ``list`` is its method.
Warnings = list[str] | tuple[str, ...]
Entries = list[Entry]

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start "
    "a new list without the continue parameter, or use the continue token in this response to "
    "retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Written:
    """The outcome of a write: the version's JSON, encoded once. The dict it was made from is
    let go of before the round trip (:meth:`ResourceRegistry._encoded`); the rare caller that
    reads the object parses it again."""

    json: bytes
    warnings: tuple[str, ...] = ()

    def pod(self) -> Object:
        return orjson.loads(self.json)


@dataclass(frozen=True, slots=True)
class ListResult:
    rv: int
    entries: list[Entry]
    continue_token: str | None = None
    remaining: int | None = None


@dataclass(frozen=True, slots=True)
class WriteOptions:
    manager: str
    dry_run: bool = False
    subresource: str | None = None
    applied: bool = False  # server-side apply: managedFields come from the apply itself


class ResourceRegistry:
    """One kind's verbs (kube's ``genericregistry.Store`` with the kind's strategy plugged in)."""

    def __init__(
        self,
        kind: Kind,
        store: Store,
        replica: Replica,
        history: History,
        *,
        clock: Callable[[], datetime] = utc_now,
        read_wait_s: float = READ_WAIT_S,
    ) -> None:
        self.kind = kind
        self.resource = kind.qualified_resource  # as errors name it
        self.stored = kind.storage_resource  # where its objects are (another kind's, if stored as it)
        self.store = store
        self.replica = replica
        self.view = replica.views[self.stored]
        # admission of creates in a namespace (``NamespaceLifecycle.admit``), set by the app
        self.admit: Admission | None = None
        self.history = history
        self.clock = clock
        self.read_wait_s = read_wait_s
        # set to "true" (the test suite does): a mutation that promised to leave the current object
        # as it was is checked to have done so, as client-go's KUBE_CACHE_MUTATION_DETECTOR does
        self.detect_mutations = os.environ.get(MUTATION_DETECTOR_ENV) == "true"

    # ---- reads -------------------------------------------------------------------------

    async def read_rv(self, resource_version: str | None) -> int:
        """Bring the view to what a read with this ``resourceVersion`` parameter requires.

        Unset: everything the log held when the request arrived (consistent read). ``"0"``:
        whatever this replica holds. ``N``: not older than N, waiting up to 3 s, else 504.
        """
        if not resource_version:
            self.check_ready()
            try:
                return await self.replica.consistent_rv(self.read_wait_s)
            except TimeoutError as exc:
                raise errors.resource_version_too_large(exc.args[0], self.replica.rv) from exc
        wanted = self.resumable_rv(resource_version)
        if wanted and not await self.replica.wait_for(wanted, self.read_wait_s):
            raise errors.resource_version_too_large(wanted, self.replica.rv)
        return self.replica.rv

    def check_ready(self) -> None:
        """Nothing is served from a view being (re)built: 429, as kube-apiserver's watch cache
        answers while it initialises."""
        if not self.replica.ready:
            raise errors.initializing()

    def resumable_rv(self, resource_version: str) -> int:
        """A read or watch from this rv: 410 if a history Redis lost gave it out."""
        self.check_ready()
        rv = parse_resource_version(resource_version)
        if self.replica.lost_rv(rv):
            raise errors.expired(f"too old resource version: {rv} (it is of a history the storage lost)")
        return rv

    async def get(self, namespace: str | None, name: str, resource_version: str | None) -> Entry:
        entry = await self.find(namespace, name, resource_version)
        if entry is None:
            raise errors.not_found(self.resource, name)
        return entry

    async def find(self, namespace: str | None, name: str, resource_version: str | None) -> Entry | None:
        await self.read_rv(resource_version)
        return self.view.get(object_key(namespace, name))

    async def list(self, namespace: str | None, opts: ListOptions) -> ListResult:
        """One page of the pods matching ``opts``, in key order (list-watch.md §3, §4).

        Every page of a pagination sequence is the state at the first page's rv: later pages
        are rebuilt at that rv from the view and the log while the log retains what is needed.
        """
        if opts.continue_token:
            token = decode_continue(opts.continue_token, namespace)
            await self.read_rv(None)
            if self.replica.rv == token.rv and not opts.selective and opts.limit:
                return self._window(token.rv, opts, namespace, token.start_after)  # nothing changed since
            try:
                entries = await self.history.state_at(self.stored, token.rv, namespace, token.start_after)
            except errors.Expired:
                raise self._continue_expired(namespace, token.start_after) from None
            return self._page(token.rv, entries, opts, namespace)
        if self._exact(opts):
            wanted = parse_resource_version(opts.resource_version or "")
            await self.read_rv(opts.resource_version)
            try:
                entries = await self.history.state_at(self.stored, wanted, namespace, None)
            except errors.Expired:
                raise errors.expired("The resourceVersion for the provided list is too old.") from None
            return self._page(wanted, entries, opts, namespace)
        rv = await self.read_rv(opts.resource_version)
        view = self.view
        if not opts.selective and opts.limit and opts.resource_version != "0":
            return self._window(rv, opts, namespace, None)
        index_field = self.kind.index_field
        node = None if index_field is None else opts.field_selector.exact(index_field)
        equalities = opts.label_selector.equalities()
        candidates = view.indexed(namespace, node, equalities)
        if candidates is None:
            return self._page(rv, view.entries(namespace), opts, namespace)
        # a selector that is exactly one indexed term selects the index bucket as it is
        exact = (len(opts.field_selector.terms), len(opts.label_selector.requirements)) == (
            (1, 0) if node is not None else (0, 1)
        ) and (node is not None or len(equalities) == 1)
        return self._page(rv, candidates, opts, namespace, preselected=exact)

    @staticmethod
    def _exact(opts: ListOptions) -> bool:
        """``Exact``, or the legacy rule: an explicit non-zero rv with a limit lists exactly at it."""
        if opts.resource_version_match == "Exact":
            return True
        legacy = not opts.resource_version_match and opts.limit > 0
        return legacy and opts.resource_version not in (None, "0")

    def _page(
        self,
        rv: int,
        entries: Entries,
        opts: ListOptions,
        namespace: str | None,
        *,
        preselected: bool = False,
    ) -> ListResult:
        selected = entries if preselected else _matching(entries, opts)
        limit = 0 if opts.resource_version == "0" else opts.limit
        rv = max(rv, 1)  # a list rv is never "0": that would mean "any" to clients
        if not limit or len(selected) <= limit:
            return ListResult(rv, selected)
        page = selected[:limit]
        remaining = None if opts.selective else len(selected) - limit
        return ListResult(rv, page, encode_continue(rv, page[-1].key, namespace), remaining)

    def _window(
        self, rv: int, opts: ListOptions, namespace: str | None, start_after: str | None
    ) -> ListResult:
        """A page of an unselective list straight from the view's key order (no full scan)."""
        entries, total = self.view.window(namespace, start_after, opts.limit)
        rv = max(rv, 1)
        if total <= opts.limit:
            return ListResult(rv, entries)
        page = entries[: opts.limit]
        return ListResult(rv, page, encode_continue(rv, page[-1].key, namespace), total - opts.limit)

    def _continue_expired(self, namespace: str | None, start_after: str) -> errors.APIError:
        """410 with a fresh token that continues, inconsistently, at the latest state."""
        fresh = encode_continue(max(self.replica.rv, 1), start_after, namespace)
        return errors.expired(CONTINUE_EXPIRED, list_continue=fresh)

    # ---- writes ------------------------------------------------------------------------

    def _encoded(self, obj: Object) -> tuple[Unstamped, Summary]:
        """A version ready to commit: its JSON (the rv left to the transaction) and its summary.

        Writers make these before the round trip and drop every dict of the write first: with
        many requests interleaved at that await, a tree freed after it is no longer in the
        CPU's caches: a patched pod cost 32-37 us to free after it, 11 us before it
        (benchmarks/README.md). A dry run keeps the dict: it answers with it.
        """
        return unstamped(obj), Summary.of(obj, self.kind.fields)

    async def _write(
        self,
        key: str,
        event_type: EventType,
        version: Unstamped,
        summary: Summary,
        expected_rv: int | None,
        previous: SelectorState | None = None,
    ) -> Committed:
        """Commit one version with its summary: the view's entry, stored beside the JSON."""
        self.check_ready()
        try:
            committed = await self.store.write(
                self.stored,
                key,
                event_type,
                version,
                expected_rv=expected_rv,
                previous=previous,
                summary=summary.packed(self.kind.fields),
                seen_rv=self.replica.rv,
                author=authors.author(),
            )
        except HistoryChanged:
            self.replica.history_changed("a write found another history in Redis")
            raise errors.initializing() from None
        except NotReplicated as exc:
            timeout_s = self.store.commits.replica_timeout_ms / 1000
            raise errors.write_not_confirmed(exc.acked, exc.needed, timeout_s) from None
        return committed

    def _written(self, key: str, committed: Committed, summary: Summary, warnings: Warnings = ()) -> Written:
        """A version just committed: the view adopts its entry (the JSON the write made, no parse)."""
        entry = entry_of(key, committed.rv, committed.json, summary, committed.noted)
        self.replica.offer_entry(committed.rv, entry)
        return Written(committed.json, tuple(warnings))

    @staticmethod
    def _unwritten(pod: Object, warnings: Warnings = ()) -> Written:
        """A dry run or no-op: the pod as it would be, never offered to the view."""
        return Written(orjson.dumps(pod), tuple(warnings))

    async def create(self, namespace: str | None, pod: Object, opts: WriteOptions) -> Written:
        now = self.clock()
        if not isinstance(pod.get("metadata"), dict):  # absent or null: Go decodes an empty ObjectMeta
            pod["metadata"] = {}
        given = pod["metadata"].get("name")
        generated = not given
        if self.admit is not None and namespace is not None:
            await self.admit(self.resource, given if isinstance(given, str) else "", namespace, opts.dry_run)
        # the field manager sees the request as decoded (with its defaults) before the strategy
        # adds what the server sets (a namespace's finalizer, a pod's phase): kube's create handler
        self.kind.defaults(pod)
        if not opts.applied:
            self._record_manager(pod, None, opts, timestamp(now))
        pod, warnings = self.kind.create(pod, namespace, now)
        meta = pod["metadata"]
        name, prefix = meta["name"], meta.get("generateName") or ""
        if opts.dry_run:
            key = object_key(namespace, name)
            if (current := await self.store.get(self.stored, key)) is not None:
                raise self._exists(name, current)
            return self._unwritten(pod, warnings)
        version, summary = self._encoded(pod)
        del pod, meta  # (see _encoded; the caller lets go of the body too)
        for attempt in range(GENERATE_NAME_ATTEMPTS if generated else 1):
            if attempt:  # the generated name is taken: another, in the version as encoded
                name = generate_name(prefix)
                version, summary = self._encoded(_renamed(version, name))
            key = object_key(namespace, name)
            try:
                committed = await self._write(key, "ADDED", version, summary, None)
            except KeyExists as exc:
                if generated:
                    continue
                raise self._exists(name, exc.current) from exc
            return self._written(key, committed, summary, warnings)
        raise errors.name_generation_exhausted(self.resource, name)

    def _exists(self, name: str, current: Stored | None) -> errors.APIError:
        terminating = current is not None and "deletionTimestamp" in current.pod()["metadata"]
        return errors.already_exists(self.resource, name, terminating=terminating)

    def _record_manager(self, new: Object, old: Object | None, opts: WriteOptions, time: str) -> None:
        """The writer's managedFields entry, in the fields and apiVersion of the version it wrote
        through (kube's field manager works on the request's version)."""
        managed_fields.record(
            new, old, manager=opts.manager, operation="Update", subresource=opts.subresource, time=time,
            api_version=self.kind.api_version, view=self.kind.served,
        )  # fmt: skip

    def _cached(self, key: str) -> Stored | None:
        """This replica's version of ``key``: where an update starts (see :meth:`update`)."""
        entry = self.view.get(key)
        return None if entry is None else Stored(entry.rv, entry.json, noted=entry.noted)

    def _selector_state(self, key: str, stored: Stored, obj: Object) -> SelectorState:
        """The labels and selectable fields of ``stored`` (parsed as ``obj``), which its event
        records as what it replaced: the view's entry of that version holds them already."""
        entry = self.view.get(key)
        if entry is not None and entry.rv == stored.rv:
            return entry.selector_state
        return Summary.of(obj, self.kind.fields).selector_state

    async def update(
        self,
        namespace: str | None,
        name: str,
        mutate: Mutation,
        opts: WriteOptions,
        *,
        private_copy: bool = True,
    ) -> Written:
        """Apply ``mutate`` (PUT body rules or a patch, then the strategy) to the current pod.

        ``mutate`` gets a private copy of the current pod (with its resourceVersion; its
        managedFields' field sets are shared, never changed in place: ``entries.parsed``) and
        returns the new pod; it raises API errors. A result equal to the current pod is not written.
        A ``mutate`` that only reads the current pod says so (``private_copy=False``) and gets
        the registry's own: one parse of the stored version a write instead of two.

        The first attempt starts from this replica's view, as kube-apiserver's GuaranteedUpdate
        starts from its watch cache: the view's version is almost always the latest, and the
        write's compare-and-set on its resourceVersion catches it when not (the script answers
        with the latest, the next attempt's start). What the view's version alone may not
        settle, Redis's does: an error from ``mutate``, a dry run, a missing pod. A no-op needs
        only Redis's word that the view's version is the latest (its rv), and answers with it.
        """
        key = object_key(namespace, name)
        stored, latest = self._cached(key), False  # latest: read from Redis, not the view
        for _ in range(WRITE_ATTEMPTS):
            if stored is None and not latest:
                stored, latest = await self.store.get(self.stored, key), True
            if stored is None:
                raise errors.not_found(self.resource, name)
            old = stored.pod()
            try:
                new = mutate(stored.pod() if private_copy else old)
            except errors.APIError:
                if latest:
                    raise
                stored, latest = (
                    await self.store.get(self.stored, key),
                    True,
                )  # judged on the view's: ask Redis
                continue
            if self.detect_mutations and not private_copy and orjson.dumps(old) != orjson.dumps(stored.pod()):
                raise AssertionError(f"an update of {self.resource} {name} changed the current object")
            unchanged = same_content(new, old)
            if unchanged and (latest or await self.store.current_rv(self.stored, key) == stored.rv):
                return Written(stored.json)  # a no-op writes nothing: the version as it is
            if not latest and (unchanged or opts.dry_run):
                stored, latest = await self.store.get(self.stored, key), True
                continue
            now = timestamp(self.clock())
            if not opts.applied:
                self._record_manager(new, old, opts, now)
            if opts.dry_run:
                return self._unwritten(with_resource_version(new, stored.rv))
            version, summary = self._encoded(new)
            previous = self._selector_state(key, stored, old)
            removes = removes_after_update(new) and not self.kind.deletion_held(new)
            del old, new  # (see _encoded)
            try:
                committed = await self._write(key, "MODIFIED", version, summary, stored.rv, previous)
                if removes:
                    committed = await self._remove(key, version, summary, committed)
            except VersionMismatch as exc:
                stored, latest = exc.current, True
                continue
            except KeyMissing as exc:
                raise errors.not_found(self.resource, name) from exc
            return self._written(key, committed, summary)
        raise errors.conflict(self.resource, name)

    async def create_or_update(
        self,
        namespace: str | None,
        name: str,
        mutate: Mutation,
        build: Callable[[], Object],
        opts: WriteOptions,
        *,
        private_copy: bool = True,
    ) -> tuple[Written, bool]:
        """Server-side apply's contract: update the object, or create ``build()`` when it is
        absent; a create that loses the race to another updates instead. True: created."""
        for _ in range(2):
            try:
                return await self.update(namespace, name, mutate, opts, private_copy=private_copy), False
            except errors.NotFound:
                if opts.subresource is not None:
                    raise
            try:
                return await self.create(namespace, build(), opts), True
            except errors.AlreadyExists:
                continue
        raise errors.conflict(self.resource, name)

    async def delete_collection(
        self, namespace: str | None, list_opts: ListOptions, delete_opts: DeleteOptions
    ) -> ListResult:
        """Delete what the list selects, one by one (as kube's DeleteCollection); returns the
        list. An object deleted meanwhile is skipped, as the apiserver ignores such races."""
        result = await self.list(namespace, list_opts)
        for entry in result.entries:
            try:
                await self.delete(entry.namespace or None, entry.name, delete_opts)
            except errors.NotFound:
                continue
        return result

    async def _remove(
        self, key: str, version: Unstamped, summary: Summary, committed: Committed
    ) -> Committed:
        """The removal that follows the version just written with a deletionTimestamp.

        That version is terminating and due at once, so a reaper (of any replica) may remove it
        first: a missing key here means the deletion is done, not that the object was never
        there. The caller answers with the version it wrote.
        """
        try:
            return await self._write(key, "DELETED", version, summary, committed.rv, summary.selector_state)
        except KeyMissing:
            return committed

    def _plan_delete(self, obj: Object, opts: DeleteOptions) -> DeletePlan:
        kind = self.kind
        held = kind.deletion_held(obj)
        if held and kind.held_conflict and "deletionTimestamp" in obj["metadata"]:
            raise errors.conflict(self.resource, obj["metadata"]["name"], kind.held_conflict)
        grace = kind.grace_period(obj, opts.grace_period_seconds)
        plan = plan_delete(obj, opts, grace, self.clock(), held=held)
        if plan.update is not None:
            kind.mark_deleted(plan.update)
        return plan

    async def delete(self, namespace: str | None, name: str, opts: DeleteOptions) -> Written:
        key = object_key(namespace, name)
        stored, latest = self._cached(key), False  # as in update: the view's version first
        for _ in range(WRITE_ATTEMPTS):
            if stored is None and not latest:
                stored, latest = await self.store.get(self.stored, key), True
            if stored is None:
                raise errors.not_found(self.resource, name)
            pod = stored.pod()
            try:
                check_preconditions(self.kind.kind, pod, opts)
                plan = self._plan_delete(pod, opts)
            except errors.APIError:
                if latest:
                    raise
                stored, latest = await self.store.get(self.stored, key), True
                continue
            if opts.dry_run or plan.changes_nothing:
                if not latest:
                    stored, latest = await self.store.get(self.stored, key), True
                    continue
                return self._unwritten(with_resource_version(plan.update or pod, stored.rv))
            committed = Committed(stored.rv, stored.json, stored.noted)
            previous = self._selector_state(key, stored, pod)
            modifies, removes = plan.update is not None, plan.remove
            version, summary = self._encoded(plan.update if plan.update is not None else pod)
            del pod, plan  # (see _encoded)
            try:
                if modifies:
                    committed = await self._write(key, "MODIFIED", version, summary, stored.rv, previous)
                if removes:
                    committed = await self._remove(key, version, summary, committed)
            except VersionMismatch as exc:
                stored, latest = exc.current, True
                continue
            except KeyMissing as exc:
                raise errors.not_found(self.resource, name) from exc
            return self._written(key, committed, summary)
        raise errors.conflict(self.resource, name)


def parse_resource_version(value: str) -> int:
    """A resourceVersion parameter: a non-negative decimal (400 otherwise, not the apiserver's 500)."""
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to Python, not to Go
        raise errors.BadRequest(
            f'resourceVersion: Invalid value: "{value}": strconv.ParseUint: parsing '
            f"{orjson.dumps(value).decode()}: invalid syntax"
        )
    return int(value)


def _matching(entries: Entries, opts: ListOptions) -> Entries:
    if not opts.selective:
        return entries
    return [e for e in entries if opts.matches(e.selector_state)]


def _renamed(version: Unstamped, name: str) -> Object:
    """The object of an encoded version under another name (a generated name was taken)."""
    obj: Object = orjson.loads(version.json)
    obj["metadata"]["name"] = name
    return obj
