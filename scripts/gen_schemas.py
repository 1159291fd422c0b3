"""Generate each kind's ``<kind>_schema.json`` from the ``kubernetes`` Python client's models.

The request decoder must know every field of a kind (to report unknown ones) and each field's
JSON type (to reject wrong ones as kube-apiserver's Go decoder does). The official client's
generated models carry exactly that (``openapi_types`` + ``attribute_map``), so we walk them from
the kind's root model (``V1Pod``, ``V1Namespace``) once and commit the result; the server never
imports the client at runtime.

The client flattens a few Go types, which we restore by name (``OVERRIDES``):

* ``resource.Quantity`` is typed ``str`` / ``dict(str, str)`` but Go also accepts JSON numbers;
* ``intstr.IntOrString`` is typed ``object`` (probe ports);
* the OpenAPI ``format`` (int32 vs int64) is dropped, so the int64 fields are listed here
  (it only shows in overflow errors and in the Go type printed by a decode error).

Run: ``python scripts/gen_schemas.py`` (needs ``kubernetes``; rewrites the JSON files).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

KINDS_DIR = Path(__file__).resolve().parent.parent / "watchcache" / "kinds"
# the file each kind's schema goes to, and the client model it is walked from
SCHEMAS = {
    KINDS_DIR / "pods" / "pod_schema.json": "V1Pod",
    KINDS_DIR / "namespaces" / "namespace_schema.json": "V1Namespace",
    KINDS_DIR / "events" / "event_schema.json": "CoreV1Event",
    KINDS_DIR / "nodes" / "node_schema.json": "V1Node",
}

# (model, JSON field) → our type token, where the client's type loses Go information.
QUANTITY_MAP = "map[string]quantity"
OVERRIDES: dict[tuple[str, str], str] = {
    ("V1ResourceRequirements", "limits"): QUANTITY_MAP,
    ("V1ResourceRequirements", "requests"): QUANTITY_MAP,
    ("V1VolumeResourceRequirements", "limits"): QUANTITY_MAP,
    ("V1VolumeResourceRequirements", "requests"): QUANTITY_MAP,
    ("V1PodSpec", "overhead"): QUANTITY_MAP,
    ("V1ContainerStatus", "allocatedResources"): QUANTITY_MAP,
    ("V1EmptyDirVolumeSource", "sizeLimit"): "quantity",
    ("V1ResourceFieldSelector", "divisor"): "quantity",
    ("V1HTTPGetAction", "port"): "intorstring",
    ("V1TCPSocketAction", "port"): "intorstring",
    ("V1ObjectMeta", "generation"): "int64",
    ("V1ObjectMeta", "deletionGracePeriodSeconds"): "int64",
    ("V1PodSpec", "activeDeadlineSeconds"): "int64",
    ("V1PodSpec", "terminationGracePeriodSeconds"): "int64",
    ("V1Probe", "terminationGracePeriodSeconds"): "int64",
    ("V1SecurityContext", "runAsUser"): "int64",
    ("V1SecurityContext", "runAsGroup"): "int64",
    ("V1PodSecurityContext", "runAsUser"): "int64",
    ("V1PodSecurityContext", "runAsGroup"): "int64",
    ("V1PodSecurityContext", "fsGroup"): "int64",
    ("V1PodSecurityContext", "supplementalGroups"): "[]int64",
    ("V1LinuxContainerUser", "uid"): "int64",
    ("V1LinuxContainerUser", "gid"): "int64",
    ("V1LinuxContainerUser", "supplementalGroups"): "[]int64",
    ("V1Toleration", "tolerationSeconds"): "int64",
    ("V1ServiceAccountTokenProjection", "expirationSeconds"): "int64",
    ("V1SleepAction", "seconds"): "int64",
    ("V1NodeStatus", "capacity"): QUANTITY_MAP,
    ("V1NodeStatus", "allocatable"): QUANTITY_MAP,
    ("V1ContainerImage", "sizeBytes"): "int64",
    ("CoreV1Event", "eventTime"): "microtime",
    ("CoreV1EventSeries", "lastObservedTime"): "microtime",
}

_SCALARS = {"str": "string", "bool": "bool", "int": "int32", "datetime": "time", "object": "any"}
_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(str, (.+)\)$")


def translate(client_type: str) -> str:
    """Map a client type string (``list[V1Container]``) to our token (``[]V1Container``)."""
    if m := _LIST.match(client_type):
        return "[]" + translate(m.group(1))
    if m := _DICT.match(client_type):
        return "map[string]" + translate(m.group(1))
    if client_type in _SCALARS:
        return _SCALARS[client_type]
    if client_type.startswith(("V1", "CoreV1")):
        return client_type
    raise ValueError(f"unhandled client type {client_type!r}")


def referenced_models(token: str) -> list[str]:
    return re.findall(r"(?:CoreV1|V1)\w+", token)


def build_schema(root: str, models: Any = None) -> dict[str, Any]:
    """Walk every model reachable from ``root``; pure, so the sync test can re-run it."""
    if models is None:
        from kubernetes.client import models  # only needed when (re)generating
    types: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in types:
            continue
        cls = getattr(models, name)
        fields: dict[str, str] = {}
        for attr, client_type in cls.openapi_types.items():
            json_name = cls.attribute_map[attr]
            token = OVERRIDES.get((name, json_name)) or translate(client_type)
            fields[json_name] = token
            todo.extend(referenced_models(token))
        types[name] = {"go": name.removeprefix("V1").removeprefix("CoreV1"), "fields": fields}
    return {"root": root, "types": dict(sorted(types.items()))}


def build_schemas(models: Any = None) -> dict[Path, dict[str, Any]]:
    """Every kind's schema; every override must still match a field of one of them."""
    schemas = {path: build_schema(root, models) for path, root in SCHEMAS.items()}
    known = {(name, f) for s in schemas.values() for name, body in s["types"].items() for f in body["fields"]}
    unused = [key for key in OVERRIDES if key not in known]
    if unused:
        raise ValueError(f"overrides no longer match the client: {unused}")
    return schemas


def render(schema: dict[str, Any]) -> str:
    """One type per line: compact, yet a client upgrade shows as a readable diff."""
    lines = [f'{{"root": {json.dumps(schema["root"])}, "types": {{']
    items = list(schema["types"].items())
    for i, (name, body) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(name)}: {json.dumps(body, separators=(',', ':'))}{sep}")
    lines.append("}}")
    return "\n".join(lines) + "\n"


def main() -> int:
    for path, schema in build_schemas().items():
        path.write_text(render(schema), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
