"""A kind's schema, which the request decoder checks bodies against: every field, its JSON
type, its Go type.

Each kind ships its data (``kinds/<kind>/<kind>_schema.json``), generated from the official
Python client's models by ``scripts/gen_schemas.py`` and loaded once at import by the kind.
Here it is compiled into linked structs that the decoder's hot loop can dispatch on without
string parsing.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
from mypy_extensions import mypyc_attr

from watchcache.machinery.memo import ContentMemo

# Field kinds; the decoder branches on these small ints (cheaper than isinstance chains on types).
STRING, BOOL, INT32, INT64, TIME, QUANTITY, INT_OR_STRING, ANY, STRUCT, LIST, MAP, MICROTIME = range(12)

_SCALAR_KINDS = {
    "string": STRING,
    "bool": BOOL,
    "int32": INT32,
    "int64": INT64,
    "time": TIME,
    "microtime": MICROTIME,
    "quantity": QUANTITY,
    "intorstring": INT_OR_STRING,
    "any": ANY,
}
# The Go type a decode error names; the struct types all live in packages named ``v1``.
_SCALAR_GO = {
    STRING: "string",
    BOOL: "bool",
    INT32: "int32",
    INT64: "int64",
    TIME: "v1.Time",
    MICROTIME: "v1.MicroTime",
    QUANTITY: "resource.Quantity",
    INT_OR_STRING: "intstr.IntOrString",
    ANY: "interface {}",
}


@dataclass(frozen=True, slots=True)
class Field:
    """One typed slot: ``arg`` is the :class:`Struct` (STRUCT) or element ``Field`` (LIST/MAP)."""

    kind: int
    go: str
    arg: Any = None


@dataclass(slots=True)
class Struct:
    """A Go struct: ``go`` is its name as encoding/json prints it (``PodSpec``)."""

    name: str
    go: str
    fields: dict[str, Field] = field(default_factory=dict)
    # of a kind's root: the checks of its spec, remembered (Checker._spec)
    spec_checks: Any = field(default=None, compare=False, repr=False)


def compile_schema(raw: dict[str, Any]) -> dict[str, Struct]:
    """Turn the JSON data into linked :class:`Struct` objects (two passes: types may recurse)."""
    structs = {name: Struct(name, body["go"]) for name, body in raw["types"].items()}
    for name, body in raw["types"].items():
        structs[name].fields = {key: _field(tok, structs) for key, tok in body["fields"].items()}
    return structs


def _field(token: str, structs: dict[str, Struct]) -> Field:
    if token.startswith("[]"):
        elem = _field(token[2:], structs)
        return Field(LIST, "[]" + elem.go, elem)
    if token.startswith("map[string]"):
        elem = _field(token[len("map[string]") :], structs)
        go = "v1.ResourceList" if elem.kind == QUANTITY else "map[string]" + elem.go
        return Field(MAP, go, elem)
    if token in _SCALAR_KINDS:
        kind = _SCALAR_KINDS[token]
        return Field(kind, _SCALAR_GO[kind])
    target = structs[token]
    return Field(STRUCT, "v1." + target.go, target)


def load_schema(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, slots=True)
class ObjectSchema:
    """What decoding a kind's bodies needs: its root struct and the names its errors use."""

    root: Struct
    structs: dict[str, Struct]
    kind: str  # "Pod"
    group: str = ""  # "" is the core group
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


def load_object_schema(path: Path, kind: str, group: str = "", version: str = "v1") -> ObjectSchema:
    raw = load_schema(path)
    structs = compile_schema(raw)
    return ObjectSchema(structs[raw["root"]], structs, kind, group, version)


# --- checking a parsed tree against the schema --------------------------------------------------

# Where a value sits, as a linked list of (parent, segment) pairs; ints are list indexes.
# Built per nested value, so no string is made until an error or a warning needs the path.
KeyPath = tuple[Any, str | int] | None  # (the parent is a KeyPath; mypyc cannot compile a recursive alias)


class SchemaError(Exception):
    """A value the Go decoder rejects; ``detail`` is its error text (the part after the prefix)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NeedsExactPass(Exception):
    """The fast path met something only the exact (slow) parse can report faithfully."""


@mypyc_attr(native_class=False)  # subclasses a builtin
class DupDict(dict[str, Any]):
    """An object that had repeated keys; ``pairs`` keeps them in document order (exact pass)."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


@mypyc_attr(native_class=False)  # subclasses a builtin
class GoFloat(float):
    """A JSON number that is not an integer, remembering its literal (Go prints ``number 1.0``)."""

    __slots__ = ("literal",)
    literal: str

    def __new__(cls, literal: str) -> GoFloat:
        obj = float.__new__(cls, literal)
        obj.literal = literal
        return obj


