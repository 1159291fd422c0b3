"""List options (list-watch.md §1, §3, §4): parsing, validation, continue tokens, filtering.

Pure: the registry feeds it the view's entries; nothing here does I/O.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from watchcache.machinery import errors, params
from watchcache.machinery.selectors import (
    FieldSelector,
    FieldSet,
    LabelSelector,
    SelectorState,
    parse_field_selector,
    parse_label_selector,
)

RV_MATCHES = ["Exact", "NotOlderThan", ""]


@dataclass(frozen=True, slots=True)
class ListOptions:
    label_selector: LabelSelector
    field_selector: FieldSelector
    resource_version: str | None = None
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str | None = None
    watch: bool = False
    allow_bookmarks: bool = False
    send_initial_events: bool | None = None
    timeout_seconds: int | None = None

    def matches(self, state: SelectorState) -> bool:
        return self.label_selector.matches(state.labels) and self.field_selector.matches(state.fields)

    @property
    def selective(self) -> bool:
        return not (self.label_selector.empty and self.field_selector.empty)


@dataclass(frozen=True, slots=True)
class Continue:
    """A decoded continue token: the list's rv and the key after which the next page starts."""

    rv: int
    start_after: str


def parse_list_options(query: Mapping[str, str], *, watch: bool, fields: FieldSet) -> ListOptions:
    """A list or watch's options; ``fields`` are what the kind's field selectors may name."""
    label = parse_label_selector(query.get("labelSelector", ""))
    field = parse_field_selector(query.get("fieldSelector", ""), fields)
    send_initial = query.get("sendInitialEvents")
    opts = ListOptions(
        label_selector=label,
        field_selector=field,
        resource_version=query.get("resourceVersion") or None,
        resource_version_match=query.get("resourceVersionMatch", ""),
        limit=max(params.integer(query, "limit") or 0, 0),
        continue_token=query.get("continue") or None,
        watch=watch,
        allow_bookmarks=params.flag(query, "allowWatchBookmarks"),
        send_initial_events=None if send_initial is None else params.go_bool(send_initial),
        timeout_seconds=params.integer(query, "timeoutSeconds"),
    )
    validate(opts)
    return opts


def validate(opts: ListOptions) -> None:
    """The ListOptions rules of list-watch.md §3, §4 and §8 (400 first, then 422)."""
    rv, match = opts.resource_version, opts.resource_version_match
    if opts.continue_token and rv not in (None, "0"):
        raise errors.BadRequest("specifying resource version is not allowed when using continue")
    problems: list[errors.FieldError] = []
    if match not in RV_MATCHES:
        problems.append(errors.not_supported("resourceVersionMatch", match, RV_MATCHES))
    elif opts.watch:
        problems += _watch_problems(opts)
    else:
        if opts.send_initial_events is not None:
            problems.append(errors.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        if match and opts.continue_token:
            problems.append(
                errors.forbidden(
                    "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"
                )
            )
        elif match and rv is None:
            problems.append(
                errors.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        elif match == "Exact" and rv == "0":
            problems.append(
                errors.forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if problems:
        raise errors.invalid_options("ListOptions", problems)


def _watch_problems(opts: ListOptions) -> list[errors.FieldError]:
    match = opts.resource_version_match
    if opts.send_initial_events is None:
        if match:
            return [
                errors.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                )
            ]
        return []
    if match == "":
        return [
            errors.forbidden(
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            )
        ]
    if match != "NotOlderThan":
        return [errors.not_supported("resourceVersionMatch", match, ["NotOlderThan"])]
    return []


def encode_continue(rv: int, last_key: str, namespace: str | None) -> str:
    """kube-apiserver's token shape (clients treat it as opaque): base64url JSON, no padding."""
    start = last_key if namespace is None else last_key.partition("/")[2]
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_continue(token: str, namespace: str | None) -> Continue:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = orjson.loads(raw)
        rv, start = data["rv"], data["start"]
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(rv, int) or not isinstance(start, str):
            raise ValueError("unsupported token")
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise errors.BadRequest(f"invalid continue token: continue key is not valid: {exc}") from None
    if rv <= 0:
        raise errors.BadRequest(
            "invalid continue token: continue key is not valid: "
            "incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    start = start.rstrip("\x00")
    if namespace is not None:
        start = f"{namespace}/{start}"
    return Continue(rv, start)
