"""Pod logs: ``PodLogOptions`` decoding and validation, container choice, line filters (log.md).

Pure. The lines themselves live in Redis streams, one per container instance (``store``);
this module decides which container a request means and which stored lines it gets.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from watchcache.machinery import errors, params
from watchcache.machinery.objects import Object
from watchcache.machinery.schema import normalize_time

LOG_KIND = "PodLogOptions"


@dataclass(frozen=True, slots=True)
class LogOptions:
    container: str | None = None
    follow: bool = False
    previous: bool = False
    since_seconds: int | None = None
    since_time: datetime | None = None
    timestamps: bool = False
    tail_lines: int | None = None
    limit_bytes: int | None = None

    def since_ms(self, now: datetime) -> int | None:
        """The oldest line time to send, in ms since the epoch (stream ids are ms times)."""
        if self.since_time is not None:
            return int(self.since_time.timestamp() * 1000)
        if self.since_seconds is not None:
            return int(now.timestamp() * 1000) - self.since_seconds * 1000
        return None


def parse_log_options(query: Mapping[str, str], pod_name: str) -> LogOptions:
    """Decode (400 on parse errors) then validate (422 ``PodLogOptions``), as the apiserver does."""
    since_time = None
    if "sinceTime" in query:
        try:
            normalized = normalize_time(query["sinceTime"])
        except ValueError as exc:
            raise errors.BadRequest(str(exc)) from None
        since_time = datetime.fromisoformat(normalized.replace("Z", "+00:00")) if normalized else None
    opts = LogOptions(
        container=query.get("container") or None,
        follow=params.flag(query, "follow"),
        previous=params.flag(query, "previous"),
        since_seconds=params.integer(query, "sinceSeconds"),
        since_time=since_time,
        timestamps=params.flag(query, "timestamps"),
        tail_lines=params.integer(query, "tailLines"),
        limit_bytes=params.integer(query, "limitBytes"),
    )
    problems = _problems(opts, "sinceTime" in query)
    if problems:
        raise errors.invalid(LOG_KIND, pod_name, problems)
    return opts


def _problems(opts: LogOptions, since_time_given: bool) -> list[errors.FieldError]:
    problems = []
    if opts.tail_lines is not None and opts.tail_lines < 0:
        problems.append(
            errors.invalid_value("tailLines", opts.tail_lines, "must be greater than or equal to 0")
        )
    if opts.limit_bytes is not None and opts.limit_bytes < 1:
        problems.append(errors.invalid_value("limitBytes", opts.limit_bytes, "must be greater than 0"))
    if since_time_given and opts.since_seconds is not None:
        problems.append(errors.forbidden("", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
    elif opts.since_seconds is not None and opts.since_seconds < 1:
        problems.append(errors.invalid_value("sinceSeconds", opts.since_seconds, "must be greater than 0"))
    return problems


def resolve_container(pod: Object, requested: str | None) -> str:
    """The container a log request means (log.md §2 step 4)."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    init = [c["name"] for c in spec.get("initContainers") or []]
    regular = [c["name"] for c in spec.get("containers") or []]
    ephemeral = [c["name"] for c in spec.get("ephemeralContainers") or []]
    if requested is not None:
        if requested not in (*regular, *init, *ephemeral):
            raise errors.BadRequest(f"container {requested} is not valid for pod {name}")
        return requested
    if len(regular) == 1:
        return regular[0]
    if not regular:
        raise errors.BadRequest(f"a container name must be specified for pod {name}")
    choices = " ".join([*init, *regular, *ephemeral])
    raise errors.BadRequest(f"a container name must be specified for pod {name}, choose one of: [{choices}]")


def render(
    lines: Iterable[tuple[int, bytes, bytes]], opts: LogOptions, budget: int | None
) -> tuple[bytes, int | None]:
    """Join stored ``(ms, timestamp, line)`` entries for the wire; returns the bytes and what is
    left of ``limitBytes`` (None: no limit). Lines end with ``\\n``; ``timestamps`` prefixes each
    with its RFC 3339 time and a space."""
    out = b"".join(stamp + b" " + line if opts.timestamps else line for _, stamp, line in lines)
    if budget is None:
        return out, None
    out = out[:budget]
    return out, budget - len(out)


def timestamp_nano(now: datetime) -> bytes:
    """RFC 3339 with nanoseconds, as the kubelet stamps log lines."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z").encode()


# --- ingestion: a container's lines written through the API (no kubelet here to write them) ---

MAX_LINE_BYTES = 16 * 1024  # container runtimes split longer lines (CRI's 16 KiB log line)
_LINE_TIME = re.compile(rb"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})")
STATUS_LISTS = ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")


def parse_log_lines(body: bytes, *, timestamps: bool, now: datetime) -> list[tuple[int, bytes, bytes]]:
    """A log ingestion body as ``(ms, RFC 3339 time, line)`` entries.

    The body is UTF-8 text, one line per ``\\n`` (a last line may lack it). With ``timestamps``
    each line starts with its RFC 3339 time and a space — what ``kubectl logs --timestamps``
    prints, so a log can be copied in as it came out; without, every line gets ``now``. 400 for
    anything else: text that is not UTF-8, a line over :data:`MAX_LINE_BYTES`, a bad time.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.BadRequest(f"log lines must be UTF-8 text: byte {exc.start} is not") from None
    lines = body.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    if not lines:
        raise errors.BadRequest("the body holds no log lines")
    now_stamp, now_ms = timestamp_nano(now), int(now.timestamp() * 1000)
    entries = []
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_BYTES:
            raise errors.BadRequest(
                f"log line {number} is {len(line)} bytes long: a line is at most {MAX_LINE_BYTES}"
            )
        stamp, ms = now_stamp, now_ms
        if timestamps:
            given, _, line = line.partition(b" ")
            stamp, ms = _line_time(given, number)
        entries.append((ms, stamp, line + b"\n"))
    return entries


def _line_time(given: bytes, number: int) -> tuple[bytes, int]:
    """A line's RFC 3339 time, as the kubelet stamps lines (UTC, nanoseconds), and its ms."""
    match = _LINE_TIME.fullmatch(given)
    when = None
    if match is not None:
        seconds, fraction, zone = (g.decode() if g else "" for g in match.groups())
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(seconds + ("+00:00" if zone == "Z" else zone)).astimezone(UTC)
    if match is None or when is None:
        raise errors.BadRequest(
            f'log line {number} does not start with an RFC 3339 time and a space: "{given.decode()}"'
        )
    nanos = fraction.ljust(9, "0")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.").encode() + nanos.encode() + b"Z"
    return stamp, int(when.timestamp()) * 1000 + int(nanos[:3])


def container_instance(pod: Object, container: str) -> int:
    """Which instance of ``container`` is running: its restart count in the pod's status (a
    kubelet keeps the log of this one and of the one before)."""
    status = pod.get("status") or {}
    for key in STATUS_LISTS:
        for found in status.get(key) or []:
            if found.get("name") == container:
                return int(found.get("restartCount") or 0)
    return 0
