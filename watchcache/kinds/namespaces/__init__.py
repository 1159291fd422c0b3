"""The Namespace kind (kube ``pkg/registry/core/namespace``), and :data:`NAMESPACE`, the kind as
the generic machinery serves it. Its lifecycle (content deleted with it, admission of new
content) is the registry's ``NamespaceLifecycle``."""

from pathlib import Path

from watchcache.kinds.namespaces.fields import NAMESPACE_FIELDS
from watchcache.kinds.namespaces.printer import NAMESPACE_PRINTER
from watchcache.kinds.namespaces.protobuf import NAMESPACE_MESSAGE
from watchcache.kinds.namespaces.strategy import (
    defaults,
    deletion_held,
    mark_terminating,
    prepare_create,
    prepare_finalize,
    prepare_status_update,
    prepare_update,
)
from watchcache.machinery.kinds import Kind, no_grace
from watchcache.machinery.schema import load_object_schema

NAMESPACE = Kind(
    kind="Namespace",
    resource="namespaces",
    singular="namespace",
    namespaced=False,
    schema=load_object_schema(Path(__file__).with_name("namespace_schema.json"), "Namespace"),
    create=prepare_create,
    updates={None: prepare_update, "status": prepare_status_update, "finalize": prepare_finalize},
    grace_period=no_grace,
    fields=NAMESPACE_FIELDS,
    printer=NAMESPACE_PRINTER,
    short_names=("ns",),
    collection_delete=False,
    protobuf=NAMESPACE_MESSAGE,
    put_only=("finalize",),
    empty={"spec": {}, "status": {}},
    deletion_held=deletion_held,
    mark_deleted=mark_terminating,
    defaults=defaults,
    held_conflict=(
        "The system is ensuring all content is removed from this namespace.  Upon completion, "
        "this namespace will automatically be purged by the system."
    ),
)
