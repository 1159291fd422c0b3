"""What every stored object is to the machinery: a JSON object, its storage key, its rv stamp."""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]  # any kind's object, as JSON decodes it


def object_key(namespace: str | None, name: str) -> str:
    """The storage key within a kind; its byte order is the list order (etcd's
    ``/registry/pods/<ns>/<name>``). A cluster-scoped object's key is its name."""
    return f"{namespace}/{name}" if namespace else name


def with_resource_version(pod: Object, rv: int) -> Object:
    """Stamp the event's rv into the pod (the stored bytes never carry it)."""
    pod["metadata"]["resourceVersion"] = str(rv)
    return pod
