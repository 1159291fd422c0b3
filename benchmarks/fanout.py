"""Scenario ``fanout``: watch delivery latency, throughput and memory as watchers grow.

- main: W watchers on ``/api/v1/namespaces/fanout/pods?watch=1&resourceVersion=<rv>``; one
  writer creates then merge-patches pods at a fixed rate; every event goes to all W;
- kubelet: W ``fieldSelector=spec.nodeName=node-<i>`` watchers on all namespaces, events only on
  node-0..4 (one matching watcher per event): the server's CPU per event should not grow with
  the number of non-matching watchers;
- stalled: 10% of the watchers stop reading for most of the run, then read again: RSS over
  time, parked/resumed counters from /metrics, and whether every watcher got every event;
- ceiling: the raw ASGI fan-out app (``ceilings stream``) with the same W, rate and client.

Latency is ack→receipt: the writer's response time for an rv to each watcher's receive time
(negative when the event reaches a watcher before the writer has read its own response);
send→receipt is reported too.
"""

from __future__ import annotations

import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from . import httpclient, plots, procs
from .common import Sampler, cpu_seconds, latency_ms, progress, ratio, rss_mb, write_results
from .watchers import Stall, WriterPlan, watch, write

KUBELET_NODES = 5
TARGET_DELIVERIES_S = 20_000


@dataclass(frozen=True)
class Config:
    watchers: tuple[int, ...]
    kubelet: tuple[int, ...]
    seconds: float
    stall_watchers: int = 200
    stall_rate: float = 150.0
    stall_seconds: float = 12.0

    @classmethod
    def of(cls, quick: bool) -> Config:
        if quick:
            return cls(watchers=(100, 1_000), kubelet=(100, 1_000), seconds=3.0, stall_seconds=5.0)
        return cls(watchers=(100, 1_000, 5_000), kubelet=(100, 5_000), seconds=10.0)


