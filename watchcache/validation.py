"""Pod validation: the 422 field errors of create and update (pod-semantics.md §2 and §3).

Plain functions over defaulted v1 Pod dicts. Errors come out in kube-apiserver's order
(metadata, then spec in ``ValidatePodSpec``'s order), because clients print the joined list
verbatim. Texts follow apimachinery's ``validation`` messages to the letter.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from .defaults import VOLUME_SOURCES
from .errors import (
    FieldError,
    duplicate,
    field_not_found,
    forbidden,
    go_value,
    invalid_value,
    not_supported,
    required,
    too_long,
)
from .names import (
    DNS1123_LABEL_MAX,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    inclusive_range_error,
    label_value_errors,
    max_len_error,
    port_name_errors,
    qualified_name_errors,
)
from .quantity import FORMAT_ERROR, parse_quantity

TOTAL_ANNOTATION_SIZE_B = 256 * 1024  # all annotation keys + values of one object
MAX_INT32 = 2147483647


def _invalid_each(path: str, value: Any, messages: Iterable[str]) -> list[FieldError]:
    """One ``Invalid value`` per message, as apimachinery's name validators report them."""
    return [invalid_value(path, value, message) for message in messages]


# --- small accessors ---------------------------------------------------------------------------


def _dicts(value: Any) -> list[dict[str, Any]]:
    """Dict items of a JSON list; wrong JSON types are decode errors reported elsewhere."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# --- metadata ----------------------------------------------------------------------------------


def _validate_metadata(meta: dict[str, Any]) -> list[FieldError]:
    """apimachinery ``ValidateObjectMetaAccessor`` with pod names as DNS-1123 subdomains."""
    errors: list[FieldError] = []
    generate_name = _text(meta.get("generateName"))
    if generate_name:
        # A generated suffix follows, so a trailing '-' is fine (maskTrailingDash).
        masked = generate_name
        if len(masked) > 1 and masked.endswith("-"):
            masked = masked[:-1] + "a"
        errors += _invalid_each("metadata.generateName", generate_name, dns1123_subdomain_errors(masked))
    name = _text(meta.get("name"))
    if not name:
        errors.append(required("metadata.name", "name or generateName is required"))
    else:
        errors += _invalid_each("metadata.name", name, dns1123_subdomain_errors(name))
    namespace = _text(meta.get("namespace"))
    if not namespace:
        errors.append(required("metadata.namespace"))
    else:
        errors += _invalid_each("metadata.namespace", namespace, dns1123_label_errors(namespace))
    generation = meta.get("generation")
    if isinstance(generation, int) and generation < 0:
        errors.append(invalid_value("metadata.generation", generation, "must be greater than or equal to 0"))
    errors += _validate_labels(_mapping(meta.get("labels")), "metadata.labels")
    errors += _validate_annotations(_mapping(meta.get("annotations")))
    errors += _validate_finalizers(meta.get("finalizers"))
    return errors


def _validate_labels(labels: dict[str, Any], path: str) -> list[FieldError]:
    """apimachinery ``ValidateLabels``: keys are qualified names, values label values."""
    errors: list[FieldError] = []
    for key, value in labels.items():
        errors += _invalid_each(path, key, qualified_name_errors(key))
        errors += _invalid_each(path, value, label_value_errors(_text(value)))
    return errors


def _validate_annotations(annotations: dict[str, Any]) -> list[FieldError]:
    """Keys are qualified names (case-insensitive); keys + values at most 256 KiB in total."""
    errors: list[FieldError] = []
    total = 0
    for key, value in annotations.items():
        errors += _invalid_each("metadata.annotations", key, qualified_name_errors(key.lower()))
        total += len(key.encode()) + len(_text(value).encode())
    if total > TOTAL_ANNOTATION_SIZE_B:
        errors.append(too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE_B))
    return errors


def _validate_finalizers(finalizers: Any) -> list[FieldError]:
    if not isinstance(finalizers, list):
        return []
    errors: list[FieldError] = []
    for finalizer in finalizers:
        errors += _invalid_each("metadata.finalizers", finalizer, qualified_name_errors(_text(finalizer)))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        errors.append(
            invalid_value(
                "metadata.finalizers",
                finalizers,
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    return errors


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
            errors += _invalid_each(f"{path}.name", name, dns1123_label_errors(name))
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
        errors += _invalid_each(f"{path}.name", name, dns1123_label_errors(name))
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
                errors += _invalid_each(f"{port_path}.name", name, messages)
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
        errors += _image_whitespace(container, path)
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


def _image_whitespace(container: dict[str, Any], path: str) -> list[FieldError]:
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
        errors += _invalid_each(
            f"spec.readinessGates[{i}].conditionType", condition, qualified_name_errors(condition)
        )
    return errors


def _validate_scheduling_gates(gates: list[dict[str, Any]]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, gate in enumerate(gates):
        path = f"spec.schedulingGates[{i}].name"
        name = _text(gate.get("name"))
        errors += _invalid_each(path, name, qualified_name_errors(name))
        if name in seen:
            errors.append(duplicate(path, name))
        seen.add(name)
    return errors


def _validate_subdomain_field(spec: dict[str, Any], field: str) -> list[FieldError]:
    value = _text(spec.get(field))
    return _invalid_each(f"spec.{field}", value, dns1123_subdomain_errors(value)) if value else []


def _validate_label_field(spec: dict[str, Any], field: str) -> list[FieldError]:
    value = _text(spec.get(field))
    return _invalid_each(f"spec.{field}", value, dns1123_label_errors(value)) if value else []


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
            errors += _invalid_each(f"{path}.key", key, qualified_name_errors(key))
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


def _validate_spec(spec: dict[str, Any]) -> list[FieldError]:
    """``ValidatePodSpec`` in its order (the subset of pod-semantics.md §2)."""
    containers = _dicts(spec.get("containers"))
    init_containers = _dicts(spec.get("initContainers"))
    volumes, errors = _validate_volumes(_dicts(spec.get("volumes")))
    errors += _validate_containers(containers, volumes)
    errors += _validate_init_containers(init_containers, containers, volumes)
    errors += _validate_ephemeral_containers(spec, volumes)
    errors += _validate_host_network_ports(spec)
    errors += _one_of(spec.get("restartPolicy"), "spec.restartPolicy", _RESTART_POLICIES)
    errors += _one_of(spec.get("dnsPolicy"), "spec.dnsPolicy", _DNS_POLICIES)
    errors += _validate_labels(_mapping(spec.get("nodeSelector")), "spec.nodeSelector")
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
            errors += _image_whitespace(container, f"spec.{list_name}[{i}]")
    return errors


# --- entry points ------------------------------------------------------------------------------


def validate_pod(pod: dict[str, Any]) -> list[FieldError]:
    """All field errors of a (defaulted) Pod, for create and for the new object of an update."""
    return _validate_metadata(_mapping(pod.get("metadata"))) + _validate_spec(_mapping(pod.get("spec")))


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


def validate_pod_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidatePodUpdate``: metadata update rules, the new pod's validity, then the spec
    mutability rule. Both pods are defaulted; ``status`` is not looked at."""
    errors = _validate_metadata_update(_mapping(new.get("metadata")), _mapping(old.get("metadata")))
    errors += validate_pod(new)
    errors += _validate_spec_update(_mapping(new.get("spec")), _mapping(old.get("spec")))
    return errors


