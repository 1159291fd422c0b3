"""The simulator's loop: one informer on pods and one on nodes, and the actions they call for.

Every pod change is judged at once and acted on in a task of its own, at most ``concurrency``
requests at a time: unscheduled pods are placed and bound (and told why when nothing fits),
pods bound to a simulated node start after the startup delay, run, finish if they are meant
to, and are finished off when deleted. Nodes are registered up front and send a heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from watchcache.simulator.client import ApiError, Client, Object, from_kubeconfig
from watchcache.simulator.cluster import (
    LEASE_NAMESPACE,
    LEASE_SECONDS,
    NodeShape,
    NodeState,
    finished_status,
    heartbeat,
    micro_text,
    node_lease,
    node_name,
    node_object,
    node_status,
    now_text,
    place,
    restart_seconds,
    restarted_status,
    run_seconds,
    running_status,
    wants_scheduling,
)

log = logging.getLogger("watchcache.simulator")

MERGE = "application/merge-patch+json"
LOGS_PATH = "/apis/logs.watchcache.io/v1/namespaces/{ns}/pods/{name}/log"
REPORT_EVERY_S = 10.0


@dataclass(frozen=True, slots=True)
class Options:
    nodes: int = 3
    node_prefix: str = "sim-node"
    shape: NodeShape = field(default_factory=NodeShape)
    startup_delay: float = 0.0  # seconds from bound to Running (KWOK's fast stages: 0)
    jitter: float = 0.0  # up to this much more, at random
    heartbeat_seconds: float = 20.0  # node status heartbeat (KWOK without leases: 20 s)
    leases: bool = True  # a Lease per node in kube-node-lease, renewed every LEASE_SECONDS / 4
    watch_per_node: bool = False  # a pod watch per node (as kubelets) instead of one shared
    events: bool = True  # Scheduled, Pulled, Created, Started, Killing, FailedScheduling
    log_interval: float = 5.0  # a log line per container this often (0: only the start line)
    namespaces: tuple[str, ...] = ()  # the pods acted on; empty: every namespace
    concurrency: int = 32  # requests in flight


def now() -> datetime:
    return datetime.now(UTC)


def not_served(exc: ApiError) -> bool:
    """A path the server does not serve (kube-apiserver has no log ingestion; an old one no
    leases), as opposed to an object it does not have."""
    return exc.code == 404 and "could not find the requested resource" in exc.message


class Simulator:
    def __init__(self, client: Client, options: Options) -> None:
        self.client = client
        self.opts = options
        self.nodes: dict[str, NodeState] = {}
        self.statuses: dict[str, Object] = {}  # node name -> the status last reported
        self.pods: dict[str, Object] = {}  # ns/name -> the pod as last seen
        self.pending: set[str] = set()  # waiting for a node
        self.unschedulable: dict[str, str] = {}  # ns/name -> the reason already reported
        self.acted: dict[str, set[str]] = {}  # ns/name -> the actions begun: each once
        self.running: set[str] = set()
        self.placed: dict[str, NodeState] = {}  # ns/name -> the node it counts against
        self.ips: dict[str, int] = {}  # node -> last pod address handed out
        self.limit = asyncio.Semaphore(options.concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.logs_served = True  # False once the server answers that it takes no log lines
        self.counts = {"bound": 0, "started": 0, "finished": 0, "deleted": 0}

    # ---- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        await self.register_nodes()
        await self.run_registered()

    async def run_registered(self) -> None:
        """Watch and act, the nodes being registered."""
        paths = [f"/api/v1/namespaces/{ns}/pods" for ns in self.opts.namespaces] or ["/api/v1/pods"]
        # one shared watch, or (as kubelets and kube-scheduler do) one per node plus one of the
        # unscheduled pods; a pod leaving the unscheduled watch is forgotten and comes back
        # through its node's
        selectors: list[str | None] = [None]
        if self.opts.watch_per_node:
            selectors = ["spec.nodeName=", *(f"spec.nodeName={name}" for name in self.nodes)]
        loops = [self.watch_pods(p, s) for p in paths for s in selectors]
        await asyncio.gather(
            self.watch_nodes(),
            *loops,
            self.heartbeat_forever(),
            self.renew_leases_forever(),
            self.logs_forever(),
            self.report_forever(),
        )

    def spawn(self, key: str, action: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` for this pod and action in a task of its own, once until it fails or
        the pod is forgotten."""
        begun = self.acted.setdefault(key, set())
        if action in begun:
            return
        begun.add(action)
        self.fire(key, action, work, lambda: begun.discard(action))

    def fire(
        self,
        key: str,
        action: str,
        work: Callable[[], Awaitable[None]],
        failed: Callable[[], None] = lambda: None,
    ) -> None:
        """Run ``work`` in a task of its own; a failure is logged (a 404 or 409 quietly: the
        object went or changed, and the next event decides)."""

        async def guarded() -> None:
            try:
                await work()
            except ApiError as exc:
                if exc.code not in (404, 409):
                    log.warning("%s of %s: %s", action, key, exc)
                failed()
            except Exception:
                log.exception("%s of %s failed", action, key)
                failed()

        task = asyncio.ensure_future(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        async with self.limit:
            return await self.client.call(method, path, body, **kw)

    # ---- nodes ---------------------------------------------------------------------------------

    async def register_nodes(self) -> None:
        """Create (or take over) the nodes and report their status, as kubelets registering."""

        async def register(index: int) -> None:
            name = node_name(self.opts.node_prefix, index)
            try:
                node = await self.call("POST", "/api/v1/nodes", node_object(name, index, self.opts.shape))
            except ApiError as exc:
                if exc.code != 409:
                    raise
                node = await self.call("GET", f"/api/v1/nodes/{name}")
            status = node_status(name, index, self.opts.shape, now())
            await self.call("PATCH", f"/api/v1/nodes/{name}/status", {"status": status}, content_type=MERGE)
            if self.opts.leases:
                await self.take_lease(node)
            self.statuses[name] = status
            self.nodes[name] = self._node_state(node, index)

        await asyncio.gather(*(register(i) for i in range(self.opts.nodes)))
        log.info("registered %d nodes (%s-0 ...)", len(self.nodes), self.opts.node_prefix)

    async def take_lease(self, node: Object) -> None:
        """Create the node's Lease, or take over the one there (a restarted simulator)."""
        lease = node_lease(node, now())
        path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases"
        try:
            await self.call("POST", path, lease)
        except ApiError as exc:
            if exc.code == 409:
                await self.call("PATCH", f"{path}/{node['metadata']['name']}", {"spec": lease["spec"]},
                                content_type=MERGE)  # fmt: skip
            elif not_served(exc):
                self.opts = replace(self.opts, leases=False)
                log.warning("the server serves no leases: node heartbeats are status updates alone")
            else:
                raise

    async def renew_leases_forever(self) -> None:
        """As a kubelet: the node's lease renewed every quarter of its duration."""
        while self.opts.leases:
            await asyncio.sleep(LEASE_SECONDS / 4)
            body = {"spec": {"renewTime": micro_text(now())}}
            for name in list(self.nodes):
                path = f"/apis/coordination.k8s.io/v1/namespaces/{LEASE_NAMESPACE}/leases/{name}"
                self.fire(name, "lease", self._patch(path, body))

    def _patch(self, path: str, body: Object) -> Callable[[], Awaitable[None]]:
        return lambda: self.call("PATCH", path, body, content_type=MERGE)

    def _node_state(self, node: Object, index: int) -> NodeState:
        spec = node.get("spec") or {}
        return NodeState(
            node["metadata"]["name"],
            index,
            dict(node["metadata"].get("labels") or {}),
            list(spec.get("taints") or []),
            self.opts.shape.pods,
            unschedulable=bool(spec.get("unschedulable")),
        )

    async def watch_nodes(self) -> None:
        """Cordons, taints and labels of the simulated nodes change where pods may go."""
        async for kind, node in self.client.informer("/api/v1/nodes"):
            state = self.nodes.get(node["metadata"]["name"])
            if state is None or kind == "DELETED":
                continue
            spec = node.get("spec") or {}
            seen = (dict(node["metadata"].get("labels") or {}), list(spec.get("taints") or []),
                    bool(spec.get("unschedulable")))  # fmt: skip
            if seen != (state.labels, state.taints, state.unschedulable):  # not a mere heartbeat
                state.labels, state.taints, state.unschedulable = seen
                self.retry_pending()

    async def heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self.opts.heartbeat_seconds)
            moment = now()
            for name, status in list(self.statuses.items()):
                body = {"status": heartbeat(status, moment)}
                self.fire(name, "heartbeat", self._patch(f"/api/v1/nodes/{name}/status", body))

    # ---- pods ----------------------------------------------------------------------------------

    async def watch_pods(self, path: str, field_selector: str | None = None) -> None:
        params = {"fieldSelector": field_selector} if field_selector is not None else None
        unscheduled = field_selector == "spec.nodeName="
        async for kind, pod in self.client.informer(path, params):
            self.on_pod(kind, pod, unscheduled)

    def on_pod(self, kind: str, pod: Object, unscheduled: bool = False) -> None:
        """A change from a pod watch (``unscheduled``: the watch of pods without a node)."""
        meta = pod["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        node = self.nodes.get((pod.get("spec") or {}).get("nodeName") or "")
        if kind == "DELETED":
            known = self.pods.get(key)
            if unscheduled and known is not None and (known.get("spec") or {}).get("nodeName"):
                return  # it left that watch by being bound, and its node's watch has it already
            self.forget(key)
            return
        meta.pop("managedFields", None)  # a kubelet never reads them: the bulk of a pod's bytes
        self.pods[key] = pod
        if wants_scheduling(pod):
            self.pending.add(key)
            self.spawn(key, "schedule", self._scheduling(key))
            return
        self.pending.discard(key)
        if node is None:
            return
        phase = (pod.get("status") or {}).get("phase", "Pending")
        if phase in ("Succeeded", "Failed"):
            self.release(key)  # a finished pod takes no room
        else:
            self.reserve(key, node)
        if "deletionTimestamp" in meta:
            self.spawn(key, "delete", lambda: self.finish_deletion(key, node))
        elif phase == "Pending":
            self.spawn(key, "start", lambda: self.start(key, node))

    def forget(self, key: str) -> None:
        self.pods.pop(key, None)
        self.pending.discard(key)
        self.running.discard(key)
        self.unschedulable.pop(key, None)
        self.release(key)
        self.acted.pop(key, None)
        self.retry_pending()  # room was made

    def reserve(self, key: str, node: NodeState) -> None:
        """Count the pod against its node's room (``placed`` finds it again without a scan)."""
        held = self.placed.get(key)
        if held is not None and held is not node:
            held.pods.discard(key)
        self.placed[key] = node
        node.pods.add(key)

    def release(self, key: str) -> None:
        node = self.placed.pop(key, None)
        if node is not None:
            node.pods.discard(key)

    def retry_pending(self) -> None:
        for key in list(self.pending):
            self.spawn(key, "schedule", self._scheduling(key))

    def _scheduling(self, key: str) -> Callable[[], Awaitable[None]]:
        return lambda: self.schedule(key)

    async def schedule(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or not wants_scheduling(pod):
            return
        node, why = place(pod, self.nodes.values())
        ns, name = key.split("/", 1)
        if node is None:
            self.acted.get(key, set()).discard("schedule")  # tried again when room is made
            if self.unschedulable.get(key) != why:
                self.unschedulable[key] = why
                await self.unschedulable_status(pod, why)
            return
        self.reserve(key, node)  # reserved while the binding is on its way
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": ns},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node.name},
        }
        try:
            await self.call("POST", f"/api/v1/namespaces/{ns}/pods/{name}/binding", binding)
        except ApiError:
            self.release(key)
            raise
        self.pending.discard(key)
        self.counts["bound"] += 1
        if self.opts.events:
            await self.scheduler_event(
                pod, "Scheduled", "Normal", f"Successfully assigned {key} to {node.name}"
            )

    async def unschedulable_status(self, pod: Object, why: str) -> None:
        """What kube-scheduler writes of a pod nothing fits: PodScheduled False, and an event."""
        meta = pod["metadata"]
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": now_text(now()),
            "reason": "Unschedulable",
            "message": why,
        }
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/status"
        await self.call("PATCH", path, {"status": {"conditions": [condition]}}, content_type=MERGE)
        if self.opts.events:
            await self.scheduler_event(pod, "FailedScheduling", "Warning", why)

    async def start(self, key: str, node: NodeState) -> None:
        delay = self.opts.startup_delay + random.uniform(0, self.opts.jitter)
        if delay:
            await asyncio.sleep(delay)
        pod = self.pods.get(key)
        if pod is None or "deletionTimestamp" in pod["metadata"]:
            return
        ns, name = key.split("/", 1)
        status = running_status(pod, node, self.pod_ip(node), now())
        path = f"/api/v1/namespaces/{ns}/pods/{name}/status"
        await self.call("PATCH", path, {"status": status}, content_type=MERGE)
        self.running.add(key)
        self.counts["started"] += 1
        containers = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
        if self.opts.events:
            for container in containers:
                image = next(c.get("image", "") for c in pod["spec"]["containers"] if c["name"] == container)
                for reason, text in (
                    ("Pulled", f'Container image "{image}" already present on machine'),
                    ("Created", f"Created container {container}"),
                    ("Started", f"Started container {container}"),
                ):
                    await self.kubelet_event(pod, node, container, reason, "Normal", text)
        for container in containers:
            await self.write_log(ns, name, container, f"container {container} started on {node.name}")
        every = restart_seconds(pod)
        if every is not None:
            self.fire(key, "restarts", lambda: self.restart_forever(key, every))
        seconds = run_seconds(pod)
        if seconds is not None:
            await asyncio.sleep(seconds)
            current = self.pods.get(key)
            if current is not None and "deletionTimestamp" not in current["metadata"]:
                await self.call(
                    "PATCH", path, {"status": finished_status(current, now())}, content_type=MERGE
                )
                self.running.discard(key)
                self.release(key)
                self.counts["finished"] += 1
                self.retry_pending()

    async def restart_forever(self, key: str, every: float) -> None:
        """Restart the pod's containers every ``every`` seconds while it runs; each new instance
        starts a log of its own (the one before is ``kubectl logs --previous``)."""
        ns, name = key.split("/", 1)
        while True:
            await asyncio.sleep(every)
            pod = self.pods.get(key)
            if pod is None or key not in self.running or "deletionTimestamp" in pod["metadata"]:
                return
            status = restarted_status(pod, now())
            path = f"/api/v1/namespaces/{ns}/pods/{name}/status"
            await self.call("PATCH", path, {"status": status}, content_type=MERGE)
            for found in status["containerStatuses"]:
                line = f"container {found['name']} restarted ({found['restartCount']} restarts)"
                await self.write_log(ns, name, found["name"], line)

    async def finish_deletion(self, key: str, node: NodeState) -> None:
        """A kubelet's part of a graceful deletion: the containers stopped, then the final
        delete with the pod's uid as precondition."""
        pod = self.pods.get(key)
        if pod is None:
            return
        ns, name = key.split("/", 1)
        self.running.discard(key)
        if self.opts.events:
            for c in (pod.get("spec") or {}).get("containers") or []:
                await self.kubelet_event(
                    pod, node, c["name"], "Killing", "Normal", f"Stopping container {c['name']}"
                )
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": pod["metadata"]["uid"]}}
        await self.call("DELETE", f"/api/v1/namespaces/{ns}/pods/{name}", body)
        self.counts["deleted"] += 1

    def pod_ip(self, node: NodeState) -> str:
        n = self.ips[node.name] = self.ips.get(node.name, 1) % 253 + 1
        return f"10.{128 + ((node.index >> 8) & 127)}.{node.index & 255}.{n + 1}"

    # ---- events and logs ---------------------------------------------------------------------

    async def scheduler_event(self, pod: Object, reason: str, kind: str, note: str) -> None:
        """As kube-scheduler reports: an events.k8s.io/v1 Event."""
        meta = pod["metadata"]
        event = {
            "apiVersion": "events.k8s.io/v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
            "eventTime": now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reportingController": "default-scheduler",
            "reportingInstance": "default-scheduler-watchcache-sim",
            "action": "Binding" if reason == "Scheduled" else "Scheduling",
            "reason": reason,
            "regarding": {
                "kind": "Pod",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta.get("uid", ""),
                "apiVersion": "v1",
            },
            "note": note,
            "type": kind,
        }
        await self.call("POST", f"/apis/events.k8s.io/v1/namespaces/{meta['namespace']}/events", event)

    async def kubelet_event(
        self, pod: Object, node: NodeState, container: str, reason: str, kind: str, message: str
    ) -> None:
        """As a kubelet reports: a core/v1 Event about one container."""
        meta, stamp = pod["metadata"], now_text(now())
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{secrets.token_hex(8)}", "namespace": meta["namespace"]},
            "involvedObject": {
                "kind": "Pod",
                "namespace": meta["namespace"],
                "name": meta["name"],
                "uid": meta.get("uid", ""),
                "apiVersion": "v1",
                "fieldPath": f"spec.containers{{{container}}}",
            },
            "reason": reason,
            "message": message,
            "source": {"component": "kubelet", "host": node.name},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": kind,
            "reportingComponent": "kubelet",
            "reportingInstance": node.name,
        }
        await self.call("POST", f"/api/v1/namespaces/{meta['namespace']}/events", event)

    async def write_log(self, ns: str, name: str, container: str, line: str) -> None:
        """A line through the log ingestion API; a server without it (kube-apiserver) is told
        once and left alone."""
        if not self.logs_served:
            return
        try:
            await self.call(
                "POST",
                LOGS_PATH.format(ns=ns, name=name),
                line.encode() + b"\n",
                params={"container": container},
                content_type="text/plain",
            )
        except ApiError as exc:
            if not_served(exc):
                self.logs_served = False
                log.warning("the server takes no log lines (%s): logs are not written", exc.message)
            elif exc.code not in (400, 404, 409):
                raise

    def _log_line(self, ns: str, name: str, container: str, line: str) -> Callable[[], Awaitable[None]]:
        return lambda: self.write_log(ns, name, container, line)

    async def logs_forever(self) -> None:
        if self.opts.log_interval <= 0:
            return
        tick = 0
        while True:
            await asyncio.sleep(self.opts.log_interval)
            tick += 1
            for key in list(self.running):
                pod = self.pods.get(key)
                if pod is None:
                    continue
                ns, name = key.split("/", 1)
                for c in (pod.get("spec") or {}).get("containers") or []:
                    line = f"{c['name']}: still running (tick {tick})"
                    self.fire(key, "log", self._log_line(ns, name, c["name"], line))

    async def report_forever(self) -> None:
        last, requests = time.monotonic(), self.client.requests
        while True:
            await asyncio.sleep(REPORT_EVERY_S)
            moment = time.monotonic()
            rate = (self.client.requests - requests) / (moment - last)
            last, requests = moment, self.client.requests
            log.info(
                "%d nodes; pods: %d running, %d pending; so far %d bound, %d started, %d finished, "
                "%d deleted; %.0f requests/s",
                len(self.nodes),
                len(self.running),
                len(self.pending),
                self.counts["bound"],
                self.counts["started"],
                self.counts["finished"],
                self.counts["deleted"],
                rate,
            )


