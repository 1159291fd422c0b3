"""Query parameters decoded the way kube-apiserver decodes them (spec README, "Query parameters").

Booleans are false only for ``0`` and case-insensitive ``false`` (the Python client sends
``True``); integers are base-10 with Go's parse error text; unknown parameters are ignored.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from watchcache.machinery import errors

DRY_RUN_ALL = "All"
FIELD_VALIDATIONS = ["", "Ignore", "Strict", "Warn"]
FIELD_MANAGER_MAX_BYTES = 128


def go_bool(value: str) -> bool:
    return value != "0" and value.lower() != "false"


def flag(params: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = params.get(name)
    return default if value is None else go_bool(value)


def integer(params: Mapping[str, str], name: str) -> int | None:
    """An int64 parameter; a malformed one is a 400 carrying Go's strconv error text."""
    value = params.get(name)
    if value is None:
        return None
    try:
        number = int(value, 10)
    except ValueError:
        raise errors.BadRequest(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None
    if not -(2**63) <= number < 2**63:
        raise errors.BadRequest(f'strconv.ParseInt: parsing "{value}": value out of range')
    return number


def dry_run(values: list[str], options_kind: str) -> bool:
    """``dryRun`` may repeat; ``All`` is the only value (anything else: 422, nothing processed)."""
    if not values:
        return False
    if any(v != DRY_RUN_ALL for v in values):
        raise errors.invalid_options(options_kind, [errors.not_supported("dryRun", values, [DRY_RUN_ALL])])
    return True


def field_validation(params: Mapping[str, str], options_kind: str) -> str:
    """``Warn`` when absent (kube-apiserver's default since 1.27)."""
    value = params.get("fieldValidation", "")
    if value not in FIELD_VALIDATIONS:
        raise errors.invalid_options(
            options_kind, [errors.not_supported("fieldValidation", value, FIELD_VALIDATIONS)]
        )
    return value or "Warn"


@functools.lru_cache(maxsize=256)  # a cluster's writers send a handful of User-Agents
def default_field_manager(user_agent: str) -> str:
    """The manager of a write that names none: its User-Agent up to the first ``/``, printable,
    at most 128 bytes (kube's ``prefixFromUserAgent``)."""
    printable = "".join(c for c in user_agent.partition("/")[0] if c.isprintable())
    return printable.encode()[:FIELD_MANAGER_MAX_BYTES].decode(errors="ignore")


def field_manager(params: Mapping[str, str], user_agent: str, options_kind: str) -> str:
    """The ``fieldManager`` parameter, else the User-Agent up to its first ``/``."""
    given = params.get("fieldManager")
    if given is None:
        return default_field_manager(user_agent)
    problems = []
    if len(given.encode()) > FIELD_MANAGER_MAX_BYTES:
        problems.append(errors.too_long("fieldManager", FIELD_MANAGER_MAX_BYTES))
    for position, char in enumerate(given):
        if not char.isprintable():
            problems.append(
                errors.invalid_value(
                    "fieldManager", given, f"invalid character U+{ord(char):04X} (at position {position})"
                )
            )
            break
    if problems:
        raise errors.invalid_options(options_kind, problems)
    return given
