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

It also writes ``http/openapi_components.json``, the OpenAPI v3 schemas of the kinds' types,
from the same models and the descriptions and required fields of ``openapi_docs.json``.

Run: ``python scripts/gen_schemas.py`` (needs ``kubernetes``; rewrites the JSON files).
``python scripts/gen_schemas.py --docs DEFINITIONS.json`` first refreshes ``openapi_docs.json``
from kube's 1.32 definitions: ``kubernetes_validate/kubernetes-json-schema/v1.32.0-local/
_definitions.json`` in the kubernetes-validate package (``pip download kubernetes-validate``;
a wheel is a zip).
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
    KINDS_DIR / "events" / "events_v1_schema.json": "EventsV1Event",
    KINDS_DIR / "leases" / "lease_schema.json": "V1Lease",
}
# a root model's API group, where it is not the core group; every root's version is v1
GROUPS = {"EventsV1Event": "events.k8s.io", "V1Lease": "coordination.k8s.io"}
# models of another package than core/v1 that the client does not prefix with it
PACKAGES = {"V1Lease": "io.k8s.api.coordination.v1", "V1LeaseSpec": "io.k8s.api.coordination.v1"}

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
    ("EventsV1Event", "eventTime"): "microtime",
    ("EventsV1EventSeries", "lastObservedTime"): "microtime",
    ("V1LeaseSpec", "acquireTime"): "microtime",
    ("V1LeaseSpec", "renewTime"): "microtime",
}

MODEL_PREFIXES = ("CoreV1", "EventsV1", "V1")  # longest first: "V1" is a prefix of neither
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
    if client_type.startswith(MODEL_PREFIXES):
        return client_type
    raise ValueError(f"unhandled client type {client_type!r}")


def referenced_models(token: str) -> list[str]:
    return re.findall(r"(?:CoreV1|EventsV1|V1)\w+", token)


def go_name(model: str) -> str:
    """The Go type's name: the client prefixes it with its package (``CoreV1Event``)."""
    for prefix in MODEL_PREFIXES:
        if model.startswith(prefix):
            return model.removeprefix(prefix)
    return model


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
        types[name] = {"go": go_name(name), "fields": fields}
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


# --- OpenAPI v3 component schemas (what ``kubectl explain`` reads) ---------------------------

OPENAPI_OUT = KINDS_DIR.parent / "http" / "openapi_components.json"
# kube's documentation of the types: each definition's description, its fields' descriptions and
# its required fields, as kube-apiserver 1.32 publishes them. The client's models lose the
# description of every field whose type is another model, and which fields are required, so
# they come from the 1.32 definitions instead (``--docs``, below).
DOCS = Path(__file__).resolve().with_name("openapi_docs.json")
META_MODELS = {
    "V1ObjectMeta", "V1ManagedFieldsEntry", "V1OwnerReference",
    "V1LabelSelector", "V1LabelSelectorRequirement",
}  # fmt: skip
CORE, EVENTS, META = "io.k8s.api.core.v1", "io.k8s.api.events.v1", "io.k8s.apimachinery.pkg.apis.meta.v1"
# Fields of a struct type, not a pointer, in Go besides metadata, a kind's spec and status, and
# required ones: kube-openapi gives them ``"default": {}`` (a pointer may be absent, a struct is
# always there, empty). The client's models do not say which fields are pointers; these were
# read in k8s.io/api's types.go.
STRUCT_FIELDS = {
    ("V1Container", "resources"),
    ("V1EphemeralContainer", "resources"),
    ("V1ContainerStatus", "state"),
    ("V1ContainerStatus", "lastState"),
    ("CoreV1Event", "source"),
    ("EventsV1Event", "deprecatedSource"),
    ("EventsV1Event", "regarding"),
    ("V1NodeDaemonEndpoints", "kubeletEndpoint"),
    ("V1NodeStatus", "daemonEndpoints"),
    ("V1NodeStatus", "nodeInfo"),
    ("V1PersistentVolumeClaimSpec", "resources"),
}
_REF = "#/components/schemas/"
SCALAR_COMPONENTS = {
    f"{META}.Time": {"type": "string", "format": "date-time",
                     "description": "Time is a wrapper around time.Time, serialized as RFC 3339."},
    f"{META}.MicroTime": {"type": "string", "format": "date-time",
                          "description": "MicroTime is version of Time with microsecond level precision."},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string",
        "description": "Quantity is a fixed-point representation of a number (e.g. 100m, 1Gi)."},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string",
        "x-kubernetes-int-or-string": True,
        "description": "IntOrString is a type that can hold an int32 or a string."},
}  # fmt: skip
_SCALAR_SCHEMAS: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "int32": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "any": {"type": "object"},
    "time": {"$ref": f"{_REF}{META}.Time"},
    "microtime": {"$ref": f"{_REF}{META}.MicroTime"},
    "quantity": {"$ref": f"{_REF}io.k8s.apimachinery.pkg.api.resource.Quantity"},
    "intorstring": {"$ref": f"{_REF}io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
}
_ZEROS: dict[str, Any] = {"string": "", "bool": False, "int32": 0, "int64": 0}


