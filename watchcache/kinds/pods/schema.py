"""The v1 Pod schema the decoder checks bodies against (data: ``pod_schema.json``)."""

from pathlib import Path

from watchcache.machinery.schema import load_object_schema

POD_SCHEMA = load_object_schema(Path(__file__).with_name("pod_schema.json"), "Pod")
