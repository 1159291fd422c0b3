"""v1 Pod defaulting and the derived QoS class (pod-semantics.md §1).

Defaulting runs on every decoded body (POST, PUT, PATCH result), so every function here is
idempotent and mutates in place: no copies on the write path. Like Go's defaulters, a field
counts as unset when it is absent, ``null`` or the zero value of a non-pointer Go field
(``""``, ``0``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from watchcache.machinery.jsonshape import dicts as _dicts
from watchcache.machinery.jsonshape import mapping as _mapping
from watchcache.machinery.memo import ContentMemo
from watchcache.machinery.quantity import parse_quantity, round_up_milli

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# Probe fields are non-pointer int32s in Go: 0 means "unset" and gets the default.
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")

# Every VolumeSource member of core/v1, in the Go struct's order (validation reports the
# second one it meets); a volume with none of them is an emptyDir (SetDefaults_Volume).
VOLUME_SOURCES = (
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
)
_DEFAULT_MODE = 420  # 0644, the file mode of secret/configMap/downwardAPI/projected files

# Docker reference grammar (distribution/reference), split into parts so every regex is
# linear: separators are never empty, hence no nested-quantifier backtracking.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_IMAGE_NAME_RE = re.compile(rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_HEX64_RE = re.compile(r"[a-f0-9]{64}")
_IMAGE_NAME_MAX = 255


def apply_defaults(pod: dict[str, Any]) -> None:
    """Fill every v1 default of a Pod in place (pkg/apis/core/v1 ``SetDefaults_*``)."""
    spec = pod.get("spec")
    if spec is None:
        spec = pod["spec"] = {}
    if not isinstance(spec, dict):
        return  # a decode error, reported by the API layer
    _default_pod_spec(spec)
    for list_name in CONTAINER_LISTS:
        for container in _dicts(spec.get(list_name)):
            _default_container(container, copy_limits=list_name != "ephemeralContainers")
    if spec.get("hostNetwork"):
        for list_name in ("containers", "initContainers"):
            for container in _dicts(spec.get(list_name)):
                _default_host_ports(container)
    for volume in _dicts(spec.get("volumes")):
        _default_volume(volume)
    status = pod.get("status")
    if isinstance(status, dict):
        sync_pod_ips(status)


def _default_pod_spec(spec: dict[str, Any]) -> None:
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    # DeprecatedServiceAccount: an old client sending only serviceAccount still names the SA;
    # on output the deprecated field always mirrors serviceAccountName (v1 conversion).
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]


def _default_container(container: dict[str, Any], *, copy_limits: bool) -> None:
    if not container.get("terminationMessagePath"):
        container["terminationMessagePath"] = "/dev/termination-log"
    if not container.get("terminationMessagePolicy"):
        container["terminationMessagePolicy"] = "File"
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = image_pull_policy(container.get("image"))
    _default_resources(container, copy_limits=copy_limits)
    for port in _dicts(container.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for probe_name in _PROBES:
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            _default_probe(probe)
    _default_lifecycle(container.get("lifecycle"))
    for env in _dicts(container.get("env")):
        _default_field_ref(_mapping(env.get("valueFrom")).get("fieldRef"))


def image_pull_policy(image: Any) -> str:
    """``Always`` for ``:latest`` or untagged, undigested images; ``IfNotPresent`` otherwise.

    SetDefaults_Container parses the reference; an unparsable one (including an empty image or
    one with surrounding spaces) yields no tag, hence ``IfNotPresent``.
    """
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


def image_tag(image: Any) -> str:
    """The tag of a Docker image reference: ``latest`` when it has neither tag nor digest,
    ``""`` when it has only a digest or does not parse."""
    if not isinstance(image, str) or not image:
        return ""
    name, at, digest = image.partition("@")
    if at and not _DIGEST_RE.fullmatch(digest):
        return ""
    tag = ""
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG_RE.fullmatch(tag):
            return ""
    if len(name) > _IMAGE_NAME_MAX or _HEX64_RE.fullmatch(name) or not _IMAGE_NAME_RE.fullmatch(name):
        return ""
    if not tag and not at:
        return "latest"
    return tag


def _default_resources(container: dict[str, Any], *, copy_limits: bool) -> None:
    """``resources`` is a non-pointer struct in Go, so it is always serialized (``{}``).

    Limits and requests are rounded up to milli precision; a request missing for a limited
    resource defaults to the limit (SetDefaults_Pod, regular and init containers only).
    """
    resources = container.get("resources")
    if not isinstance(resources, dict):
        resources = container["resources"] = {}
    limits = resources.get("limits")
    requests = resources.get("requests")
    for quantities in (limits, requests):
        if isinstance(quantities, dict):
            for key, value in quantities.items():
                if isinstance(value, str):
                    quantities[key] = round_up_milli(value)
    if copy_limits and isinstance(limits, dict) and limits:
        if not isinstance(requests, dict):
            requests = resources["requests"] = {}
        for key, value in limits.items():
            requests.setdefault(key, value)


def _default_probe(probe: dict[str, Any]) -> None:
    for key, default in _PROBE_DEFAULTS.items():
        if not probe.get(key):
            probe[key] = default
    _default_http_get(probe.get("httpGet"))
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""  # declarative +default="" on GRPCAction.service


def _default_lifecycle(lifecycle: Any) -> None:
    """Lifecycle hooks share HTTPGetAction, hence its path/scheme defaults."""
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict):
                _default_http_get(handler.get("httpGet"))


def _default_http_get(http_get: Any) -> None:
    if isinstance(http_get, dict):
        if not http_get.get("path"):
            http_get["path"] = "/"
        if not http_get.get("scheme"):
            http_get["scheme"] = "HTTP"


def _default_field_ref(field_ref: Any) -> None:
    """ObjectFieldSelector.apiVersion defaults to ``v1`` (downward API env and volumes)."""
    if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
        field_ref["apiVersion"] = "v1"


def _default_host_ports(container: dict[str, Any]) -> None:
    """With hostNetwork the container shares the node's ports: hostPort = containerPort."""
    for port in _dicts(container.get("ports")):
        if not port.get("hostPort") and port.get("containerPort"):
            port["hostPort"] = port["containerPort"]


