"""Touch the machine's free memory once per boot, before anything is measured.

On this box (a VM inside a VM) the first time the guest touches a page of its memory since
boot costs several microseconds more than any later touch: the hypervisors below back the page
only then. A freshly booted machine has never touched most of its memory, so a server whose
heap grows (every create adds a pod to every replica's view) paid that on each new page: perf
put ``clear_page_erms`` at a fifth of a tailing replica's CPU, and per create it came to about
as much as the whole Lua write. Which pages a process gets, touched or not, is the kernel's
choice, so it also made runs disagree. No long-running host pays it; this takes it out of the
measurements by paying it once, up front (``--no-warm-memory`` skips it).

That lasts only while the host leaves freed memory with the guest. Free page reporting hands
it back: on the tenth session's machine pages freed half an hour earlier were still backed; on
the twelfth's, with ``min_free_ms`` 0, a page freed a few seconds ago cost its first touch
again. The warm-up is then skipped as futile, and every result records the reporting's settings
and what touching fresh memory cost in that run (:func:`fresh_memory_gb_s`), beside the CPU it
inflates.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import mmap
import time
from collections.abc import Callable
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
PAGE_REPORTING = Path("/sys/module/page_reporting/parameters")  # this kind's guest kernel
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


def page_reporting() -> dict[str, int] | None:
    """The guest's free page reporting settings (None: not reported, or not this kernel):
    ``min_free_ms``, how long memory stays free before it goes back to the host, and
    ``page_reporting_order``, the smallest free block reported (9: 2 MiB)."""
    settings = {}
    for name in ("min_free_ms", "page_reporting_order"):
        try:
            settings[name] = int((PAGE_REPORTING / name).read_text())
        except (OSError, ValueError):
            return None
    return settings


@functools.cache
def fresh_memory_gb_s() -> float:
    """GB/s to touch 256 MiB of memory new to this process, in the servers' page size (huge
    pages where THP is madvise, as ``serve --huge-pages`` asks): what a growing view pays per
    byte. Bare metal zeroes several GB/s; here memory the host must back again went ~0.45 GB/s,
    memory just freed ~8. Measured once a run, before anything else (:func:`prepare`): memory a finished
    phase just freed would read fast."""
    size, page = 256 << 20, mmap.PAGESIZE
    with mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS) as chunk:
        with contextlib.suppress(AttributeError, OSError):  # (no THP: 4 KiB pages)
            chunk.madvise(mmap.MADV_HUGEPAGE)
        started = time.perf_counter()
        for offset in range(0, size, page):
            chunk[offset] = 1
        elapsed = time.perf_counter() - started
    return round(size / elapsed / 1e9, 2)


def prepare(warm: bool, progress: Callable[[str], None]) -> None:
    """Before a run: touch the free memory (:func:`warm_up`) if ``warm``, then measure what
    fresh memory costs (:func:`fresh_memory_gb_s`)."""
    if warm:
        warm_up(progress)
    progress(f"touching fresh memory: {fresh_memory_gb_s()} GB/s")


def warm_up(progress: Callable[[str], None]) -> None:
    """Touch every page of the available memory but :data:`HEADROOM`, a GiB at a time (each
    mapping is given back before the next), unless done already since boot, or futile: where
    freed memory goes back to the host at once."""
    if warmed():
        return
    reporting = page_reporting()
    if reporting is not None and reporting["min_free_ms"] == 0:
        progress("not touching the free memory first: this guest hands freed memory back to the host at once")
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
