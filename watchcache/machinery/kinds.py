"""The Kind descriptor: everything the generic machinery needs to know about one resource.

kube-apiserver's generic registry serves every resource with one store, one list/watch and one
error path, plugging in a per-resource strategy (``rest.RESTCreateStrategy`` and friends), its
selectable fields and its printer. A :class:`Kind` is that plug: the registry, the cache and
the HTTP edge take one and never import a kind's package (``.importlinter``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from watchcache.machinery.objects import Object
from watchcache.machinery.protobuf import Message
from watchcache.machinery.schema import ObjectSchema
from watchcache.machinery.selectors import FieldSet
from watchcache.machinery.table import Printer

# (decoded body, stored object with its rv, namespace, name) -> the object to store
Prepare = Callable[[Object, Object, "str | None", str], Object]
# (decoded body, namespace, now) -> the object to store and its warnings
PrepareCreate = Callable[[Object, "str | None", datetime], tuple[Object, list[str]]]
Convert = Callable[[Object], Object]


@dataclass(frozen=True, eq=False, slots=True)
class StoredAs:
    """A kind served in one API version and stored as another kind's objects.

    kube-apiserver stores an object in one version and converts it for each version it serves
    (events.k8s.io/v1 Events are core/v1 Events in etcd). Here the stored form is the other
    kind's JSON: requests are converted into it at the HTTP edge, the registry, the view and
    the log see only it, and what goes out is converted back.
    """

    kind: Kind
    to_stored: Convert  # a request's object (this version) -> the stored form
    from_stored: Convert  # the stored form -> this version


@dataclass(frozen=True, eq=False, slots=True)
class Kind:
    kind: str  # "Pod"
    resource: str  # "pods"
    singular: str  # "pod"
    namespaced: bool
    schema: ObjectSchema  # what request bodies are decoded against
    create: PrepareCreate
    # PUT/PATCH rules by subresource: None is the object itself, else "status", ...
    updates: Mapping[str | None, Prepare]
    # seconds a DELETE waits (kube's CheckGracefulDelete); None: the kind has no graceful
    # deletion, so an object without finalizers goes at once (one DELETED event, no marking)
    grace_period: Callable[[Object, int | None], int | None]
    fields: FieldSet
    printer: Printer
    group: str = ""  # "" is the core group
    version: str = "v1"
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    index_field: str | None = None  # a selectable field the view indexes (pods: spec.nodeName)
    collection_delete: bool = True  # serves deletecollection (namespaces do not)
    put_only: tuple[str, ...] = ()  # subresources updated by PUT alone (namespaces/finalize)
    storage_version_hash: str = ""  # as discovery lists it (only pods are listed with one here)
    protobuf: Message | None = None  # the field table of bodies sent as protobuf (None: refused)
    # the top-level fields of the kind's zero value as Go serializes it (a BOOKMARK's object)
    empty: Mapping[str, Any] = field(default_factory=dict)
    # Deletion beyond the generic rules: what keeps a deleted object besides
    # metadata.finalizers (namespaces: their spec finalizers), what marking it for deletion
    # also changes (their phase), and the conflict a DELETE of an object already held gets
    # ("": the object again, 200, as for any kind)
    deletion_held: Callable[[Object], bool] = lambda obj: False
    mark_deleted: Callable[[Object], None] = lambda obj: None
    held_conflict: str = ""
    stored_as: StoredAs | None = None  # None: stored as itself
    # The defaults kube's decoder applies to a body (the scheme's SetDefaults_*), in place: a
    # create's field manager records the defaulted request, before ``create`` (the strategy's
    # PrepareForCreate) adds what the server sets, as kube-apiserver's create handler does.
    # ``create`` may default again (it must be idempotent).
    defaults: Callable[[Object], None] = lambda obj: None

    @property
    def storage(self) -> Kind:
        """The kind whose objects hold this one's: itself unless ``stored_as`` says otherwise."""
        return self.stored_as.kind if self.stored_as is not None else self

    @property
    def storage_resource(self) -> str:
        """Where its objects live: the log's resource field, the view's and the hash's name."""
        return self.storage.qualified_resource

    def served(self, obj: Object) -> Object:
        """A stored object as this version shows it."""
        return self.stored_as.from_stored(obj) if self.stored_as is not None else obj

    def served_json(self, stored: bytes) -> bytes:
        """A stored object's JSON as this version shows it (the same bytes when stored as itself)."""
        if self.stored_as is None:
            return stored
        return orjson.dumps(self.stored_as.from_stored(orjson.loads(stored)))

    def to_stored(self, obj: Object) -> Object:
        return self.stored_as.to_stored(obj) if self.stored_as is not None else obj

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def qualified_resource(self) -> str:
        """How errors name the resource: ``pods``, ``events.events.k8s.io``."""
        return f"{self.resource}.{self.group}" if self.group else self.resource


def no_grace(obj: Object, requested: int | None) -> int | None:
    """Kinds without graceful deletion go at once, whatever the request asks."""
    return None