def rate_for(watchers: int) -> float:
    """Events/s: ~20k deliveries/s in total, between 5 and 100 events/s."""
    return float(min(100, max(5, TARGET_DELIVERIES_S // watchers)))


@dataclass
class Phase:
    label: str
    server: procs.ServerProcess
    paths: list[str]
    writer: WriterPlan
    expected_per_event: int
    stall: Stall = field(default_factory=Stall)


def _current_rv(port: int) -> int:
    status, body, _ = httpclient.get(port, "/api/v1/namespaces/fanout/pods?limit=1")
    return int(orjson.loads(body)["metadata"]["resourceVersion"]) if status == 200 else 0


def _metrics(port: int) -> dict[str, float]:
    status, body, _ = httpclient.get(port, "/metrics")
    if status != 200:
        return {}
    out = {}
    for line in body.decode().splitlines():
        if line.startswith("watchcache_") and " " in line:
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _latencies(acks: list[tuple[int, float, float]], watched: dict[str, Any]) -> dict[str, Any]:
    by_rv = {rv: (sent, acked) for rv, sent, acked in acks}
    rvs, times = array("q"), array("d")
    rvs.frombytes(watched["rvs"])
    times.frombytes(watched["times"])
    from_ack, from_send = [], []
    for rv, t in zip(rvs, times, strict=True):
        if rv in by_rv:
            sent, acked = by_rv[rv]
            from_ack.append(t - acked)
            from_send.append(t - sent)
    return {
        "ack_to_receipt": latency_ms(from_ack),
        "send_to_receipt": latency_ms(from_send),
        "received": len(from_ack),
    }


def run_phase(phase: Phase) -> dict[str, Any]:
    progress(f"fanout: {phase.label}: opening {len(phase.paths):,} watches")
    ready, stop = procs.event(), procs.event()
    rss_idle = rss_mb(phase.server.pid)
    watchers = procs.spawn(
        watch, phase.server.port, phase.paths, ready, stop, phase.stall, phase.writer.seconds + 120
    )
    if not ready.wait(120):
        raise RuntimeError(f"{phase.label}: watchers did not connect in time")
    rss_connected = rss_mb(phase.server.pid)
    progress(f"fanout: {phase.label}: writing {phase.writer.rate:g}/s for {phase.writer.seconds:g}s")
    with Sampler(phase.server.pid, interval=0.25) as sampler:
        cpu0 = cpu_seconds(phase.server.pid)
        written = procs.run_client(write, phase.server.port, phase.writer)
        time.sleep(0.5)
        cpu = cpu_seconds(phase.server.pid) - cpu0
        metrics = _metrics(phase.server.port) if not phase.writer.emit else {}
        stop.set()
        watched = watchers.result(120)
    events = len(written["acks"])
    expected = events * phase.expected_per_event
    lat = _latencies(written["acks"], watched)
    out = {
        "watchers": len(phase.paths),
        "rate": phase.writer.rate,
        "events": events,
        "write_failures": written["failures"],
        "deliveries": lat["received"],
        "expected_deliveries": expected,
        "missing": expected - lat["received"],
        "deliveries_per_s": round(lat["received"] / phase.writer.seconds, 1),
        "ack_to_receipt": lat["ack_to_receipt"],
        "send_to_receipt": lat["send_to_receipt"],
        "server_cpu_s": round(cpu, 3),
        "server_cpu_us_per_event": round(cpu / max(1, events) * 1e6, 1),
        "server_cpu_us_per_delivery": round(cpu / max(1, lat["received"]) * 1e6, 2),
        "rss_idle_mb": round(rss_idle, 1),
        "rss_connected_mb": round(rss_connected, 1),
        "rss_kb_per_watcher": round((rss_connected - rss_idle) * 1024 / max(1, len(phase.paths)), 1),
        "rss_peak_mb": round(sampler.peak_rss, 1),
        "rss_series": sampler.series(),
        "per_watcher_min": watched["per_watcher_min"],
        "per_watcher_max": watched["per_watcher_max"],
        "metrics": metrics,
    }
    if phase.stall.fraction:
        out["stalled_min_events"] = watched["stalled_min"]
    progress(
        f"fanout: {phase.label}: {out['deliveries']:,}/{expected:,} delivered, ack->receipt p50 "
        f"{out['ack_to_receipt']['p50_ms']} ms p99 {out['ack_to_receipt']['p99_ms']} ms, "
        f"{out['server_cpu_us_per_delivery']} us CPU/delivery, RSS {out['rss_connected_mb']} MB"
    )
    return out


def _namespace_paths(rv: int, count: int) -> list[str]:
    return [f"/api/v1/namespaces/fanout/pods?watch=1&resourceVersion={rv}"] * count


def _kubelet_paths(rv: int, count: int) -> list[str]:
    return [
        f"/api/v1/pods?watch=1&resourceVersion={rv}&fieldSelector=spec.nodeName%3Dnode-{i}"
        for i in range(count)
    ]


def _main_variant(
    server: procs.ServerProcess, ceiling: procs.ServerProcess, cfg: Config
) -> list[dict[str, Any]]:
    rows = []
    for count in cfg.watchers:
        rate = rate_for(count)
        plan = WriterPlan(rate, cfg.seconds, prefix=f"m{count}")
        service = run_phase(
            Phase(f"W={count:,}", server, _namespace_paths(_current_rv(server.port), count), plan, count)
        )
        emit = WriterPlan(rate, cfg.seconds, emit=True)
        ceil = run_phase(Phase(f"ceiling W={count:,}", ceiling, ["/watch"] * count, emit, count))
        rows.append({
            "watchers": count,
            "service": service,
            "ceiling": ceil,
            "ratios": {
                "cpu_per_delivery": ratio(
                    ceil["server_cpu_us_per_delivery"], service["server_cpu_us_per_delivery"]
                ),
                "p99_latency": ratio(ceil["ack_to_receipt"]["p99_ms"], service["ack_to_receipt"]["p99_ms"]),
            },
        })  # fmt: skip
    return rows


def _kubelet_variant(server: procs.ServerProcess, cfg: Config) -> list[dict[str, Any]]:
    rows = []
    nodes = tuple(f"node-{i}" for i in range(KUBELET_NODES))
    for count in cfg.kubelet:
        plan = WriterPlan(50.0, cfg.seconds, namespace="kubelet", nodes=nodes, prefix=f"k{count}")
        paths = _kubelet_paths(_current_rv(server.port), count)
        rows.append(run_phase(Phase(f"kubelet W={count:,}", server, paths, plan, 1)))
    return rows


def _stalled_variant(server: procs.ServerProcess, cfg: Config) -> dict[str, Any]:
    plan = WriterPlan(cfg.stall_rate, cfg.stall_seconds, namespace="fanout", prefix="s")
    stall = Stall(fraction=0.1, after_s=0.5, for_s=max(1.0, cfg.stall_seconds - 1.5))
    paths = _namespace_paths(_current_rv(server.port), cfg.stall_watchers)
    return run_phase(Phase(f"stalled 10% of W={cfg.stall_watchers}", server, paths, plan, len(paths), stall))


def measure(workdir: Path, cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"config": {k: v for k, v in cfg.__dict__.items()}}
    with (
        procs.private_redis(workdir) as redis,
        procs.ceiling_server("stream", workdir) as ceiling,
        procs.watchcache_server(redis.url, workdir) as server,
    ):
        out["main"] = _main_variant(server, ceiling, cfg)
        out["kubelet"] = _kubelet_variant(server, cfg)
        out["stalled"] = _stalled_variant(server, cfg)
    out["ratios"] = {str(r["watchers"]): r["ratios"] for r in out["main"]}
    return out


def plot(results: dict[str, Any], name: str) -> None:
    fig, axes = plots.figure(3, "fanout: watch delivery vs raw ASGI fan-out ceiling")
    main = results["main"]
    labels = [f"W={r['watchers']:,}\n{r['service']['rate']:g} ev/s" for r in main]
    plots.paired_bars(
        axes[0][0], labels, [r["service"]["ack_to_receipt"]["p99_ms"] for r in main],
        [r["ceiling"]["ack_to_receipt"]["p99_ms"] for r in main], "ms",
    )  # fmt: skip
    axes[0][0].set_title("ack -> receipt p99 (lower is better)", fontsize=9)
    plots.paired_bars(
        axes[0][1], labels, [r["service"]["server_cpu_us_per_delivery"] for r in main],
        [r["ceiling"]["server_cpu_us_per_delivery"] for r in main], "us",
    )  # fmt: skip
    axes[0][1].set_title("server CPU per delivery (lower is better)", fontsize=9)
    ax = axes[0][2]
    stalled = results["stalled"]["rss_series"]
    ax.plot(stalled["t_s"], stalled["rss_mb"], label="10% stalled")
    for row in results["kubelet"]:
        ax.plot(row["rss_series"]["t_s"], row["rss_series"]["rss_mb"], label=f"kubelet W={row['watchers']:,}")
    ax.set_xlabel("s since writer start")
    ax.set_ylabel("server RSS (MiB)")
    ax.set_title("RSS over time", fontsize=9)
    ax.legend(fontsize=8)
    plots.save(fig, name)


def run(quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="wc-bench-fanout-") as tmp:
        results = measure(Path(tmp), Config.of(quick))
    write_results("fanout", quick, procs.CORES_NOTE, results)
    plot(results, "fanout-quick" if quick else "fanout")
    return results
