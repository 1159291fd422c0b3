"""What every stored object is to the machinery: a JSON object, its storage key, its rv stamp."""

from __future__ import annotations

from typing import Any

Pod = dict[str, Any]


def object_key(namespace: str, name: str) -> str:
    """The storage key; its byte order is the list order (etcd's ``/registry/pods/<ns>/<name>``)."""
    return f"{namespace}/{name}"


def with_resource_version(pod: Pod, rv: int) -> Pod:
    """Stamp the event's rv into the pod (the stored bytes never carry it)."""
    pod["metadata"]["resourceVersion"] = str(rv)
    return pod
