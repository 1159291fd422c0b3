"""Request bodies to objects of a kind, judged the way kube-apiserver's decoder judges them.

Order (objects-and-errors.md §4/§5): parse → read ``kind``/``apiVersion`` → typed decode (wrong
JSON types, bad times and quantities are 400s) → strict field problems (unknown or duplicate
keys: a 400 under ``Strict``, warnings under ``Warn``, silence under ``Ignore``).

Speed: every write comes through here. The fast path is ``orjson`` plus one schema walk. orjson
cannot see duplicate keys, so the walk counts object keys and compares with the key tokens in
the raw bytes (two ``bytes.count`` calls); only on a mismatch, on an error, or on a body the
cheap count cannot judge does the exact (slow) pass run: ``json.loads`` with hooks that keep
repeated keys and number literals, which also produces the exact Go error texts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import yaml
from mypy_extensions import mypyc_attr

from watchcache.machinery.errors import BadRequest, go_json_type
from watchcache.machinery.schema import (
    Checker,
    DupDict,
    GoFloat,
    NeedsExactPass,
    ObjectSchema,
    SchemaError,
    go_quote,
    plain,
)
from watchcache.machinery.yaml_loaders import StrictLoader, first_document

FieldValidation = Literal["Ignore", "Warn", "Strict"]
SCHEME = "pkg/api/legacyscheme/scheme.go:30"
MAX_STRICT_ERRORS = 100  # sigs.k8s.io/json stops collecting there
# encoding/json's name for the anonymous struct apimachinery reads kind/apiVersion into.
_FIND_KIND_TYPE = (
    'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }'
)
# Kinds the apiserver's scheme knows, so that sending one of them fails in conversion, not lookup.
KNOWN_KINDS: dict[str, frozenset[str]] = {
    "v1": frozenset(
        [
            "Binding",
            "ComponentStatus",
            "ConfigMap",
            "Endpoints",
            "Event",
            "LimitRange",
            "Namespace",
            "Node",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "PodTemplate",
            "ReplicationController",
            "ResourceQuota",
            "Secret",
            "Service",
            "ServiceAccount",
            "List",
            "PodList",
            "ConfigMapList",
            "EventList",
            "NamespaceList",
            "NodeList",
            "SecretList",
            "ServiceList",
            "ServiceAccountList",
            "EndpointsList",
            "ReplicationControllerList",
            "PodStatusResult",
            "PodProxyOptions",
            "PodLogOptions",
            "PodAttachOptions",
            "PodExecOptions",
            "PodPortForwardOptions",
            "RangeAllocation",
            "SerializedReference",
            "DeleteOptions",
            "ListOptions",
            "GetOptions",
            "CreateOptions",
            "UpdateOptions",
            "PatchOptions",
            "WatchEvent",
            "Status",
        ]
    ),
    "apps/v1": frozenset(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ControllerRevision"]),
    "batch/v1": frozenset(["Job", "CronJob"]),
}


@dataclass(frozen=True, slots=True)
class DecodeResult:
    obj: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@mypyc_attr(native_class=False)  # subclasses an interpreted class
class DecodeError(BadRequest):
    """A 400 from decoding; ``detail`` is the decoder's own text, for callers that re-wrap it
    (a PATCH reports problems of the patched object as 422, patch.md §6)."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


def _prefix(schema: ObjectSchema) -> str:
    return f"{schema.kind} in version {go_quote(schema.version)} cannot be handled as a {schema.kind}: "


def _unrecognized_prefix(schema: ObjectSchema) -> str:
    return f"the object provided is unrecognized (must be of type {schema.kind}): "


def decode_object(
    body: bytes, schema: ObjectSchema, *, field_validation: str, content_type: str = "application/json"
) -> DecodeResult:
    """Decode a POST/PUT body into an object of ``schema``'s kind (unknown fields dropped,
    values normalised).

    Raises :class:`DecodeError` (a ``BadRequest``) with kube-apiserver's texts.
    """
    directive = _directive(field_validation)
    if "yaml" in content_type:
        tree, problems = _load_yaml(body, schema)
        return _finish(_check(body, tree, schema, exact=True, yaml_problems=problems), directive, schema)
    raw_keys = _raw_key_count(body)
    if raw_keys >= 0:
        try:
            tree = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            try:
                checker, obj = _check(body, tree, schema, exact=False)
            except (SchemaError, NeedsExactPass):
                pass  # let the exact pass produce the faithful error text
            else:
                if checker.keys == raw_keys:
                    return _finish((checker, obj), directive, schema)
    return _finish(_check(body, _load_exact(body, schema), schema, exact=True), directive, schema)


