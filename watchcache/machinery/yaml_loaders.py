"""PyYAML loaders for request bodies, as sigs.k8s.io/yaml and go-yaml read them.

Kept interpreted (``setup.py`` compiles the modules that use them): they subclass PyYAML's C
loader, which a class compiled by mypyc cannot. Both leave timestamps as text, as YAML turned
into JSON does; both read only the first document, as go-yaml's ``Unmarshal`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from watchcache.machinery.schema import GoFloat, go_quote

_BASE: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_BASE):
    """For a Pod body: repeated keys recorded (go-yaml strict), floats keep their literal."""

    def __init__(self, stream: bytes) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                self.duplicates.append(
                    f"line {key_node.start_mark.line + 1}: key {go_quote(str(key))} already set in map"
                )
            seen.add(key)
        mapping = super().construct_mapping(node, deep=deep)
        return {_strict_key(k): v for k, v in mapping.items()}


def _strict_key(key: Any) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    return "null" if key is None else str(key)


def _float_literal(loader: Any, node: Any) -> GoFloat:
    return GoFloat(repr(yaml.SafeLoader.construct_yaml_float(loader, node)))


StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _BASE.construct_yaml_str)
StrictLoader.add_constructor("tag:yaml.org,2002:float", _float_literal)


class TextKeyLoader(_BASE):
    """For an apply body: map keys become text as they are read (``key_text(key, value)``),
    since a Python dict would merge ``1`` and ``true``."""

    def __init__(self, stream: bytes, key_text: Callable[[Any, Any], str]) -> None:
        super().__init__(stream)
        self.key_text = key_text

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[str, Any]:
        self.flatten_mapping(node)  # "<<" merge keys
        mapping = {}
        for key_node, value_node in node.value:
            value = self.construct_object(value_node, deep=deep)
            mapping[self.key_text(self.construct_object(key_node, deep=deep), value)] = value
        return mapping


TextKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _BASE.construct_yaml_str)


def first_document(loader: Any) -> Any:
    """The stream's first document (None for an empty one); the loader is disposed of."""
    try:
        return loader.get_data() if loader.check_data() else None
    finally:
        loader.dispose()
