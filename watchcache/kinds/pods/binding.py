"""``pods/binding``: what a scheduler's Binding does to a pod (kube's ``BindingREST`` and
``setPodHostAndAnnotations``): it sets ``spec.nodeName``, merges the binding's annotations and
marks the pod scheduled; a pod already bound or being deleted cannot be bound (409)."""

from __future__ import annotations

from typing import Any

from watchcache.kinds.pods.strategy import canonical
from watchcache.machinery import errors
from watchcache.machinery.objects import Object

RESOURCE = "pods/binding"


def check_binding(binding: Any, name: str) -> dict[str, Any]:
    """The Binding body's shape and ``ValidateBinding``; returns it."""
    if not isinstance(binding, dict):
        raise errors.BadRequest("the object provided is unrecognized (must be of type Binding)")
    meta = binding.get("metadata") or {}
    if (meta.get("name") or "") != name:
        raise errors.BadRequest("name in URL does not match name in Binding object")
    target = binding.get("target") or {}
    problems = []
    kind = target.get("kind") or ""
    if kind not in ("", "Node"):
        problems.append(errors.not_supported("target.kind", kind, ["Node", "<empty>"]))
    if not target.get("name"):
        problems.append(errors.required("target.name"))
    if problems:
        raise errors.invalid("Binding", name, problems)
    return binding


def bind(pod: Object, binding: dict[str, Any], now: str) -> Object:
    """The pod bound to the binding's node (``pod`` is a private copy, changed in place)."""
    meta, name = pod["metadata"], pod["metadata"]["name"]
    binding_meta = binding.get("metadata") or {}
    for what, given, stored in (
        ("UID", binding_meta.get("uid"), meta.get("uid")),
        ("ResourceVersion", binding_meta.get("resourceVersion"), meta.get("resourceVersion")),
    ):
        if given and given != stored:
            cause = f"Precondition failed: {what} in precondition: {given}, {what} in object meta: {stored}"
            raise errors.conflict(RESOURCE, name, cause)
    if "deletionTimestamp" in meta:
        raise errors.conflict(RESOURCE, name, f"pod {name} is being deleted, cannot be assigned to a host")
    node = pod["spec"].get("nodeName")
    if node:
        raise errors.conflict(RESOURCE, name, f'pod {name} is already assigned to node "{node}"')
    pod["spec"]["nodeName"] = binding["target"]["name"]
    if binding_meta.get("annotations"):
        meta["annotations"] = {**(meta.get("annotations") or {}), **binding_meta["annotations"]}
    status = pod.setdefault("status", {})
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
    scheduled = {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
    status["conditions"] = [*conditions, scheduled]
    return canonical(pod)
