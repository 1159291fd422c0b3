"""The Lease strategy (``pkg/registry/coordination/lease/strategy.go`` and ``ValidateLease``):
a lease is a holder and a renew time; kubelets renew one per node in ``kube-node-lease``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watchcache.machinery import errors, rest
from watchcache.machinery.errors import FieldError, invalid_value
from watchcache.machinery.object_meta import validate_object_meta, validate_object_meta_update
from watchcache.machinery.objects import Object

GROUP, KIND = "coordination.k8s.io", "Lease"
RESOURCE = "leases.coordination.k8s.io"
# LeaseSpec's fields in Go's order; strategy and preferredHolder are alpha in 1.32
# (CoordinatedLeaderElection, off by default), so they are dropped as kube-apiserver drops them
SPEC_ORDER = ("holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions")
ALPHA = ("strategy", "preferredHolder")


def canonical(lease: Object) -> Object:
    out = rest.canonical(lease, KIND, f"{GROUP}/v1", ("spec",))
    spec: dict[str, Any] = out["spec"]
    out["spec"] = {k: spec[k] for k in SPEC_ORDER if spec.get(k) is not None}
    out["spec"].update((k, v) for k, v in spec.items() if k not in SPEC_ORDER and k not in ALPHA)
    return out


def prepare_create(lease: Object, namespace: str | None, now: datetime) -> tuple[Object, list[str]]:
    meta = rest.prepare_create_metadata(lease, namespace, now)
    lease = canonical(lease)
    _raise_if_invalid(meta.get("name") or "", validate_object_meta(lease["metadata"]) + spec_problems(lease))
    return lease, []


def prepare_update(new: Object, old: Object, namespace: str | None, name: str) -> Object:
    rest.prepare_update_metadata(RESOURCE, new, old, namespace, name)
    new = canonical(new)
    problems = validate_object_meta_update(new["metadata"], old["metadata"]) + spec_problems(new)
    _raise_if_invalid(name, problems)
    return new


def spec_problems(lease: Object) -> list[FieldError]:
    """``ValidateLeaseSpec``."""
    spec, problems = lease["spec"], []
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and duration <= 0:
        problems.append(invalid_value("spec.leaseDurationSeconds", duration, "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and transitions < 0:
        problems.append(
            invalid_value("spec.leaseTransitions", transitions, "must be greater than or equal to 0")
        )
    return problems


def _raise_if_invalid(name: str, problems: list[FieldError]) -> None:
    if problems:
        raise errors.invalid(KIND, name, problems, group=GROUP)
