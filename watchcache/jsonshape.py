"""Typed views of decoded JSON for the pure pod rules.

Bodies are schema-checked before the rules run (``decode``), but the rules also see patched
and stored documents; these accessors let them read a field without trusting its JSON type.
"""

from __future__ import annotations

from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The object items of a JSON list (anything else: none)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    """``value`` if it is a JSON string, else ``""``."""
    return value if isinstance(value, str) else ""