_INT_RANGE = {INT32: (-(2**31), 2**31 - 1), INT64: (-(2**63), 2**63 - 1)}
_ZERO: dict[int, Any] = {STRING: "", BOOL: False, INT32: 0, INT64: 0, QUANTITY: "0", INT_OR_STRING: 0}


def strict_path(path: KeyPath, key: str | int) -> str:
    """``spec.containers[0].foo``: the path sigs.k8s.io/json prints in strict errors."""
    parts: list[str] = []
    node: Any = (path, key)
    while node is not None:
        node, seg = node
        parts.append(f"[{seg}]" if isinstance(seg, int) else "." + seg)
    return "".join(reversed(parts)).removeprefix(".")


def go_field_path(path: KeyPath, key: str) -> str:
    """``spec.containers.image``: encoding/json's error path (field names only, no indexes)."""
    parts = [key]
    node: Any = path
    while node is not None:
        node, seg = node
        if isinstance(seg, str):
            parts.append(seg)
    return ".".join(reversed(parts))


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def go_quote(s: str) -> str:
    """``strconv.Quote``: how Go prints field paths in strict errors."""
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        else:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
            )
    out.append('"')
    return "".join(out)


def json_type(value: Any) -> str:
    """The JSON type name encoding/json uses in ``cannot unmarshal <type>``."""
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "object"


def number_text(value: int | float) -> str:
    return value.literal if isinstance(value, GoFloat) else repr(value)


