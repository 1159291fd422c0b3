"""Label and field selectors of pod list, watch and deletecollection (list-watch.md §2).

Parsing mirrors apimachinery's ``labels.Parse`` and ``fields.ParseSelector`` closely enough that
every error text is the one a real apiserver returns, because kubectl prints it verbatim.
Matching runs once per object per watcher, so a parsed selector is compiled into plain tuples
and ``matches`` is a short loop without regexes or allocations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from watchcache.machinery import errors
from watchcache.machinery.names import label_value_errors, qualified_name_errors

# --------------------------------------------------------------------------- label selectors

LabelOperator = Literal["=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt"]

# apimachinery's error text lists the binary operators by their ``selection.Operator`` names.
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"

# Token kinds of the label-selector lexer.
_IDENT, _END, _COMMA, _OPEN, _CLOSE = "ident", "end", ",", "(", ")"
_NOT, _EQ, _DEQ, _NEQ, _GT, _LT, _IN, _NOTIN = "!", "=", "==", "!=", ">", "<", "in", "notin"

_SYMBOLS: dict[str, str] = {s: s for s in ("!", "!=", "=", "==", "(", ")", ",", ">", "<")}
_KEYWORDS: dict[str, str] = {"in": _IN, "notin": _NOTIN}
_SPECIAL = frozenset("=!(),<>")
_WHITESPACE = frozenset(" \t\r\n")  # the lexer's set; other Unicode spaces are identifier bytes
_OPERATOR_TOKENS: dict[str, LabelOperator] = {
    _IN: "in",
    _NOTIN: "notin",
    _EQ: "=",
    _DEQ: "==",
    _NEQ: "!=",
    _GT: "gt",
    _LT: "lt",
}

Token = tuple[str, str]


@dataclass(slots=True)
class SelectorState:
    """What selectors look at: labels and the pod's selectable fields. Never changed once
    built; not frozen for the cost of a frozen ``__init__`` (one per pod, see ``view.Entry``)."""

    labels: dict[str, str]
    fields: dict[str, str]


def _lex(text: str) -> list[Token]:
    """Split ``text`` into (kind, literal) pairs, ending with an end-of-string token.

    Like apimachinery's lexer, a NUL byte where a token starts ends the input, runs of
    ``=!(),<>`` are read greedily as the longest known symbol, and any other run of
    non-space characters is an identifier (or the keywords ``in``/``notin``).
    """
    tokens: list[Token] = []
    pos, size = 0, len(text)
    while True:
        while pos < size and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= size or text[pos] == "\0":
            tokens.append((_END, ""))
            return tokens
        lex = _lex_symbol if text[pos] in _SPECIAL else _lex_word
        kind, literal, pos = lex(text, pos)
        tokens.append((kind, literal))


def _lex_symbol(text: str, pos: int) -> tuple[str, str, int]:
    literal, end = text[pos], pos + 1  # every single special character is a symbol
    while end < len(text) and text[end] in _SPECIAL and literal + text[end] in _SYMBOLS:
        literal, end = literal + text[end], end + 1
    return _SYMBOLS[literal], literal, end


def _lex_word(text: str, pos: int) -> tuple[str, str, int]:
    end = pos
    while end < len(text) and text[end] not in _SPECIAL and text[end] not in _WHITESPACE:
        if text[end] == "\0":  # ends the word and is swallowed, as in the Go lexer
            return _KEYWORDS.get(text[pos:end], _IDENT), text[pos:end], end + 1
        end += 1
    word = text[pos:end]
    return _KEYWORDS.get(word, _IDENT), word, end


class _SelectorSyntaxError(ValueError):
    """A parse failure; its text is the apiserver's, mapped to BadRequest at the edge."""


