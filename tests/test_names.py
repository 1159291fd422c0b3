"""apimachinery name rules (``watchcache.names``): one implementation, the real texts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from watchcache.machinery.names import (
    dns1123_label_errors,
    dns1123_subdomain_errors,
    inclusive_range_error,
    label_value_errors,
    max_len_error,
    path_segment_name_errors,
    port_name_errors,
    qualified_name_errors,
)

LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
QUALIFIED_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value', "
    " or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)

CASES: list[tuple[Callable[[str], list[str]], str, list[str]]] = [
    (dns1123_label_errors, "web-1", []),
    (dns1123_label_errors, "Web", [LABEL_MSG]),
    (dns1123_label_errors, "a.b", [LABEL_MSG]),
    (dns1123_label_errors, "web\n", [LABEL_MSG]),  # Go's regexp has no "$ before newline"
    (dns1123_label_errors, "a" * 63, []),
    (dns1123_label_errors, "a" * 64, ["must be no more than 63 characters"]),
    (dns1123_subdomain_errors, "example.com", []),
    (dns1123_subdomain_errors, "Web_1", [SUBDOMAIN_MSG]),
    (dns1123_subdomain_errors, "a." * 127, ["must be no more than 253 characters", SUBDOMAIN_MSG]),
    (qualified_name_errors, "app", []),
    (qualified_name_errors, "example.com/App_1", []),
    (qualified_name_errors, "", ["name part must be non-empty", "name part " + QUALIFIED_MSG]),
    (qualified_name_errors, "/app", ["prefix part must be non-empty"]),
    (qualified_name_errors, "Example.com/app", ["prefix part " + SUBDOMAIN_MSG]),
    (qualified_name_errors, "x" * 64, ["name part must be no more than 63 characters"]),
    (
        qualified_name_errors,
        "a/b/c",
        [
            "a qualified name "
            + QUALIFIED_MSG
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ],
    ),
    (label_value_errors, "", []),
    (label_value_errors, "my_value", []),
    (label_value_errors, "-x", [LABEL_VALUE_MSG]),
    (label_value_errors, "v" * 64, ["must be no more than 63 characters"]),
    # Go counts bytes: 32 two-byte letters are 64 bytes.
    (label_value_errors, "é" * 32, ["must be no more than 63 characters", LABEL_VALUE_MSG]),
    (path_segment_name_errors, "web", []),
    (path_segment_name_errors, "..", ["may not be '..'"]),
    (path_segment_name_errors, "a/b%c", ["may not contain '/'", "may not contain '%'"]),
    (port_name_errors, "http", []),
    (port_name_errors, "8080", ["must contain at least one letter (a-z)"]),
    (
        port_name_errors,
        "-web--metrics-x",
        ["must not contain consecutive hyphens (--)", "must not begin or end with a hyphen (-)"],
    ),
    (
        port_name_errors,
        "HTTP_metrics_port",
        [
            "must be no more than 15 characters",
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
        ],
    ),
]


@pytest.mark.parametrize(("check", "value", "expected"), CASES)
def test_name_rule_reports_apimachinery_texts(
    check: Callable[[str], list[str]], value: str, expected: list[str]
) -> None:
    assert check(value) == expected


def test_message_helpers_match_apimachinery() -> None:
    assert max_len_error(15) == "must be no more than 15 characters"
    assert inclusive_range_error(1, 65535) == "must be between 1 and 65535, inclusive"


@pytest.mark.parametrize(
    ("check", "valid", "invalid"),
    [
        (dns1123_label_errors, "web", "Web"),
        (dns1123_subdomain_errors, "a.b", "a..b"),
        (qualified_name_errors, "example.com/app", "example.com/-app"),
        (label_value_errors, "v1", "v 1"),
        (port_name_errors, "http", "http--x"),
    ],
)
def test_remembered_valid_strings_answer_as_checked_ones(
    check: Callable[[str], list[str]], valid: str, invalid: str
) -> None:
    """Valid strings are remembered (no second regex match); the answer is the same, a list of
    the caller's own, and an invalid string is never remembered."""
    first = check(valid)
    first.append("the caller's own list")
    assert check(valid) == []
    assert check(invalid) == check(invalid) != []
