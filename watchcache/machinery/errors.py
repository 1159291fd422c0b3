"""The one error tree of watchcache and its mapping to Kubernetes ``Status`` bodies.

Domain code, the store and the API raise :class:`APIError` subclasses (through the
constructors below); exactly one place, :meth:`APIError.status`, turns them into the wire
``Status``. Texts follow ``shared/spec/objects-and-errors.md`` §4 to the letter, because kubectl
prints them verbatim.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import orjson

FieldErrorType = Literal[
    "FieldValueRequired",
    "FieldValueInvalid",
    "FieldValueNotSupported",
    "FieldValueDuplicate",
    "FieldValueForbidden",
    "FieldValueTooLong",
    "FieldValueNotFound",
    "InternalError",
]


def go_value(value: Any) -> str:
    """Render a value the way apimachinery's field errors print it (strings quoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(orjson.dumps(v).decode() for v in value) + "}"
    return orjson.dumps(value).decode()


def go_json_type(value: Any) -> str:
    """How Go's encoding/json names a JSON value's type in "cannot unmarshal X into ..." errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "object"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a 422 ``Invalid``: apimachinery's ``field.Error``."""

    type: FieldErrorType
    field: str
    body: str

    def text(self) -> str:
        return f"{self.field}: {self.body}"

    def cause(self) -> dict[str, str]:
        cause = {"reason": self.type, "message": self.body}
        if self.field:  # an error of the whole object has no field (``: Forbidden: ...``)
            cause["field"] = self.field
        return cause


def required(field: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", field, "Required value" + (f": {detail}" if detail else ""))


def invalid_value(field: str, value: Any, detail: str) -> FieldError:
    body = f"Invalid value: {go_value(value)}" + (f": {detail}" if detail else "")
    return FieldError("FieldValueInvalid", field, body)


def invalid_each(field: str, value: Any, details: Iterable[str]) -> list[FieldError]:
    """One ``Invalid value`` per detail, as apimachinery's name validators report them."""
    return [invalid_value(field, value, detail) for detail in details]


def not_supported(field: str, value: Any, supported: list[str]) -> FieldError:
    allowed = ", ".join(orjson.dumps(s).decode() for s in supported)
    return FieldError(
        "FieldValueNotSupported", field, f"Unsupported value: {go_value(value)}: supported values: {allowed}"
    )


def duplicate(field: str, value: Any) -> FieldError:
    return FieldError("FieldValueDuplicate", field, f"Duplicate value: {go_value(value)}")


def forbidden(field: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", field, f"Forbidden: {detail}")


def internal_error(field: str, detail: str) -> FieldError:
    return FieldError("InternalError", field, f"Internal error: {detail}")


def too_long(field: str, limit: int) -> FieldError:
    return FieldError("FieldValueTooLong", field, f"Too long: may not be more than {limit} bytes")


def field_not_found(field: str, value: Any) -> FieldError:
    return FieldError("FieldValueNotFound", field, f"Not found: {go_value(value)}")


def join_field_errors(errors: list[FieldError]) -> str:
    """One error bare, several inside ``[...]``; duplicate texts printed once (apimachinery)."""
    texts: list[str] = []
    for err in errors:
        if err.text() not in texts:
            texts.append(err.text())
    return texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"


class APIError(Exception):
    """An error with a Kubernetes ``Status`` representation."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        list_continue: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.list_continue = list_continue

    def status(self) -> dict[str, Any]:
        """The wire ``Status``, keys in the apiserver's order, empty fields omitted."""
        meta: dict[str, Any] = {"continue": self.list_continue} if self.list_continue else {}
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": meta}
        body["status"] = "Failure"
        if self.message:
            body["message"] = self.message
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.reason!r}, {self.message!r})"


class NotFound(APIError):
    pass


class AlreadyExists(APIError):
    pass


class Conflict(APIError):
    pass


class Invalid(APIError):
    def __init__(self, message: str, details: dict[str, Any], errors: list[FieldError]) -> None:
        super().__init__(422, "Invalid", message, details)
        self.errors = errors


class BadRequest(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)


class Expired(APIError):
    pass


class Timeout(APIError):
    pass


class Unauthorized(APIError):
    pass


def _details(resource: str, name: str) -> dict[str, Any]:
    """Status details name the object by resource, with the group apart (``events.events.k8s.io``)."""
    plural, _, group = resource.partition(".")
    return {"name": name, "group": group, "kind": plural} if group else {"name": name, "kind": plural}


def not_found(resource: str, name: str) -> NotFound:
    """``resource`` is qualified, as the apiserver prints it: ``pods``, ``events.events.k8s.io``."""
    return NotFound(404, "NotFound", f'{resource} "{name}" not found', _details(resource, name))


def already_exists(resource: str, name: str, *, terminating: bool = False) -> AlreadyExists:
    prefix = "object is being deleted: " if terminating else ""
    return AlreadyExists(
        409, "AlreadyExists", f'{prefix}{resource} "{name}" already exists', _details(resource, name)
    )


