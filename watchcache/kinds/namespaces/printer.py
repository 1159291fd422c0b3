"""The Namespace printer: ``kubectl get namespaces`` shows NAME, STATUS and AGE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery.table import ColumnDefinition, Printer, TableRow, age, column, parse_time

COLUMN_DEFINITIONS: list[ColumnDefinition] = [
    column("Name", "Name must be unique within a namespace.", fmt="name"),
    column("Status", "The status of the namespace"),
    column("Age", "Time since the namespace was created (metadata.creationTimestamp)."),
]


def namespace_row(ns: dict[str, Any], now: datetime) -> TableRow:
    meta = ns.get("metadata") or {}
    phase = (ns.get("status") or {}).get("phase") or ""
    return {"cells": [meta.get("name") or "", phase, age(parse_time(meta.get("creationTimestamp")), now)]}


NAMESPACE_PRINTER = Printer(COLUMN_DEFINITIONS, namespace_row)
