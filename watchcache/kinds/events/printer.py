"""The Event printer (``kubectl get events``): LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, and the
wide columns SUBOBJECT, SOURCE, FIRST SEEN, COUNT, NAME (the 1.32 ``printEvent``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery.table import ColumnDefinition, Printer, TableRow, age, column, parse_time

COLUMN_DEFINITIONS: list[ColumnDefinition] = [
    column("Last Seen", "When the most recent occurrence of this event was recorded."),
    column("Type", "Type of this event (Normal, Warning)."),
    column("Reason", "Why the object is in its current status, short and machine understandable."),
    column("Object", "The object this event is about."),
    column("Subobject", "The part of the object this event is about (a field path).", priority=1),
    column("Source", "The component reporting this event, and where it ran.", priority=1),
    column("Message", "A human-readable description of the status of this operation."),
    column("First Seen", "When the event was first recorded.", priority=1),
    column("Count", "The number of times this event has occurred.", priority=1),
    column("Name", "Name must be unique within a namespace.", fmt="name", priority=1),
]


def event_row(event: dict[str, Any], now: datetime) -> TableRow:
    first = age(parse_time(event.get("firstTimestamp")), now)
    if not event.get("firstTimestamp"):
        first = age(parse_time(event.get("eventTime")), now)
    last = age(parse_time(event.get("lastTimestamp")), now) if event.get("lastTimestamp") else first
    count = event.get("count") or 0
    series = event.get("series")
    if series:
        last = age(parse_time(series.get("lastObservedTime")), now)
        count = series.get("count") or 0
    elif not count:
        count = 1  # singleton events of the new API carry no count
    involved = event.get("involvedObject") or {}
    kind = (involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    source_cell = ", ".join(p for p in (component, instance) if p) if component else ""
    cells: list[Any] = [
        last,
        event.get("type") or "",
        event.get("reason") or "",
        target,
        involved.get("fieldPath") or "",
        source_cell,
        (event.get("message") or "").strip(),
        first,
        count,
        (event.get("metadata") or {}).get("name") or "",
    ]
    return {"cells": cells}


EVENT_PRINTER = Printer(COLUMN_DEFINITIONS, event_row)
