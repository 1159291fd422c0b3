"""``watchcache load``: a clusterloader2-style density run against any server.

It creates pods at a rate across namespaces (optionally with a simulated cluster of its own to
run them), waits for them to run, deletes them, and measures what clusterloader2 measures, from
its own informer's events: pod startup latency (create → scheduled → running, and create → first
watch event), API call latency per (resource, verb, scope) against the Kubernetes SLOs, and the
server's CPU and memory as its ``/metrics`` tell. The report is PerfData-style JSON, plots and an
HTML page; thresholds make a breach exit 1, as kube-burner does.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import math
import re
import resource
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from watchcache.simulator.client import ApiError, Client, Object
from watchcache.simulator.cluster import NodeShape
from watchcache.simulator.simulate import Options, Simulator

log = logging.getLogger("watchcache.load")

RUN_LABEL = "load.watchcache.io/run"
# The API call latency SLOs (kubernetes/community sig-scalability slos): p99 over the run, of
# calls on single objects (mutating, get) and of lists by scope; deletecollection has none
SLO_SECONDS = {"mutating": 1.0, "get": 1.0, "list namespace": 5.0, "list cluster": 30.0}
MUTATING = ("create", "update", "patch", "delete")
METRICS_EVERY_S = 2.0


@dataclass(frozen=True, slots=True)
class LoadOptions:
    nodes: int = 10  # nodes of the density shape (and of the simulated cluster)
    pods_per_node: int = 30
    nodes_per_namespace: int = 100
    qps: float = 100.0  # pod creates per second
    simulate: bool = False  # run a simulated cluster of ``nodes`` in this process
    timeout: float = 600.0  # for the pods to run, and again to go
    hold: float = 0.0  # seconds the pods are left running before the deletion (a steady phase)
    report: Path = Path("load-report")
    thresholds: dict[str, float] = field(default_factory=dict)  # "pod_startup_p99" -> seconds

    @property
    def pods(self) -> int:
        return self.nodes * self.pods_per_node

    @property
    def namespaces(self) -> int:
        return max(1, math.ceil(self.nodes / self.nodes_per_namespace))


def percentiles(values: list[float]) -> dict[str, float]:
    """Perc50/90/99 in ms, nearest rank (what clusterloader2 reports)."""
    if not values:
        return {"Perc50": 0.0, "Perc90": 0.0, "Perc99": 0.0}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))] * 1e3, 3)

    return {"Perc50": rank(50), "Perc90": rank(90), "Perc99": rank(99)}


_API_PATH = re.compile(r"^/apis?/(?:[^/]+/)?v1(?:/namespaces/(?P<ns>[^/]+))?/(?P<rest>.*)$")


def call_kind(method: str, path: str) -> tuple[str, str, str]:
    """(resource, verb, scope) of a request, as the apiserver's latency metrics label it."""
    match = _API_PATH.match(path.split("?", 1)[0])
    if match is None:
        return ("", method.lower(), "")
    ns, parts = match.group("ns"), match.group("rest").split("/")
    if not parts[0]:  # /api/v1/namespaces/NS itself
        parts, ns = ["namespaces", ns or ""], None
    named = len(parts) > 1
    resource_name = parts[0] + (f"/{parts[2]}" if len(parts) > 2 else "")
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method)
    if verb is None:
        verb = (
            ("get" if named else "list") if method == "GET" else ("delete" if named else "deletecollection")
        )
    if method == "POST" and len(parts) > 2:
        scope = "resource"
    else:
        scope = "resource" if named else ("namespace" if ns else "cluster")
    return resource_name, verb, scope


def slo_class(verb: str, scope: str) -> str | None:
    """Which SLO a call falls under (None: no SLO covers it, as deletecollection)."""
    if verb in MUTATING:
        return "mutating"
    if verb == "get":
        return "get"
    if verb == "list":
        return "list namespace" if scope in ("namespace", "resource") else "list cluster"
    return None


@dataclass(slots=True)
class PodTimes:
    created: float  # the create was sent (monotonic seconds)
    answered: float | None = None  # its answer came
    seen: float | None = None  # first watch event
    scheduled: float | None = None  # first seen with a node
    running: float | None = None  # first seen Running with every container ready
    deleting: float | None = None
    gone: float | None = None


def _running(pod: Object) -> bool:
    status = pod.get("status") or {}
    ready = [c.get("ready") for c in status.get("containerStatuses") or []]
    return status.get("phase") == "Running" and bool(ready) and all(ready)


