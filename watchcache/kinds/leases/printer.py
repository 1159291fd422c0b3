"""The Lease printer (``kubectl get leases``, the 1.32 ``printLease``): NAME, HOLDER, AGE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery.table import ColumnDefinition, Printer, TableRow, age, column, parse_time

COLUMN_DEFINITIONS: list[ColumnDefinition] = [
    column("Name", "Name must be unique within a namespace.", fmt="name"),
    column("Holder", "holderIdentity contains the identity of the holder of a current lease."),
    column(
        "Age", "CreationTimestamp is a timestamp representing the server time when this object was created."
    ),
]


def lease_row(lease: dict[str, Any], now: datetime) -> TableRow:
    meta = lease.get("metadata") or {}
    holder = (lease.get("spec") or {}).get("holderIdentity") or ""
    return {"cells": [meta.get("name", ""), holder, age(parse_time(meta.get("creationTimestamp")), now)]}


LEASE_PRINTER = Printer(COLUMN_DEFINITIONS, lease_row)