class _Parser:
    """Recursive descent over the token list, one method per grammar rule of ``labels.Parse``.

    In "value" positions the keywords ``in``/``notin`` are plain identifiers, so ``in=in`` and
    ``x in (notin)`` parse, as they do in Kubernetes.
    """

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.pos = 0

    def peek(self, *, values: bool = True) -> Token:
        return self._as_context(self.tokens[self.pos], values)

    def take(self, *, values: bool = True) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return self._as_context(token, values)

    @staticmethod
    def _as_context(token: Token, values: bool) -> Token:
        return (_IDENT, token[1]) if values and token[0] in (_IN, _NOTIN) else token

    def selector(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            kind, literal = self.peek()
            if kind == _END:
                return requirements
            if kind not in (_IDENT, _NOT):
                raise _SelectorSyntaxError(f"found '{literal}', expected: !, identifier, or 'end of string'")
            try:
                requirements.append(self.requirement())
            except _SelectorSyntaxError as exc:
                raise _SelectorSyntaxError(f"unable to parse requirement: {exc}") from None
            kind, literal = self.take()
            if kind == _END:
                return requirements
            if kind != _COMMA:
                raise _SelectorSyntaxError(f"found '{literal}', expected: ',' or 'end of string'")
            kind, literal = self.peek()
            if kind not in (_IDENT, _NOT):
                raise _SelectorSyntaxError(f"found '{literal}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        negated = self.peek()[0] == _NOT
        if negated:
            self.take()
        kind, key = self.take()
        if kind != _IDENT:
            raise _SelectorSyntaxError(f"found '{key}', expected: identifier")
        _check_key(key)
        if negated:
            return _new_requirement(key, "!", [])
        if self.peek()[0] in (_END, _COMMA):
            return _new_requirement(key, "exists", [])
        operator = self.operator()
        values = self.value_set() if operator in ("in", "notin") else self.exact_value()
        return _new_requirement(key, operator, values)

    def operator(self) -> LabelOperator:
        kind, literal = self.take(values=False)
        if kind not in _OPERATOR_TOKENS:
            raise _SelectorSyntaxError(f"found '{literal}', expected: {_BINARY_OPERATORS}")
        return _OPERATOR_TOKENS[kind]

    def exact_value(self) -> list[str]:
        if self.peek()[0] in (_END, _COMMA):
            return [""]  # ``k=`` selects the empty value
        kind, literal = self.take()
        if kind != _IDENT:
            raise _SelectorSyntaxError(f"found '{literal}', expected: identifier")
        return [literal]

    def value_set(self) -> list[str]:
        kind, literal = self.take()
        if kind != _OPEN:
            raise _SelectorSyntaxError(f"found '{literal}' expected: '('")
        kind, literal = self.peek()
        if kind == _CLOSE:  # ``()`` is the set holding the empty value
            self.take()
            return [""]
        if kind not in (_IDENT, _COMMA):
            raise _SelectorSyntaxError(f"found '{literal}', expected: ',', ')' or identifier")
        values = self.value_list()
        self.take()  # the ``)`` value_list stopped at
        return values

    def value_list(self) -> list[str]:
        """``a,b``, with empty members allowed (``(,a)``, ``(a,)``, ``(a,,b)`` hold ``""``)."""
        values: list[str] = []
        while True:
            kind, literal = self.take()
            if kind == _IDENT:
                values.append(literal)
                kind, literal = self.peek()
                if kind == _CLOSE:
                    return values
                if kind != _COMMA:
                    raise _SelectorSyntaxError(f"found '{literal}', expected: ',' or ')'")
            elif kind == _COMMA:
                if not values or self.peek()[0] in (_CLOSE, _COMMA):
                    values.append("")
                if self.peek()[0] == _CLOSE:
                    return values
                if self.peek()[0] == _COMMA:
                    self.take()
            else:
                raise _SelectorSyntaxError(f"found '{literal}', expected: ',', or identifier")


def _invalid(path: str, value: str, detail: str) -> str:
    return f"{path}: Invalid value: {errors.go_value(value)}: {detail}"


def _check_key(key: str) -> None:
    # The parser validates keys with a nil field path, which Go prints as ``<nil>``.
    if errs := qualified_name_errors(key):
        raise _SelectorSyntaxError(_invalid("<nil>", key, "; ".join(errs)))


def _parse_int64(text: str) -> int | None:
    """Go's ``strconv.ParseInt(text, 10, 64)``: optional sign, ASCII digits, int64 range."""
    digits = text[1:] if text.startswith(("+", "-")) else text
    if not (digits.isascii() and digits.isdigit()):
        return None
    number = int(text)
    return number if -(2**63) <= number < 2**63 else None


def _new_requirement(key: str, operator: LabelOperator, values: list[str]) -> Requirement:
    """Validate values as ``labels.NewRequirement`` does: all problems, joined like an aggregate."""
    values = sorted(set(values))  # the parser collects values in a sorted string set
    problems: list[str] = []
    if operator in ("gt", "lt"):
        problems += [
            _invalid(f"values[{i}]", v, "for 'Gt', 'Lt' operators, the value must be an integer")
            for i, v in enumerate(values)
            if _parse_int64(v) is None
        ]
    for i, value in enumerate(values):
        if errs := label_value_errors(value):
            problems.append(_invalid(f"values[{i}][{key}]", value, "; ".join(errs)))
    problems = list(dict.fromkeys(problems))  # an aggregate prints each distinct text once
    if len(problems) == 1:
        raise _SelectorSyntaxError(problems[0])
    if problems:
        raise _SelectorSyntaxError(f"[{', '.join(problems)}]")
    return Requirement(key, operator, tuple(values))


@dataclass(frozen=True, slots=True)
class Requirement:
    """One term of a label selector; ``values`` sorted, empty for ``exists`` and ``!``."""

    key: str
    operator: LabelOperator
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.operator == "exists":
            return self.key
        if self.operator == "!":
            return f"!{self.key}"
        if self.operator in ("in", "notin"):
            return f"{self.key} {self.operator} ({','.join(self.values)})"
        symbol = {"gt": ">", "lt": "<"}.get(self.operator, self.operator)
        return f"{self.key}{symbol}{self.values[0]}"


# Compiled forms: (key, opcode, argument); the argument is a frozenset or an int.
_OP_IN, _OP_NOTIN, _OP_EXISTS, _OP_ABSENT, _OP_GT, _OP_LT = range(6)
_Compiled = tuple[str, int, Any]
_NO_LABELS: dict[str, str] = {}


def _compile(req: Requirement) -> _Compiled:
    op = req.operator
    if op in ("=", "==", "in"):
        return (req.key, _OP_IN, frozenset(req.values))
    if op in ("!=", "notin"):
        return (req.key, _OP_NOTIN, frozenset(req.values))
    if op in ("exists", "!"):
        return (req.key, _OP_EXISTS if op == "exists" else _OP_ABSENT, None)
    return (req.key, _OP_GT if op == "gt" else _OP_LT, _parse_int64(req.values[0]))


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed ``labelSelector``: the AND of its requirements (none = everything)."""

    requirements: tuple[Requirement, ...] = ()
    _compiled: tuple[_Compiled, ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(_compile(r) for r in self.requirements))

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: dict[str, str] | None) -> bool:
        """``!=``/``notin`` hold for a missing key; ``>``/``<`` need an integer value."""
        if labels is None:
            labels = _NO_LABELS
        for key, op, arg in self._compiled:
            value = labels.get(key)
            if op == _OP_IN:
                if value not in arg:  # None is never in the set
                    return False
            elif op == _OP_NOTIN:
                if value in arg:
                    return False
            elif op == _OP_EXISTS:
                if value is None:
                    return False
            elif op == _OP_ABSENT:
                if value is not None:
                    return False
            elif not _compare(value, op, arg):
                return False
        return True

    def equalities(self) -> dict[str, str]:
        """Keys pinned to one value (``k=v``, ``k==v``, ``k in (v)``), for index lookups.

        ``matches`` stays the authority: two pins of one key to different values select nothing.
        """
        return {
            r.key: r.values[0]
            for r in self.requirements
            if r.operator in ("=", "==") or (r.operator == "in" and len(r.values) == 1)
        }

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def _compare(value: str | None, op: int, bound: int) -> bool:
    number = None if value is None else _parse_int64(value)
    if number is None:
        return False
    return number > bound if op == _OP_GT else number < bound


EVERYTHING = LabelSelector()


def parse_label_selector(text: str) -> LabelSelector:
    """Parse a ``labelSelector`` query value; 400 BadRequest with the apiserver's text if bad."""
    try:
        requirements = _Parser(text).selector()
    except _SelectorSyntaxError as exc:
        raise errors.BadRequest(str(exc)) from exc
    if not requirements:
        return EVERYTHING
    return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))


