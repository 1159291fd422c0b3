"""Shared helpers: progress on stderr, percentiles, /proc readings, a background sampler, results."""

from __future__ import annotations

import json
import os
import platform
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchcache.process.huge_pages import thp_mode

from . import memory

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# set by --server-from: the checkout whose ``watchcache`` package the servers run (A/B runs)
SERVER_PATH_ENV = "WATCHCACHE_BENCH_SERVER_PATH"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_T0 = time.monotonic()


def progress(message: str) -> None:
    """One progress line on stderr, stamped with seconds since the run started."""
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted values; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency_ms(values_s: list[float]) -> dict[str, float]:
    """min/p50/p99/max of latencies given in seconds, in milliseconds."""
    return {
        "min_ms": round(min(values_s) * 1e3, 3) if values_s else float("nan"),
        "p50_ms": round(percentile(values_s, 50) * 1e3, 3),
        "p99_ms": round(percentile(values_s, 99) * 1e3, 3),
        "max_ms": round(max(values_s) * 1e3, 3) if values_s else float("nan"),
        "n": len(values_s),
    }


def ratio(service: float, ceiling: float) -> float:
    return round(service / ceiling, 3) if ceiling else float("nan")


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (statm: pages)."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_KB / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all threads), in seconds."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU time of a process (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def minor_faults(pid: int) -> int:
    """Page faults a process has taken without I/O (all threads): each new page it touched."""
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[7])


@dataclass
class Sampler:
    """Samples a process' RSS (MiB) and CPU (s) every ``interval`` seconds in a thread."""

    pid: int
    interval: float = 0.25
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (t, rss, cpu)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = 0.0

    def __enter__(self) -> Sampler:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self._t0, rss_mb(self.pid), cpu_seconds(self.pid)))
            except OSError:
                return
            self._stop.wait(self.interval)

    @property
    def peak_rss(self) -> float:
        return max((s[1] for s in self.samples), default=float("nan"))

    def series(self) -> dict[str, list[float]]:
        return {
            "t_s": [round(s[0], 3) for s in self.samples],
            "rss_mb": [round(s[1], 2) for s in self.samples],
        }


def git_state(root: Path | None = None) -> dict[str, Any]:
    """The watchcache commit measured (and whether its tree had local changes)."""
    import subprocess

    root = root or RESULTS_DIR.parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True).stdout.strip()

    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "watchcache_dirty": bool(git("status", "--porcelain", "watchcache")),
    }


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "memory_warmed": memory.warmed(),
        # freed memory handed back to the host, and what fresh memory costs now (a growing view
        # pays it per pod: benchmarks/memory.py)
        "free_page_reporting": memory.page_reporting(),
        "fresh_memory_gb_s": memory.fresh_memory_gb_s(),
        # the servers' heap in huge pages (``serve --huge-pages``, the default) takes THP madvise
        "thp_mode": thp_mode(),
    }


def write_results(scenario: str, quick: bool, cores: str, results: dict[str, Any]) -> Path:
    """``scenario`` names the file too: ``reads`` or a variant such as ``reads-150000``."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{scenario}{'-quick' if quick else ''}.json"
    doc = {
        "scenario": scenario.partition("-")[0],
        "quick": quick,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "git": git_state(),
        **(
            {"servers_from": {"path": servers, **git_state(Path(servers))}}
            if (servers := os.environ.get(SERVER_PATH_ENV))
            else {}
        ),
        "load_average_at_end": load_average(),
        "cores": cores,
        "results": results,
    }
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n")
    tmp.replace(path)
    progress(f"wrote {path.relative_to(RESULTS_DIR.parent.parent)}")
    return path
