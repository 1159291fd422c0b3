"""apimachinery's name rules (``k8s.io/apimachinery/pkg/util/validation``), implemented once.

Pod validation, the subresources and the label-selector parser all report these texts, and
clients print them verbatim, so every message follows apimachinery to the letter. Each check is a
pure function returning the list of problems (empty when valid); callers attach the field path.
Lengths are counted in bytes, as Go's ``len(string)`` does.
"""

from __future__ import annotations

import re

_DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QUALIFIED_NAME_FMT + ")?"
# Always fullmatch, never ``$``: Python's ``$`` also matches before a trailing newline, Go's not.
_DNS1123_LABEL_RE = re.compile(_DNS1123_LABEL_FMT)
_DNS1123_SUBDOMAIN_RE = re.compile(_DNS1123_SUBDOMAIN_FMT)
_QUALIFIED_NAME_RE = re.compile(_QUALIFIED_NAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_PORT_NAME_CHARSET_RE = re.compile("[-a-z0-9]+")
_HAS_LETTER_RE = re.compile("[a-z]")

DNS1123_LABEL_MAX = 63  # bytes; RFC 1123 label
DNS1123_SUBDOMAIN_MAX = 253  # bytes; RFC 1123 subdomain
QUALIFIED_NAME_MAX = 63  # bytes of the name part (the prefix is a subdomain)
LABEL_VALUE_MAX = 63  # bytes
PORT_NAME_MAX = 15  # bytes; IANA service names (RFC 6335)


def _regex_error(message: str, fmt: str, *examples: str) -> str:
    """apimachinery ``RegexError`` (the double space before ``or`` is part of the real text)."""
    shown = " or ".join(f"'{example}', " for example in examples)
    return f"{message} (e.g. {shown}regex used for validation is '{fmt}')"


def max_len_error(limit: int) -> str:
    """apimachinery ``MaxLenError``."""
    return f"must be no more than {limit} characters"


def inclusive_range_error(low: int, high: int) -> str:
    """apimachinery ``InclusiveRangeError``."""
    return f"must be between {low} and {high}, inclusive"


def _too_long(value: str, limit: int) -> bool:
    return len(value.encode()) > limit  # Go measures strings in bytes


_DNS1123_LABEL_MSG = _regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character",
    _DNS1123_LABEL_FMT,
    "my-name",
    "123-abc",
)
_DNS1123_SUBDOMAIN_MSG = _regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character",
    _DNS1123_SUBDOMAIN_FMT,
    "example.com",
)
_QUALIFIED_NAME_MSG = _regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character",
    _QUALIFIED_NAME_FMT,
    "MyName",
    "my.name",
    "123-abc",
)
_LABEL_VALUE_MSG = _regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character",
    _LABEL_VALUE_FMT,
    "MyValue",
    "my_value",
    "12345",
)


# Strings a check found valid, remembered so the next write need not match them again: the same
# names, label keys and values come in every pod of a workload (a regex match costs thousands of
# instructions, a set lookup a hash). Bounded: past the bound, new strings are checked each time.
VALID_REMEMBERED_MAX = 65_536
_valid_labels: set[str] = set()
_valid_subdomains: set[str] = set()
_valid_qualified_names: set[str] = set()
_valid_label_values: set[str] = set()
_valid_port_names: set[str] = set()


def _remember(valid: set[str], value: str, errors: list[str]) -> list[str]:
    if not errors and len(valid) < VALID_REMEMBERED_MAX:
        valid.add(value)
    return errors


def dns1123_label_errors(value: str) -> list[str]:
    """apimachinery ``IsDNS1123Label``: namespaces, container names, hostname, subdomain."""
    if value in _valid_labels:
        return []
    errors = [max_len_error(DNS1123_LABEL_MAX)] if _too_long(value, DNS1123_LABEL_MAX) else []
    if not _DNS1123_LABEL_RE.fullmatch(value):
        errors.append(_DNS1123_LABEL_MSG)
    return _remember(_valid_labels, value, errors)


def dns1123_subdomain_errors(value: str) -> list[str]:
    """apimachinery ``IsDNS1123Subdomain``: pod names, nodeName, serviceAccountName, …"""
    if value in _valid_subdomains:
        return []
    errors = [max_len_error(DNS1123_SUBDOMAIN_MAX)] if _too_long(value, DNS1123_SUBDOMAIN_MAX) else []
    if not _DNS1123_SUBDOMAIN_RE.fullmatch(value):
        errors.append(_DNS1123_SUBDOMAIN_MSG)
    return _remember(_valid_subdomains, value, errors)


def qualified_name_errors(value: str) -> list[str]:
    """apimachinery ``IsQualifiedName``: ``[prefix/]name`` label and annotation keys."""
    if value in _valid_qualified_names:
        return []
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _QUALIFIED_NAME_MSG
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    errors: list[str] = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errors.append("prefix part must be non-empty")
        else:
            errors.extend("prefix part " + msg for msg in dns1123_subdomain_errors(prefix))
    name = parts[-1]
    if not name:
        errors.append("name part must be non-empty")
    elif _too_long(name, QUALIFIED_NAME_MAX):
        errors.append("name part " + max_len_error(QUALIFIED_NAME_MAX))
    if not _QUALIFIED_NAME_RE.fullmatch(name):
        errors.append("name part " + _QUALIFIED_NAME_MSG)
    return _remember(_valid_qualified_names, value, errors)


def label_value_errors(value: str) -> list[str]:
    """apimachinery ``IsValidLabelValue`` (empty is allowed)."""
    if value in _valid_label_values:
        return []
    errors = [max_len_error(LABEL_VALUE_MAX)] if _too_long(value, LABEL_VALUE_MAX) else []
    if not _LABEL_VALUE_RE.fullmatch(value):
        errors.append(_LABEL_VALUE_MSG)
    return _remember(_valid_label_values, value, errors)


def path_segment_name_errors(name: str) -> list[str]:
    """apimachinery ``IsValidPathSegmentName``: a name must be usable as one URL/key segment.

    The registry's key function turns these into 400 ``Name parameter invalid: "<n>": <msgs
    joined by ";">``.
    """
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


def port_name_errors(name: str) -> list[str]:
    """apimachinery ``IsValidPortName`` (an IANA_SVC_NAME)."""
    if name in _valid_port_names:
        return []
    errors = [max_len_error(PORT_NAME_MAX)] if _too_long(name, PORT_NAME_MAX) else []
    if not _PORT_NAME_CHARSET_RE.fullmatch(name):
        errors.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if not _HAS_LETTER_RE.search(name):
        errors.append("must contain at least one letter (a-z)")
    if "--" in name:
        errors.append("must not contain consecutive hyphens (--)")
    if name.startswith("-") or name.endswith("-"):
        errors.append("must not begin or end with a hyphen (-)")
    return _remember(_valid_port_names, name, errors)
