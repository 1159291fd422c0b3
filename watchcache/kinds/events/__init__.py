"""Events (kube ``pkg/registry/core/event``): :data:`EVENT`, core/v1 as stored, and
:data:`EVENT_V1`, the same objects served as events.k8s.io/v1. Their expiry (``--event-ttl``)
is the registry's ``Expiry``."""

from dataclasses import replace
from pathlib import Path

from watchcache.kinds.events.conversion import ALWAYS as V1_ZERO
from watchcache.kinds.events.conversion import from_core, to_core
from watchcache.kinds.events.fields import EVENT_FIELDS, EVENT_V1_FIELDS
from watchcache.kinds.events.printer import EVENT_PRINTER
from watchcache.kinds.events.protobuf import EVENT_MESSAGE, EVENT_V1_MESSAGE
from watchcache.kinds.events.strategy import (
    ALWAYS,
    V1_GROUP,
    prepare_create,
    prepare_create_v1,
    prepare_update,
    prepare_update_v1,
)
from watchcache.machinery.kinds import Kind, StoredAs, no_grace
from watchcache.machinery.schema import load_object_schema
from watchcache.machinery.table import Printer

HERE = Path(__file__).parent

EVENT = Kind(
    kind="Event",
    resource="events",
    singular="event",
    namespaced=True,
    schema=load_object_schema(HERE / "event_schema.json", "Event"),
    create=prepare_create,
    updates={None: prepare_update},
    grace_period=no_grace,
    fields=EVENT_FIELDS,
    printer=EVENT_PRINTER,
    short_names=("ev",),
    index_field="involvedObject.name",
    protobuf=EVENT_MESSAGE,
    empty=ALWAYS,
)

EVENT_V1 = replace(
    EVENT,
    group=V1_GROUP,
    schema=load_object_schema(HERE / "events_v1_schema.json", "Event", V1_GROUP),
    create=prepare_create_v1,
    updates={None: prepare_update_v1},
    fields=EVENT_V1_FIELDS,
    # rows are printed from the core/v1 form, as kube prints the internal object
    printer=Printer(EVENT_PRINTER.columns, lambda event, now: EVENT_PRINTER.row(to_core(event), now)),
    protobuf=EVENT_V1_MESSAGE,
    empty=V1_ZERO,
    stored_as=StoredAs(EVENT, to_core, from_core),
)
