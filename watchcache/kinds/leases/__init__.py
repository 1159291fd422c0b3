"""The Lease kind of coordination.k8s.io/v1 (kube ``pkg/registry/coordination/lease``), and
:data:`LEASE`, the kind as the generic machinery serves it: what kubelets (and the simulator)
renew per node, and what ``kubectl describe node`` shows of it."""

from pathlib import Path

from watchcache.kinds.leases.printer import LEASE_PRINTER
from watchcache.kinds.leases.strategy import GROUP, prepare_create, prepare_update
from watchcache.machinery.kinds import Kind, no_grace
from watchcache.machinery.schema import load_object_schema
from watchcache.machinery.selectors import METADATA_FIELDS

LEASE = Kind(
    kind="Lease",
    resource="leases",
    singular="lease",
    namespaced=True,
    group=GROUP,
    schema=load_object_schema(Path(__file__).with_name("lease_schema.json"), "Lease", GROUP),
    create=prepare_create,
    updates={None: prepare_update},
    grace_period=no_grace,
    fields=METADATA_FIELDS,
    printer=LEASE_PRINTER,
    empty={"spec": {}},
)