# --------------------------------------------------------------------------- field selectors

FieldOperator = Literal["=", "==", "!="]

_TERM_OPERATORS: tuple[FieldOperator, ...] = ("!=", "==", "=")  # tried in this order


@dataclass(frozen=True, slots=True)
class FieldTerm:
    field: str
    operator: FieldOperator
    value: str

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{self.operator}{escaped}"


@dataclass(frozen=True, slots=True)
class FieldSelector:
    """A parsed ``fieldSelector``: the AND of its terms; a missing field compares as ``""``."""

    terms: tuple[FieldTerm, ...] = ()
    _compiled: tuple[tuple[str, bool, str], ...] = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = tuple((t.field, t.operator != "!=", t.value) for t in self.terms)
        object.__setattr__(self, "_compiled", compiled)

    @property
    def empty(self) -> bool:
        return not self.terms

    def matches(self, fields: dict[str, str]) -> bool:
        # A plain loop, not all(...): no generator per object on the watch hot path.
        for name, equal, value in self._compiled:  # noqa: SIM110
            if (fields.get(name, "") == value) is not equal:
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value an ``=``/``==`` term pins ``field`` to (canonical name), for index lookups."""
        for name, equal, value in self._compiled:
            if equal and name == field:
                return value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped by a backslash (escapes are kept for ``_unescape``)."""
    terms, start, escaped = [], 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, FieldOperator, str] | None:
    """At the first position where an operator starts: field, operator, raw value."""
    for i in range(len(term)):
        for op in _TERM_OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
    return None


