"""The simulated cluster's rules, pure: the Node objects, where a pod may go, and the pod status
a kubelet writes (KWOK's fast stages: ``pod-ready``, ``pod-complete``, ``node-initialize``)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Object = dict[str, Any]

KUBELET_VERSION = "v1.32.0-watchcache-sim"
RUN_SECONDS = "sim.watchcache.io/run-seconds"  # a pod meant to finish runs this long, then Succeeds
RESTART_SECONDS = "sim.watchcache.io/restart-every-seconds"  # its containers restart this often
NODE_TAINT_EFFECTS = ("NoSchedule", "NoExecute")


def now_text(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class NodeShape:
    """What every simulated node offers (KWOK's example node: cpu 32, memory 256Gi, pods 110)."""

    cpu: str = "32"
    memory: str = "256Gi"
    pods: int = 110
    labels: Mapping[str, str] = field(default_factory=dict)


def node_name(prefix: str, index: int) -> str:
    return f"{prefix}-{index}"


def node_ip(index: int) -> str:
    return f"10.{(index >> 8) & 255}.{index & 255}.1"


def node_object(name: str, index: int, shape: NodeShape) -> Object:
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "watchcache-sim",
        **shape.labels,
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "spec": {"podCIDR": f"10.{128 + ((index >> 8) & 127)}.{index & 255}.0/24"},
    }