def definition_name(model: str) -> str:
    """kube's name of a model's definition (``io.k8s.api.core.v1.PodSpec``)."""
    if model in META_MODELS:
        return f"{META}.{go_name(model)}"
    if model in PACKAGES:
        return f"{PACKAGES[model]}.{go_name(model)}"
    return f"{EVENTS if model.startswith('EventsV1') else CORE}.{go_name(model)}"


def _field_schema(token: str, *, value: bool = False, description: str = "") -> dict[str, Any]:
    """A field's schema as kube-openapi writes it in v3. ``value``: a Go value, not a pointer
    (required fields, list items and map values are), which has a default: its type's zero,
    ``{}`` for a struct (time, quantity and int-or-string have their own schema, no default). A
    reference with anything beside it is ``allOf: [$ref]``: OpenAPI 3.0 ignores a ``$ref``'s
    siblings."""
    if token.startswith("[]"):
        schema: dict[str, Any] = {"type": "array", "items": _field_schema(token[2:], value=True)}
    elif token.startswith("map[string]"):
        schema = {"type": "object", "additionalProperties": _field_schema(token[11:], value=True)}
    elif token in _SCALAR_SCHEMAS:
        schema = dict(_SCALAR_SCHEMAS[token])
        if value and token in _ZEROS:
            schema["default"] = _ZEROS[token]
    else:
        schema = {"$ref": _REF + definition_name(token)}
        if value:
            schema["default"] = {}
    if description:
        schema["description"] = description
    if "$ref" in schema and len(schema) > 1:
        schema = {"allOf": [{"$ref": schema.pop("$ref")}], **schema}
    return schema


def description_of(cls: Any, attr: str) -> str:
    """The field's description from the client's generated property docstring."""
    doc = getattr(cls, attr).__doc__ or ""
    lines = [line.replace("# noqa: E501", "").strip() for line in doc.splitlines()[1:]]
    text = []
    for line in lines:
        if line.startswith(":return:"):
            break
        text.append(line)
    return " ".join(part for part in text if part).strip()


def build_openapi(models: Any = None, docs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Component schemas of every kind's types, each root tagged with its group-version-kind."""
    if models is None:
        from kubernetes.client import models  # only needed when (re)generating
    if docs is None:
        docs = json.loads(DOCS.read_text(encoding="utf-8"))
    components: dict[str, Any] = dict(SCALAR_COMPONENTS)
    for root_model, schema in ((root, build_schema(root, models)) for root in SCHEMAS.values()):
        for model, body in schema["types"].items():
            name = definition_name(model)
            doc = docs.get(name, {})
            cls = getattr(models, model)
            python_names = {json_name: attr for attr, json_name in cls.attribute_map.items()}
            required = doc.get("required") or []
            properties = {}
            for field, token in body["fields"].items():
                value = field in required or (model, field) in STRUCT_FIELDS or field == "metadata"
                value = value or (model == root_model and field in ("spec", "status"))
                text = doc.get("properties", {}).get(field) or description_of(cls, python_names[field])
                properties[field] = _field_schema(token, value=value, description=text)
            definition: dict[str, Any] = {"type": "object", "properties": dict(sorted(properties.items()))}
            if doc.get("description"):
                definition["description"] = doc["description"]
            if required:
                definition["required"] = required
            if model == root_model:
                kind = body["go"]
                group = GROUPS.get(model, "")
                definition["x-kubernetes-group-version-kind"] = [
                    {"group": group, "kind": kind, "version": "v1"}
                ]
            components[name] = definition
    return dict(sorted(components.items()))


def extract_docs(definitions: dict[str, Any], models: Any = None) -> dict[str, Any]:
    """What ``DOCS`` keeps of kube's definitions (the ``$defs`` of a JSON schema made from
    kube-apiserver's OpenAPI, as the kubernetes-validate package ships them): for each type the
    kinds use, its description, its fields' descriptions and its required fields."""
    if models is None:
        from kubernetes.client import models  # only needed when (re)generating
    docs: dict[str, Any] = {}
    for root in SCHEMAS.values():
        for model in build_schema(root, models)["types"]:
            name = definition_name(model)
            kube = definitions[name]  # a KeyError: a definition name kube does not have
            doc: dict[str, Any] = {"description": kube.get("description", "")}
            doc["properties"] = {
                field: prop["description"]
                for field, prop in sorted((kube.get("properties") or {}).items())
                if prop.get("description")
            }
            if kube.get("required"):
                doc["required"] = kube["required"]
            docs[name] = doc
    return dict(sorted(docs.items()))


def render_openapi(components: dict[str, Any]) -> str:
    """One definition per line, keys in kube's (alphabetical) order."""
    lines = ["{"]
    items = list(components.items())
    for i, (name, body) in enumerate(items):
        sep = "," if i < len(items) - 1 else ""
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False, sort_keys=True)
        lines.append(f"{json.dumps(name)}: {text}{sep}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--docs"]:  # refresh DOCS from kube's definitions, then regenerate
        definitions = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
        docs = extract_docs(definitions.get("$defs") or definitions.get("definitions") or definitions)
        DOCS.write_text(render_openapi(docs), encoding="utf-8")
        print(f"wrote {DOCS}")
    for path, schema in build_schemas().items():
        path.write_text(render(schema), encoding="utf-8")
        print(f"wrote {path}")
    OPENAPI_OUT.write_text(render_openapi(build_openapi()), encoding="utf-8")
    print(f"wrote {OPENAPI_OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