# --- update: metadata --------------------------------------------------------------------------


def _immutable(field: str, value: Any) -> FieldError:
    return invalid_value(f"metadata.{field}", value, "field is immutable")


def _validate_metadata_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """``ValidateObjectMetaUpdate`` after the registry's silent resets (objects-and-errors §1):
    an absent uid/creationTimestamp is filled from storage, a stored deletionTimestamp wins,
    an omitted deletionGracePeriodSeconds is restored."""
    errors: list[FieldError] = []
    if old.get("deletionTimestamp"):
        added = sorted(set(_texts(new.get("finalizers"))) - set(_texts(old.get("finalizers"))))
        if added:
            errors.append(
                forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new "
                    f"finalizers {go_value(added)}",
                )
            )
    for field in ("name", "namespace"):
        if new.get(field) != old.get(field):
            errors.append(_immutable(field, new.get(field)))
    if new.get("uid") and new.get("uid") != old.get("uid"):
        errors.append(_immutable("uid", new["uid"]))
    created = new.get("creationTimestamp")
    if created and not _same_instant(created, old.get("creationTimestamp")):
        errors.append(_immutable("creationTimestamp", created))
    if new.get("deletionTimestamp") and not old.get("deletionTimestamp"):
        errors.append(_immutable("deletionTimestamp", new["deletionTimestamp"]))
    grace = new.get("deletionGracePeriodSeconds")
    if grace is not None and grace != old.get("deletionGracePeriodSeconds"):
        errors.append(_immutable("deletionGracePeriodSeconds", grace))
    return errors


def _texts(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _same_instant(a: Any, b: Any) -> bool:
    """RFC 3339 texts naming the same second (clients may resend ``+00:00`` for ``Z``)."""
    if a == b:
        return True
    try:
        return _parse_time(a) == _parse_time(b)
    except (TypeError, ValueError):
        return False


def _parse_time(text: Any) -> datetime:
    return datetime.fromisoformat(text).replace(microsecond=0)


# --- update: the spec mutability rule ----------------------------------------------------------

_SPEC_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only "
    "additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set "
    "to 1 if it was previously negative)"
)