def _default_volume(volume: dict[str, Any]) -> None:
    if not any(volume.get(source) is not None for source in VOLUME_SOURCES):
        volume["emptyDir"] = {}
        return
    for source in ("secret", "configMap", "downwardAPI", "projected"):
        body = volume.get(source)
        if isinstance(body, dict) and body.get("defaultMode") is None:
            body["defaultMode"] = _DEFAULT_MODE
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""
    for item in _dicts(_mapping(volume.get("downwardAPI")).get("items")):
        _default_field_ref(item.get("fieldRef"))
    for projection in _dicts(_mapping(volume.get("projected")).get("sources")):
        _default_projection(projection)


def _default_projection(projection: dict[str, Any]) -> None:
    token = projection.get("serviceAccountToken")
    if isinstance(token, dict) and token.get("expirationSeconds") is None:
        token["expirationSeconds"] = 3600  # SetDefaults_ServiceAccountTokenProjection: 1 h
    for item in _dicts(_mapping(projection.get("downwardAPI")).get("items")):
        _default_field_ref(item.get("fieldRef"))


def sync_pod_ips(status: dict[str, Any]) -> None:
    """Reconcile ``podIP``/``podIPs`` and ``hostIP``/``hostIPs`` in place.

    The singular field is authoritative on input ("older field takes precedence",
    ``Convert_v1_PodStatus_To_core_PodStatus``): it alone, or differing from the list's first
    entry, replaces the list by ``[{"ip": <it>}]``; the list alone fills the singular field.
    """
    _sync_ips(status, "podIP", "podIPs")
    _sync_ips(status, "hostIP", "hostIPs")


def _sync_ips(status: dict[str, Any], single: str, plural: str) -> None:
    ip = status.get(single)
    ips = status.get(plural)
    first = ips[0].get("ip") if isinstance(ips, list) and ips and isinstance(ips[0], dict) else None
    if ip:
        if ip != first:
            status[plural] = [{"ip": ip}]
    elif first:
        status[single] = first


def qos_class(pod: dict[str, Any]) -> str:
    """``BestEffort``, ``Burstable`` or ``Guaranteed`` (kubernetes ``qos.ComputePodQOS``), from
    the containers' resources alone: remembered per set of them (a template's)."""
    spec = _mapping(pod.get("spec"))
    containers = _dicts(spec.get("containers")) + _dicts(spec.get("initContainers"))
    return str(_qos_of([container.get("resources") for container in containers]))


def _qos_from(resources: list[Any]) -> str:
    """Over regular and init containers, only positive cpu/memory quantities count; requests
    default to limits. Guaranteed needs cpu and memory limits on every container and, summed,
    requests equal to limits."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for each in resources:
        own = _mapping(each)
        raw_limits = _mapping(own.get("limits"))
        raw_requests = _mapping(own.get("requests"))
        own_limits = _positive_cpu_memory(raw_limits)
        _add_into(requests, _positive_cpu_memory({**raw_limits, **raw_requests}))
        _add_into(limits, own_limits)
        if own_limits.keys() != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and requests == limits:
        return "Guaranteed"
    return "Burstable"


_qos_of = ContentMemo(_qos_from)


def _positive_cpu_memory(quantities: dict[str, Any]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for key in ("cpu", "memory"):
        try:
            value = parse_quantity(quantities.get(key))
        except ValueError:
            continue
        if value > 0:
            result[key] = value
    return result


def _add_into(total: dict[str, Decimal], values: dict[str, Decimal]) -> None:
    for key, value in values.items():
        total[key] = total.get(key, Decimal(0)) + value