def client_from_flags(flags: dict[str, Any]) -> Client:
    """The API client that ``--server``/``--token`` or ``--kubeconfig`` describe (ValueError if neither)."""
    if flags["kubeconfig"] is not None:
        server, token, verify = from_kubeconfig(flags["kubeconfig"])
    elif flags["server"]:
        server, token, verify = flags["server"], flags["token"], True
    else:
        raise ValueError("give --server or --kubeconfig")
    return Client(server, token or None, False if flags["insecure_skip_tls_verify"] else verify)


async def run_simulation(flags: dict[str, Any]) -> None:
    """``watchcache simulate``'s flags to a running simulator (ValueError for bad ones)."""
    labels = {}
    for text in flags["node_labels"]:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ValueError(f"--node-label {text!r} is not KEY=VALUE")
        labels[key] = value
    shape = NodeShape(flags["node_cpu"], flags["node_memory"], flags["node_pods"], labels)
    options = Options(
        nodes=flags["nodes"], node_prefix=flags["node_prefix"], shape=shape,
        startup_delay=flags["startup_delay"], jitter=flags["jitter"],
        heartbeat_seconds=flags["node_heartbeat_seconds"], events=flags["events"],
        leases=flags["node_leases"], watch_per_node=flags["watch_per_node"],
        log_interval=flags["log_interval"], namespaces=tuple(flags["namespaces"]),
        concurrency=flags["concurrency"],
    )  # fmt: skip
    client = client_from_flags(flags)
    log.info("simulating %d nodes against %s", options.nodes, client.server)
    try:
        await Simulator(client, options).run()
    finally:
        await client.close()
