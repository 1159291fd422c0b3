"""The ``meta.k8s.io/v1`` Table form, which ``kubectl get`` asks for and prints as is.

Each kind has a :class:`Printer`: its column definitions and the cells of one object (kube's
``printers.go`` handlers). Framing, ``includeObject`` and ages are the same for every kind.
kubectl does no formatting of its own for Table responses, so every string a printer makes is
exactly what the user sees. The server always fills the wide columns (priority 1); kubectl hides
them unless ``-o wide``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, NotRequired, TypedDict

from watchcache.machinery import errors

IncludeObject = Literal["None", "Metadata", "Object"]
_INCLUDE_OBJECT_VALUES: tuple[IncludeObject, ...] = ("None", "Metadata", "Object")
NONE = "<none>"
UNKNOWN = "<unknown>"


class ColumnDefinition(TypedDict):
    name: str
    type: str
    format: str
    description: str
    priority: int


class RowCondition(TypedDict):
    type: str
    status: str
    reason: str
    message: str


class TableRow(TypedDict):
    cells: list[str | int]  # kube's printers put counts in as numbers
    conditions: NotRequired[list[RowCondition]]
    object: NotRequired[dict[str, Any]]


class Table(TypedDict):
    kind: Literal["Table"]
    apiVersion: Literal["meta.k8s.io/v1"]
    metadata: dict[str, Any]
    columnDefinitions: list[ColumnDefinition] | None
    rows: list[TableRow]


def column(name: str, description: str, *, fmt: str = "", priority: int = 0) -> ColumnDefinition:
    return {
        "name": name,
        "type": "string",
        "format": fmt,
        "description": description,
        "priority": priority,
    }


@dataclass(frozen=True, slots=True)
class Printer:
    """A kind's columns and ``row``: the cells (and row conditions) of one object at ``now``."""

    columns: list[ColumnDefinition]
    row: Callable[[dict[str, Any], datetime], TableRow]

    def table_row(self, obj: dict[str, Any], now: datetime, include_object: str = "Metadata") -> TableRow:
        """The object's row, carrying the object as ``includeObject`` asks."""
        row = self.row(obj, now)
        if include_object == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {},
            }
        elif include_object == "Object":
            row["object"] = obj
        return row

    def table(self, rows: list[TableRow], metadata: dict[str, Any], *, with_columns: bool = True) -> Table:
        """The Table body; watch events after the first send ``columnDefinitions: null``."""
        return {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata,
            "columnDefinitions": self.columns if with_columns else None,
            "rows": rows,
        }


def parse_include_object(value: str | None) -> IncludeObject:
    """``includeObject`` query value; absent or empty means ``Metadata``, as in the apiserver."""
    if not value:
        return "Metadata"
    for allowed in _INCLUDE_OBJECT_VALUES:
        if value == allowed:
            return allowed
    raise errors.BadRequest(f"unrecognized includeObject value: {errors.go_value(value)}")


# --------------------------------------------------------------------------- ages


def human_duration(seconds: float) -> str:
    """apimachinery's ``HumanDuration``: coarser the older, two units only while short.

    Up to 1 s in the future still prints ``0s`` (clock skew between machines); seconds are
    truncated toward zero before any comparison, as Go's ``int(d.Seconds())`` does.
    """
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _two_units(minutes, "m", secs % 60, "s")
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return _two_units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 8 * 24:
        return _two_units(days, "d", hours % 24, "h")
    if hours < 2 * 365 * 24:
        return f"{days}d"
    years = days // 365
    if hours < 8 * 365 * 24:
        return _two_units(years, "y", days % 365, "d")
    return f"{years}y"


def _two_units(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big}{big_unit}{small}{small_unit}" if small else f"{big}{big_unit}"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def age(then: datetime | None, now: datetime) -> str:
    return UNKNOWN if then is None else human_duration((now - then).total_seconds())
