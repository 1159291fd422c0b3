"""``python -m benchmarks.interleaved BEFORE [AFTER]`` — the servers of two checkouts, side by side.

Full runs of ``writes`` move by a fifth from one hour to the next on this box, more than most
changes do. This runs a server of each checkout (``BEFORE``: a clone of an older commit, built
in place; ``AFTER``: another clone, else this checkout), each on a private Redis of its own,
both on the server's core; fills each with a create phase; then runs every verb in rounds, the
two servers in turn, the order swapped every round. Each pair of phases is seconds apart, and
the report is the server CPU per request of each, and their ratio per pair (after ÷ before,
below 1 is cheaper) with its median. Results: ``results/interleaved.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path
from typing import Any

from . import memory, procs
from .common import git_state, progress, write_results
from .httpclient import Plan
from .writes import VERBS, Config, _phase

SIDES = ("before", "after")


def run(
    checkouts: dict[str, str | None], verbs: tuple[str, ...], rounds: int, seconds: float
) -> dict[str, Any]:
    cfg = Config(conns=32, duration=seconds)
    cpu: dict[str, dict[str, list[float]]] = {verb: {side: [] for side in SIDES} for verb in verbs}
    with contextlib.ExitStack() as stack:
        servers, targets = {}, {}
        for side in SIDES:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"wc-{side}-")))
            redis = stack.enter_context(procs.private_redis(workdir))
            servers[side] = stack.enter_context(
                procs.watchcache_server(redis.url, workdir, checkout=checkouts[side])
            )
            fill = _phase(servers[side], Plan("create"), Config(conns=32, duration=5.0), f"{side}: fill")
            targets[side] = tuple(fill.pop("sent_per_conn"))
        for number in range(rounds):
            order = SIDES if number % 2 == 0 else SIDES[::-1]
            for verb in verbs:
                for side in order:
                    plan = (
                        Plan("create", prefix=f"round{number}")
                        if verb == "create"
                        else Plan(verb, targets=targets[side], salt=f"r{number}")
                    )
                    phase = _phase(servers[side], plan, cfg, f"{side}: {verb} (round {number + 1})")
                    cpu[verb][side].append(phase["server_cpu_us_per_req"])
    out: dict[str, Any] = {
        "checkouts": {
            side: {"path": checkouts[side] or ".", **git_state(Path(checkouts[side] or "."))}
            for side in SIDES
        },
        "rounds": rounds,
        "seconds": seconds,
    }
    for verb in verbs:
        pairs = [round(a / b, 3) for b, a in zip(cpu[verb]["before"], cpu[verb]["after"], strict=True)]
        out[verb] = {**cpu[verb], "after_over_before": pairs, "median": round(statistics.median(pairs), 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.interleaved", description=__doc__)
    parser.add_argument("before", help="a checkout (clone) of the commit to compare against, built in place")
    parser.add_argument("after", nargs="?", help="another checkout (default: this one)")
    parser.add_argument("--verbs", default=",".join(VERBS), help="comma-separated, of " + ", ".join(VERBS))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=4.0, help="each phase's length")
    memory.add_option(parser)
    args = parser.parse_args()
    memory.prepare(not args.no_warm_memory, progress)
    verbs = tuple(args.verbs.split(","))
    if unknown := set(verbs) - set(VERBS):
        parser.error(f"unknown verbs: {', '.join(sorted(unknown))}")
    checkouts = {
        "before": str(Path(args.before).resolve()),
        "after": args.after and str(Path(args.after).resolve()),
    }
    results = run(checkouts, verbs, args.rounds, args.seconds)
    write_results("interleaved", False, "server core 0, clients and Redis core 1", results)
    for verb in verbs:
        figures = results[verb]
        progress(
            f"{verb:8s} before {figures['before']} after {figures['after']} µs: "
            f"after/before {figures['after_over_before']}, median {figures['median']}"
        )


if __name__ == "__main__":
    main()
