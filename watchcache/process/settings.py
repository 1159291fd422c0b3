"""The one settings object of a watchcache process.

The CLI only parses flags into a :class:`Settings`; everything else (the app, the tests) builds
one directly. An invalid combination cannot exist: ``__post_init__`` validates, so the rules
below are checked once, in one place, whoever builds the object.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

# uvicorn's level names; "trace" is uvicorn's own level below DEBUG.
LOG_LEVELS: Final = ("critical", "error", "warning", "info", "debug", "trace")
MAX_PORT: Final = 65535
# --durability: when the embedded Redis fsyncs its append-only file (appendfsync). Every write:
# an acknowledged write survives the host's crash, as etcd's do (Redis fsyncs once per event
# loop turn, before it answers, so concurrent writes share one fsync). Every second: a host
# crash may lose the last second of acknowledged writes (a process crash loses nothing).
FSYNC_EVERY_WRITE: Final = "fsync-every-write"
FSYNC_EVERY_SECOND: Final = "fsync-every-second"
DURABILITY: Final = {FSYNC_EVERY_WRITE: "always", FSYNC_EVERY_SECOND: "everysec"}
MIN_LOG_BYTES: Final = 16 * 1024  # a log line may be this long (kinds.pods.logs.MAX_LINE_BYTES)
_DURATION_UNITS: Final = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_DURATION_PART: Final = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``time.ParseDuration``: ``1h``, ``90s``, ``1h30m``, ``500ms``)."""
    body = text.strip()
    sign = -1.0 if body.startswith("-") else 1.0
    body = body.lstrip("+-")
    if body == "0":
        return 0.0
    total, pos = 0.0, 0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise ValueError(f"time: invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not body:
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total


# Bind addresses that mean "every interface": a URL to reach them must name another host.
WILDCARD_HOSTS: Final = frozenset({"0.0.0.0", "::", ""})


def is_loopback(host: str) -> bool:
    """True only for names that cannot be reached from another machine.

    Any other hostname may resolve to a public address, so it counts as exposed.
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


ACCESS_LOGGER = "watchcache.access"  # the logger of --access-log-format json


@dataclass(frozen=True, slots=True)
class Settings:
    """How one watchcache replica listens, authenticates and finds its Redis.

    ``redis_url=None`` means "start an embedded redis-server with its data in ``data_dir``".
    A token file turns on kube-apiserver style ``--token-auth-file`` authentication and, because
    kubectl sends bearer tokens only over https, TLS too (self-signed under ``data_dir/pki``
    unless a certificate is given).
    """

    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str | None = None
    redis_sentinel: str | None = None  # "host:port,host:port": the Sentinels to ask for the master
    redis_master: str | None = None  # the master's name at those Sentinels
    redis_read_url: str | None = None  # a replica of that Redis to read the log from
    data_dir: Path = Path(".watchcache")
    token_file: Path | None = None
    authorization_policy_file: Path | None = None  # ABAC; None: every authenticated user may do all
    allow_anonymous: bool = False
    tls_cert_file: Path | None = None
    tls_private_key_file: Path | None = None
    log_level: str = "info"
    event_retention: int = 1_000_000  # events kept in the stream; older ones are compacted away
    event_retention_seconds: float = 6 * 3600.0  # and none older than this (kube-apiserver: ~75 s)
    bookmark_interval_seconds: float = 60.0  # kube-apiserver's per-watcher bookmark period
    catch_up_mib_per_s: float = 32.0  # replica-wide pace of watchers replaying history
    strict_namespaces: bool = False  # creating in a namespace that does not exist: 404, not made
    event_ttl: float = 3600.0  # seconds an event is kept after its last write (kube-apiserver: 1h)
    log_retention_lines: int = 10_000  # lines kept per container instance
    log_retention_bytes: int = 10 * 1024 * 1024  # and their bytes (kubelet's containerLogMaxSize)
    max_requests_inflight: int = 400  # read-only requests served at once (0: no limit), as kube
    max_mutating_requests_inflight: int = 200  # and mutating ones
    request_head_timeout: float = 32.0  # seconds a request head may take (kube's ReadHeaderTimeout)
    access_log_format: str = "none"  # "json": a JSON object a request on stdout
    shutdown_delay_seconds: float = 0.0  # served on after SIGTERM with /readyz failing (kube: 0)
    durability: str = FSYNC_EVERY_WRITE  # when the embedded Redis fsyncs (see embedded_redis)
    min_replicas_acked: int = 0  # Redis replicas that must confirm a write before it is answered
    min_replicas_acked_timeout: float = 1.0  # seconds they have, else 504
    huge_pages: bool = True  # the heap in transparent huge pages (process.huge_pages)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` with a message fit for the command line on a bad combination."""
        if not 0 <= self.port <= MAX_PORT:
            raise ValueError(f"port {self.port} is out of range 0-{MAX_PORT}")
        if self.event_retention < 1 or self.event_retention_seconds <= 0:
            raise ValueError("event retention must keep at least one event for a positive time")
        if self.bookmark_interval_seconds <= 0:
            raise ValueError("the bookmark interval must be positive")
        if self.event_ttl <= 0:
            raise ValueError("the event TTL must be positive")
        if self.log_retention_lines < 1 or self.log_retention_bytes < MIN_LOG_BYTES:
            raise ValueError(
                f"log retention must keep at least one line and {MIN_LOG_BYTES} bytes (a line's most)"
            )
        if self.durability not in DURABILITY:
            raise ValueError(f"durability {self.durability!r} is not one of {', '.join(DURABILITY)}")
        if self.min_replicas_acked < 0 or self.min_replicas_acked_timeout <= 0:
            raise ValueError("--min-replicas-acked cannot be negative, and its timeout must be positive")
        if (self.redis_sentinel is None) != (self.redis_master is None):
            raise ValueError("--redis-sentinel and --redis-master go together: the Sentinels, and "
                             "the name of the master they watch")  # fmt: skip
        if self.redis_sentinel is not None and self.redis_url is not None:
            raise ValueError("give --redis-url or --redis-sentinel, not both")
        self.sentinels  # noqa: B018  (parsed now: a bad address fails at start)
        if self.redis_read_url is not None and not self.external_redis:
            raise ValueError("--redis-read-url needs --redis-url or --redis-sentinel: it names a "
                             "replica of that Redis")  # fmt: skip
        if self.min_replicas_acked and not self.external_redis:
            raise ValueError("--min-replicas-acked needs --redis-url: the embedded Redis has no replicas")
        if self.max_requests_inflight < 0 or self.max_mutating_requests_inflight < 0:
            raise ValueError("in-flight limits cannot be negative (0: no limit)")
        if self.request_head_timeout <= 0:
            raise ValueError("the request head timeout must be positive")
        if self.access_log_format not in ("none", "json"):
            raise ValueError(f"access log format {self.access_log_format!r} is not none or json")
        if self.shutdown_delay_seconds < 0:
            raise ValueError("the shutdown delay cannot be negative")
        if self.catch_up_mib_per_s <= 0:
            raise ValueError("the catch-up rate must be positive")
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log level {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        if (self.tls_cert_file is None) != (self.tls_private_key_file is None):
            raise ValueError(
                "a TLS certificate needs its private key and vice versa: "
                "give both --tls-cert-file and --tls-private-key-file, or neither"
            )
        if self.token_file is not None and self.allow_anonymous:
            # kube-apiserver's model here is --token-auth-file with --anonymous-auth=false;
            # accepting both would leave it unclear whether token-less requests get in.
            raise ValueError(
                "--allow-anonymous contradicts --token-file: with a token file every request "
                "must carry a valid token"
            )
        if not self.loopback and self.token_file is None and not self.allow_anonymous:
            raise ValueError(
                f"refusing to listen on non-loopback host {self.host!r} without authentication: "
                "give --token-file, or pass --allow-anonymous to let anyone who can reach "
                "the port read and write pods"
            )

    @property
    def external_redis(self) -> bool:
        """A Redis of the user's (a URL or Sentinels), not the embedded one."""
        return self.redis_url is not None or self.redis_sentinel is not None

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        """``--redis-sentinel`` as (host, port) pairs."""
        out = []
        for address in (self.redis_sentinel or "").split(","):
            if not address.strip():
                continue
            host, _, port = address.strip().rpartition(":")
            if not host or not (port.isascii() and port.isdigit()) or not 0 < int(port) <= MAX_PORT:
                raise ValueError(f"--redis-sentinel: {address.strip()!r} is not host:port")
            out.append((host.strip("[]"), int(port)))
        if self.redis_sentinel is not None and not out:
            raise ValueError("--redis-sentinel names no Sentinel")
        return out

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)

    @property
    def tls_enabled(self) -> bool:
        """Serve https when a certificate is given or tokens are in use (kubectl sends bearer
        tokens only over https)."""
        return self.tls_cert_file is not None or self.token_file is not None

    @property
    def self_signed_tls(self) -> bool:
        """TLS with a certificate watchcache generates and keeps in ``data_dir/pki``."""
        return self.tls_enabled and self.tls_cert_file is None

    @property
    def url(self) -> str:
        """The base URL a client on this machine uses (a wildcard bind is reached via loopback)."""
        scheme = "https" if self.tls_enabled else "http"
        return f"{scheme}://{url_host(self.host)}:{self.port}"


def url_host(host: str) -> str:
    """``host`` as it appears in a URL: wildcards become loopback, IPv6 gets brackets."""
    if host in WILDCARD_HOSTS:
        host = "::1" if host == "::" else "127.0.0.1"
    bare = host.strip("[]")
    return f"[{bare}]" if ":" in bare else bare
