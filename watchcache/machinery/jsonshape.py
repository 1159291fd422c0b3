"""Typed views of decoded JSON for the pure pod rules.

Bodies are schema-checked before the rules run (``decode``), but the rules also see patched
and stored documents; these accessors let them read a field without trusting its JSON type.
"""

from __future__ import annotations

from typing import Any

import orjson


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The object items of a JSON list (anything else: none)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any) -> str:
    """``value`` if it is a JSON string, else ``""``."""
    return value if isinstance(value, str) else ""


def copied(document: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document (only JSON types inside, as every stored pod).

    An orjson round trip: exact for JSON values and ~7x cheaper than ``copy.deepcopy``, which
    had been a tenth of a PATCH's CPU (134 vs 18 µs for a 3.8 KB pod).
    """
    return orjson.loads(orjson.dumps(document))
