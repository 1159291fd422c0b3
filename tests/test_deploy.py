"""The deployment files hold together: compose.yaml and deploy/kubernetes/ use flags `serve`
has, check health where the server answers it, and name each other consistently;
``docker compose config`` accepts compose.yaml where docker compose is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from watchcache.cli import serve

from .watch_support import RawWatch

ROOT = Path(__file__).resolve().parent.parent
KUBE = ROOT / "deploy" / "kubernetes"
SERVE_FLAGS = {opt for param in serve.params for opt in param.opts}


def _flags(args: list[str]) -> set[str]:
    return {arg.split("=", 1)[0] for arg in args if arg.startswith("--")}


def _manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((KUBE / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [doc for doc in yaml.safe_load_all((KUBE / name).read_text()) if doc]
    return docs


def _one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def test_compose_runs_replicas_the_balancer_checks_on_readyz() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    watchcache = services["watchcache"]
    assert _flags(watchcache["command"]) <= SERVE_FLAGS
    for variable in watchcache["environment"]:  # click's auto_envvar_prefix: WATCHCACHE_<FLAG>
        assert "--" + variable.removeprefix("WATCHCACHE_").lower().replace("_", "-") in SERVE_FLAGS
    assert "/readyz" in " ".join(watchcache["healthcheck"]["test"])
    assert services["redis"]["command"][-2:] == ["--appendfsync", "always"]
    haproxy = (ROOT / "deploy" / "haproxy.cfg").read_text()
    assert "option httpchk GET /readyz" in haproxy
    slots = int(re.search(r"server-template wc (\d+) watchcache:8080", haproxy).group(1))  # type: ignore[union-attr]
    assert slots == watchcache["deploy"]["replicas"]
    mount = services["balancer"]["volumes"][0].split(":")[0]
    assert (ROOT / mount).resolve() == (ROOT / "deploy" / "haproxy.cfg").resolve()


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="docker compose is not installed here",
)
def test_docker_compose_accepts_compose_yaml() -> None:
    done = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_kubernetes_replicas_probe_readiness_and_find_redis_through_sentinel() -> None:
    docs = _manifests()
    deployment = _one(docs, "Deployment", "watchcache")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"] == labels
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = dict(arg.split("=", 1) for arg in container["args"])
    assert set(args) <= SERVE_FLAGS
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert float(args["--shutdown-delay-seconds"]) + 5 < grace  # the drain ends before SIGKILL
    assert _one(docs, "PodDisruptionBudget", "watchcache")["spec"]["selector"]["matchLabels"] == labels
    assert _one(docs, "Service", "watchcache")["spec"]["selector"] == labels
    mounted = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    secret = _one(docs, "Secret", mounted["tokens"]["secret"]["secretName"])
    assert args["--token-file"].rsplit("/", 1)[1] in secret["stringData"]

    sentinels = _one(docs, "StatefulSet", "redis-sentinel")
    expected = [f"redis-sentinel-{i}.{sentinels['spec']['serviceName']}:26379"
                for i in range(sentinels["spec"]["replicas"])]  # fmt: skip
    assert args["--redis-sentinel"].split(",") == expected
    script = sentinels["spec"]["template"]["spec"]["containers"][0]["args"][0]
    monitored = re.search(r"sentinel monitor (\S+) (\S+) 6379 (\d+)", script)
    assert monitored is not None and monitored.group(1) == args["--redis-master"]
    redis = _one(docs, "StatefulSet", "redis")
    assert monitored.group(2) == f"redis-0.{redis['spec']['serviceName']}"
    assert int(monitored.group(3)) <= sentinels["spec"]["replicas"] // 2 + 1  # a quorum that can be met
    assert int(args["--min-replicas-acked"]) < redis["spec"]["replicas"]


@pytest.mark.e2e
def test_the_grafana_dashboard_reads_metrics_the_server_exports(private_server: Any) -> None:
    dashboard = orjson.loads((ROOT / "deploy" / "grafana" / "watchcache-dashboard.json").read_bytes())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    wanted = {name for expr in exprs for name in re.findall(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{", expr)}
    watch = RawWatch(private_server.url, "/api/v1/pods", {"watch": "1"})  # so watches have a sample
    with private_server.client() as api:
        api.get("/api/v1/pods")  # and requests
        text = api.get("/metrics").text
    watch.close()
    exported = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    assert wanted and wanted <= exported, wanted - exported
