"""Catch-up pacing: watchers replaying history share one replica-wide byte rate
(``--catch-up-mib-per-s``), while live delivery to other watchers is not held back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from watchcache.process.embedded_redis import EmbeddedRedis

from .conftest import Server, pod_manifest, start_server
from .watch_support import RawWatch, create, list_rv, summary

RATE_MIB_PER_S = 0.5
PODS = 12
ANNOTATION_BYTES = 100_000  # 12 events of ~100 KB: ~1.2 MB of history, ~2.1 s at the paced rate


@pytest.fixture(scope="module")
def paced(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    workdir: Path = tmp_path_factory.mktemp("paced")
    server = start_server(redis_server.url, workdir, "--catch-up-mib-per-s", str(RATE_MIB_PER_S))
    yield server
    server.stop()


def test_history_replay_is_paced_while_live_events_arrive_at_once(paced: Server, ns: str) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    with paced.client() as api:
        start = list_rv(api, ns)
        for i in range(PODS):
            manifest = pod_manifest(f"big-{i}")
            manifest["metadata"]["annotations"] = {"blob": "x" * ANNOTATION_BYTES}
            create(api, ns, manifest)
        head = list_rv(api, ns)

        began = time.monotonic()
        replaying = RawWatch(paced.url, path, {"watch": "true", "resourceVersion": str(start)})
        live = RawWatch(paced.url, path, {"watch": "true", "resourceVersion": str(head)})
        try:
            first = replaying.read_count(1, 10)  # the burst allowance sends the first at once
            create(api, ns, pod_manifest("live"))
            assert summary(live.read_count(1, 10)) == [("ADDED", "live", head + 1)]
            live_s = time.monotonic() - began
            rest = replaying.read_count(PODS, 20)
            replay_s = time.monotonic() - began
        finally:
            replaying.close()
            live.close()

    names = [name for _, name, _ in summary(first + rest)]
    assert names == [f"big-{i}" for i in range(PODS)] + ["live"]
    history_mib = PODS * ANNOTATION_BYTES / (1 << 20)
    assert replay_s >= 0.8 * (history_mib / RATE_MIB_PER_S - 0.25)  # 0.25 s: the burst allowance
    assert live_s < replay_s / 2