class Checker:
    """One walk over a parsed body: type-checks, normalises, drops unknown fields in place
    (with ``cleaning=False`` it only judges: the tree is left as it is).

    It also counts object keys (``keys``) so the caller can compare with the raw key tokens and
    notice duplicates that orjson silently merged. ``problems`` collects strict-decoding texts
    (``unknown field "spec.foo"``) in document order, as sigs.k8s.io/json reports them.
    """

    __slots__ = ("cleaning", "counting", "exact", "keys", "problems")

    def __init__(self, *, exact: bool = False, counting: bool = True, cleaning: bool = True) -> None:
        self.exact = exact  # the tree may hold DupDict/GoFloat (slow parse)
        self.cleaning = cleaning  # normalise values and drop nulls and unknown fields in place
        # keys are counted to find repeated ones in a parsed body (see decode.decode_pod); an
        # object built in memory (a patch result) has none, and its opaque subtrees, such as
        # managedFields, are most of a pod
        self.counting = counting
        self.keys = 0
        self.problems: list[str] = []

    def struct(self, obj: dict[str, Any], t: Struct, path: KeyPath) -> dict[str, Any]:
        self.keys += len(obj)
        if type(obj) is DupDict:
            return self._dup_struct(obj, t, path)
        fields = t.fields
        drop: list[str] | None = None
        for key, value in obj.items():
            f = fields.get(key)
            if f is not None and value is not None:
                kind = f.kind
                if kind == STRING:
                    if type(value) is not str:
                        raise self._type_error(value, f, t, path, key)
                    continue
                if kind == STRUCT and type(value) is dict:
                    if path is None and key == "spec" and not self.exact:
                        spec = self._spec(value, t)
                        if spec is not value:
                            obj[key] = spec
                    else:
                        self.struct(value, f.arg, (path, key))
                    continue
                new = self.value(value, f, t, path, key)
                if new is not None:
                    if new is not value and self.cleaning:
                        obj[key] = new
                    continue
            elif f is None:
                self._unknown(path, key, value)
            drop = drop or []
            drop.append(key)
        if drop and self.cleaning:
            for key in drop:
                del obj[key]
        return obj

    def _spec(self, value: dict[str, Any], root: Struct) -> dict[str, Any]:
        """The spec: the desired state, which workloads stamp from templates, so its check (the
        part normalised, the problems it adds, the keys it counts) is remembered per content.
        The part returned is the caller's own (later rules change it in place): the one given,
        or a fresh parse of its normalised form when the check changes it."""
        checks = root.spec_checks
        if checks is None:
            checks = root.spec_checks = ContentMemo(functools.partial(_check_spec, root))
        if checks.resting():  # parts that are all different: the walk alone, in place
            return self.struct(value, root.fields["spec"].arg, (None, "spec"))
        normalised, problems, keys = checks.remembered(value)
        self.keys += keys
        self.problems.extend(problems)
        if not normalised or not self.cleaning:  # the usual case: the check changes nothing in it
            return value
        copy: dict[str, Any] = orjson.loads(normalised)
        return copy

    def _dup_struct(self, obj: DupDict, t: Struct, path: KeyPath) -> dict[str, Any]:
        """Exact pass over repeated keys: report, then merge objects / replace the rest (Go)."""
        out: dict[str, Any] = {}
        seen: set[str] = set()
        for key, value in obj.pairs:
            f = t.fields.get(key)
            if f is None:
                self._unknown(path, key, value)
                continue
            if key in seen:
                self.problems.append("duplicate field " + go_quote(strict_path(path, key)))
            seen.add(key)
            new = None if value is None else self.value(value, f, t, path, key)
            if new is None:
                out.pop(key, None)
            elif f.kind in (STRUCT, MAP) and isinstance(out.get(key), dict):
                out[key] = _merge(out[key], new, f)
            else:
                out[key] = new
        return out

    def value(self, value: Any, f: Field, t: Struct, path: KeyPath, key: str) -> Any:
        """Check one non-null value of field ``f``; returns it normalised (``None``: drop)."""
        kind = f.kind
        if kind in (STRING, BOOL):
            if type(value) is not (str if kind == STRING else bool):
                raise self._type_error(value, f, t, path, key)
            return value
        if kind in (INT32, INT64):
            return self._int(value, kind, f.go, t, path, key)
        if kind == STRUCT:
            if not isinstance(value, dict):
                raise self._type_error(value, f, t, path, key)
            return self.struct(value, f.arg, (path, key))
        if kind == LIST:
            if type(value) is not list:
                raise self._type_error(value, f, t, path, key)
            return self._list(value, f, t, path, key)
        if kind == MAP:
            if not isinstance(value, dict):
                raise self._type_error(value, f, t, path, key)
            return self._map(value, f, t, path, key)
        if kind == TIME:
            if type(value) is not str:
                raise self._type_error(value, f, t, path, key, go="string")
            return normalize_time(value)
        if kind == MICROTIME:
            if type(value) is not str:
                raise self._type_error(value, f, t, path, key, go="string")
            return GoTimeParser(value, micro=True).parse()
        if kind == QUANTITY:
            return normalize_quantity(value)
        if kind == INT_OR_STRING:
            return value if type(value) is str else self._int(value, INT32, "int32", t, path, key)
        return self._opaque(value)

    def _int(self, value: Any, kind: int, go: str, t: Struct, path: KeyPath, key: str) -> int:
        low, high = _INT_RANGE[kind]
        if type(value) is int and low <= value <= high:
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            found = "number " + number_text(value)
            raise SchemaError(_cannot_unmarshal(found, t, path, key, go))
        raise self._type_error(value, None, t, path, key, go=go)

    def _list(self, values: list[Any], f: Field, t: Struct, path: KeyPath, key: str) -> list[Any]:
        elem: Field = f.arg
        cleaning = self.cleaning
        for i, item in enumerate(values):
            if item is None:
                if cleaning:
                    values[i] = {} if elem.kind == STRUCT else _ZERO.get(elem.kind)
            elif elem.kind == STRUCT:
                if not isinstance(item, dict):
                    raise self._type_error(item, elem, t, path, key)
                checked = self.struct(item, elem.arg, ((path, key), i))  # (a DupDict: merged anew)
                if cleaning:
                    values[i] = checked
            else:
                new = self.value(item, elem, t, path, key)
                if cleaning:
                    values[i] = new
        return values

    def _map(self, obj: dict[str, Any], f: Field, t: Struct, path: KeyPath, key: str) -> dict[str, Any]:
        self.keys += len(obj)
        elem: Field = f.arg
        if type(obj) is DupDict:
            out: dict[str, Any] = {}
            for k, item in obj.pairs:
                if k in out:
                    self.problems.append("duplicate field " + go_quote(strict_path((path, key), k)))
                out[k] = self._map_value(item, elem, t, path, key)
            return out
        for k, item in obj.items():
            if elem.kind != STRING or type(item) is not str:
                new = self._map_value(item, elem, t, path, key)
                if self.cleaning:
                    obj[k] = new
        return obj

    def _map_value(self, item: Any, elem: Field, t: Struct, path: KeyPath, key: str) -> Any:
        """Go stores a map entry even for ``null``: as the element's zero value."""
        return _ZERO.get(elem.kind) if item is None else self.value(item, elem, t, path, key)

    def _unknown(self, path: KeyPath, key: str, value: Any) -> None:
        self.problems.append("unknown field " + go_quote(strict_path(path, key)))
        self._opaque(value)

    def _opaque(self, value: Any) -> Any:
        """Unknown or ``object``-typed subtree: no schema, but its keys still count."""
        if not isinstance(value, dict | list):
            return float(value) if type(value) is GoFloat else value
        if self.counting:
            self.keys += count_keys(value)
        return plain(value) if self.exact else value

    def _type_error(
        self, value: Any, f: Field | None, t: Struct, path: KeyPath, key: str, go: str = ""
    ) -> SchemaError:
        return SchemaError(_cannot_unmarshal(json_type(value), t, path, key, go or f.go))  # type: ignore[union-attr]