def _validate_spec_update(new: dict[str, Any], old: dict[str, Any]) -> list[FieldError]:
    """Only images, activeDeadlineSeconds, toleration additions, gate removals, a negative
    grace period → 1 and (while gated) nodeSelector additions may change."""
    errors: list[FieldError] = []
    for list_name in ("containers", "initContainers"):
        list_errors, stop = _container_updates(
            list_name, _dicts(new.get(list_name)), _dicts(old.get(list_name))
        )
        errors += list_errors
        if stop:
            return errors
    deadline_errors = _active_deadline_update(
        new.get("activeDeadlineSeconds"), old.get("activeDeadlineSeconds")
    )
    errors += deadline_errors
    if deadline_errors and new.get("activeDeadlineSeconds") is not None:
        return errors
    errors += _toleration_updates(_dicts(new.get("tolerations")), _dicts(old.get("tolerations")))
    errors += _scheduling_gate_updates(_dicts(new.get("schedulingGates")), _dicts(old.get("schedulingGates")))
    if new == old:
        return errors
    munged = _munge_allowed_changes(new, old)
    if old.get("schedulingGates"):
        errors += _node_selector_update(munged.get("nodeSelector"), old.get("nodeSelector"))
        _copy_field(munged, old, "nodeSelector")
    if _canonical(munged) != _canonical(old):
        errors.append(forbidden("spec", _SPEC_FORBIDDEN + "\n" + spec_diff(old, munged)))
    return errors


def _container_updates(
    list_name: str, new: list[dict[str, Any]], old: list[dict[str, Any]]
) -> tuple[list[FieldError], bool]:
    """``ValidateContainerUpdates``: same count (else stop), every image non-empty."""
    path = f"spec.{list_name}"
    if len(new) != len(old):
        return [forbidden(path, "pod updates may not add or remove containers")], True
    errors: list[FieldError] = []
    for i, container in enumerate(new):
        if not container.get("image"):
            errors.append(required(f"{path}[{i}].image"))
        errors += _image_whitespace(container, f"{path}[{i}]")
    return errors, False


def _active_deadline_update(new: Any, old: Any) -> list[FieldError]:
    """nil → positive, or positive → smaller non-negative; never back to nil."""
    path = "spec.activeDeadlineSeconds"
    if new is not None:
        if not isinstance(new, int) or not 0 <= new <= MAX_INT32:
            return [invalid_value(path, new, inclusive_range_error(0, MAX_INT32))]
        if isinstance(old, int) and old < new:
            return [invalid_value(path, new, "must be less than or equal to previous value")]
    elif old is not None:
        return [invalid_value(path, None, "must not update from a positive integer to nil value")]
    return []


def _toleration_key(toleration: dict[str, Any]) -> tuple[str, ...]:
    """A toleration without ``tolerationSeconds``, Go zero values for absent fields."""
    return tuple(_text(toleration.get(f)) for f in ("key", "operator", "value", "effect"))


