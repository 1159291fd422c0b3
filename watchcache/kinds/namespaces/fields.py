"""A namespace's selectable fields (``NamespaceToSelectableFields``): its name and phase."""

from __future__ import annotations

from typing import Any

from watchcache.machinery.selectors import FieldSet


def namespace_fields(ns: dict[str, Any]) -> dict[str, str]:
    return {
        "metadata.name": (ns.get("metadata") or {}).get("name") or "",
        "status.phase": (ns.get("status") or {}).get("phase") or "",
    }


NAMESPACE_FIELDS = FieldSet(("metadata.name", "status.phase"), namespace_fields)
