"""labelSelector parsing, matching and error texts (list-watch.md §2, apimachinery labels.Parse)."""

from __future__ import annotations

import pytest

from watchcache.machinery import errors
from watchcache.machinery.selectors import LabelSelector, Requirement, parse_label_selector

NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
TOO_LONG = "must be no more than 63 characters"
INT_RULE = "for 'Gt', 'Lt' operators, the value must be an integer"
OPERATORS = "in, notin, =, ==, !=, gt, lt"

WEB = {"app": "web", "tier": "frontend", "replicas": "3"}

# selector, labels, expected
MATCHING = [
    ("", WEB, True),
    ("   ", None, True),
    ("app=web", WEB, True),
    ("app==web", WEB, True),
    ("app=db", WEB, False),
    ("app=web", None, False),
    ("app!=db", WEB, True),
    ("app!=web", WEB, False),
    ("missing!=x", WEB, True),
    ("app in (db,web)", WEB, True),
    ("app in (db)", WEB, False),
    ("missing in (a)", WEB, False),
    ("app notin (db)", WEB, True),
    ("app notin (web,db)", WEB, False),
    ("missing notin (a)", WEB, True),
    ("app", WEB, True),
    ("missing", WEB, False),
    ("!missing", WEB, True),
    ("!app", WEB, False),
    ("!app", None, True),
    ("replicas>2", WEB, True),
    ("replicas>3", WEB, False),
    ("replicas<4", WEB, True),
    ("replicas<3", WEB, False),
    ("app>1", WEB, False),  # a non-integer label value never matches
    ("missing>1", WEB, False),
    ("app=web,tier=frontend", WEB, True),
    ("app=web,tier=backend", WEB, False),
    ("app=web,!missing,replicas>0", WEB, True),
    ("  app  =  web ,  tier in ( frontend , x ) ", WEB, True),
    ("app\t==\tweb", WEB, True),
    ("empty=", {"empty": ""}, True),
    ("empty=", {}, False),
    ("empty==", {"empty": ""}, True),
    ("e in ()", {"e": ""}, True),
    ("e in (,a)", {"e": ""}, True),
    ("e in (a,)", {"e": "a"}, True),
    ("e in (a,,b)", {"e": ""}, True),
    ("in=in", {"in": "in"}, True),  # keywords are identifiers where a key or value is expected
    ("notin notin (in)", {"notin": "out"}, True),
    ("notin notin (in)", {"notin": "in"}, False),
    ("example.com/app=web", {"example.com/app": "web"}, True),
    ("k=v-1.x_y", {"k": "v-1.x_y"}, True),
]


@pytest.mark.parametrize(("text", "labels", "expected"), MATCHING)
def test_a_selector_matches_labels_as_kubernetes_does(
    text: str, labels: dict[str, str] | None, expected: bool
) -> None:
    assert parse_label_selector(text).matches(labels) is expected


