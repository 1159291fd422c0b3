"""Everything that knows the Pod kind (kube ``pkg/registry/core/pod`` and
``pkg/apis/core/validation``), and :data:`POD`, the kind as the generic machinery serves it."""

from watchcache.kinds.pods.defaults import apply_defaults
from watchcache.kinds.pods.fields import POD_FIELDS
from watchcache.kinds.pods.printer import POD_PRINTER
from watchcache.kinds.pods.schema import POD_SCHEMA
from watchcache.kinds.pods.strategy import (
    grace_period,
    prepare_create,
    prepare_ephemeral_update,
    prepare_status_update,
    prepare_update,
)
from watchcache.machinery.kinds import Kind

POD = Kind(
    kind="Pod",
    resource="pods",
    singular="pod",
    namespaced=True,
    schema=POD_SCHEMA,
    create=prepare_create,
    updates={
        None: prepare_update,
        "status": prepare_status_update,
        "ephemeralcontainers": prepare_ephemeral_update,
    },
    grace_period=grace_period,
    fields=POD_FIELDS,
    printer=POD_PRINTER,
    short_names=("po",),
    categories=("all",),
    index_field="spec.nodeName",
    empty={"spec": {"containers": None}, "status": {}},
    storage_version_hash="xPOwRZ+Yhw8=",
    defaults=apply_defaults,
)
