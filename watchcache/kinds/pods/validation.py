"""Pod validation: the 422 field errors of a pod's spec and of create (pod-semantics.md §2).

Plain functions over defaulted v1 Pod dicts. Errors come out in kube-apiserver's order
(metadata, then spec in ``ValidatePodSpec``'s order), because clients print the joined list
verbatim. Name rules live in ``names``, ObjectMeta rules in ``object_meta``, update rules in
``validation_update`` and create warnings in ``pod_warnings``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from watchcache.kinds.pods.defaults import VOLUME_SOURCES
from watchcache.machinery.errors import (
    FieldError,
    duplicate,
    field_not_found,
    forbidden,
    invalid_each,
    invalid_value,
    not_supported,
    required,
)
from watchcache.machinery.jsonshape import dicts as _dicts
from watchcache.machinery.jsonshape import mapping as _mapping
from watchcache.machinery.jsonshape import text as _text
from watchcache.machinery.memo import ContentMemo
from watchcache.machinery.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    inclusive_range_error,
    label_value_errors,
    port_name_errors,
    qualified_name_errors,
)
from watchcache.machinery.object_meta import validate_labels, validate_object_meta
from watchcache.machinery.quantity import FORMAT_ERROR, parse_quantity

MAX_INT32 = 2147483647

# --- small accessors ---------------------------------------------------------------------------


# --- spec: volumes and containers --------------------------------------------------------------

_TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_PORT_PROTOCOLS = ["SCTP", "TCP", "UDP"]
_RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_TOLERATION_OPERATORS = ["Equal", "Exists"]
_TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_INIT_ONLY_IF_SIDECAR = ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe")
# EphemeralContainerCommon fields outside the allow-list (validateFieldAllowList).
_EPHEMERAL_FORBIDDEN = (
    "ports",
    "resources",
    "lifecycle",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "resizePolicy",
    "restartPolicy",
)
_MUST_BE_SIDECAR = "may not be set for init containers without restartPolicy=Always"
_EPHEMERAL_DETAIL = "cannot be set for an Ephemeral Container"


def _validate_volumes(volumes: list[dict[str, Any]]) -> tuple[set[str], list[FieldError]]:
    """Names (unique DNS labels) and exactly one source per volume; returns the known names."""
    names: set[str] = set()
    errors: list[FieldError] = []
    for i, volume in enumerate(volumes):
        path = f"spec.volumes[{i}]"
        name = _text(volume.get("name"))
        if not name:
            errors.append(required(f"{path}.name"))
        else:
            errors += invalid_each(f"{path}.name", name, dns1123_label_errors(name))
        if name in names:
            errors.append(duplicate(f"{path}.name", name))
        elif name:
            names.add(name)
        sources = [s for s in VOLUME_SOURCES if volume.get(s) is not None]
        if not sources:
            errors.append(required(path, "must specify a volume type"))
        errors += [forbidden(f"{path}.{s}", "may not specify more than 1 volume type") for s in sources[1:]]
    return names, errors


def _validate_container_common(container: dict[str, Any], path: str, volumes: set[str]) -> list[FieldError]:
    """``validateContainerCommon``, in its order: name … resources."""
    errors: list[FieldError] = []
    name = _text(container.get("name"))
    if not name:
        errors.append(required(f"{path}.name"))
    else:
        errors += invalid_each(f"{path}.name", name, dns1123_label_errors(name))
    if not container.get("image"):
        errors.append(required(f"{path}.image"))
    errors += _one_of(
        container.get("terminationMessagePolicy"),
        f"{path}.terminationMessagePolicy",
        _TERMINATION_MESSAGE_POLICIES,
    )
    errors += _validate_ports(_dicts(container.get("ports")), f"{path}.ports")
    errors += _validate_env(_dicts(container.get("env")), f"{path}.env")
    errors += _validate_volume_mounts(_dicts(container.get("volumeMounts")), f"{path}.volumeMounts", volumes)
    errors += _one_of(container.get("imagePullPolicy"), f"{path}.imagePullPolicy", _PULL_POLICIES)
    errors += _validate_resources(_mapping(container.get("resources")), f"{path}.resources")
    return errors


def _one_of(value: Any, path: str, supported: list[str]) -> list[FieldError]:
    """Empty → ``Required value``; unknown → ``Unsupported value`` listing ``supported``."""
    if not value:
        return [required(path)]
    if value not in supported:
        return [not_supported(path, value, supported)]
    return []


def _validate_ports(ports: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for j, port in enumerate(ports):
        port_path = f"{path}[{j}]"
        name = _text(port.get("name"))
        if name:
            messages = port_name_errors(name)
            if messages:
                errors += invalid_each(f"{port_path}.name", name, messages)
            elif name in names:
                errors.append(duplicate(f"{port_path}.name", name))
            names.add(name)
        container_port = port.get("containerPort")
        if not container_port:
            errors.append(required(f"{port_path}.containerPort"))
        else:
            errors += _port_number(container_port, f"{port_path}.containerPort")
        if port.get("hostPort"):
            errors += _port_number(port["hostPort"], f"{port_path}.hostPort")
        errors += _one_of(port.get("protocol"), f"{port_path}.protocol", _PORT_PROTOCOLS)
    return errors


def _port_number(value: Any, path: str) -> list[FieldError]:
    if isinstance(value, int) and 1 <= value <= 65535:
        return []
    return [invalid_value(path, value, inclusive_range_error(1, 65535))]


def _validate_env(env: list[dict[str, Any]], path: str) -> list[FieldError]:
    """Env names: non-empty printable ASCII without ``=`` (1.32 relaxed env var names)."""
    errors: list[FieldError] = []
    for k, var in enumerate(env):
        name = _text(var.get("name"))
        if not name:
            errors.append(required(f"{path}[{k}].name"))
        elif "=" in name or not name.isascii() or not name.isprintable():
            errors.append(
                invalid_value(
                    f"{path}[{k}].name",
                    name,
                    "a valid environment variable name must consist only of printable ASCII "
                    "characters other than '='",
                )
            )
    return errors


def _validate_volume_mounts(mounts: list[dict[str, Any]], path: str, volumes: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    mount_paths: set[str] = set()
    for j, mount in enumerate(mounts):
        mount_path = f"{path}[{j}]"
        name = _text(mount.get("name"))
        if not name:
            errors.append(required(f"{mount_path}.name"))
        if name not in volumes:
            errors.append(field_not_found(f"{mount_path}.name", name))
        target = _text(mount.get("mountPath"))
        if not target:
            errors.append(required(f"{mount_path}.mountPath"))
        if target in mount_paths:
            errors.append(invalid_value(f"{mount_path}.mountPath", target, "must be unique"))
        mount_paths.add(target)
    return errors


def _validate_resources(resources: dict[str, Any], path: str) -> list[FieldError]:
    """Quantities parse and are non-negative; requests ≤ limits (= for extended resources)."""
    errors: list[FieldError] = []
    limits = _parsed_quantities(_mapping(resources.get("limits")), f"{path}.limits", errors)
    requests = _parsed_quantities(_mapping(resources.get("requests")), f"{path}.requests", errors)
    raw_requests = _mapping(resources.get("requests"))
    raw_limits = _mapping(resources.get("limits"))
    for key, request in requests.items():
        if key not in limits:
            continue
        limit, shown = limits[key], raw_limits[key]
        if request != limit and not _overcommit_allowed(key):
            errors.append(
                invalid_value(
                    f"{path}.requests", raw_requests[key], f"must be equal to {key} limit of {shown}"
                )
            )
        elif request > limit:
            errors.append(
                invalid_value(
                    f"{path}.requests",
                    raw_requests[key],
                    f"must be less than or equal to {key} limit of {shown}",
                )
            )
    return errors


def _overcommit_allowed(resource: str) -> bool:
    """Native resources except hugepages may request less than their limit (IsOvercommitAllowed);
    extended resources (``example.com/gpu``) must request exactly their limit."""
    native = "/" not in resource or resource.startswith("kubernetes.io/")
    return native and not resource.startswith("hugepages-")


def _parsed_quantities(quantities: dict[str, Any], path: str, errors: list[FieldError]) -> dict[str, Decimal]:
    """Parsed values of a ResourceList; unparsable or negative ones are reported."""
    parsed: dict[str, Decimal] = {}
    for key, text in quantities.items():
        key_path = f"{path}[{key}]"
        try:
            value = parse_quantity(text)
        except ValueError:
            # The real server rejects these while decoding (400); never store them.
            errors.append(invalid_value(key_path, text, FORMAT_ERROR))
            continue
        if value < 0:
            errors.append(invalid_value(key_path, text, "must be greater than or equal to 0"))
        parsed[key] = value
    return parsed


def _validate_probes(container: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for probe_name in _PROBES:
        probe = container.get(probe_name)
        if isinstance(probe, dict) and not any(probe.get(h) is not None for h in _PROBE_HANDLERS):
            errors.append(required(f"{path}.{probe_name}", "must specify a handler type"))
    return errors


def _validate_containers(containers: list[dict[str, Any]], volumes: set[str]) -> list[FieldError]:
    """``validateContainers``: names unique within the regular list; no restartPolicy."""
    if not containers:
        return [required("spec.containers")]
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, container in enumerate(containers):
        path = f"spec.containers[{i}]"
        errors += _validate_container_common(container, path, volumes)
        name = _text(container.get("name"))
        if name in names:
            errors.append(duplicate(f"{path}.name", name))
        names.add(name)
        errors += _validate_probes(container, path)
        if container.get("restartPolicy") is not None:
            errors.append(forbidden(f"{path}.restartPolicy", "may not be set for non-init containers"))
    return errors


def _validate_init_containers(
    init_containers: list[dict[str, Any]], containers: list[dict[str, Any]], volumes: set[str]
) -> list[FieldError]:
    """``validateInitContainers``: names unique across regular and init containers; only
    sidecars (``restartPolicy: Always``) may have probes or lifecycle hooks."""
    errors: list[FieldError] = []
    names = {_text(c.get("name")) for c in containers}
    for i, container in enumerate(init_containers):
        path = f"spec.initContainers[{i}]"
        errors += _validate_container_common(container, path, volumes)
        restart_policy = container.get("restartPolicy")
        if restart_policy is not None and restart_policy != "Always":
            errors.append(not_supported(f"{path}.restartPolicy", restart_policy, ["Always"]))
        name = _text(container.get("name"))
        if name in names:
            errors.append(duplicate(f"{path}.name", name))
        elif name:
            names.add(name)
        if restart_policy == "Always":
            errors += _validate_probes(container, path)
        else:
            errors += [
                forbidden(f"{path}.{field}", _MUST_BE_SIDECAR)
                for field in _INIT_ONLY_IF_SIDECAR
                if container.get(field) is not None
            ]
    return errors


def _validate_ephemeral_containers(spec: dict[str, Any], volumes: set[str]) -> list[FieldError]:
    """``validateEphemeralContainers``: unique names across all lists, a real target, and
    none of the fields that would make a debug container part of the workload."""
    others = {
        _text(c.get("name")) for name in ("containers", "initContainers") for c in _dicts(spec.get(name))
    }
    names = set(others)
    errors: list[FieldError] = []
    for i, container in enumerate(_dicts(spec.get("ephemeralContainers"))):
        path = f"spec.ephemeralContainers[{i}]"
        errors += _validate_container_common(container, path, volumes)
        errors += image_whitespace_errors(container, path)
        name = _text(container.get("name"))
        if name in names:
            errors.append(duplicate(f"{path}.name", name))
        names.add(name)
        target = _text(container.get("targetContainerName"))
        if target and target not in others:
            errors.append(field_not_found(f"{path}.targetContainerName", target))
        errors += [
            forbidden(f"{path}.{field}", _EPHEMERAL_DETAIL)
            for field in _EPHEMERAL_FORBIDDEN
            if container.get(field)
        ]
        for j, mount in enumerate(_dicts(container.get("volumeMounts"))):
            errors += [
                forbidden(f"{path}.volumeMounts[{j}].{field}", _EPHEMERAL_DETAIL)
                for field in ("subPath", "subPathExpr")
                if mount.get(field)
            ]
    return errors


def image_whitespace_errors(container: dict[str, Any], path: str) -> list[FieldError]:
    image = _text(container.get("image"))
    if image != image.strip():
        return [invalid_value(f"{path}.image", image, "must not have leading or trailing whitespace")]
    return []


# --- spec: pod-level fields --------------------------------------------------------------------


def _validate_host_network_ports(spec: dict[str, Any]) -> list[FieldError]:
    """With hostNetwork a container port *is* a node port (validatePodHostNetworkDeps)."""
    if not spec.get("hostNetwork"):
        return []
    errors: list[FieldError] = []
    for i, container in enumerate(_dicts(spec.get("containers"))):
        for j, port in enumerate(_dicts(container.get("ports"))):
            host_port = port.get("hostPort") or 0
            if host_port != (port.get("containerPort") or 0):
                errors.append(
                    invalid_value(
                        f"spec.containers[{i}].ports[{j}].hostPort",
                        host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    )
                )
    return errors


def _validate_dns_config(spec: dict[str, Any]) -> list[FieldError]:
    if spec.get("dnsPolicy") != "None":
        return []
    config = spec.get("dnsConfig")
    if not isinstance(config, dict):
        return [required("spec.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")]
    if not config.get("nameservers"):
        return [
            required(
                "spec.dnsConfig.nameservers",
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )
        ]
    return []


def _validate_readiness_gates(gates: list[dict[str, Any]]) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, gate in enumerate(gates):
        condition = _text(gate.get("conditionType"))
        errors += invalid_each(
            f"spec.readinessGates[{i}].conditionType", condition, qualified_name_errors(condition)
        )
    return errors


def _validate_scheduling_gates(gates: list[dict[str, Any]]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, gate in enumerate(gates):
        path = f"spec.schedulingGates[{i}].name"
        name = _text(gate.get("name"))
        errors += invalid_each(path, name, qualified_name_errors(name))
        if name in seen:
            errors.append(duplicate(path, name))
        seen.add(name)
    return errors


def _validate_subdomain_field(spec: dict[str, Any], field: str) -> list[FieldError]:
    value = _text(spec.get(field))
    return invalid_each(f"spec.{field}", value, dns1123_subdomain_errors(value)) if value else []


def _validate_label_field(spec: dict[str, Any], field: str) -> list[FieldError]:
    value = _text(spec.get(field))
    return invalid_each(f"spec.{field}", value, dns1123_label_errors(value)) if value else []


def _validate_active_deadline(spec: dict[str, Any]) -> list[FieldError]:
    value = spec.get("activeDeadlineSeconds")
    if value is None or (isinstance(value, int) and 1 <= value <= MAX_INT32):
        return []
    return [invalid_value("spec.activeDeadlineSeconds", value, inclusive_range_error(1, MAX_INT32))]


def _validate_tolerations(tolerations: list[dict[str, Any]]) -> list[FieldError]:
    """``ValidateTolerations``: key a qualified name, operator/value/effect consistent."""
    errors: list[FieldError] = []
    for i, toleration in enumerate(tolerations):
        path = f"spec.tolerations[{i}]"
        key = _text(toleration.get("key"))
        operator = _text(toleration.get("operator"))
        value = _text(toleration.get("value"))
        effect = _text(toleration.get("effect"))
        if key:
            errors += invalid_each(f"{path}.key", key, qualified_name_errors(key))
        if not key and operator != "Exists":
            errors.append(
                invalid_value(
                    f"{path}.operator",
                    operator,
                    'operator must be Exists when `key` is empty, which means "match all values and '
                    'all keys"',
                )
            )
        if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
            errors.append(
                invalid_value(
                    f"{path}.effect", effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"
                )
            )
        if operator in ("", "Equal"):
            messages = label_value_errors(value)
            if messages:
                errors.append(invalid_value(f"{path}.operator", value, ";".join(messages)))
        elif operator == "Exists":
            if value:
                errors.append(
                    invalid_value(
                        f"{path}.operator", toleration, "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            errors.append(not_supported(f"{path}.operator", operator, _TOLERATION_OPERATORS))
        if effect and effect not in _TAINT_EFFECTS:
            errors.append(not_supported(f"{path}.effect", effect, _TAINT_EFFECTS))
    return errors


def validate_pod_spec(spec: dict[str, Any]) -> list[FieldError]:
    """``ValidatePodSpec`` in its order (the subset of pod-semantics.md §2); a spec already
    seen (a template's) is judged by what it was judged before."""
    return list(_spec_errors(spec))


def _validate_pod_spec(spec: dict[str, Any]) -> list[FieldError]:
    containers = _dicts(spec.get("containers"))
    init_containers = _dicts(spec.get("initContainers"))
    volumes, errors = _validate_volumes(_dicts(spec.get("volumes")))
    errors += _validate_containers(containers, volumes)
    errors += _validate_init_containers(init_containers, containers, volumes)
    errors += _validate_ephemeral_containers(spec, volumes)
    errors += _validate_host_network_ports(spec)
    errors += _one_of(spec.get("restartPolicy"), "spec.restartPolicy", _RESTART_POLICIES)
    errors += _one_of(spec.get("dnsPolicy"), "spec.dnsPolicy", _DNS_POLICIES)
    errors += validate_labels(_mapping(spec.get("nodeSelector")), "spec.nodeSelector")
    errors += _validate_dns_config(spec)
    errors += _validate_readiness_gates(_dicts(spec.get("readinessGates")))
    errors += _validate_scheduling_gates(_dicts(spec.get("schedulingGates")))
    errors += _validate_subdomain_field(spec, "serviceAccountName")
    errors += _validate_subdomain_field(spec, "nodeName")
    errors += _validate_active_deadline(spec)
    errors += _validate_label_field(spec, "hostname")
    errors += _validate_label_field(spec, "subdomain")
    errors += _validate_tolerations(_dicts(spec.get("tolerations")))
    errors += _validate_subdomain_field(spec, "priorityClassName")
    # validateContainersOnlyForPod: runs last, after the whole spec.
    for list_name in ("containers", "initContainers"):
        for i, container in enumerate(_dicts(spec.get(list_name))):
            errors += image_whitespace_errors(container, f"spec.{list_name}[{i}]")
    return errors


_spec_errors = ContentMemo(_validate_pod_spec)


# --- entry points ------------------------------------------------------------------------------


def validate_pod(pod: dict[str, Any]) -> list[FieldError]:
    """All field errors of a (defaulted) Pod, for create and for the new object of an update."""
    return validate_object_meta(_mapping(pod.get("metadata"))) + validate_pod_spec(_mapping(pod.get("spec")))


def validate_pod_create(pod: dict[str, Any]) -> list[FieldError]:
    """``validate_pod`` plus the create-only rules of ``ValidatePodCreate``."""
    errors = validate_pod(pod)
    spec = _mapping(pod.get("spec"))
    if spec.get("ephemeralContainers"):
        # Only the /ephemeralcontainers subresource may add them.
        errors.append(forbidden("spec.ephemeralContainers", "cannot be set on create"))
    if spec.get("nodeName") and spec.get("schedulingGates"):
        errors.append(forbidden("spec.nodeName", "cannot be set until all schedulingGates have been cleared"))
    return errors
