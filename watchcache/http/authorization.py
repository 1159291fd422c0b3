"""Authorization as kube-apiserver does it: who may do what, and asking about it.

Every request's attributes are read from its method and path as kube-apiserver's
``RequestInfoFactory`` reads them (``/api/v1/watch/...`` is the verb ``watch``, a GET of a
collection is ``list`` or ``watch``, a DELETE of one is ``deletecollection``; ``/api``,
``/apis/GROUP``, ``/version``, ``/openapi/...`` are non-resource paths, verb the lower-case
method). Members of ``system:masters`` may do everything; every authenticated user may ask
what they may do; everything else is what the ABAC policy file allows (``process.policy``).
A refusal is kube-apiserver's 403 Status, word for word.

``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`` answers the same question for
its caller (``kubectl auth can-i``), in JSON or protobuf (kubectl sends protobuf).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request as HTTPRequest
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from watchcache.http.responses import JSON
from watchcache.machinery import errors
from watchcache.machinery.protobuf import MAGIC, MEDIA_TYPE, Message, ProtobufError, decode_body
from watchcache.process.policy import NO_POLICY_MATCHED, PolicyFile, Request
from watchcache.process.tokens import AUTHENTICATED, User

MASTERS = "system:masters"
ANONYMOUS = User(name="system:anonymous", uid="", groups=("system:unauthenticated",))
VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
GROUP = "authorization.k8s.io"
HISTORY_GROUP = "history.watchcache.io"  # http.history's extension path
REVIEWS = "selfsubjectaccessreviews"
REVIEW_PATH = f"/apis/{GROUP}/v1/{REVIEWS}"


def attributes(user: User, method: str, path: str, query: Mapping[str, str]) -> Request:
    """A request's authorization attributes, as kube-apiserver's ``NewRequestInfo`` reads them."""
    parts = path.strip("/").split("/")
    if len(parts) < 3 or parts[0] not in ("api", "apis"):
        return Request(user.name, user.groups, method.lower(), False, path=path)
    prefix, parts = parts[0], parts[1:]
    group = ""
    if prefix == "apis":
        if len(parts) < 3:
            return Request(user.name, user.groups, method.lower(), False, path=path)
        group, parts = parts[0], parts[1:]
    parts = parts[1:]  # the version
    if parts[0] == "watch" and len(parts) > 1:
        verb, parts = "watch", parts[1:]
    else:
        verb = VERBS.get(method, "")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) > 1:
        namespace = parts[1]
        if len(parts) > 2 and parts[2] not in NAMESPACE_SUBRESOURCES:
            parts = parts[2:]
    resource = parts[0]
    name = parts[1] if len(parts) > 1 else ""
    subresource = parts[2] if len(parts) > 2 else ""
    if not name and verb == "get":
        watch = query.get("watch")
        verb = "list" if watch is None or watch.lower() in ("false", "0") else "watch"
    if not name and verb == "delete":
        verb = "deletecollection"
    if group == HISTORY_GROUP:  # an object's history is authorized as a get of the object
        resource, _, group = resource.partition(".")
        verb = "get"
    return Request(user.name, user.groups, verb, True, group, resource, subresource, namespace, name)


def allowed(policy: PolicyFile | None, request: Request) -> bool:
    """No policy file: every authenticated user may do everything (as without authorization).
    Every authenticated user may ask what they may do (kube's bootstrap role system:basic-user)."""
    if policy is None or MASTERS in request.groups or policy.allows(request):
        return True
    return (
        request.resource_request
        and (request.verb, request.api_group, request.resource) == ("create", GROUP, REVIEWS)
        and AUTHENTICATED in request.groups
    )


def forbidden(request: Request) -> errors.APIError:
    """kube-apiserver's 403 (``responsewriters.Forbidden``), with its ABAC authorizer's reason."""
    if not request.resource_request:
        why = f'User "{request.user}" cannot {request.verb} path "{request.path}"'
        return errors.APIError(403, "Forbidden", f"forbidden: {why}: {NO_POLICY_MATCHED}", {})
    resource = f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    where = f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"
    why = (
        f'User "{request.user}" cannot {request.verb} resource "{resource}" in API group '
        f'"{request.api_group}" {where}: {NO_POLICY_MATCHED}'
    )
    qualified = f"{request.resource}.{request.api_group}" if request.api_group else request.resource
    subject = f'{qualified} "{request.name}"' if request.name else qualified
    details: dict[str, Any] = {"name": request.name, "group": request.api_group, "kind": request.resource}
    return errors.APIError(
        403, "Forbidden", f"{subject} is forbidden: {why}", {k: v for k, v in details.items() if v}
    )


class Authorization:
    """ASGI middleware after authentication: a request its user may not make gets 403."""

    def __init__(self, app: ASGIApp, policy: PolicyFile, open_paths: frozenset[str]) -> None:
        self.app, self.policy, self.open_paths = app, policy, open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.open_paths:
            await self.app(scope, receive, send)
            return
        user = scope.get("user") or ANONYMOUS
        if MASTERS not in user.groups:
            request = attributes(user, scope["method"], scope["path"], scope_query(scope))
            if not allowed(self.policy, request):
                status = orjson.dumps(forbidden(request).status())
                await Response(status, 403, media_type=JSON)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def watch_requested(query_string: bytes) -> bool:
    """Whether a query asks for a watch: a ``watch`` value other than false or 0, as
    kube-apiserver reads it (the one place that rule is, for every middleware that needs it)."""
    if b"watch=" not in query_string:
        return False
    for part in query_string.split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"watch":
            return value.lower() not in (b"false", b"0")
    return False


def scope_query(scope: Scope) -> Mapping[str, str]:
    """The part of a request's query its attributes depend on (whether it watches)."""
    return {"watch": "true"} if watch_requested(scope.get("query_string", b"")) else {}


# ---- SelfSubjectAccessReview ----------------------------------------------------------------

RESOURCE_ATTRIBUTES = Message("ResourceAttributes", {
    1: ("namespace", "string"), 2: ("verb", "string"), 3: ("group", "string"), 4: ("version", "string"),
    5: ("resource", "string"), 6: ("subresource", "string"), 7: ("name", "string"),
})  # fmt: skip
NON_RESOURCE_ATTRIBUTES = Message("NonResourceAttributes", {1: ("path", "string"), 2: ("verb", "string")})
REVIEW_SPEC = Message("SelfSubjectAccessReviewSpec", {
    1: ("resourceAttributes", RESOURCE_ATTRIBUTES), 2: ("nonResourceAttributes", NON_RESOURCE_ATTRIBUTES),
})  # fmt: skip
REVIEW = Message("SelfSubjectAccessReview", {2: ("spec", REVIEW_SPEC)})


async def self_subject_access_review(request: HTTPRequest) -> Response:
    """Whether the caller may do what the review describes (201, as kube-apiserver answers)."""
    body = await request.body()
    review = _review(body, request.headers.get("content-type", ""))
    spec = review.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    resource = _object(spec.get("resourceAttributes"))
    non_resource = _object(spec.get("nonResourceAttributes"))
    if resource and non_resource:
        detail = "cannot be specified in combination with resourceAttributes"
        raise _invalid("spec.nonResourceAttributes", non_resource, detail)
    if not resource and not non_resource:
        detail = "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        raise _invalid("spec.resourceAttributes", None, detail)
    user = request.scope.get("user") or ANONYMOUS
    if resource:
        get = resource.get
        asked = Request(
            user.name, user.groups, get("verb", ""), True, get("group", ""), get("resource", ""),
            get("subresource", ""), get("namespace", ""), get("name", ""),
        )  # fmt: skip
    else:
        get = non_resource.get
        asked = Request(user.name, user.groups, get("verb", ""), False, path=get("path", ""))
    policy: PolicyFile | None = request.app.state.policy
    yes = allowed(policy, asked)
    status: dict[str, Any] = {"allowed": yes}
    if not yes:
        status["reason"] = NO_POLICY_MATCHED
    answer = {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": f"{GROUP}/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
    return Response(orjson.dumps(answer), 201, media_type=JSON)


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of strings (its other values dropped), or {}."""
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(v, str)}


def _invalid(field: str, value: Any, detail: str) -> errors.APIError:
    cause = errors.invalid_value(field, value, detail)
    return errors.invalid("SelfSubjectAccessReview", "", [cause], group=GROUP)


def _review(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        if content_type.startswith(MEDIA_TYPE) or body.startswith(MAGIC):
            return decode_body(body, REVIEW)
        review = orjson.loads(body)
    except (ProtobufError, orjson.JSONDecodeError) as exc:
        raise errors.BadRequest(f"the body of the request is not a SelfSubjectAccessReview: {exc}") from None
    if not isinstance(review, dict):
        raise errors.BadRequest("the body of the request is not a SelfSubjectAccessReview")
    return review