class LoadRun:
    def __init__(self, client: Client, opts: LoadOptions) -> None:
        self.client, self.opts = client, opts
        self.run_id = secrets.token_hex(3)
        self.namespaces = [f"load-{self.run_id}-{i}" for i in range(opts.namespaces)]
        self.pods: dict[str, PodTimes] = {}
        self.calls: dict[tuple[str, str, str], list[float]] = {}
        self.server_samples: list[tuple[float, float, float]] = []  # (t, cpu seconds, rss bytes)
        self.client_rss: list[tuple[float, float]] = []  # (t, this process's RSS bytes)
        self.phase_marks: dict[str, float] = {}  # "running", "deleting": when each began
        self.running = self.gone = 0  # pods seen running, and gone: kept by the watch, not recounted
        self.started = time.monotonic()
        client.observer = self.observe

    def observe(self, method: str, path: str, seconds: float) -> None:
        self.calls.setdefault(call_kind(method, path), []).append(seconds)

    # ---- the run ------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        simulator = None
        if self.opts.simulate:
            options = Options(
                nodes=self.opts.nodes,
                node_prefix=f"load-{self.run_id}",
                shape=NodeShape(pods=self.opts.pods_per_node + 10),
                namespaces=tuple(self.namespaces),
                log_interval=0,
                events=False,
            )
            sim = Simulator(self.client, options)
            await sim.register_nodes()
            simulator = asyncio.ensure_future(sim.run_registered())
        sampler = asyncio.ensure_future(self.sample_server())
        watcher = asyncio.ensure_future(self.watch())
        try:
            for ns in self.namespaces:
                await self.client.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
            await self.phases()
            await self.sample_once()  # the run's last figures
        finally:
            for task in (watcher, sampler, simulator):
                if task is not None:
                    task.cancel()
            with contextlib.suppress(ApiError):
                for ns in self.namespaces:
                    await self.client.call("DELETE", f"/api/v1/namespaces/{ns}")
        return self.report()

    async def phases(self) -> None:
        total = self.opts.pods
        columns = (
            TextColumn("{task.description:>10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, transient=False) as bars:
            created = bars.add_task("created", total=total)
            running = bars.add_task("running", total=total)
            gone = bars.add_task("deleted", total=total)

            async def follow(task: Any, count: Any) -> None:
                while not bars.tasks[task].finished:
                    bars.update(task, completed=count())
                    await asyncio.sleep(0.2)

            followers = [
                asyncio.ensure_future(follow(running, lambda: self.running)),
                asyncio.ensure_future(follow(gone, lambda: self.gone)),
            ]
            try:
                await self.create_all(lambda: bars.advance(created))
                await self.wait(lambda: self.running == total, "to run")
                bars.update(running, completed=total)
                self.phase_marks["running"] = time.monotonic() - self.started
                await asyncio.sleep(self.opts.hold)
                self.phase_marks["deleting"] = time.monotonic() - self.started
                await self.delete_all()
                await self.wait(lambda: self.gone == total, "to go")
                bars.update(gone, completed=total)
            finally:
                for f in followers:
                    f.cancel()

    async def create_all(self, advance: Any) -> None:
        """Creates at ``qps``, a few in flight: the i-th is sent at i / qps seconds."""
        limit = asyncio.Semaphore(64)
        start = time.monotonic()

        async def create(i: int) -> None:
            ns = self.namespaces[i % len(self.namespaces)]
            name = f"pod-{i}"
            body = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": {RUN_LABEL: self.run_id}},
                "spec": {"containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}]},
            }
            async with limit:
                times = self.pods[f"{ns}/{name}"] = PodTimes(time.monotonic())
                await self.client.call("POST", f"/api/v1/namespaces/{ns}/pods", body)
                times.answered = time.monotonic()
            advance()

        tasks = []
        for i in range(self.opts.pods):
            delay = start + i / self.opts.qps - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(create(i)))
        await asyncio.gather(*tasks)

    async def delete_all(self) -> None:
        """One deletecollection per namespace, as clusterloader2's cleanup (the kubelets, real or
        simulated, finish each graceful deletion)."""
        moment = time.monotonic()
        for times in self.pods.values():
            times.deleting = moment
        for ns in self.namespaces:
            await self.client.call(
                "DELETE",
                f"/api/v1/namespaces/{ns}/pods",
                params={"labelSelector": f"{RUN_LABEL}={self.run_id}"},
            )

    async def wait(self, done: Any, what: str) -> None:
        deadline = time.monotonic() + self.opts.timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"pods did not {what.removeprefix('to ')} within {self.opts.timeout:g}s")
            await asyncio.sleep(0.05)

    async def watch(self) -> None:
        params = {"labelSelector": f"{RUN_LABEL}={self.run_id}"}
        async for kind, pod in self.client.informer("/api/v1/pods", params):
            meta = pod["metadata"]
            key = f"{meta['namespace']}/{meta['name']}"
            times = self.pods.get(key)
            if times is None:
                continue
            moment = time.monotonic()
            if times.seen is None:
                times.seen = moment
            if kind == "DELETED":
                if times.gone is None:
                    times.gone = moment
                    self.gone += 1
                continue
            if times.scheduled is None and (pod.get("spec") or {}).get("nodeName"):
                times.scheduled = moment
            if times.running is None and _running(pod):
                times.running = moment
                self.running += 1

    async def sample_server(self) -> None:
        """The server's CPU seconds and RSS from its /metrics (the replica this client reaches),
        every few seconds while the run lasts."""
        while True:
            await self.sample_once()
            await asyncio.sleep(METRICS_EVERY_S)

    async def sample_once(self) -> None:
        self.client_rss.append((time.monotonic() - self.started, _own_rss()))
        with contextlib.suppress(Exception):
            text = await self.client.text("/metrics")
            cpu = _metric(text, "process_cpu_seconds_total")
            rss = _metric(text, "process_resident_memory_bytes")
            if cpu is not None and rss is not None:
                self.server_samples.append((time.monotonic() - self.started, cpu, rss))

    # ---- the report ---------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        pods = list(self.pods.values())

        def spans(start: str, end: str) -> list[float]:
            return [
                getattr(p, end) - getattr(p, start)
                for p in pods
                if getattr(p, start) is not None and getattr(p, end) is not None
            ]

        items = []
        for metric, values in (
            ("pod_startup", spans("created", "running")),
            ("create_to_schedule", spans("created", "scheduled")),
            ("schedule_to_run", spans("scheduled", "running")),
            ("create_to_watch", spans("created", "seen")),
            # the create's answer to the watch event of it (0 when the event came first)
            ("watch_lag", [max(0.0, s) for s in spans("answered", "seen")]),
            ("delete_to_gone", spans("deleting", "gone")),
        ):
            items.append(
                {
                    "data": percentiles(values),
                    "unit": "ms",
                    "labels": {"Metric": metric, "Count": str(len(values))},
                }
            )
        slos = []
        for (res, verb, scope), values in sorted(self.calls.items()):
            p = percentiles(values)
            kind = slo_class(verb, scope)
            items.append(
                {
                    "data": p,
                    "unit": "ms",
                    "labels": {
                        "Metric": "api_call_latency",
                        "Resource": res,
                        "Verb": verb,
                        "Scope": scope,
                        "Count": str(len(values)),
                    },
                }
            )
            if kind is None:
                continue
            limit_ms = SLO_SECONDS[kind] * 1e3
            slos.append(
                {
                    "resource": res,
                    "verb": verb,
                    "scope": scope,
                    "slo": kind,
                    "limit_ms": limit_ms,
                    "p99_ms": p["Perc99"],
                    "met": p["Perc99"] <= limit_ms,
                }
            )
        server: dict[str, Any] = {}
        if len(self.server_samples) >= 2:
            (t0, cpu0, _), (t1, cpu1, _) = self.server_samples[0], self.server_samples[-1]
            server = {
                "cpu_seconds": round(cpu1 - cpu0, 3),
                "cpu_util": round((cpu1 - cpu0) / max(t1 - t0, 1e-9), 3),
                "rss_mb": [[round(t, 1), round(r / 2**20, 1)] for t, _, r in self.server_samples],
            }
        usage = resource.getrusage(resource.RUSAGE_SELF)
        client_cpu = usage.ru_utime + usage.ru_stime
        return {
            "version": "v1",
            "dataItems": items,
            "slos": slos,
            "summary": {
                "pods": len(pods),
                "namespaces": len(self.namespaces),
                "qps": self.opts.qps,
                "simulated_nodes": self.opts.nodes if self.opts.simulate else 0,
                "duration_s": round(time.monotonic() - self.started, 1),
                # the first create sent -> the last pod running; the deletion sent -> the last one gone
                "all_running_s": _span([p.created for p in pods], [p.running for p in pods]),
                "all_gone_s": _span([p.deleting for p in pods], [p.gone for p in pods]),
                "client_cpu_seconds": round(client_cpu, 2),
                "client_cpu_ms_per_pod": round(client_cpu * 1e3 / max(len(pods), 1), 2),
                "client_max_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "client_rss_mb": [[round(t, 1), round(r / 2**20, 1)] for t, r in self.client_rss],
                "phases_s": {k: round(v, 1) for k, v in self.phase_marks.items()},
                "requests": self.client.requests,
                "server": server,
            },
        }