def node_status(name: str, index: int, shape: NodeShape, now: datetime) -> Object:
    """The status a kubelet reports: Ready, no pressure, addresses, resources, versions."""
    stamp = now_text(now)

    def condition(kind: str, status: str, reason: str, message: str) -> Object:
        return {
            "type": kind,
            "status": status,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp,
            "reason": reason,
            "message": message,
        }

    resources = {"cpu": shape.cpu, "memory": shape.memory, "pods": str(shape.pods)}
    return {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [
            condition(
                "MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory"
            ),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [
            {"type": "InternalIP", "address": node_ip(index)},
            {"type": "Hostname", "address": name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        "nodeInfo": {
            "machineID": hashlib.md5(name.encode(), usedforsecurity=False).hexdigest(),
            "systemUUID": hashlib.md5(name.encode() + b"uuid", usedforsecurity=False).hexdigest(),
            "bootID": "",
            "kernelVersion": "6.1.0",
            "osImage": "watchcache simulated node",
            "containerRuntimeVersion": "containerd://1.7.0",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


LEASE_NAMESPACE = "kube-node-lease"
LEASE_SECONDS = 40  # a kubelet's node lease duration; it renews every quarter of it


def micro_text(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_lease(node: Object, now: datetime) -> Object:
    """The Lease a kubelet keeps for its node (KEP-589), owned by the Node."""
    meta = node["metadata"]
    owner = {"apiVersion": "v1", "kind": "Node", "name": meta["name"], "uid": meta.get("uid", "")}
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": meta["name"], "namespace": LEASE_NAMESPACE, "ownerReferences": [owner]},
        "spec": {
            "holderIdentity": meta["name"],
            "leaseDurationSeconds": LEASE_SECONDS,
            "renewTime": micro_text(now),
        },
    }


def heartbeat(status: Object, now: datetime) -> Object:
    """The conditions of a status with a fresh ``lastHeartbeatTime`` (the periodic update)."""
    stamp = now_text(now)
    return {"conditions": [{**c, "lastHeartbeatTime": stamp} for c in status["conditions"]]}


# --- scheduling -------------------------------------------------------------------------------


@dataclass(slots=True)
class NodeState:
    """A node as the scheduler sees it: its labels, taints, room and the pods bound to it."""

    name: str
    index: int
    labels: dict[str, str]
    taints: list[Object]
    capacity: int
    pods: set[str] = field(default_factory=set)  # keys ns/name
    unschedulable: bool = False

    @property
    def ip(self) -> str:
        return node_ip(self.index)


def wants_scheduling(pod: Object, scheduler: str = "default-scheduler") -> bool:
    spec, meta = pod.get("spec") or {}, pod["metadata"]
    return (
        not spec.get("nodeName")
        and (spec.get("schedulerName") or "default-scheduler") == scheduler
        and "deletionTimestamp" not in meta
        and (pod.get("status") or {}).get("phase", "Pending") == "Pending"
    )


def tolerates(tolerations: Iterable[Object], taint: Object) -> bool:
    """``v1.Toleration.ToleratesTaint``: the key (or all keys), the value for Equal, the effect."""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        if t.get("key") and t["key"] != taint.get("key"):
            continue
        if not t.get("key") and t.get("operator") != "Exists":
            continue
        if t.get("operator") == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def fits(pod: Object, node: NodeState) -> str | None:
    """Why ``pod`` cannot go to ``node`` (kube-scheduler's filter reasons), or None."""
    spec = pod.get("spec") or {}
    if node.unschedulable:
        return "node(s) were unschedulable"
    selector = spec.get("nodeSelector") or {}
    if any(node.labels.get(k) != v for k, v in selector.items()):
        return "node(s) didn't match Pod's node affinity/selector"
    tolerations = spec.get("tolerations") or []
    for taint in node.taints:
        if taint.get("effect") in NODE_TAINT_EFFECTS and not tolerates(tolerations, taint):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    if len(node.pods) >= node.capacity:
        return "Too many pods"
    return None


def place(pod: Object, nodes: Iterable[NodeState]) -> tuple[NodeState | None, str]:
    """The least loaded node ``pod`` fits on (kube-scheduler's default scoring spreads pods), or
    None and the FailedScheduling message (``0/3 nodes are available: 3 Too many pods.``)."""
    candidates: list[NodeState] = []
    reasons: dict[str, int] = {}
    total = 0
    for node in nodes:
        total += 1
        why = fits(pod, node)
        if why is None:
            candidates.append(node)
        else:
            reasons[why] = reasons.get(why, 0) + 1
    if candidates:
        return min(candidates, key=lambda n: (len(n.pods), n.index)), ""
    detail = ", ".join(f"{count} {why}" for why, count in sorted(reasons.items()))
    return None, f"0/{total} nodes are available: {detail}." if detail else f"0/{total} nodes are available."


# --- the kubelet's pod status ----------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _containers(spec: Object, key: str) -> list[Object]:
    return list(spec.get(key) or [])


def running_status(pod: Object, node: NodeState, pod_ip: str, now: datetime) -> Object:
    """Pending → Running as a kubelet reports it (KWOK's ``pod-ready``): every condition True,
    each container ready and started, init containers completed, IPs and start time."""
    spec, stamp = pod.get("spec") or {}, now_text(now)
    uid = pod["metadata"].get("uid", "")

    def container(c: Object, *, init: bool) -> Object:
        image = c.get("image") or ""
        state: Object = (
            {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": stamp,
                    "finishedAt": stamp,
                    "containerID": f"containerd://{_digest(uid + c['name'])}",
                }
            }
            if init
            else {"running": {"startedAt": stamp}}
        )
        return {
            "name": c["name"],
            "state": state,
            "lastState": {},
            "ready": not init,
            "restartCount": 0,
            "image": image,
            "imageID": f"{image.split(':')[0]}@sha256:{_digest(image)}",
            "containerID": f"containerd://{_digest(uid + c['name'])}",
            "started": not init,
        }

    def condition(kind: str) -> Object:
        return {"type": kind, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}

    status: Object = {
        "phase": "Running",
        "conditions": [
            condition(k)
            for k in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "hostIP": node.ip,
        "hostIPs": [{"ip": node.ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": stamp,
        "containerStatuses": [container(c, init=False) for c in _containers(spec, "containers")],
        "qosClass": "BestEffort",
    }
    inits = _containers(spec, "initContainers")
    if inits:
        status["initContainerStatuses"] = [container(c, init=True) for c in inits]
    return status


def finished_status(pod: Object, now: datetime, *, phase: str = "Succeeded") -> Object:
    """Every container terminated (exit 0, Completed) and not ready: KWOK's ``pod-complete``, and
    what a kubelet reports before the final delete of a pod being deleted."""
    stamp, status = now_text(now), pod.get("status") or {}

    def terminated(found: Object) -> Object:
        running = (found.get("state") or {}).get("running") or {}
        done = {
            "exitCode": 0,
            "reason": "Completed",
            "startedAt": running.get("startedAt", stamp),
            "finishedAt": stamp,
            "containerID": found.get("containerID", ""),
        }
        return {**found, "state": {"terminated": done}, "ready": False, "started": False}

    conditions = [
        {**c, "status": "False", "lastTransitionTime": stamp, "reason": "PodCompleted"}
        if c.get("type") in ("Ready", "ContainersReady")
        else c
        for c in status.get("conditions") or []
    ]
    return {
        "phase": phase,
        "conditions": conditions,
        "containerStatuses": [terminated(c) for c in status.get("containerStatuses") or []],
    }


def restart_seconds(pod: Object) -> float | None:
    """How often a pod's containers exit and are restarted (its ``restart-every-seconds``
    annotation; never for a pod whose restartPolicy is Never)."""
    if (pod.get("spec") or {}).get("restartPolicy") == "Never":
        return None
    text = (pod["metadata"].get("annotations") or {}).get(RESTART_SECONDS)
    try:
        return float(text) if text is not None and float(text) > 0 else None
    except ValueError:
        return None


def restarted_status(pod: Object, now: datetime) -> Object:
    """The containers exited (code 1, Error) and were started again, as a kubelet reports a
    restart: the last instance under ``lastState``, ``restartCount`` up by one."""
    stamp, status = now_text(now), pod.get("status") or {}

    def restarted(found: Object) -> Object:
        running = (found.get("state") or {}).get("running") or {}
        count = int(found.get("restartCount") or 0) + 1
        last = {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": running.get("startedAt", stamp),
            "finishedAt": stamp,
            "containerID": found.get("containerID", ""),
        }
        container_id = f"containerd://{_digest(found.get('containerID', '') + str(count))}"
        return {
            **found,
            "state": {"running": {"startedAt": stamp}},
            "lastState": {"terminated": last},
            "restartCount": count,
            "containerID": container_id,
        }

    return {"containerStatuses": [restarted(c) for c in status.get("containerStatuses") or []]}


def run_seconds(pod: Object) -> float | None:
    """How long a pod meant to finish runs: its ``sim.watchcache.io/run-seconds`` annotation,
    for pods of Jobs or with ``restartPolicy: Never`` (others run until deleted)."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    owned_by_job = any(o.get("kind") == "Job" for o in meta.get("ownerReferences") or [])
    if not owned_by_job and spec.get("restartPolicy") != "Never":
        return None
    text = (meta.get("annotations") or {}).get(RUN_SECONDS)
    try:
        return max(float(text), 0.0) if text is not None else (0.0 if owned_by_job else None)
    except ValueError:
        return None
