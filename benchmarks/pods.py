"""Realistic ~3 KB pods: labels, several containers with env, resources, probes, volumes.

Pods are spread over namespaces (``ns-<i>``), nodes (``node-<i>``) and apps (``app-<i>``), so
selective lists and node-scoped watches see a realistic fraction of them.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson

NAMESPACES = 10
NODES = 100
APPS = 20
NAME_PLACEHOLDER = "@@NAME@@"

Pod = dict[str, Any]


def namespace_of(i: int) -> str:
    return f"ns-{i % NAMESPACES}"


def node_of(i: int) -> str:
    return f"node-{(i * 7) % NODES}"


def app_of(i: int) -> str:
    return f"app-{i % APPS}"


def _container(name: str, image: str, port: int, env_count: int) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c"],
        "args": [f"exec /usr/local/bin/{name} --port={port} --log-level=info --metrics"],
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": [
            {"name": f"{name.upper()}_SETTING_{k}", "value": f"value-{k}-{name}"} for k in range(env_count)
        ]
        + [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "500m", "memory": "512Mi"},
        },
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 10},
        "volumeMounts": [{"name": "config", "mountPath": f"/etc/{name}", "readOnly": True}],
    }


def pod_body(name: str, i: int, *, node: str | None = None) -> Pod:
    """The body a client would POST (no server-owned fields)."""
    app = app_of(i)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {
                "app": app,
                "tier": ("frontend", "backend", "cache")[i % 3],
                "release": f"r{i % 5}",
                "pod-template-hash": f"{(i * 2654435761) % 16**10:010x}",
            },
            "annotations": {"bench/owner": "watchcache-benchmarks", "bench/index": str(i)},
        },
        "spec": {
            "nodeName": node or node_of(i),
            "serviceAccountName": "default",
            "containers": [
                _container("main", f"registry.example.com/{app}/main:1.{i % 9}.0", 8080, 6),
                _container("sidecar", "registry.example.com/mesh/proxy:2.3.1", 15001, 4),
                _container("metrics", "registry.example.com/obs/exporter:0.9.4", 9100, 2),
            ],
            "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}}],
            "tolerations": [{"key": "dedicated", "operator": "Equal", "value": app, "effect": "NoSchedule"}],
        },
    }


def body_template(i: int) -> bytes:
    """A POST body whose name is ``NAME_PLACEHOLDER`` (clients substitute it per request)."""
    return orjson.dumps(pod_body(NAME_PLACEHOLDER, i))


def stored_pod(name: str, namespace: str, i: int, *, node: str | None = None) -> Pod:
    """The pod as the server would store it (defaults, uid, timestamps): for Store.write."""
    from watchcache.kinds.pods.defaults import apply_defaults
    from watchcache.kinds.pods.strategy import prepare_create

    body = pod_body(name, i, node=node)
    apply_defaults(body)
    pod, _ = prepare_create(body, namespace, now=datetime.now(UTC))
    return pod


def renamed(pod: Pod, name: str, uid_suffix: int) -> Pod:
    """A copy of a stored pod under another name (fast: no validation)."""
    out = copy.deepcopy(pod)
    out["metadata"]["name"] = name
    out["metadata"]["uid"] = f"{out['metadata']['uid'][:-12]}{uid_suffix:012d}"
    return out


def preload_pods(count: int, templates: int = 30) -> list[tuple[str, Pod]]:
    """``count`` stored pods ``pod-<i>`` spread over namespaces, nodes and apps (keys, pods).

    Built from a few validated templates (validation is slow) with name, namespace, node and
    app label set per pod.
    """
    bases = [stored_pod(f"pod-{i}", namespace_of(i), i) for i in range(templates)]
    out = []
    for i in range(count):
        pod = renamed(bases[i % templates], f"pod-{i}", i)
        ns = namespace_of(i)
        pod["metadata"]["namespace"] = ns
        pod["metadata"]["labels"]["app"] = app_of(i)
        pod["spec"]["nodeName"] = node_of(i)
        out.append((f"{ns}/pod-{i}", pod))
    return out