def _unescape(raw: str) -> str:
    r"""Undo ``\\``, ``\,`` and ``\=``; any other escape, or a bare ``,``/``=``, is an error."""
    if not any(c in raw for c in "\\,="):
        return raw
    out: list[str] = []
    escaped = False
    for char in raw:
        if escaped:
            if char not in "\\,=":
                raise errors.BadRequest(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            # Go formats the offending rune with %v, i.e. as its code point number.
            raise errors.BadRequest(f"invalid field selector: unescaped character in value: {ord(char)}")
        else:
            out.append(char)
    if escaped:
        raise errors.BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class FieldSet:
    """A kind's selectable fields: kube's field-label conversion and ``ToSelectableFields``.

    ``of`` returns the values of exactly ``names``, in that order (missing fields as ``""``);
    ``aliases`` are labels the conversion rewrites (pods' old ``spec.host``). A version served
    from another's storage takes its own labels alone (``aliases_only``: events.k8s.io/v1's
    ``regarding.name`` selects the stored ``involvedObject.name``, which it does not accept).
    """

    names: tuple[str, ...]
    of: Callable[[dict[str, Any]], dict[str, str]]
    aliases: tuple[tuple[str, str], ...] = ()
    aliases_only: bool = False

    def canonical(self, name: str) -> str:
        """The field a selector term names, or 400 for one the kind does not select on."""
        for alias, target in self.aliases:
            if name == alias:
                return target
        if self.aliases_only or name not in self.names:
            raise errors.BadRequest(f"field label not supported: {name}")
        return name


def metadata_fields(obj: dict[str, Any]) -> dict[str, str]:
    """The fields every kind selects on (``DefaultClusterScopedAttr`` and namespaced kin)."""
    meta = obj.get("metadata") or {}
    return {"metadata.name": meta.get("name") or "", "metadata.namespace": meta.get("namespace") or ""}


METADATA_FIELDS = FieldSet(("metadata.name", "metadata.namespace"), metadata_fields)


def parse_field_selector(text: str, fields: FieldSet = METADATA_FIELDS) -> FieldSelector:
    """Parse a ``fieldSelector`` on a kind's ``fields``; 400 BadRequest with the apiserver's text if bad.

    As in Kubernetes, terms are handled in sorted order (so the first bad term reported is the
    lexicographically smallest), syntax is checked for all terms before field names are, and
    nothing is trimmed: ``a = b`` names the field ``"a "``.
    """
    terms: list[FieldTerm] = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise errors.BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        name, op, raw = split
        terms.append(FieldTerm(name, op, _unescape(raw)))
    return FieldSelector(tuple(FieldTerm(fields.canonical(t.field), t.operator, t.value) for t in terms))
