"""Touch the machine's free memory once per boot, before anything is measured.

On this box (a VM inside a VM) the first time the guest touches a page of its memory since
boot costs several microseconds more than any later touch: the hypervisors below back the page
only then. A freshly booted machine has never touched most of its memory, so a server whose
heap grows (every create adds a pod to every replica's view) paid that on each new page: perf
put ``clear_page_erms`` at a fifth of a tailing replica's CPU, and per create it came to about
as much as the whole Lua write. Which pages a process gets, touched or not, is the kernel's
choice, so it also made runs disagree. No long-running host pays it; this takes it out of the
measurements by paying it once, up front (``--no-warm-memory`` skips it).
"""

from __future__ import annotations

import argparse
import contextlib
import mmap
import time
from collections.abc import Callable
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
MARK = Path("/dev/shm/watchcache-benchmarks-memory-warm")  # tmpfs: gone at reboot anyway
HEADROOM = 2 << 30  # left untouched: the page cache and everyone else
CHUNK = 1 << 30


def _boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def warmed() -> bool:
    """Whether this boot's free memory has been touched (by :func:`warm_up`)."""
    try:
        return MARK.read_text() == _boot_id()
    except OSError:
        return False


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-warm-memory",
        action="store_true",
        help="do not touch the free memory first (once per boot, ~1 min here; see benchmarks/memory.py)",
    )


def warm_up(progress: Callable[[str], None]) -> None:
    """Touch every page of the available memory but :data:`HEADROOM`, a GiB at a time (each
    mapping is given back before the next), unless done already since boot."""
    if warmed():
        return
    size = max(0, _available() - HEADROOM) // CHUNK * CHUNK
    page = mmap.PAGESIZE
    started = time.monotonic()
    for done in range(0, size, CHUNK):
        with mmap.mmap(-1, CHUNK, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS) as chunk:
            for offset in range(0, CHUNK, page):
                chunk[offset] = 1
        progress(f"first touch of free memory: {(done + CHUNK) >> 30} of {size >> 30} GiB")
    elapsed = time.monotonic() - started
    progress(f"first touch of {size >> 30} GiB took {elapsed:.1f}s (done once per boot)")
    with contextlib.suppress(OSError):  # (no /dev/shm: touched again next time)
        MARK.write_text(_boot_id())
