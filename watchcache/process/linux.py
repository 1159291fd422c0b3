"""What the process asks of Linux directly, through libc (ctypes), where the standard library
has no call for it."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable


def prctl() -> Callable[..., int] | None:
    """libc's ``prctl(option, arg2, ...)``, which returns 0 on success; None where there is none
    (not Linux, or a libc without it)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return call