SYNTAX_ERRORS = [
    ("a b", f"unable to parse requirement: found 'b', expected: {OPERATORS}"),
    ("a (", f"unable to parse requirement: found '(', expected: {OPERATORS}"),
    ("a=b,", "found '', expected: identifier after ','"),
    ("a=b,,c", "found ',', expected: identifier after ','"),
    ("a=b,=c", "found '=', expected: identifier after ','"),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a=b)", "found ')', expected: ',' or 'end of string'"),
    ("!a b", "found 'b', expected: ',' or 'end of string'"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    (",a", "found ',', expected: !, identifier, or 'end of string'"),
    ("(", "found '(', expected: !, identifier, or 'end of string'"),
    ("!", "unable to parse requirement: found '', expected: identifier"),
    ("!=a", "found '!=', expected: !, identifier, or 'end of string'"),  # "!=" lexes as one
    ("!!a", "unable to parse requirement: found '!', expected: identifier"),
    ("a=(", "unable to parse requirement: found '(', expected: identifier"),
    ("a===b", "unable to parse requirement: found '=', expected: identifier"),
    ("a<=5", "unable to parse requirement: found '=', expected: identifier"),
    ("a in b", "unable to parse requirement: found 'b' expected: '('"),
    ("a notin", "unable to parse requirement: found '' expected: '('"),
    ("a in (", "unable to parse requirement: found '', expected: ',', ')' or identifier"),
    ("a in (=", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
    ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"),
    ("a in (,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
    ("a in (b,,)", "unable to parse requirement: found ')', expected: ',', or identifier"),
]


@pytest.mark.parametrize(("text", "message"), SYNTAX_ERRORS)
def test_a_malformed_selector_is_a_bad_request_with_the_parser_text(text: str, message: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        parse_label_selector(text)
    assert caught.value.message == message
    assert caught.value.code == 400
    assert caught.value.status()["reason"] == "BadRequest"


VALIDATION_ERRORS = [
    ("app:web", f'<nil>: Invalid value: "app:web": name part {NAME_RULE}'),
    ("-app", f'<nil>: Invalid value: "-app": name part {NAME_RULE}'),
    ("x" * 64, f'<nil>: Invalid value: "{"x" * 64}": name part must be no more than 63 characters'),
    ("/app", '<nil>: Invalid value: "/app": prefix part must be non-empty'),
    (
        "app/",
        f'<nil>: Invalid value: "app/": name part must be non-empty; name part {NAME_RULE}',
    ),
    ("Example.com/app", f'<nil>: Invalid value: "Example.com/app": prefix part {SUBDOMAIN_RULE}'),
    (
        "a/b/c=d",
        f'<nil>: Invalid value: "a/b/c": a qualified name {NAME_RULE} with an optional DNS '
        "subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ),
    ("!bad:key", f'<nil>: Invalid value: "bad:key": name part {NAME_RULE}'),
    ("app=-web", f'values[0][app]: Invalid value: "-web": {VALUE_RULE}'),
    ("app in (ok,web-)", f'values[1][app]: Invalid value: "web-": {VALUE_RULE}'),
    ("app=" + "v" * 64, f'values[0][app]: Invalid value: "{"v" * 64}": {TOO_LONG}'),
    (
        "app=" + "v" * 63 + "-",
        f'values[0][app]: Invalid value: "{"v" * 63}-": {TOO_LONG}; {VALUE_RULE}',
    ),
    ("n>abc", f'values[0]: Invalid value: "abc": {INT_RULE}'),
    ("n<", f'values[0]: Invalid value: "": {INT_RULE}'),
    ("n>99999999999999999999", f'values[0]: Invalid value: "99999999999999999999": {INT_RULE}'),
    ("n>-1", f'values[0][n]: Invalid value: "-1": {VALUE_RULE}'),
    (
        "n>a-",
        f'[values[0]: Invalid value: "a-": {INT_RULE}, values[0][n]: Invalid value: "a-": {VALUE_RULE}]',
    ),
]


@pytest.mark.parametrize(("text", "detail"), VALIDATION_ERRORS)
def test_an_invalid_key_or_value_is_reported_like_apimachinery(text: str, detail: str) -> None:
    with pytest.raises(errors.BadRequest) as caught:
        parse_label_selector(text)
    assert caught.value.message == f"unable to parse requirement: {detail}"


def test_the_first_failing_requirement_stops_the_parse() -> None:
    with pytest.raises(errors.BadRequest) as caught:
        parse_label_selector("ok=1,bad:key=1,worse key")
    assert caught.value.message.startswith('unable to parse requirement: <nil>: Invalid value: "bad:key"')


def test_an_empty_or_blank_selector_selects_everything() -> None:
    for text in ("", "  \t\n "):
        selector = parse_label_selector(text)
        assert selector.empty
        assert selector.matches(None)
        assert selector.equalities() == {}


def test_requirements_are_kept_sorted_by_key_with_sorted_unique_values() -> None:
    selector = parse_label_selector("z in (b,a,b), a!=x, !m")
    assert selector.requirements == (
        Requirement("a", "!=", ("x",)),
        Requirement("m", "!", ()),
        Requirement("z", "in", ("a", "b")),
    )
    assert str(selector) == "a!=x,!m,z in (a,b)"
    assert not selector.empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("app=web", {"app": "web"}),
        ("app==web,tier in (fe)", {"app": "web", "tier": "fe"}),
        ("app in (a,b), x!=y, !z, n>1, e", {}),
        ("empty=", {"empty": ""}),
    ],
)
def test_equalities_expose_single_valued_terms_for_index_lookups(text: str, expected: dict[str, str]) -> None:
    assert parse_label_selector(text).equalities() == expected


def test_selectors_compare_by_their_requirements() -> None:
    assert parse_label_selector("b=1,a=2") == parse_label_selector("a=2, b=1")
    assert parse_label_selector("") == LabelSelector()


def test_integer_comparisons_follow_go_parse_int() -> None:
    selector = parse_label_selector("n>5")
    assert selector.matches({"n": "+6"})
    assert not selector.matches({"n": "6.0"})
    assert not selector.matches({"n": "1_000"})
    assert not selector.matches({"n": "99999999999999999999"})  # beyond int64
    assert not selector.matches({"n": "٦"})  # non-ASCII digits are not digits to Go