def check_fields(
    obj: dict[str, Any], schema: ObjectSchema, *, field_validation: str, cleaning: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """The same schema check on an already-parsed object (the result of applying a patch).

    Returns the cleaned object (``obj`` itself, modified in place; with ``cleaning=False``,
    ``obj`` as it was: only judged) and the strict problems (``unknown field "spec.foo"``)
    whatever the directive: a PATCH reports them as a 422 under ``Strict`` (patch.md §6),
    which only the caller can build. Wrong types raise :class:`DecodeError` whose ``detail``
    is the bare decoder text.
    """
    _directive(field_validation)
    checker = Checker(counting=False, cleaning=cleaning)
    try:
        try:
            checked = checker.struct(obj, schema.root, None)
        except NeedsExactPass:  # a float quantity: its repr is the best literal a dict offers
            checker = Checker(exact=True, counting=False, cleaning=cleaning)
            checked = checker.struct(_floats_as_literals(obj), schema.root, None)
    except SchemaError as exc:
        raise DecodeError(_prefix(schema) + exc.detail, exc.detail) from None
    return (checked if cleaning else obj), _dedupe(checker.problems)


def decode_object_json(body: bytes) -> Any:
    """Parse a plain JSON body (DeleteOptions, patches); syntax errors read like Go's.

    Repeated keys: the last wins (as in Go). Raises ``BadRequest`` with the bare parser text.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return plain(_load_exact(body, None))


# --- pipeline ---------------------------------------------------------------------------------


def _directive(value: str) -> FieldValidation:
    if value in ("", "Warn"):
        return "Warn"  # the server's default when the parameter is absent (pod-semantics §9)
    if value in ("Ignore", "Strict"):
        return value  # type: ignore[return-value]
    raise ValueError(f"fieldValidation must be validated by the caller, got {value!r}")


def _check(
    body: bytes, tree: Any, schema: ObjectSchema, *, exact: bool, yaml_problems: list[str] | None = None
) -> tuple[Checker, dict[str, Any]]:
    """Interpret kind/apiVersion, then walk the schema. Schema errors escape when not exact."""
    tree = {} if tree is None else tree
    _interpret(body, tree, schema)
    checker = Checker(exact=exact)
    checker.problems.extend(yaml_problems or ())
    try:
        obj = checker.struct(tree, schema.root, None)
    except SchemaError as exc:
        if not exact:
            raise
        raise DecodeError(_prefix(schema) + exc.detail, exc.detail) from None
    return checker, obj


def _finish(
    checked: tuple[Checker, dict[str, Any]], directive: FieldValidation, schema: ObjectSchema
) -> DecodeResult:
    checker, obj = checked
    problems = _dedupe(checker.problems)
    if problems and directive == "Strict":
        detail = "strict decoding error: " + ", ".join(problems)
        raise DecodeError(_prefix(schema) + detail, detail)
    kind, api_version = schema.kind, schema.api_version
    if "kind" not in obj or "apiVersion" not in obj:
        obj = {"kind": kind, "apiVersion": api_version, **obj}
    obj["kind"], obj["apiVersion"] = kind, api_version
    return DecodeResult(obj, problems if directive == "Warn" else [])


def _dedupe(problems: list[str]) -> list[str]:
    return list(dict.fromkeys(problems))[:MAX_STRICT_ERRORS]


def _floats_as_literals(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _floats_as_literals(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_floats_as_literals(v) for v in value]
    return GoFloat(repr(value)) if type(value) is float else value


# --- kind and apiVersion -------------------------------------------------------------------------


def _interpret(body: bytes, tree: Any, schema: ObjectSchema) -> None:
    """apimachinery reads kind/apiVersion first (case-insensitively), then defaults them."""
    if not isinstance(tree, dict):
        found = go_json_type(tree)
        _unrecognized(body, f"json: cannot unmarshal {found} into Go value of type {_FIND_KIND_TYPE}", schema)
    kind, api_version = "", ""
    for key, value in tree.pairs if type(tree) is DupDict else tree.items():
        name = key.lower()
        if name not in ("kind", "apiversion"):
            continue
        if value is not None and not isinstance(value, str):
            field_name = "kind" if name == "kind" else "apiVersion"
            found = go_json_type(value)
            _unrecognized(
                body,
                f"json: cannot unmarshal {found} into Go struct field .{field_name} of type string",
                schema,
            )
        if name == "kind":
            kind = value or ""
        else:
            api_version = value or ""
    _check_kind(body, kind or schema.kind, api_version, schema)


def _check_kind(body: bytes, kind: str, api_version: str, schema: ObjectSchema) -> None:
    parts = api_version.split("/")
    if len(parts) > 2:
        unrecognized = _unrecognized_prefix(schema)
        raise DecodeError(f"{unrecognized}unexpected GroupVersion string: {api_version} ({_summary(body)})")
    group, version = ("", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
    if not version and not group:
        version = schema.version
        group = schema.group
    head = f"{kind} in version {go_quote(version)} cannot be handled as a {schema.kind}: "
    if not version:
        text = body.decode("utf-8", "replace")
        raise DecodeError(head + f"Object 'apiVersion' is missing in '{text}'")
    gv = f"{group}/{version}" if group else version
    if gv == schema.api_version and kind == schema.kind:
        return
    if kind in KNOWN_KINDS.get(gv, ()):
        raise DecodeError(head + f"converting ({version}.{kind}) to (core.{schema.kind}): unknown conversion")
    raise DecodeError(
        head + f"no kind {go_quote(kind)} is registered for version {go_quote(gv)} in scheme "
        f"{go_quote(SCHEME)}"
    )


def _unrecognized(body: bytes, error: str, schema: ObjectSchema) -> None:
    head = _unrecognized_prefix(schema)
    raise DecodeError(f"{head}couldn't get version/kind; json parse error: {error} ({_summary(body)})")


def _summary(body: bytes) -> str:
    """apiserver's summarizeData: the first 30 bytes, as text if it looks like JSON, else hex."""
    head = body[:30]
    more = " ..." if len(body) > 30 else ""
    if not body:
        return "<empty>"
    if body[:1] == b"{":
        return head.decode("utf-8", "replace") + more
    return head.hex() + more


# --- parsing -----------------------------------------------------------------------------------


_RARE_WS = (b"\n", b"\r", b"\t")


def _raw_key_count(body: bytes) -> int:
    """Key tokens in the raw bytes (``"<text>":``), or -1 when the body is pretty-printed oddly.

    Inside strings a quote is escaped, so ``\\":`` is never a key and is subtracted. Raw
    tab/CR/LF only occur outside strings (JSON escapes them inside), and single-byte tests are
    memchr-fast, so only bodies that have them pay for a pair search. Known blind spot, accepted
    for speed (each pair search costs ~3 % of a decode): a hand-written body in which keys with a
    space before the colon, or keys ending in an escaped backslash, exactly offset its duplicate
    keys; its duplicates then resolve as under ``Ignore`` (last wins), unreported.
    """
    for ws in _RARE_WS:
        if ws in body and ws + b":" in body:
            return -1
    count = body.count(b'":')
    if b"\\" in body:
        count -= body.count(b'\\":')
    return count


def _load_exact(body: bytes, schema: ObjectSchema | None) -> Any:
    """The slow parse: Go's syntax errors, repeated keys kept, number literals kept. A syntax
    error names the kind expected when there is one (a body), else is bare (options, patches)."""
    error = go_syntax_error(body)
    if error is not None:
        if schema is not None:
            _unrecognized(body, error, schema)
        raise BadRequest(error)
    text = body.decode("utf-8", "replace")
    try:
        tree = json.loads(text, object_pairs_hook=_pairs, parse_float=GoFloat)
    except RecursionError:
        raise BadRequest("json: exceeded max depth") from None
    if _LONE_SURROGATE.search(body):
        tree = _replace_surrogates(tree)
    return tree


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    return obj if len(obj) == len(pairs) else DupDict(pairs)


_LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(f"[{chr(0xD800)}-{chr(0xDFFF)}]")


def _replace_surrogates(value: Any) -> Any:
    """Go decodes an unpaired ``\\ud800`` escape as U+FFFD; Python would keep the surrogate."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, DupDict):
        return DupDict([(_replace_surrogates(k), _replace_surrogates(v)) for k, v in value.pairs])
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    return value


# --- YAML ----------------------------------------------------------------------------------------


def _load_yaml(body: bytes, schema: ObjectSchema) -> tuple[Any, list[str]]:
    """YAML → JSON-like tree as sigs.k8s.io/yaml does; duplicate keys as one strict problem."""
    try:
        loader = StrictLoader(body)
        tree = first_document(loader)
        duplicates = loader.duplicates
    except yaml.MarkedYAMLError as exc:
        line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        detail = f"error converting YAML to JSON: yaml: {line}{exc.problem}"
        raise DecodeError(f"{_unrecognized_prefix(schema)}{detail} ({_summary(body)})", detail) from None
    except yaml.YAMLError as exc:
        detail = f"error converting YAML to JSON: yaml: {exc}"
        raise DecodeError(f"{_unrecognized_prefix(schema)}{detail} ({_summary(body)})", detail) from None
    problems = []
    if duplicates:
        lines = "\n  ".join(duplicates)
        problems.append(f"error converting YAML to JSON: yaml: unmarshal errors:\n  {lines}")
    return tree, problems


# --- Go's encoding/json texts ------------------------------------------------------------------


def _quote_char(c: int) -> str:
    """encoding/json's quoteChar for ``invalid character ...``."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + go_quote(chr(c))[1:-1] + "'"


_WS = b" \t\r\n"
_DIGITS = b"0123456789"


def go_syntax_error(data: bytes) -> str | None:
    """The first error encoding/json's scanner reports for ``data``, or ``None`` if valid JSON."""
    try:
        _GoScanner(data).document()
    except _Syntax as exc:
        return str(exc)
    return None


class _Syntax(Exception):
    pass


class _GoScanner:
    """A validator that stops where Go's scanner stops and words the error like it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.i = 0

    def document(self) -> None:
        self.value("looking for beginning of value")
        self.skip_ws()
        if self.i < len(self.data):
            self.fail("after top-level value")

    def fail(self, context: str) -> None:
        if self.i >= len(self.data):
            raise _Syntax("unexpected end of JSON input")
        raise _Syntax(f"invalid character {_quote_char(self.data[self.i])} {context}")

    def skip_ws(self) -> None:
        data, i = self.data, self.i
        while i < len(data) and data[i] in _WS:
            i += 1
        self.i = i

    def peek(self) -> int:
        return self.data[self.i] if self.i < len(self.data) else -1

    def value(self, context: str) -> None:
        # Iterative over containers: a stack of "{" / "[" so deep nesting cannot overflow Python.
        stack: list[int] = []
        while True:
            self.skip_ws()
            c = self.peek()
            if c == 0x7B:  # {
                self.i += 1
                self.skip_ws()
                if self.peek() == 0x7D:
                    self.i += 1
                else:
                    self.key()
                    stack.append(0x7B)
                    context = ""
                    continue
            elif c == 0x5B:  # [
                self.i += 1
                self.skip_ws()
                if self.peek() == 0x5D:
                    self.i += 1
                else:
                    stack.append(0x5B)
                    continue
            else:
                self.scalar(context or "looking for beginning of value")
            if not self.close(stack):
                return
            context = "looking for beginning of value"

    def close(self, stack: list[int]) -> bool:
        """After a value: eat ``,`` (then maybe a key) or closers; ``False`` when at top level."""
        while stack:
            self.skip_ws()
            c, top = self.peek(), stack[-1]
            if c == 0x2C:  # ,
                self.i += 1
                if top == 0x7B:
                    self.skip_ws()
                    self.key()
                return True
            if (top == 0x7B and c == 0x7D) or (top == 0x5B and c == 0x5D):
                self.i += 1
                stack.pop()
                continue
            self.fail("after object key:value pair" if top == 0x7B else "after array element")
        return False

    def key(self) -> None:
        if self.peek() != 0x22:
            self.fail("looking for beginning of object key string")
        self.string()
        self.skip_ws()
        if self.peek() != 0x3A:
            self.fail("after object key")
        self.i += 1

    def scalar(self, context: str) -> None:
        c = self.peek()
        if c == 0x22:
            self.string()
        elif c == 0x2D or (0x30 <= c <= 0x39):
            self.number()
        elif c in (0x74, 0x66, 0x6E):  # t f n
            self.literal({0x74: b"true", 0x66: b"false", 0x6E: b"null"}[c])
        else:
            self.fail(context)

    def literal(self, word: bytes) -> None:
        for expected in word:
            if self.peek() != expected:
                self.fail(f"in literal {word.decode()} (expecting {_quote_char(expected)})")
            self.i += 1

    def string(self) -> None:
        self.i += 1
        data = self.data
        while True:
            c = self.peek()
            if c == 0x22:
                self.i += 1
                return
            if c == 0x5C:
                self.i += 1
                e = self.peek()
                if e == 0x75:
                    self.i += 1
                    for _ in range(4):
                        if self.peek() < 0 or chr(self.peek()) not in "0123456789abcdefABCDEF":
                            self.fail("in \\u hexadecimal character escape")
                        self.i += 1
                    continue
                if e < 0 or e not in b'"\\/bfnrt':
                    self.fail("in string escape code")
            elif c < 0x20:
                self.fail("in string literal")
            self.i += 1
            if self.i > len(data):
                self.fail("in string literal")

    def number(self) -> None:
        if self.peek() == 0x2D:
            self.i += 1
        if self.peek() == 0x30:
            self.i += 1
        elif self.peek() > 0 and self.peek() in _DIGITS:
            self.digits()
        else:
            self.fail("in numeric literal")
        if self.peek() == 0x2E:
            self.i += 1
            if not (self.peek() > 0 and self.peek() in _DIGITS):
                self.fail("after decimal point in numeric literal")
            self.digits()
        if self.peek() in (0x65, 0x45):
            self.i += 1
            if self.peek() in (0x2B, 0x2D):
                self.i += 1
            if not (self.peek() > 0 and self.peek() in _DIGITS):
                self.fail("in exponent of numeric literal")
            self.digits()

    def digits(self) -> None:
        while self.peek() > 0 and self.peek() in _DIGITS:
            self.i += 1
