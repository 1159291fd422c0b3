"""Print the README's result tables (markdown) from ``results/*.json``.

``python -m benchmarks.summary [--quick]``
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import RESULTS_DIR


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _head(doc: dict[str, Any]) -> str:
    git, load = doc.get("git", {}), doc.get("load_average_at_end", [])
    servers = doc.get("servers_from")
    served = f" (servers of {servers['head']})" if servers else ""
    return f"_{doc['when']}, watchcache {git.get('head', '?')}{served}, load average at end {load}_\n"


def writes_table(doc: dict[str, Any]) -> str:
    r = doc["results"]
    rows = [
        "| operation | watchcache writes/s | p50 / p99 ms | server CPU µs/write | ceiling writes/s | "
        "ceiling CPU µs/write | ratio (throughput) | ratio (CPU) | kernel share, new pages/write |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pairs = (
        ("create", "ceiling_create"),
        ("replace", "ceiling_update"),
        ("patch", "ceiling_update"),
        ("apply", "ceiling_update"),
    )
    for op, ceiling in pairs:
        if op not in r:  # runs before server-side apply was measured
            continue
        s, c = r[op], r[ceiling]
        # since verbs run in rounds (2026-12-07, eighth session), each beside its round's ceiling
        c_rps, c_cpu = (
            s.get("ceiling_rps", c["rps"]),
            s.get("ceiling_cpu_us_per_write", c["cpu_us_per_write"]),
        )
        rows.append(
            f"| {op} | {s['rps']:,.0f} | {s['latency']['p50_ms']:.1f} / {s['latency']['p99_ms']:.1f} | "
            f"{s['server_cpu_us_per_req']:,.0f} | {c_rps:,.0f} | {c_cpu:,.0f} | "
            f"**{r['ratios'][op]:.2f}** | **{r['ratios'][op + '_cpu']:.2f}** | {_kernel(s)} |"
        )
    if "verb_rounds" in r:
        each = "; ".join(
            f"{op} " + " / ".join(f"{f[op]['cpu_ratio']:.2f}" for f in r["verb_rounds"]) for op, _ in pairs
        )
        rows.append(
            f"\nEach verb is the median of {len(r['verb_rounds'])} rounds, each phase beside a ceiling "
            f"measured in the same round; the CPU ratios by round: {each}."
        )
    client = r["client_ceiling"]
    rows.append(f"\nClient ceiling (same client POSTing to a canned server): {client['rps']:,.0f} req/s.")
    if "create_2_replicas" in r:
        two = r["create_2_replicas"]
        rounds = r.get("replica_rounds")
        how = "one replica's"
        if rounds:  # since the sixth session of 2026-12-07: rounds of one, then two replicas
            each = ", ".join(
                f"{x['one_us']:,.0f} → {x['two_us']:,.0f} µs ({x['ratio']:.2f}x)" for x in rounds
            )
            how = (
                f"one replica's in the same round (the median of {len(rounds)} rounds, one replica then two: "
                f"{each}; {r['ratios']['create_2_replicas_cpu_vs_create']:.2f}x the create phase's)"
            )
        rows.append(
            f"Creates over two replicas on one Redis (both on the server's core): {two['rps']:,.0f}/s, "
            f"{two['server_cpu_us_per_req']:,.0f} µs of CPU per write summed over both, "
            f"**{r['ratios']['create_2_replicas_cpu_vs_1']:.2f}x** {how}."
        )
    if "create_tailed" in r:
        writer, tailer = r["create_tailed"]["each_server_cpu_us_per_req"]
        pages = r["create_tailed"].get("each_server_faults_per_req")
        held = f", {pages[1]:g} new pages per write: the pod in its cache" if pages else ""
        rows.append(
            f"Every create sent to one replica while a second only tails: {writer:,.0f} µs per write "
            f"on the first, **{tailer:,.0f} µs** on the second (what a write another replica "
            f"takes costs a replica{held})."
        )
    if "scaling" in r:
        rows.append(scaling_table(r["scaling"]))
    return _head(doc) + "\n".join(rows) + "\n"


def _kernel(phase: dict[str, Any]) -> str:
    """The kernel's share of the server's CPU and the new pages it zeroed per write (runs
    before 2026-12-07's sixth session did not count the pages)."""
    pages = phase.get("server_faults_per_req")
    return f"{phase['server_sys_share']:.2f}, " + ("n/a" if pages is None else f"{pages:g}")


def scaling_table(scaling: dict[str, Any]) -> str:
    """Creates/s extrapolated with cores (benchmarks.writes.scaling), one replica per core."""
    rows = [
        "\nExtrapolated creates/s with N cores, one replica each, Redis on one core more: replicas "
        f"at {scaling['own_us']:,.0f} µs per own write and {scaling['tail_us']:,.0f} µs per other "
        f"replica's; Redis at {scaling['redis_write_us']:,.1f} µs per write and "
        f"{scaling['redis_read_us']:,.1f} µs per replica reading it (the bare script: "
        f"{scaling['redis_lua_only_us']:,.1f} µs).\n",
        "| cores (replicas) | replicas' limit /s | Redis's limit /s | creates/s | bound by |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in scaling["rows"]:
        rows.append(
            f"| {row['cores']} | {row['replicas_writes_per_s']:,} | {row['redis_writes_per_s']:,} | "
            f"**{row['writes_per_s']:,}** | {row['bound']} |"
        )
    return "\n".join(rows)


def footprint_table(doc: dict[str, Any]) -> str:
    rows = [
        "| pods | ready s (bootstrap s) | Redis busy ≤ ms | writes meanwhile | JSON B/pod | "
        "RSS B/pod (x JSON) | Redis B/pod (x JSON): log + view |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in doc["results"]["sizes"]:
        rows.append(
            f"| {s['pods']:,} | **{s['ready_s']}** ({s['bootstrap_s']}) | {s['redis_max_ping_ms']:.1f} | "
            f"{s['writes_meanwhile']} | {s['json_bytes_per_pod']:,} | {s['rss_bytes_per_pod']:,} "
            f"(**{s['rss_vs_json']}x**) | {s['redis_bytes_per_pod']:,} (**{s['redis_vs_json']}x**): "
            f"{s['redis_log_bytes_per_pod']:,} + {s['redis_view_bytes_per_pod']:,} |"
        )
    return _head(doc) + "\n".join(rows) + "\n"


def reads_table(doc: dict[str, Any]) -> str:
    r = doc["results"]
    rows = [
        "| pods | bootstrap s | RSS MiB (KB/pod) | GET req/s (p50/p99 ms) | ceiling GET req/s | GET ratio "
        "(req/s, CPU) | list p50/p99 ms | list MB/s | ceiling MB/s | list ratio | paging limit=500 "
        "| node-7 list p50 ms (1 / 4 conns) | app=app-3 list p50 ms | RSS during 4 lists |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["sizes"]:
        g, cg, lst, cl = s["get"], s["ceiling_get"], s["list"], s["ceiling_list"]
        p, ratios = s["paging"], s["ratios"]
        g_lat, l_lat = g["latency"], lst["latency"]
        rows.append(
            f"| {s['pods']:,} | {s['bootstrap_s']} | {s['rss_ready_mb']:.0f} ({s['rss_kb_per_pod']:.1f}) | "
            f"{g['rps']:,.0f} ({g_lat['p50_ms']:.1f}/{g.get('p99_ms_worst_round', g_lat['p99_ms']):.1f}) | "
            f"{cg['rps']:,.0f} | "
            f"**{ratios['get_rps']:.2f}, {ratios['get_cpu']:.2f}**{_working_set(ratios)} | "
            f"{l_lat['p50_ms']:.1f}/{l_lat['p99_ms']:.1f} ({lst['bytes_per_response'] / 1e6:.1f} MB) | "
            f"{lst['mb_per_s_at_p50']:,.0f} | {cl['mb_per_s_at_p50']:,.0f} | "
            f"**{ratios['list_mb_per_s']:.2f}** | "
            f"{p['pages']} pages in {p['seconds']} s (page p50 {p['page_latency']['p50_ms']:.1f} ms) | "
            f"{_node_lists(s)} | {s['list_label']['latency']['p50_ms']:.1f} | "
            f"{s['rss_4_lists']['before_mb']:.0f} → {s['rss_4_lists']['peak_mb']:.0f} MiB |"
        )
    rows.append(
        f"\nEmpty server RSS {r['rss_empty_mb']} MiB; client ceiling (GET from a canned server) "
        f"{r['client_ceiling']['rps']:,.0f} req/s."
    )
    return _head(doc) + "\n".join(rows) + "\n"


def _working_set(ratios: dict[str, Any]) -> str:
    """The GET ratio against the ceiling serving a random pod of P (older files lack it)."""
    against = ratios.get("get_rps_working_set")
    return f" ({against:.2f} vs a random pod of P)" if against is not None else ""


def _node_lists(size: dict[str, Any]) -> str:
    """p50 of the node list alone and with 4 connections (older result files have only the 4)."""
    four = f"{size['list_node']['latency']['p50_ms']:.1f}"
    alone = size.get("list_node_alone")
    return f"{alone['latency']['p50_ms']:.1f} / {four}" if alone else f"— / {four}"


def fanout_table(doc: dict[str, Any]) -> str:
    r = doc["results"]
    rows = [
        "| watchers | events/s | delivered / expected | ack→receipt p50/p99 ms | ceiling p50/p99 ms "
        "| send→receipt p50/p99 ms | ceiling p50/p99 ms "
        "| CPU µs/delivery (ceiling) | ratio (CPU) | RSS MiB connected (KB/watcher) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["main"]:
        s, c = row["service"], row["ceiling"]
        rows.append(
            f"| {row['watchers']:,} | {s['rate']:g} | {s['deliveries']:,} / {s['expected_deliveries']:,} | "
            f"{s['ack_to_receipt']['p50_ms']:.1f}/{s['ack_to_receipt']['p99_ms']:.1f} | "
            f"{c['ack_to_receipt']['p50_ms']:.1f}/{c['ack_to_receipt']['p99_ms']:.1f} | "
            f"{s['send_to_receipt']['p50_ms']:.1f}/{s['send_to_receipt']['p99_ms']:.1f} | "
            f"{c['send_to_receipt']['p50_ms']:.1f}/{c['send_to_receipt']['p99_ms']:.1f} | "
            f"{s['server_cpu_us_per_delivery']:.1f} ({c['server_cpu_us_per_delivery']:.1f}) | "
            f"**{row['ratios']['cpu_per_delivery']:.2f}** | "
            f"{s['rss_connected_mb']:.0f} ({s['rss_kb_per_watcher']:.0f}) |"
        )
    rows += [
        "",
        "| kubelet-style watchers | events/s | delivered | ack→receipt p50/p99 ms | server CPU µs/event "
        "| RSS MiB connected (KB/watcher) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["kubelet"]:
        rows.append(
            f"| {s['watchers']:,} | {s['rate']:g} | {s['deliveries']:,} / {s['expected_deliveries']:,} | "
            f"{s['ack_to_receipt']['p50_ms']:.2f}/{s['ack_to_receipt']['p99_ms']:.2f} | "
            f"{s['server_cpu_us_per_event']:,.0f} | "
            f"{s['rss_connected_mb']:.0f} ({s['rss_kb_per_watcher']:.0f}) |"
        )
    sat = r.get("saturation")
    if sat:
        s, c = sat["service"], sat["ceiling"]
        rows.append(
            f"\nSaturation: W={sat['watchers']:,}, writer offered {s['rate']:g} events/s "
            f"({s['rate'] * sat['watchers']:,.0f} deliveries/s), {s['events']:,} events: "
            f"watchcache sustained {s['deliveries_per_s_sustained']:,.0f} deliveries/s "
            f"({s['writer_achieved_rate']:g} writes/s achieved, {s['deliveries']:,} / "
            f"{s['expected_deliveries']:,} delivered), ceiling {c['deliveries_per_s_sustained']:,.0f} "
            f"deliveries/s ({c['writer_achieved_rate']:g} emits/s): ratio **{sat['ratio']:.2f}**."
        )
    st = r["stalled"]
    metrics = st.get("metrics", {})
    stall = st.get("stall", {"for_s": r["config"]["stall_seconds"] - 1.5})
    stalled_lat = st.get("stalled_ack_to_receipt", st["ack_to_receipt"])
    rows.append(
        f"\nStalled: {st['watchers']} watchers, 10% stop reading for {stall['for_s']:g} s at "
        f"{st['rate']:g} events/s paced ({st.get('writer_achieved_rate', st['rate']):g}/s achieved): "
        f"{st['deliveries']:,} / {st['expected_deliveries']:,} delivered (slowest "
        f"stalled watcher got {st.get('stalled_min_events')} of {st['events']} events), RSS peak "
        f"{st['rss_peak_mb']} MiB, parked {metrics.get('watchcache_watchers_parked_total', 'n/a')}, "
        f"resumed {metrics.get('watchcache_watchers_resumed_total', 'n/a')}, stalled watchers' ack→receipt "
        f"p99 {stalled_lat['p99_ms']:,.0f} ms."
    )
    if "baseline" in st:
        base, flat = st["baseline"], st.get("rss_flatness", {})
        o, b = st["ack_to_receipt"], base["ack_to_receipt"]
        rows.append(
            f"The other 90%: ack→receipt p50/p99 {o['p50_ms']:.1f}/{o['p99_ms']:.1f} ms (min "
            f"{o['min_ms']:.1f}) vs {b['p50_ms']:.1f}/{b['p99_ms']:.1f} ms (min {b['min_ms']:.1f}) for the "
            f"same {base['watchers']} watchers and rate unstalled ({r['config']['baseline_seconds']:g} s): "
            f"p99 ratio **{st['others_p99_vs_unstalled']:.2f}**; send→receipt p99 "
            f"{st['send_to_receipt']['p99_ms']:.1f} vs {base['send_to_receipt']['p99_ms']:.1f} ms: ratio "
            f"**{st['others_send_p99_vs_unstalled']:.2f}**."
        )
        if flat:
            rows.append(
                f"RSS while stalled (t = {flat['from_s']:g} → {flat['to_s']:g} s): "
                f"{flat['rss_at_start_mb']:.1f} → {flat['rss_at_end_mb']:.1f} MiB "
                f"({flat['growth_pct']:+.1f}%), max {flat['rss_max_mb']:.1f} MiB."
            )
    return _head(doc) + "\n".join(rows) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.summary")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    suffix = "-quick" if args.quick else ""
    variants = sorted(p.stem for p in RESULTS_DIR.glob("reads-[0-9]*.json") if not p.stem.endswith("-quick"))
    names = [("writes", writes_table), ("reads", reads_table), ("footprint", footprint_table)]
    names += [(v, reads_table) for v in ([] if args.quick else variants)]
    for name, table in (*names, ("fanout", fanout_table)):
        doc = _load(name if name in variants else name + suffix)
        if doc is not None:
            print(f"### {name}{'' if name in variants else suffix}\n\n{table(doc)}")


if __name__ == "__main__":
    main()
