"""Exactly-once delivery under concurrency: randomized (seeded) writers and dozens of watchers.

Writers create, relabel and delete pods on both replicas while watchers with random label (and
field) selectors start at random resourceVersions — or with none, for the initial state — on
either replica. Afterwards each watcher's stream must be exactly what design.md invariant 5
promises: the full event log after its start, filtered by its selectors, with the ADDED/DELETED
transitions of list-watch §5. The full log comes from a selector-less watch, itself checked
against every acknowledged write.

Every selector is satisfied by the sentinel pod's labels, so each stream ends with the
sentinel's ADDED: everything a watcher received before it is compared exactly.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .conftest import Server, pod_manifest
from .watch_support import RawWatch, create, delete, is_added, list_rv, patch_labels

SEED = 20240501
WRITERS = 3
OPS_PER_WRITER = 70
WATCHERS = 40
SENTINEL_LABELS = {"app": "s", "tier": "s"}

# requirement atoms that all hold for SENTINEL_LABELS; a selector is one or two of them
LABEL_ATOMS = {
    "app": ["app in (a,s)", "app in (b,c,s)", "app notin (a)", "app notin (b,c)", "app!=c", "app"],
    "tier": ["tier in (x,s)", "tier notin (y)", "tier!=x", "tier"],
    "gone": ["!gone"],
}
FIELD_ATOMS = ["", "", "", "metadata.name!=p-1-3", "status.phase=Pending"]


@dataclass(frozen=True)
class Logged:
    """One event of the full log, reduced to what selectors and comparisons need."""

    type: str
    name: str
    rv: int
    labels: tuple[tuple[str, str], ...]


def reduce(event: dict[str, Any]) -> Logged:
    meta = event["object"]["metadata"]
    return Logged(
        event["type"],
        meta["name"],
        int(meta["resourceVersion"]),
        tuple(sorted((meta.get("labels") or {}).items())),
    )


def label_matches(selector: str, labels: dict[str, str]) -> bool:
    """The few selector forms LABEL_ATOMS uses (list-watch §2)."""
    for term in filter(None, (t.strip() for t in _split(selector))):
        if term.startswith("!"):
            ok = term[1:] not in labels
        elif " notin " in term:
            key, values = term.split(" notin ")
            ok = labels.get(key) not in values.strip("()").split(",")
        elif " in " in term:
            key, values = term.split(" in ")
            ok = key in labels and labels[key] in values.strip("()").split(",")
        elif "!=" in term:
            key, value = term.split("!=")
            ok = labels.get(key) != value
        else:
            ok = term in labels
        if not ok:
            return False
    return True


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def field_matches(selector: str, name: str) -> bool:
    # status.phase stays Pending for every pod here (no status writes)
    return not selector.startswith("metadata.name!=") or name != selector.split("!=")[1]


@dataclass
class WatcherSpec:
    replica: int
    labels: str
    fields: str
    start: int | None  # None: no resourceVersion (initial state first)
    watch: RawWatch | None = None
    got: list[Logged] = field(default_factory=list)

    def matches(self, name: str, labels: tuple[tuple[str, str], ...]) -> bool:
        return label_matches(self.labels, dict(labels)) and field_matches(self.fields, name)

    def expected_after(self, log: list[Logged], start: int) -> tuple[set[Logged], list[Logged]]:
        """(state at ``start`` as ADDED events, then the events after it as this watcher sees them)."""
        state: dict[str, Logged] = {}
        out: list[Logged] = []
        for e in log:
            before = state.get(e.name)
            if e.type == "DELETED":
                state.pop(e.name, None)
            else:
                state[e.name] = e
            if e.rv <= start:
                continue
            now = e.type != "DELETED" and self.matches(e.name, e.labels)
            was = before is not None and self.matches(e.name, before.labels)
            if e.type == "DELETED":
                if self.matches(e.name, e.labels):
                    out.append(e)
            elif now:
                out.append(
                    Logged("MODIFIED" if was and e.type == "MODIFIED" else "ADDED", e.name, e.rv, e.labels)
                )
            elif was:
                assert before is not None
                out.append(Logged("DELETED", e.name, e.rv, before.labels))  # previous content, new rv
        initial = {
            Logged("ADDED", e.name, e.rv, e.labels)
            for e in _state_at(log, start).values()
            if self.matches(e.name, e.labels)
        }
        return initial, out


def _state_at(log: list[Logged], rv: int) -> dict[str, Logged]:
    state: dict[str, Logged] = {}
    for e in log:
        if e.rv > rv:
            break
        if e.type == "DELETED":
            state.pop(e.name, None)
        else:
            state[e.name] = e
    return state


class Writer(threading.Thread):
    def __init__(self, index: int, servers: list[Server], ns: str, seed: int) -> None:
        super().__init__(daemon=True)
        self.index, self.servers, self.ns = index, servers, ns
        self.rng = random.Random(seed)
        self.acked: list[tuple[str, str, int]] = []
        self.error: BaseException | None = None

    def labels(self) -> dict[str, str | None]:
        return {
            "app": self.rng.choice(["a", "b", "c", None]),
            "tier": self.rng.choice(["x", "y", None]),
            "gone": self.rng.choice([None, None, None, "1"]),
        }

    def run(self) -> None:
        clients = [s.client() for s in self.servers]
        alive: list[str] = []
        last: dict[str, int] = {}
        try:
            for i in range(OPS_PER_WRITER):
                api = clients[self.rng.randrange(len(clients))]
                roll = self.rng.random()
                if len(alive) < 2 or roll < 0.3:
                    name = f"p-{self.index}-{i}"
                    labels = {k: v for k, v in self.labels().items() if v is not None}
                    pod = create(api, self.ns, pod_manifest(name, labels=labels))
                    alive.append(name)
                    kind = "ADDED"
                elif roll < 0.85:
                    name = self.rng.choice(alive)
                    pod = patch_labels(api, self.ns, name, self.labels())
                    kind = "MODIFIED"
                    if int(pod["metadata"]["resourceVersion"]) == last[name]:
                        continue  # the labels were already so: a no-op update, no event
                else:
                    name = alive.pop(self.rng.randrange(len(alive)))
                    pod = delete(api, self.ns, name)
                    kind = "DELETED"
                last[name] = int(pod["metadata"]["resourceVersion"])
                self.acked.append((kind, name, last[name]))
        except BaseException as exc:
            self.error = exc
        finally:
            for c in clients:
                c.close()


def test_every_watcher_receives_exactly_its_filtered_slice_of_the_log(
    server: Server, second_server: Server, ns: str
) -> None:
    rng = random.Random(SEED)
    servers = [server, second_server]
    path = f"/api/v1/namespaces/{ns}/pods"
    with server.client() as api:
        create(api, ns + "-seed", pod_manifest("seed"))  # so rv0 >= 1 ("0" would mean "any state")
        rv0 = list_rv(api, ns)
    truth = RawWatch(server.url, path, {"watch": "true", "resourceVersion": str(rv0)})
    writers = [Writer(i, servers, ns, SEED + i) for i in range(WRITERS)]
    for w in writers:
        w.start()

    specs: list[WatcherSpec] = []
    try:
        started = time.monotonic()
        for i in range(WATCHERS):
            keys = rng.sample(sorted(LABEL_ATOMS), rng.choice([1, 1, 2]))
            labels = ",".join(rng.choice(LABEL_ATOMS[k]) for k in keys)
            fields = rng.choice(FIELD_ATOMS)
            acked = [rv for w in writers for _, _, rv in w.acked]
            roll = rng.random()
            if roll < 0.2:
                start = None
            elif roll < 0.3:
                start = max(acked, default=rv0) + rng.randint(1, 3)  # a little ahead of the log
            else:
                start = rng.choice([rv0, *acked])
            spec = WatcherSpec(i % 2, labels, fields, start)
            params = {"watch": "true", "labelSelector": labels}
            if fields:
                params["fieldSelector"] = fields
            if start is not None:
                params["resourceVersion"] = str(start)
            spec.watch = RawWatch(servers[spec.replica].url, path, params)
            assert spec.watch.status == 200, spec.watch.body_text()
            specs.append(spec)
            time.sleep(rng.uniform(0, 0.03))  # spread the starts over the writers' run
        for w in writers:
            w.join(20)
            assert not w.is_alive(), "a writer did not finish"
            if w.error is not None:
                raise w.error
        assert time.monotonic() - started < 15
        # fillers until the log has passed every start that was "ahead", so the sentinel comes
        # after every watcher's start and each stream ends with it
        furthest = max((s.start or 0) for s in specs)
        fillers: list[tuple[int, str, str]] = []
        with second_server.client() as api:
            while not fillers or fillers[-1][0] < furthest:
                name = f"filler-{len(fillers)}"
                filler = create(api, ns, pod_manifest(name, labels=SENTINEL_LABELS))
                fillers.append((int(filler["metadata"]["resourceVersion"]), "ADDED", name))
            sentinel = create(api, ns, pod_manifest("sentinel", labels=SENTINEL_LABELS))

        # the full log, checked against every acknowledged write
        log = [reduce(e) for e in truth.read_until(is_added("sentinel"), 10)]
        rvs = [e.rv for e in log]
        assert rvs == sorted(set(rvs)), "the full log must have strictly increasing rvs"
        acked = sorted((rv, kind, name) for w in writers for kind, name, rv in w.acked)
        acked += fillers
        acked.append((int(sentinel["metadata"]["resourceVersion"]), "ADDED", "sentinel"))
        assert [(e.rv, e.type, e.name) for e in log if (e.rv, e.type, e.name) in set(acked)] == acked
        # the only other events: one MODIFIED (deletionTimestamp) just before each pod's DELETED
        extra = [(e.rv, e.type, e.name) for e in log if (e.rv, e.type, e.name) not in set(acked)]
        deletes = {name: rv for rv, kind, name in acked if kind == "DELETED"}
        assert sorted(name for _, _, name in extra) == sorted(deletes)
        for rv, kind, name in extra:
            previous = max(r for r, _, n in acked if n == name and r < deletes[name])
            assert kind == "MODIFIED" and previous < rv < deletes[name], (rv, kind, name)

        # each watcher: exactly its slice
        failures = []
        for i, spec in enumerate(specs):
            assert spec.watch is not None
            spec.got = [reduce(e) for e in spec.watch.read_until(is_added("sentinel"), 10)]
            if spec.start is not None:
                _, expected = spec.expected_after(log, spec.start)
                ok = spec.got == expected
            else:
                ok = any(_fits(spec, log, s) for s in [rv0, *rvs])
                expected = []
            if not ok:
                failures.append((i, spec.replica, spec.labels, spec.fields, spec.start, spec.got, expected))
        assert not failures, _describe(failures)
        assert sum(len(s.got) for s in specs) > 10 * WATCHERS  # the run exercised something
    finally:
        truth.close()
        for spec in specs:
            if spec.watch is not None:
                spec.watch.close()


def _fits(spec: WatcherSpec, log: list[Logged], snapshot: int) -> bool:
    """Does the stream equal "state at ``snapshot`` as ADDED, then every later event"?"""
    initial, after = spec.expected_after(log, snapshot)
    n = len(initial)
    return set(spec.got[:n]) == initial and len(spec.got[:n]) == n and spec.got[n:] == after


def _describe(failures: list[tuple]) -> str:
    lines = [f"{len(failures)} watcher(s) got the wrong stream:"]
    for i, replica, labels, fields, start, got, expected in failures[:5]:
        lines.append(f"watcher {i} replica={replica} labels={labels!r} fields={fields!r} start={start}")
        lines.append(f"  got      {[(e.type, e.name, e.rv) for e in got]}")
        lines.append(f"  expected {[(e.type, e.name, e.rv) for e in expected]}")
    return "\n".join(lines)
