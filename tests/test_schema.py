"""The committed kind schemas match the installed client, and carry the Go quirks we rely on."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from watchcache.kinds.pods.schema import POD_SCHEMA
from watchcache.machinery import schema

ROOT = Path(__file__).resolve().parent.parent


def _generator():
    spec = importlib.util.spec_from_file_location("gen_schemas", ROOT / "scripts/gen_schemas.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


POD_SCHEMA_FILE = ROOT / "watchcache/kinds/pods/pod_schema.json"


def test_committed_schemas_are_in_sync_with_installed_client():
    pytest.importorskip("kubernetes")
    gen = _generator()
    schemas = gen.build_schemas()
    assert POD_SCHEMA_FILE in schemas
    for path, built in schemas.items():
        assert gen.render(built) == path.read_text(encoding="utf-8"), path
    assert gen.render_openapi(gen.build_openapi()) == gen.OPENAPI_OUT.read_text(encoding="utf-8")


def test_schema_file_is_plain_json_with_a_root():
    raw = json.loads(POD_SCHEMA_FILE.read_text(encoding="utf-8"))
    assert raw["root"] == "V1Pod"
    assert raw["types"]["V1Pod"]["fields"]["spec"] == "V1PodSpec"


@pytest.mark.parametrize(
    ("struct", "field", "kind", "go"),
    [
        ("V1PodSpec", "containers", schema.LIST, "[]v1.Container"),
        ("V1ObjectMeta", "labels", schema.MAP, "map[string]string"),
        ("V1ObjectMeta", "creationTimestamp", schema.TIME, "v1.Time"),
        ("V1ObjectMeta", "generation", schema.INT64, "int64"),
        ("V1ContainerPort", "containerPort", schema.INT32, "int32"),
        ("V1ResourceRequirements", "limits", schema.MAP, "v1.ResourceList"),
        ("V1EmptyDirVolumeSource", "sizeLimit", schema.QUANTITY, "resource.Quantity"),
        ("V1HTTPGetAction", "port", schema.INT_OR_STRING, "intstr.IntOrString"),
        ("V1TCPSocketAction", "port", schema.INT_OR_STRING, "intstr.IntOrString"),
        ("V1ManagedFieldsEntry", "fieldsV1", schema.ANY, "interface {}"),
        ("V1PodSecurityContext", "supplementalGroups", schema.LIST, "[]int64"),
        ("V1Pod", "spec", schema.STRUCT, "v1.PodSpec"),
    ],
)
def test_compiled_field_kinds_and_go_types(struct, field, kind, go):
    f = POD_SCHEMA.structs[struct].fields[field]
    assert (f.kind, f.go) == (kind, go)


def test_go_struct_names_drop_the_client_prefix():
    assert POD_SCHEMA.structs["V1HTTPGetAction"].go == "HTTPGetAction"
    assert POD_SCHEMA.root.go == "Pod"


def test_translate_client_types():
    gen = _generator()
    assert gen.translate("list[V1Container]") == "[]V1Container"
    assert gen.translate("dict(str, str)") == "map[string]string"
    assert gen.translate("datetime") == "time"
    assert gen.translate("object") == "any"
    with pytest.raises(ValueError):
        gen.translate("float")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00+00:00", "2024-05-01T10:00:00Z"),
        ("2024-05-01T12:30:00.123456+02:30", "2024-05-01T10:00:00Z"),
        ("2024-05-01T10:00:00.999Z", "2024-05-01T10:00:00Z"),
        ("2024-05-01T00:30:00-01:00", "2024-05-01T01:30:00Z"),
        ("2024-05-01T1:00:00Z", "2024-05-01T01:00:00Z"),  # Go's hour element takes one digit
        ("0001-01-01T00:00:00Z", None),  # the zero time serializes as null
    ],
)
def test_time_normalised_to_utc_seconds(text, expected):
    assert schema.normalize_time(text) == expected


LAYOUT = '"2006-01-02T15:04:05Z07:00"'


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("yesterday", f'parsing time "yesterday" as {LAYOUT}: cannot parse "yesterday" as "2006"'),
        ("2024-05-01", f'parsing time "2024-05-01" as {LAYOUT}: cannot parse "" as "T"'),
        (
            "2024-05-01 10:00:00Z",
            f'parsing time "2024-05-01 10:00:00Z" as {LAYOUT}: cannot parse " 10:00:00Z" as "T"',
        ),
        (
            "2024-05-01T10:00:00",
            f'parsing time "2024-05-01T10:00:00" as {LAYOUT}: cannot parse "" as "Z07:00"',
        ),
        ("2024-13-01T10:00:00Z", 'parsing time "2024-13-01T10:00:00Z": month out of range'),
        ("2024-02-30T10:00:00Z", 'parsing time "2024-02-30T10:00:00Z": day out of range'),
        ("2024-05-01T24:00:00Z", 'parsing time "2024-05-01T24:00:00Z": hour out of range'),
        ("2024-05-01T10:00:00Zx", 'parsing time "2024-05-01T10:00:00Zx": extra text: "x"'),
    ],
)
def test_time_errors_read_like_go(text, error):
    with pytest.raises(schema.SchemaError) as exc:
        schema.normalize_time(text)
    assert exc.value.detail == error


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("100m", "100m"),
        ("1Gi", "1Gi"),
        (2, "2"),
        ("1e3", "1e3"),
        ("+1.5", "+1.5"),
        (schema.GoFloat("0.5"), "0.5"),
    ],
)
def test_quantity_accepts_strings_and_numbers(value, expected):
    assert schema.normalize_quantity(value) == expected


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("abc", schema.QUANTITY_FORMAT_ERROR),
        ("1.2.3", schema.QUANTITY_FORMAT_ERROR),
        (True, schema.QUANTITY_FORMAT_ERROR),
        ({}, schema.QUANTITY_FORMAT_ERROR),
        ("", schema.QUANTITY_FORMAT_ERROR),
        ("1mm", schema.QUANTITY_SUFFIX_ERROR),
    ],
)
def test_quantity_errors(value, error):
    with pytest.raises(schema.SchemaError) as exc:
        schema.normalize_quantity(value)
    assert exc.value.detail == error