def name_generation_exhausted(resource: str, name: str) -> AlreadyExists:
    return AlreadyExists(
        409,
        "AlreadyExists",
        f'{resource} "{name}" already exists, the server was not able to generate a unique name '
        "for the object",
        {**_details(resource, name), "retryAfterSeconds": 1},
    )


def conflict(resource: str, name: str, cause: str = "") -> Conflict:
    cause = cause or (
        "the object has been modified; please apply your changes to the latest version and try again"
    )
    return Conflict(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {resource} "{name}": {cause}',
        _details(resource, name),
    )


def uid_conflict(resource: str, namespace: str | None, name: str, given: str, stored: str) -> Conflict:
    key = f"{namespace}/{name}" if namespace else name
    return conflict(
        resource,
        name,
        f"StorageError: invalid object, Code: 4, Key: /registry/{resource}/{key}, "
        f"ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: "
        f"{given}, UID in object meta: {stored}",
    )


def namespace_terminating(resource: str, name: str, namespace: str) -> APIError:
    """NamespaceLifecycle admission: no new content in a namespace being deleted."""
    return APIError(
        403,
        "Forbidden",
        f'{resource} "{name}" is forbidden: unable to create new content in namespace {namespace} '
        "because it is being terminated",
        {
            **_details(resource, name),
            "causes": [
                {
                    "reason": "NamespaceTerminating",
                    "message": f"namespace {namespace} is being terminated",
                    "field": "metadata.namespace",
                }
            ],
        },
    )


def delete_precondition_conflict(kind: str, name: str, what: str, given: str, actual: str) -> Conflict:
    """``what`` is ``UID`` or ``ResourceVersion`` (DELETE preconditions use the Kind, not the resource)."""
    tail = (
        "The object might have been deleted and then recreated"
        if what == "UID"
        else "The object might have been modified"
    )
    return Conflict(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {kind} "{name}": the {what} in the precondition '
        f"({given}) does not match the {what} in record ({actual}). {tail}",
        {"name": name, "kind": kind},
    )


def invalid(kind: str, name: str, errors: list[FieldError], *, group: str = "") -> Invalid:
    """422 naming the object by its kind, qualified by the group outside the core one
    (``Event.events.k8s.io "e" is invalid``)."""
    qualified = f"{kind}.{group}" if group else kind
    details: dict[str, Any] = (
        {"name": name, "group": group, "kind": kind} if group else {"name": name, "kind": kind}
    )
    details["causes"] = [e.cause() for e in errors]
    return Invalid(f'{qualified} "{name}" is invalid: {join_field_errors(errors)}', details, errors)


def invalid_options(kind: str, errors: list[FieldError]) -> Invalid:
    """422 for bad query options: ``kind`` is e.g. ``CreateOptions`` or ``ListOptions``."""
    return Invalid(
        f'{kind}.meta.k8s.io "" is invalid: {join_field_errors(errors)}',
        {"group": "meta.k8s.io", "kind": kind, "causes": [e.cause() for e in errors]},
        errors,
    )


def invalid_patch_result(patched: str, detail: str) -> Invalid:
    err = invalid_value("patch", patched, detail)
    return Invalid(f' "" is invalid: {err.text()}', {"causes": [err.cause()]}, [err])


def unauthorized() -> Unauthorized:
    return Unauthorized(401, "Unauthorized", "Unauthorized")


def method_not_allowed() -> APIError:
    return APIError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    )


def path_not_found() -> APIError:
    return APIError(404, "NotFound", "the server could not find the requested resource", {})


def not_acceptable() -> APIError:
    return APIError(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, "
        "application/vnd.kubernetes.protobuf",
    )


def unsupported_media_type(accepted: str) -> APIError:
    return APIError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {accepted}",
    )


def too_large(message: str) -> APIError:
    return APIError(413, "RequestEntityTooLarge", f"Request entity too large: {message}")


def write_not_confirmed(acked: int, needed: int, timeout_s: float) -> APIError:
    """A write the storage applied but did not confirm as durable in time (kube-apiserver's
    timeout answer: the request may still take effect)."""
    return APIError(
        504,
        "Timeout",
        f"Timeout: the write was applied, but {acked} of the {needed} Redis replicas required "
        f"confirmed it within {timeout_s:g}s; it may still be confirmed, or be lost if Redis fails "
        "over now: read the object to see",
        {"retryAfterSeconds": 1},
    )


def resource_version_too_large(requested: int, current: int) -> Timeout:
    return Timeout(
        504,
        "Timeout",
        f"Timeout: Too large resource version: {requested}, current: {current}",
        {
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1,
        },
    )


def expired(message: str, list_continue: str | None = None) -> Expired:
    return Expired(410, "Expired", message, list_continue=list_continue)


def initializing() -> APIError:
    return APIError(429, "TooManyRequests", "storage is (re)initializing", {"retryAfterSeconds": 1})
