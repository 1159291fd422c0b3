"""Namespace lifecycle: kube's NamespaceLifecycle admission and its namespace controller.

Admission runs before every create of a namespaced object: a namespace being terminated takes
no new content (403), and one that does not exist is created on the fly — clients that never
created a namespace keep working — unless the server runs with ``--strict-namespaces``, where
it is a 404 as in kube-apiserver.

The controller finishes what a namespace DELETE starts (the DELETE only marks it Terminating):
it deletes everything in the namespace, each object through its own graceful deletion, lists
what is left and says so in the namespace's status conditions (``namespace_conditions``), and
once the namespace is empty it removes the ``kubernetes`` finalizer through ``/finalize``,
which removes the namespace. Every replica runs it; the writes are compare-and-set, so two
replicas finishing the same namespace only cost a conflict that is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from redis.exceptions import RedisError

from watchcache.machinery import errors
from watchcache.machinery.objects import Object
from watchcache.machinery.rest import timestamp
from watchcache.registry.deletion import DeleteOptions, parse_timestamp
from watchcache.registry.namespace_conditions import (
    Remaining,
    failing,
    pods_estimate,
    remaining,
    updated_conditions,
)
from watchcache.registry.resource import ResourceRegistry, WriteOptions

log = logging.getLogger("watchcache.namespaces")

FINALIZER = "kubernetes"
SWEEP_INTERVAL_S = 1.0  # how often the controller looks for namespaces to finish
MANAGER = "namespace-controller"  # the field manager of the controller's writes
DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class NamespaceLifecycle:
    def __init__(
        self,
        namespaces: ResourceRegistry,
        contents: Sequence[ResourceRegistry],
        *,
        strict: bool = False,
        interval_s: float = SWEEP_INTERVAL_S,
    ) -> None:
        self.namespaces = namespaces
        # the registries of every namespaced kind, as served (what is left is counted per
        # served resource, as kube's controller lists each); each object is deleted once,
        # through the kind it is stored as
        self.contents = contents
        self.deletable = [reg for reg in contents if reg.kind.stored_as is None]
        self.strict = strict
        self.interval_s = interval_s

    # ---- admission ---------------------------------------------------------------------

    async def admit(self, resource: str, name: str, namespace: str, dry_run: bool) -> None:
        """Raise unless an object may be created in ``namespace`` (creating it if allowed; a
        dry run creates nothing)."""
        entry = self.namespaces.view.get(namespace)  # every create asks: no parse on this path
        if entry is not None:
            if entry.terminating or entry.selector_state.fields.get("status.phase") == "Terminating":
                raise errors.namespace_terminating(resource, name, namespace)
            return
        current = await self._namespace(namespace)
        if current is None:
            if self.strict:
                raise errors.not_found(self.namespaces.resource, namespace)
            if not dry_run:
                await self._create(namespace)
        elif "deletionTimestamp" in current["metadata"]:
            raise errors.namespace_terminating(resource, name, namespace)

    async def _namespace(self, name: str) -> Object | None:
        """The namespace from the view, else from Redis: another replica may have just made it."""
        entry = self.namespaces.view.get(name)
        if entry is not None:
            return entry.pod()
        stored = await self.namespaces.store.get(self.namespaces.resource, name)
        return None if stored is None else stored.pod()

    async def _create(self, name: str) -> None:
        with contextlib.suppress(errors.AlreadyExists):  # made meanwhile, by a client or a replica
            await self.namespaces.create(None, {"metadata": {"name": name}}, WriteOptions(manager=MANAGER))

    async def ensure_defaults(self) -> None:
        """The namespaces every cluster has from the start."""
        for name in DEFAULT_NAMESPACES:
            if await self._namespace(name) is None:
                await self._create(name)

    # ---- controller --------------------------------------------------------------------

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.sweep()
            except errors.APIError as exc:
                log.info("namespace controller: %s (retrying)", exc.message)
            except RedisError as exc:
                log.warning("namespace controller: %s (retrying)", exc)

    async def sweep(self) -> None:
        for name in sorted(self.namespaces.view.terminating):
            await self.finish(name)

    async def finish(self, name: str) -> bool:
        """Delete what is in the namespace, say in its conditions what is left, and finalize it
        once nothing is (kube's ``deleteAllContent``, then ``finalizeNamespace``). True if
        finalized."""
        for registry in self.deletable:
            await self._empty(registry, name)
        await self.namespaces.read_rv(None)  # what is left, listed after the deletions (consistent)
        entry = self.namespaces.view.get(name)
        if entry is None or not entry.terminating:
            return False  # finished meanwhile
        namespace = entry.pod()
        left = [self._remaining(registry, namespace) for registry in self.contents]
        await self._set_conditions(name, failing(name, left))
        if any(r.count for r in left):
            return False
        try:
            await self.namespaces.update(
                None, name, self._finalized, WriteOptions(manager=MANAGER, subresource="finalize")
            )
        except errors.NotFound:
            return False  # finished meanwhile
        log.info("namespace %s is empty and finalized", name)
        return True

    async def _empty(self, registry: ResourceRegistry, namespace: str) -> None:
        """Delete every object of one kind in the namespace not already being deleted."""
        for entry in registry.view.entries(namespace):
            if entry.terminating:
                continue  # its graceful deletion is under way
            try:
                await registry.delete(namespace, entry.name, DeleteOptions(precondition_uid=entry.uid))
            except (errors.NotFound, errors.Conflict):
                continue  # gone or replaced meanwhile: the next sweep sees

    def _remaining(self, registry: ResourceRegistry, namespace: Object) -> Remaining:
        name, kind = namespace["metadata"]["name"], registry.kind
        objects = [entry.pod() for entry in registry.view.entries(name)]
        estimate = 0
        if (kind.group, kind.resource) == ("", "pods"):  # kube estimates the pods' grace alone
            deleted = parse_timestamp(namespace["metadata"]["deletionTimestamp"])
            estimate = pods_estimate(objects, deleted, registry.clock())
        return remaining(kind.resource, kind.group, kind.version, objects, estimate)

    async def _set_conditions(self, name: str, failed: dict[str, tuple[str, str]]) -> None:
        """Write the namespace's conditions through ``/status`` when they change."""
        entry = self.namespaces.view.get(name)
        if entry is None:
            return
        now = timestamp(self.namespaces.clock())
        if updated_conditions((entry.pod().get("status") or {}).get("conditions") or [], failed, now) is None:
            return

        def mutate(current: Object) -> Object:
            status = current.get("status") or {}
            conditions = updated_conditions(status.get("conditions") or [], failed, now)
            body = {**current, "status": {**status, "conditions": conditions or status.get("conditions")}}
            return self.namespaces.kind.updates["status"](body, current, None, name)

        with contextlib.suppress(errors.NotFound):  # finished meanwhile
            await self.namespaces.update(
                None, name, mutate, WriteOptions(manager=MANAGER, subresource="status")
            )

    def _finalized(self, current: Object) -> Object:
        """The namespace without the ``kubernetes`` finalizer, through the finalize rules."""
        spec = current.get("spec") or {}
        body = {
            **current,
            "spec": {**spec, "finalizers": [f for f in spec.get("finalizers") or [] if f != FINALIZER]},
        }
        name = current["metadata"]["name"]
        return self.namespaces.kind.updates["finalize"](body, current, None, name)
