"""The core/v1 Event kind (kube ``pkg/registry/core/event``), and :data:`EVENT`, the kind as the
generic machinery serves it. Their expiry (``--event-ttl``) is the registry's ``EventExpiry``."""

from pathlib import Path

from watchcache.kinds.events.fields import EVENT_FIELDS
from watchcache.kinds.events.printer import EVENT_PRINTER
from watchcache.kinds.events.strategy import ALWAYS, prepare_create, prepare_update
from watchcache.machinery.kinds import Kind, no_grace
from watchcache.machinery.schema import load_object_schema

EVENT = Kind(
    kind="Event",
    resource="events",
    singular="event",
    namespaced=True,
    schema=load_object_schema(Path(__file__).with_name("event_schema.json"), "Event"),
    create=prepare_create,
    updates={None: prepare_update},
    grace_period=no_grace,
    fields=EVENT_FIELDS,
    printer=EVENT_PRINTER,
    short_names=("ev",),
    index_field="involvedObject.name",
    empty=ALWAYS,
)
