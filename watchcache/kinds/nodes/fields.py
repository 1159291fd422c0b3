"""A node's selectable fields (``NodeToSelectableFields``): its name and whether it is cordoned."""

from __future__ import annotations

from typing import Any

from watchcache.machinery.selectors import FieldSet


def node_fields(node: dict[str, Any]) -> dict[str, str]:
    unschedulable = (node.get("spec") or {}).get("unschedulable") is True
    return {
        "metadata.name": (node.get("metadata") or {}).get("name") or "",
        "spec.unschedulable": "true" if unschedulable else "false",
    }


NODE_FIELDS = FieldSet(("metadata.name", "spec.unschedulable"), node_fields)
