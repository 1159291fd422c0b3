"""Pod create warnings: the ``Warning`` headers of a valid new pod (pkg/api/pod ``GetWarningsForPod``).

Warnings never fail a request; kubectl prints each as ``Warning: <text>``.
"""

from __future__ import annotations

from typing import Any

from watchcache.machinery.jsonshape import mapping as _mapping
from watchcache.machinery.names import DNS1123_LABEL_MAX, max_len_error

# Node labels superseded by GA names (pkg/api/node GetNodeLabelDeprecatedMessage).
_DEPRECATED_NODE_LABELS = {
    "beta.kubernetes.io/arch": 'deprecated since v1.14; use "kubernetes.io/arch" instead',
    "beta.kubernetes.io/os": 'deprecated since v1.14; use "kubernetes.io/os" instead',
    "failure-domain.beta.kubernetes.io/region": (
        'deprecated since v1.17; use "topology.kubernetes.io/region" instead'
    ),
    "failure-domain.beta.kubernetes.io/zone": (
        'deprecated since v1.17; use "topology.kubernetes.io/zone" instead'
    ),
    "beta.kubernetes.io/instance-type": (
        'deprecated since v1.17; use "node.kubernetes.io/instance-type" instead'
    ),
}


def create_warnings(pod: dict[str, Any]) -> list[str]:
    """``Warning`` header texts for a valid new Pod (pkg/api/pod ``GetWarningsForPod`` subset)."""
    meta, spec = _mapping(pod.get("metadata")), _mapping(pod.get("spec"))
    warnings: list[str] = []
    name = meta.get("name")
    if isinstance(name, str) and name and not spec.get("hostname"):
        problems = [max_len_error(DNS1123_LABEL_MAX)] if len(name) > DNS1123_LABEL_MAX else []
        if "." in name:
            problems.append("must not contain dots")
        if problems:
            warnings.append(
                "metadata.name: this is used in the Pod's hostname, which can result in "
                f"surprising behavior; a DNS label is recommended: [{' '.join(problems)}]"
            )
    for key in _mapping(spec.get("nodeSelector")):
        if key in _DEPRECATED_NODE_LABELS:
            warnings.append(f"spec.nodeSelector[{key}]: {_DEPRECATED_NODE_LABELS[key]}")
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        warnings.append(
            "spec.terminationGracePeriodSeconds: must be >= 0; negative values are "
            "invalid and will be treated as 1"
        )
    return warnings
