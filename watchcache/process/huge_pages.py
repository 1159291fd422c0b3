"""Transparent huge pages for the server's heap, which glibc's malloc takes only when told at start.

Every replica keeps every pod's JSON, and the buffers a write goes through, in memory that
glibc's ``malloc`` hands out. In 4 KiB pages, a growing view costs the kernel a page fault
per new page (2.3 a create here) and the CPU a TLB miss on most lookups in a view of 100k pods;
in 2 MiB pages, a fault per 512 of them (0.3 a create) and far fewer misses. Measured side by
side on this project's 2-core box (benchmarks/README.md), a create cost 0.92x the CPU and a
replica tailing another's creates 0.89x, for ~10% more RSS.

Where the kernel's THP mode is ``madvise`` (Debian's and Ubuntu's default), memory gets huge
pages only if the program asks, and glibc (2.35 and later) asks for its heap when the tunable
``glibc.malloc.hugetlb=1`` is set, which it reads once, as the process starts. So ``serve``
starts itself again, once, with the tunable added to ``GLIBC_TUNABLES`` (:func:`restart_with_huge_pages`).
Nothing is done where the mode is ``always`` (every heap has them already) or ``never``, on a
libc other than glibc, or when ``GLIBC_TUNABLES`` already names the tunable (the user chose, or
this is the restarted process).

A bootstrap is the exception (:func:`small_pages`): it allocates a whole view at once, and in
huge pages the kernel took twice the time for it (sys 0.43 against 0.86 s, 100k pods).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from watchcache.process.linux import prctl

TUNABLE = "glibc.malloc.hugetlb"
ENV = "GLIBC_TUNABLES"
MIN_GLIBC = (2, 35)  # the first glibc with the tunable
THP_MODE_FILE = Path("/sys/kernel/mm/transparent_hugepage/enabled")
PR_SET_THP_DISABLE = 41  # linux/prctl.h: no huge pages for this process while set


def thp_mode(path: Path = THP_MODE_FILE) -> str | None:
    """The kernel's THP mode (``always``, ``madvise`` or ``never``; the one in brackets), or None
    without THP (not Linux, or a kernel built without it)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    chosen = [word[1:-1] for word in text.split() if word.startswith("[") and word.endswith("]")]
    return chosen[0] if chosen else None


def glibc_version() -> tuple[int, int] | None:
    """The running glibc's version, or None on another libc (musl, or not Linux)."""
    try:
        name, _, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
        major, minor = version.split(".")[:2]
        return (int(major), int(minor)) if name == "glibc" else None
    except (ValueError, OSError):
        return None


def tunables_with_huge_pages(
    environ: Mapping[str, str], mode: str | None, glibc: tuple[int, int] | None
) -> str | None:
    """The ``GLIBC_TUNABLES`` to restart with for a heap in huge pages, or None: nothing to do."""
    if mode != "madvise" or glibc is None or glibc < MIN_GLIBC:
        return None
    if _tunable(environ) is not None:
        return None
    current = environ.get(ENV, "")
    return f"{current}:{TUNABLE}=1" if current else f"{TUNABLE}=1"


def _tunable(environ: Mapping[str, str]) -> str | None:
    """The value ``GLIBC_TUNABLES`` gives the tunable (``name=value:name=value``), if any."""
    for item in environ.get(ENV, "").split(":"):
        name, _, value = item.partition("=")
        if name == TUNABLE:
            return value
    return None


def restart_with_huge_pages() -> None:
    """Start this process's command again (same pid, same arguments) with the heap in huge pages,
    if that takes a restart; returns only when it does not. Call it before anything is started."""
    tunables = tunables_with_huge_pages(os.environ, thp_mode(), glibc_version())
    if tunables is None or not sys.executable:  # (an embedding interpreter may not know its own)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], {**os.environ, ENV: tunables})
    except OSError as exc:  # not restartable here: go on as started
        print(
            f"watchcache: not restarted for huge pages ({exc}); the heap stays in 4 KiB pages",
            file=sys.stderr,
        )


def huge_pages_note(environ: Mapping[str, str] = os.environ, mode: str | None = None) -> str:
    """How the heap is paged, for the start-up log line (``mode``: the kernel's, by default)."""
    mode = mode or thp_mode()
    if mode == "always":
        return "huge pages (THP always)"
    if mode == "madvise" and _tunable(environ) == "1":
        return f"huge pages ({ENV}={TUNABLE}=1)"
    return "4 KiB pages"


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """This process allocates in 4 KiB pages meanwhile (``prctl(PR_SET_THP_DISABLE)``), for a
    bulk allocation; nothing changes where the call is refused (not Linux, an old kernel)."""
    call = prctl()
    if call is None or call(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0:
        yield
        return
    try:
        yield
    finally:
        call(PR_SET_THP_DISABLE, 0, 0, 0, 0)