def _own_rss() -> float:
    """This process's resident memory now (ru_maxrss is only the peak)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)


def _span(starts: list[float | None], ends: list[float | None]) -> float | None:
    if not starts or None in starts or None in ends:
        return None
    return round(max(e for e in ends if e is not None) - min(s for s in starts if s is not None), 2)


def _metric(text: str, name: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def breaches(report: dict[str, Any], thresholds: dict[str, float]) -> list[str]:
    """What went over: an API SLO, or a ``--threshold`` (``pod_startup_p99=5s``)."""
    found = [
        f"API call latency {s['verb']} {s['resource']} ({s['scope']}): p99 {s['p99_ms']:.0f} ms over "
        f"the {s['slo']} SLO of {s['limit_ms']:.0f} ms"
        for s in report["slos"]
        if not s["met"]
    ]
    by_name = {i["labels"]["Metric"]: i["data"] for i in report["dataItems"] if "Resource" not in i["labels"]}
    for name, limit in thresholds.items():
        metric, _, perc = name.rpartition("_")
        value = by_name.get(metric, {}).get(f"Perc{perc.removeprefix('p')}")
        if value is None:
            found.append(f"--threshold {name}: no such metric")
        elif value > limit * 1e3:
            found.append(f"{metric} {perc}: {value:.0f} ms over the threshold of {limit * 1e3:.0f} ms")
    return found


def write_report(report: dict[str, Any], directory: Path) -> list[Path]:
    """report.json, plots (when matplotlib is there) and summary.html; returns what was written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "report.json"]
    written[0].write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    plot = _plot(report, directory / "latency.png")
    if plot is not None:
        written.append(plot)
    page = directory / "summary.html"
    page.write_text(_html(report, plot.name if plot else None))
    written.append(page)
    return written


