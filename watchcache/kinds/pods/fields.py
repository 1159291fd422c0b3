"""The pod's selectable fields (``pkg/registry/core/pod``'s ``ToSelectableFields`` and the v1
field-label conversion): what field selectors, the view's summaries and its node index read."""

from __future__ import annotations

from typing import Any

from watchcache.machinery.selectors import FieldSet

# The conversion accepts exactly these (``spec.host`` is rewritten), in the order of
# pod_fields' keys (view.Summary packs their values in this order).
POD_FIELD_NAMES = (
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.podIPs",
    "status.nominatedNodeName",
)


def pod_fields(pod: dict[str, Any]) -> dict[str, str]:
    """The selectable fields of a pod, missing → ``""``.

    ``status.podIPs`` is accepted by the parser but never populated, so it is always ``""``;
    ``status.podIP`` is the first of ``status.podIPs`` (falling back to the legacy ``podIP``,
    which the v1→internal conversion also does).
    """
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    return {
        "metadata.name": meta.get("name") or "",
        "metadata.namespace": meta.get("namespace") or "",
        "spec.nodeName": spec.get("nodeName") or "",
        "spec.restartPolicy": spec.get("restartPolicy") or "",
        "spec.schedulerName": spec.get("schedulerName") or "",
        "spec.serviceAccountName": spec.get("serviceAccountName") or "",
        "spec.hostNetwork": "true" if spec.get("hostNetwork") is True else "false",
        "status.phase": status.get("phase") or "",
        "status.podIP": pod_ip(status),
        "status.podIPs": "",
        "status.nominatedNodeName": status.get("nominatedNodeName") or "",
    }


def pod_ip(status: dict[str, Any]) -> str:
    """``status.podIPs[0].ip``, else the legacy ``status.podIP``, else ``""``."""
    ips = status.get("podIPs") or []
    if ips and isinstance(ips[0], dict):
        return ips[0].get("ip") or ""
    return status.get("podIP") or ""


POD_FIELDS = FieldSet(
    POD_FIELD_NAMES, pod_fields, aliases=(("spec.host", "spec.nodeName"),)
)  # pre-1.0 clients
