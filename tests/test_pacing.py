"""The catch-up pacer: a burst goes out at once, beyond it bytes wait for their turn."""

from __future__ import annotations

import time

import pytest

from watchcache.cache.pacing import Pacer


def test_bytes_within_the_burst_need_no_wait() -> None:
    pacer = Pacer(1_000, burst_s=0.5)
    assert pacer.reserve(300) == 0.0
    assert pacer.reserve(200) == 0.0  # 0.5 s worth in all: exactly the burst


def test_bytes_beyond_the_burst_wait_for_the_rate() -> None:
    pacer = Pacer(1_000, burst_s=0.5)
    pacer.reserve(500)
    assert pacer.reserve(300) == pytest.approx(0.3, abs=0.01)
    assert pacer.reserve(1_000) == pytest.approx(1.3, abs=0.01)  # callers queue behind each other


def test_an_idle_pacer_forgets_old_reservations() -> None:
    pacer = Pacer(10_000, burst_s=0.01)
    pacer.reserve(1_000)  # 0.1 s of bytes
    time.sleep(0.15)
    assert pacer.reserve(50) == 0.0


async def test_pace_sleeps_for_the_wait() -> None:
    pacer = Pacer(1_000, burst_s=0.0)
    started = time.monotonic()
    await pacer.pace(100)
    assert time.monotonic() - started >= 0.09


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Pacer(0)
