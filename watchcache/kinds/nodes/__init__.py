"""The Node kind (kube ``pkg/registry/core/node``), and :data:`NODE`, the kind as the generic
machinery serves it."""

from pathlib import Path

from watchcache.kinds.nodes.fields import NODE_FIELDS
from watchcache.kinds.nodes.printer import NODE_PRINTER
from watchcache.kinds.nodes.strategy import defaults, prepare_create, prepare_status_update, prepare_update
from watchcache.machinery.kinds import Kind, no_grace
from watchcache.machinery.schema import load_object_schema

NODE = Kind(
    kind="Node",
    resource="nodes",
    singular="node",
    namespaced=False,
    schema=load_object_schema(Path(__file__).with_name("node_schema.json"), "Node"),
    create=prepare_create,
    updates={None: prepare_update, "status": prepare_status_update},
    grace_period=no_grace,
    fields=NODE_FIELDS,
    printer=NODE_PRINTER,
    short_names=("no",),
    empty={"spec": {}, "status": {}},
    defaults=defaults,
)