def _toleration_updates(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[FieldError]:
    """Every existing toleration must survive, changed at most in ``tolerationSeconds``."""
    present = {_toleration_key(t) for t in new}
    if all(_toleration_key(t) in present for t in old):
        return []
    return [
        forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
    ]


def _scheduling_gate_updates(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[FieldError]:
    """Gates may only be removed, never added (the scheduler waits for all to go)."""
    old_names = {_text(g.get("name")) for g in old}
    return [
        forbidden(
            f"spec.schedulingGates[{i}].name",
            f"only deletion is allowed, but found new scheduling gate '{name}'",
        )
        for i, name in enumerate(_text(g.get("name")) for g in new)
        if name not in old_names
    ]


def _node_selector_update(new: Any, old: Any) -> list[FieldError]:
    """While gated, nodeSelector entries may be added but not changed or removed."""
    new_map, old_map = _mapping(new), _mapping(old)
    if any(key not in new_map or new_map[key] != value for key, value in old_map.items()):
        return [
            invalid_value(
                "spec.nodeSelector",
                new_map,
                "only additions to spec.nodeSelector are allowed (no mutations or deletions)",
            )
        ]
    return []


def _munge_allowed_changes(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A shallow copy of ``new`` with every allowed change reverted to ``old``'s value."""
    munged = dict(new)
    for list_name in ("containers", "initContainers"):
        if list_name in munged:
            munged[list_name] = [
                _with_field(c, o, "image")
                for c, o in zip(_dicts(new.get(list_name)), _dicts(old.get(list_name)), strict=False)
            ]
    for field in ("activeDeadlineSeconds", "schedulingGates", "tolerations"):
        _copy_field(munged, old, field)
    old_grace = old.get("terminationGracePeriodSeconds")
    if isinstance(old_grace, int) and old_grace < 0 and new.get("terminationGracePeriodSeconds") == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    return munged


def _with_field(new: dict[str, Any], old: dict[str, Any], field: str) -> dict[str, Any]:
    copy = dict(new)
    _copy_field(copy, old, field)
    return copy


def _copy_field(target: dict[str, Any], source: dict[str, Any], field: str) -> None:
    if field in source:
        target[field] = source[field]
    else:
        target.pop(field, None)


# apimachinery Semantic.DeepEqual treats nil and empty slices/maps alike and compares quantities
# by value; Go's non-pointer scalars make "" / 0 / false indistinguishable from absent. These
# tables approximate that for JSON: a PUT that spells out a zero value is not a change.
_MAP_FIELDS = frozenset({"nodeSelector", "limits", "requests", "overhead", "labels", "annotations"})
_QUANTITY_MAPS = frozenset({"limits", "requests", "overhead"})
_QUANTITY_FIELDS = frozenset({"sizeLimit"})
_NON_POINTER_SCALARS = frozenset(
    {
        "hostNetwork",
        "hostPID",
        "hostIPC",
        "stdin",
        "stdinOnce",
        "tty",
        "readOnly",
        "hostPort",
        "containerPort",
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
        "weight",
        "maxSkew",
    }
)


def _canonical(value: Any, key: str = "") -> Any:
    """``value`` with Go-indistinguishable spellings removed, for semantic comparison."""
    if isinstance(value, dict):
        if key in _QUANTITY_MAPS:
            return {k: _quantity_value(v) for k, v in value.items()}
        result = {}
        for k, v in value.items():
            canonical = _canonical(v, k)
            if not _is_zero(canonical, k):
                result[k] = canonical
        return result
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if key in _QUANTITY_FIELDS:
        return _quantity_value(value)
    return value


def _is_zero(value: Any, key: str) -> bool:
    if value is None or value == "" or (isinstance(value, list) and not value):
        return True
    if isinstance(value, dict) and not value:
        return key in _MAP_FIELDS  # an empty struct (emptyDir: {}) is not nil
    return key in _NON_POINTER_SCALARS and value in (0, False)


def _quantity_value(value: Any) -> Any:
    try:
        return parse_quantity(value)
    except ValueError:
        return value


def spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """A unified diff of two specs as sorted, indented JSON (the real server prints Go's
    ``cmp.Diff``; clients only show the text)."""
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
    before = orjson.dumps(old, option=option).decode().splitlines()
    after = orjson.dumps(new, option=option).decode().splitlines()
    lines = difflib.unified_diff(before, after, "old spec", "new spec", n=2, lineterm="")
    return "\n".join(lines)


# --- warnings ----------------------------------------------------------------------------------

# Node labels superseded by GA names (pkg/api/node GetNodeLabelDeprecatedMessage).
_DEPRECATED_NODE_LABELS = {
    "beta.kubernetes.io/arch": 'deprecated since v1.14; use "kubernetes.io/arch" instead',
    "beta.kubernetes.io/os": 'deprecated since v1.14; use "kubernetes.io/os" instead',
    "failure-domain.beta.kubernetes.io/region": (
        'deprecated since v1.17; use "topology.kubernetes.io/region" instead'
    ),
    "failure-domain.beta.kubernetes.io/zone": (
        'deprecated since v1.17; use "topology.kubernetes.io/zone" instead'
    ),
    "beta.kubernetes.io/instance-type": (
        'deprecated since v1.17; use "node.kubernetes.io/instance-type" instead'
    ),
}


def create_warnings(pod: dict[str, Any]) -> list[str]:
    """``Warning`` header texts for a valid new Pod (pkg/api/pod ``GetWarningsForPod`` subset)."""
    meta, spec = _mapping(pod.get("metadata")), _mapping(pod.get("spec"))
    warnings: list[str] = []
    name = _text(meta.get("name"))
    if name and not spec.get("hostname"):
        problems = [max_len_error(DNS1123_LABEL_MAX)] if len(name) > DNS1123_LABEL_MAX else []
        if "." in name:
            problems.append("must not contain dots")
        if problems:
            warnings.append(
                "metadata.name: this is used in the Pod's hostname, which can result in "
                f"surprising behavior; a DNS label is recommended: [{' '.join(problems)}]"
            )
    for key in _mapping(spec.get("nodeSelector")):
        if key in _DEPRECATED_NODE_LABELS:
            warnings.append(f"spec.nodeSelector[{key}]: {_DEPRECATED_NODE_LABELS[key]}")
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        warnings.append(
            "spec.terminationGracePeriodSeconds: must be >= 0; negative values are "
            "invalid and will be treated as 1"
        )
    return warnings