def _plot(report: dict[str, Any], path: Path) -> Path | None:
    """The latency and memory plot, or None without matplotlib (``pip install 'watchcache[bench]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("no plots: matplotlib is not installed (pip install 'watchcache[bench]')")
        return None
    pods = [i for i in report["dataItems"] if "Resource" not in i["labels"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [i["labels"]["Metric"] for i in pods]
    for offset, perc in enumerate(("Perc50", "Perc90", "Perc99")):
        left.barh(
            [n + 0.25 * offset for n in range(len(names))], [i["data"][perc] for i in pods], 0.25, label=perc
        )
    left.set_yticks(range(len(names)), names)
    left.set_xlabel("ms")
    left.set_title("pod lifecycle latency")
    left.legend()
    summary = report["summary"]
    for label, rss in (
        ("server", summary["server"].get("rss_mb") or []),
        ("client", summary["client_rss_mb"]),
    ):
        right.plot([t for t, _ in rss], [r for _, r in rss], marker=".", label=label)
    for phase, at in summary.get("phases_s", {}).items():
        right.axvline(at, color="grey", linestyle=":", label=f"{phase} from")
    right.set_xlabel("s since start")
    right.set_ylabel("RSS, MB")
    right.set_title("memory")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _html(report: dict[str, Any], plot: str | None) -> str:
    def table(rows: Iterator[list[str]], head: list[str]) -> str:
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        return "<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + cells + "</table>"

    pods = (
        [
            i["labels"]["Metric"],
            i["labels"]["Count"],
            *(f"{i['data'][p]:.1f}" for p in ("Perc50", "Perc90", "Perc99")),
        ]
        for i in report["dataItems"]
        if "Resource" not in i["labels"]
    )
    slos = (
        [
            s["resource"],
            s["verb"],
            s["scope"],
            f"{s['p99_ms']:.1f}",
            f"{s['limit_ms']:.0f}",
            "yes" if s["met"] else "NO",
        ]
        for s in report["slos"]
    )
    summary = html.escape(
        orjson.dumps(
            report["summary"]
            | {"server": {k: v for k, v in report["summary"]["server"].items() if k != "rss_mb"}}
            | {"client_rss_mb": "(plotted)"},
            option=orjson.OPT_INDENT_2,
        ).decode()
    )
    image = f'<img src="{plot}" alt="latency and memory">' if plot else ""
    return (
        "<!doctype html><meta charset=utf-8><title>watchcache load report</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 10px;text-align:right}</style>"
        f"<h1>Load report</h1><pre>{summary}</pre>{image}"
        "<h2>Pods (ms)</h2>"
        + table(pods, ["metric", "count", "p50", "p90", "p99"])
        + "<h2>API calls against the SLOs (ms)</h2>"
        + table(slos, ["resource", "verb", "scope", "p99", "SLO", "met"])
    )


async def run_load(client: Client, opts: LoadOptions) -> tuple[dict[str, Any], list[str]]:
    report = await LoadRun(client, opts).run()
    return report, breaches(report, opts.thresholds)
