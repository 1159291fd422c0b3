"""Slow watchers (design.md invariants 5 and 7): a watcher that stops reading costs a cursor.

Stalled watchers are raw sockets with a tiny receive buffer that are not read while writers
produce well over the server's per-watcher buffer of events. Meanwhile other watchers must keep
receiving promptly; afterwards the stalled ones read again and must get every event exactly
once, in order; and the server's resident memory must stay bounded throughout.
"""

from __future__ import annotations

import select
import threading
import time

from .conftest import Server, pod_manifest
from .watch_support import RawWatch, create, is_added, list_rv, patch_labels, summary, vm_rss_kb

PODS = 4
EVENTS = 1600  # > the server's per-watcher buffer (1,000 events) plus what the sockets hold
STALLED = 6
FAST = 2
ANNOTATION_BYTES = 8_000  # ~9 KB events: the sockets absorb only ~300 before the server buffers
MAX_LATENCY_S = 3.0  # generous: the box may be busy; a stalled fan-out would block for good
# The server legitimately holds the recent-event window (~2 copies of each ~9 KB event: ~30 MB
# here) and, per stalled watcher, at most its 1,000-event buffer flushed into its socket (~9 MB);
# ~65 MB is typical. Copies of the whole backlog per watcher would add ~15 MB x 6 on top.
MAX_RSS_GROWTH_KB = 128 * 1024


def parked_total(server: Server) -> float | None:
    """The server's count of parked watchers from ``/metrics``, if it exports one."""
    with server.client() as api:
        response = api.get("/metrics")
    for line in response.text.splitlines() if response.status_code == 200 else []:
        if line.startswith("watchcache_watchers_parked_total "):
            return float(line.split()[1])
    return None


class Writer(threading.Thread):
    """Two of these relabel the pods as fast as the server acknowledges."""

    def __init__(self, server: Server, ns: str, names: list[str], count: int, tag: str) -> None:
        super().__init__(daemon=True)
        self.server, self.ns, self.names, self.count, self.tag = server, ns, names, count, tag
        self.acked: list[tuple[int, float]] = []  # (rv, when acknowledged)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.server.client() as api:
                for i in range(self.count):
                    name = self.names[i % len(self.names)]
                    pod = patch_labels(api, self.ns, name, {self.tag: str(i)})
                    self.acked.append((int(pod["metadata"]["resourceVersion"]), time.monotonic()))
        except BaseException as exc:
            self.error = exc


def test_stalled_watchers_do_not_delay_others_and_later_get_everything_once_with_bounded_memory(
    server: Server, ns: str
) -> None:
    path = f"/api/v1/namespaces/{ns}/pods"
    with server.client() as api:
        names = [f"p{i}" for i in range(PODS)]
        for name in names:
            manifest = pod_manifest(name)
            manifest["metadata"]["annotations"] = {"pad": "x" * ANNOTATION_BYTES}
            create(api, ns, manifest)
        start = str(list_rv(api, ns))
    params = {"watch": "true", "resourceVersion": start}
    stalled = [RawWatch(server.url, path, params, rcvbuf=4096) for _ in range(STALLED)]
    fast = [RawWatch(server.url, path, params) for _ in range(FAST)]
    try:
        parked_before = parked_total(server)
        rss_before = vm_rss_kb(server.process.pid)
        writers = [
            Writer(server, ns, names[: PODS // 2], EVENTS // 2, "a"),
            Writer(server, ns, names[PODS // 2 :], EVENTS // 2, "b"),
        ]
        for w in writers:
            w.start()

        # read only the fast watchers, noting when each event arrived
        received: list[dict[int, float]] = [{} for _ in fast]
        events: list[list[dict]] = [[] for _ in fast]
        rss_peak = rss_before
        deadline = time.monotonic() + 30
        while any(w.is_alive() for w in writers) or any(len(r) < EVENTS for r in received):
            for w in writers:
                if w.error is not None:
                    raise w.error
            assert time.monotonic() < deadline, f"fast watchers got only {[len(r) for r in received]} events"
            rss_peak = max(rss_peak, vm_rss_kb(server.process.pid))
            ready, _, _ = select.select(fast, [], [], 0.2)
            for i, f in enumerate(fast):
                if f not in ready:
                    continue
                for event in f.events_ready():
                    events[i].append(event)
                    received[i][int(event["object"]["metadata"]["resourceVersion"])] = time.monotonic()
                assert not f.ended, "a fast watcher's stream ended"
        for w in writers:
            w.join(10)
            if w.error is not None:
                raise w.error
        acked = sorted(a for w in writers for a in w.acked)
        assert len(acked) == EVENTS

        for i in range(FAST):
            assert [rv for _, _, rv in summary(events[i])] == [rv for rv, _ in acked]
            lag = max(received[i][rv] - when for rv, when in acked)
            assert lag < MAX_LATENCY_S, f"fast watcher {i} lagged {lag:.2f}s behind the writes"

        rss_peak = max(rss_peak, vm_rss_kb(server.process.pid))
        growth = rss_peak - rss_before
        assert growth < MAX_RSS_GROWTH_KB, f"server RSS grew by {growth // 1024} MB with stalled watchers"

        parked_after = parked_total(server)
        if parked_before is not None and parked_after is not None:  # the test did stall them
            assert parked_after - parked_before >= STALLED

        # the stalled watchers wake up: everything, once, in order
        with server.client() as api:
            sentinel = create(api, ns, pod_manifest("sentinel"))
        expected = [("MODIFIED", rv) for rv, _ in acked] + [
            ("ADDED", int(sentinel["metadata"]["resourceVersion"]))
        ]
        for i, w in enumerate(stalled):
            got = w.read_until(is_added("sentinel"), 20)
            assert [(t, rv) for t, _, rv in summary(got)] == expected, f"stalled watcher {i}"
        rss_after = vm_rss_kb(server.process.pid)
        assert rss_after - rss_before < MAX_RSS_GROWTH_KB
    finally:
        for w in stalled + fast:
            w.close()
