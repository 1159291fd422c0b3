"""kube-apiserver's ABAC authorization: ``--authorization-policy-file``.

One JSON object per line, an ``abac.authorization.kubernetes.io/v1beta1`` ``Policy`` whose
``spec`` names a subject (``user``, ``group``; ``*`` for any), what it may touch (``apiGroup``,
``namespace``, ``resource``, or ``nonResourcePath`` with a trailing ``*`` for a prefix) and
whether only to read (``readonly``). A request is allowed if any line matches it, with
kube-apiserver's rules (pkg/auth/authorizer/abac): every policy allows the read-only verbs of
what it matches, a resource policy never matches a non-resource request and the other way
round, and a subresource is authorized as its resource. Blank lines and ``#`` comments are
skipped. A line that is not a policy stops the server, naming the line: never an open server.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import orjson

API_VERSION = "abac.authorization.kubernetes.io/v1beta1"
READ_ONLY_VERBS = frozenset({"get", "list", "watch"})
SPEC_FIELDS = {
    "user": str, "group": str, "readonly": bool, "apiGroup": str, "namespace": str,
    "resource": str, "nonResourcePath": str,
}  # fmt: skip
NO_POLICY_MATCHED = "No policy matched."  # the reason kube's ABAC authorizer gives
SUBJECTS_CACHED = 10_000  # (user, groups) pairs whose candidate policies are kept


Subject = tuple[str, tuple[str, ...]]  # a user's name and groups


class PolicyError(ValueError):
    """A policy file that cannot be read; the message names the file and line."""


class Request(NamedTuple):
    """What authorization looks at (kube's ``authorizer.Attributes``; a tuple: one is made per
    request, and a frozen dataclass costs several times as much to make)."""

    user: str
    groups: Sequence[str]
    verb: str
    resource_request: bool
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""  # of a non-resource request

    @property
    def read_only(self) -> bool:
        return self.verb in READ_ONLY_VERBS


@dataclass(frozen=True, slots=True)
class Policy:
    user: str = ""
    group: str = ""
    readonly: bool = False
    apiGroup: str = ""
    namespace: str = ""
    resource: str = ""
    nonResourcePath: str = ""

    def matches(self, request: Request) -> bool:
        return self.subject_matches(request) and self.grants(request)

    def grants(self, request: Request) -> bool:
        """Whether the policy allows the request, its subject aside."""
        if self.readonly and request.verb not in READ_ONLY_VERBS:
            return False
        if request.resource_request:
            return (
                self.namespace in ("*", request.namespace)
                and self.resource in ("*", request.resource)
                and self.apiGroup in ("*", request.api_group)
            )
        path = self.nonResourcePath
        return (
            path == "*"
            or path == request.path
            or (path.endswith("*") and request.path.startswith(path.rstrip("*")))
        )

    def subject_matches(self, request: Request) -> bool:
        """A policy names a user, a group or both; each it names must match."""
        matched = False
        if self.user:
            if self.user != "*" and self.user != request.user:
                return False
            matched = True
        if self.group:
            if self.group != "*" and self.group not in request.groups:
                return False
            matched = True
        return matched


@dataclass(frozen=True, slots=True)
class PolicyFile:
    policies: tuple[Policy, ...]
    # the policies whose subject matches, per (user, groups): a request scans those alone
    _for_subject: dict[Subject, tuple[Policy, ...]] = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, path: Path) -> PolicyFile:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"error reading policy file {path}: {exc}") from None
        return cls.parse(text.splitlines(), str(path))

    @classmethod
    def parse(cls, lines: Iterable[str], source: str = "<policy file>") -> PolicyFile:
        policies = []
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.strip().startswith("#"):
                continue
            try:
                policies.append(_policy(line))
            except ValueError as exc:
                raise PolicyError(
                    f"error reading policy file {source}, line {number}: {line.strip()}: {exc}"
                ) from None
        return cls(tuple(policies))

    def allows(self, request: Request) -> bool:
        subject = (request.user, tuple(request.groups))
        candidates = self._for_subject.get(subject)
        if candidates is None:
            if len(self._for_subject) >= SUBJECTS_CACHED:
                self._for_subject.clear()
            candidates = tuple(p for p in self.policies if p.subject_matches(request))
            self._for_subject[subject] = candidates
        return any(policy.grants(request) for policy in candidates)


def _policy(line: str) -> Policy:
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    if obj.get("apiVersion") != API_VERSION or obj.get("kind") != "Policy":
        raise ValueError(f'want "apiVersion": "{API_VERSION}", "kind": "Policy"')
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        raise ValueError('no "spec" object')
    for key, value in spec.items():
        want = SPEC_FIELDS.get(key)
        if want is None:
            raise ValueError(f'unknown field "spec.{key}"')
        if not isinstance(value, want):
            raise ValueError(f'"spec.{key}" must be a {want.__name__.replace("str", "string")}')
    if not spec.get("user") and not spec.get("group"):
        raise ValueError('a policy names a "user" or a "group" (or both): this one matches nobody')
    return Policy(**spec)
