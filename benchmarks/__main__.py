"""``python -m benchmarks writes|reads|footprint|fanout|all [--quick]`` — see benchmarks/README.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import memory
from .common import SERVER_PATH_ENV, progress
from .procs import PROFILE_ENV


def _scenarios() -> dict[str, Callable[[bool], dict[str, Any]]]:
    from . import fanout, footprint, reads, writes

    return {"writes": writes.run, "reads": reads.run, "footprint": footprint.run, "fanout": fanout.run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("scenario", choices=["writes", "reads", "footprint", "fanout", "all"])
    parser.add_argument("--quick", action="store_true", help="smoke-test sizes: each scenario < 1 minute")
    parser.add_argument(
        "--sizes", help="reads only: comma-separated store sizes, e.g. 150000 (writes results/reads-150000.*)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample each watchcache server with py-spy: results/profiles/*.txt (collapsed stacks)",
    )
    parser.add_argument(
        "--server-from",
        metavar="CHECKOUT",
        help="run the watchcache servers from another checkout (e.g. a clone of an older commit), "
        "measured by this checkout's harness and ceilings: before/after comparisons in one run",
    )
    memory.add_option(parser)
    args = parser.parse_args(argv)
    if args.server_from:
        os.environ[SERVER_PATH_ENV] = str(Path(args.server_from).resolve())
    if args.profile:
        os.environ[PROFILE_ENV] = str(Path(__file__).parent / "results" / "profiles")
    if args.sizes and args.scenario != "reads":
        parser.error("--sizes applies to the reads scenario only")
    memory.prepare(not args.no_warm_memory, progress)
    scenarios = _scenarios()
    names = list(scenarios) if args.scenario == "all" else [args.scenario]
    for name in names:
        progress(f"=== {name}{' (quick)' if args.quick else ''} ===")
        if args.sizes:
            from . import reads

            results = reads.run(args.quick, tuple(int(x) for x in args.sizes.split(",")))
        else:
            results = scenarios[name](args.quick)
        print(json.dumps({name: results.get("ratios", {})}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