def _check_spec(root: Struct, value: dict[str, Any]) -> tuple[str, list[str], int]:
    """The spec normalised ("": as it came), the problems it adds, the keys it counts; the
    spec given is left as it is (a caller that only judges may be holding someone's)."""
    given = orjson.dumps(value)
    checker = Checker()
    checked = checker.struct(orjson.loads(given), root.fields["spec"].arg, (None, "spec"))
    normalised = orjson.dumps(checked)
    return "" if normalised == given else normalised.decode(), checker.problems, checker.keys


def _cannot_unmarshal(found: str, t: Struct, path: KeyPath, key: str, go: str) -> str:
    field_path = go_field_path(path, key)
    return f"json: cannot unmarshal {found} into Go struct field {t.go}.{field_path} of type {go}"


def _merge(old: dict[str, Any], new: dict[str, Any], f: Field) -> dict[str, Any]:
    """A repeated object key decodes into the same Go value: structs and maps merge."""
    if f.kind == MAP:
        return {**old, **new}
    for key, value in new.items():
        sub = f.arg.fields[key]
        if sub.kind in (STRUCT, MAP) and isinstance(old.get(key), dict):
            old[key] = _merge(old[key], value, sub)
        else:
            old[key] = value
    return old


def count_keys(value: Any) -> int:
    """Object keys in a subtree (iterative: unknown subtrees may nest deeply)."""
    total, stack = 0, [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            total += len(node)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return total


def plain(value: Any) -> Any:
    """Strip exact-pass helper types (DupDict, GoFloat) from an opaque subtree."""
    if isinstance(value, dict):
        if type(value) is dict and not any(isinstance(v, dict | list | GoFloat) for v in value.values()):
            return value
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return float(value) if isinstance(value, GoFloat) else value


# --- Go value types with their own JSON decoding -------------------------------------------------

RFC3339 = "2006-01-02T15:04:05Z07:00"
_CANONICAL_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
ZERO_TIME = "0001-01-01T00:00:00Z"


def normalize_time(text: str) -> str | None:
    """metav1.Time: any RFC 3339 text in, UTC with second precision out; zero time → ``None``.

    The canonical form (what every client sends back) is checked by a regex and the C parser;
    anything else takes the Go-faithful parser so errors read like ``time.Parse``'s.
    """
    if _CANONICAL_TIME.fullmatch(text):
        try:
            datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return None if text == ZERO_TIME else text
    return GoTimeParser(text).parse()


class GoTimeParser:
    """``time.Parse(time.RFC3339, text)`` with Go's error texts, element by element."""

    def __init__(self, text: str, *, micro: bool = False) -> None:
        self.text = text
        self.rest = text
        self.micro = micro  # metav1.MicroTime: microseconds kept, always six digits
        self.microseconds = 0

    def parse(self) -> str | None:
        year = self._fixed_digits(4, "2006")
        self._literal("-")
        month = self._number("01", fixed=True, limit=12, what="month", low=1)
        self._literal("-")
        day = self._number("02", fixed=True, limit=99, what="day")
        self._literal("T")
        hour = self._number("15", fixed=False, limit=23, what="hour")
        self._literal(":")
        minute = self._number("04", fixed=True, limit=59, what="minute")
        self._literal(":")
        second = self._number("05", fixed=True, limit=59, what="second")
        self._fraction()
        offset = self._zone()
        if self.rest:
            self._fail(f": extra text: {go_time_quote(self.rest)}")
        if not 1 <= day <= _days_in(month, year):
            self._fail(": day out of range")
        if self.micro:
            return _utc_micro_text(year, month, day, hour, minute, second, self.microseconds, offset)
        return _utc_text(year, month, day, hour, minute, second, offset)

    def _fail(self, message: str) -> None:
        raise SchemaError(f"parsing time {go_time_quote(self.text)}{message}")

    def _bad(self, element: str) -> SchemaError:
        layout, rest = go_time_quote(RFC3339), go_time_quote(self.rest)
        return SchemaError(
            f"parsing time {go_time_quote(self.text)} as {layout}: "
            f"cannot parse {rest} as {go_time_quote(element)}"
        )

    def _literal(self, lit: str) -> None:
        if not self.rest.startswith(lit):
            raise self._bad(lit)
        self.rest = self.rest[len(lit) :]

    def _fixed_digits(self, n: int, element: str) -> int:
        chunk = self.rest[:n]
        if len(chunk) < n or not _ascii_digits(chunk):
            raise self._bad(element)
        self.rest = self.rest[n:]
        return int(chunk)

    def _number(self, element: str, *, fixed: bool, limit: int, what: str, low: int = 0) -> int:
        rest = self.rest
        if not _ascii_digits(rest[:1]):
            raise self._bad(element)
        width = 2 if _ascii_digits(rest[1:2]) else 1
        if width == 1 and fixed:
            raise self._bad(element)
        value = int(rest[:width])
        self.rest = rest[width:]
        if not low <= value <= limit:
            self._fail(f": {what} out of range")
        return value

    def _fraction(self) -> None:
        rest = self.rest
        if len(rest) >= 2 and rest[0] in ".," and _ascii_digits(rest[1]):
            n = 2
            while n < len(rest) and _ascii_digits(rest[n]):
                n += 1
            self.microseconds = int(rest[1:n][:6].ljust(6, "0"))  # Go truncates past its unit
            self.rest = rest[n:]

    def _zone(self) -> int:
        rest = self.rest
        if rest.startswith("Z"):
            self.rest = rest[1:]
            return 0
        if len(rest) < 6 or rest[3] != ":" or rest[0] not in "+-":
            raise self._bad("Z07:00")
        hh, mm = rest[1:3], rest[4:6]
        if not (_ascii_digits(hh) and _ascii_digits(mm)):
            raise self._bad("Z07:00")
        if int(hh) > 24:
            self._fail(": time zone offset hour out of range")
        if int(mm) > 60:
            self._fail(": time zone offset minute out of range")
        self.rest = rest[6:]
        minutes = int(hh) * 60 + int(mm)
        return -minutes if rest[0] == "-" else minutes


def _ascii_digits(s: str) -> bool:
    return bool(s) and s.isascii() and s.isdigit()


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _utc_text(year: int, month: int, day: int, hour: int, minute: int, sec: int, off: int) -> str | None:
    try:
        local = datetime(year, month, day, hour, minute, sec, tzinfo=timezone(timedelta(minutes=off)))
        u = local.astimezone(UTC)
        year, month, day, hour, minute, sec = u.year, u.month, u.day, u.hour, u.minute, u.second
    except (ValueError, OverflowError):  # year 0 or shifted out of 1..9999: keep the wall clock
        pass
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{sec:02d}Z"
    return None if text == ZERO_TIME else text


def _utc_micro_text(
    year: int, month: int, day: int, hour: int, minute: int, sec: int, micro: int, off: int
) -> str | None:
    """MicroTime's form: UTC with six fractional digits; the zero time is ``None``."""
    whole = _utc_text(year, month, day, hour, minute, sec, off)
    if whole is None and not micro:
        return None
    return (whole or ZERO_TIME)[:-1] + f".{micro:06d}Z"


def go_time_quote(s: str) -> str:
    """The time package's quoting: ``\\xNN`` per byte for anything non-ASCII or control."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ch < " ":
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "replace"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


QUANTITY_FORMAT_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix"
_QUANTITY_SHAPE = re.compile(r"([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)")
_QUANTITY_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_QUANTITY_SUFFIX = re.compile(r"|[numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]+")


def normalize_quantity(value: Any) -> str:
    """resource.Quantity: a string or a JSON number; numbers become strings.

    Only the syntax is checked (``ParseQuantity``'s errors); the canonical re-formatting Go
    applies on output (``0.5`` → ``500m``) is not done here.
    """
    if type(value) is str:
        return _quantity_text(value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SchemaError(QUANTITY_FORMAT_ERROR)
    if type(value) is float:
        raise NeedsExactPass  # its literal text is only known to the exact parse
    return _quantity_text(value.literal if isinstance(value, GoFloat) else str(value))


@functools.lru_cache(maxsize=1024)  # the same few quantities come in every pod
def _quantity_text(text: str) -> str:
    shape = _QUANTITY_SHAPE.fullmatch(text.strip())
    if shape is None or not _QUANTITY_NUMBER.fullmatch(shape.group(1)):
        raise SchemaError(QUANTITY_FORMAT_ERROR)
    if not _QUANTITY_SUFFIX.fullmatch(shape.group(2)):
        raise SchemaError(QUANTITY_SUFFIX_ERROR)
    return text
