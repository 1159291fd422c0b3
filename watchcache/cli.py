"""The ``watchcache`` command: parse flags into :class:`Settings`, then start the process edge.

Every flag has a ``WATCHCACHE_<NAME>`` environment variable and its default taken from
``Settings``, so the dataclass stays the one source of defaults. To add a flag, add a
``Settings`` field and an :func:`option` of the same name to a group below.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import gc
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click
import orjson

from watchcache.process.huge_pages import huge_pages_note, restart_with_huge_pages
from watchcache.process.policy import PolicyError, PolicyFile
from watchcache.process.settings import (
    ACCESS_LOGGER,
    DURABILITY,
    LOG_LEVELS,
    MIN_LOG_BYTES,
    Settings,
    parse_duration,
)
from watchcache.process.tokens import TokenFile

if TYPE_CHECKING:
    from watchcache.process.embedded_redis import EmbeddedRedis

ENV_PREFIX: Final = "WATCHCACHE"
DEFAULTS: Final = Settings()
HELP_WIDTH: Final = 100  # columns
STOP_SIGNALS: Final = (signal.SIGTERM, signal.SIGINT)
GRACEFUL_SHUTDOWN_S: Final = 3  # seconds for in-flight requests on shutdown; clients re-watch

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    """``click.option`` whose env var is ``WATCHCACHE_<NAME>`` in every subcommand.

    Explicit, because click's automatic names would include the subcommand
    (``WATCHCACHE_SERVE_HOST``).
    """
    name = next(d for d in decls if d.startswith("--"))[2:].partition("/")[0]  # "--x/--no-x": x
    attrs.setdefault("envvar", f"{ENV_PREFIX}_{name.upper().replace('-', '_')}")
    attrs.setdefault("show_envvar", True)
    attrs.setdefault("show_default", True)
    return click.option(*decls, **attrs)


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Bundle options into one decorator, listed in ``--help`` in the order given."""

    def apply(f: F) -> F:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


_existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


class GoDuration(click.ParamType):
    """A Go duration on the command line (``1h``, ``90s``), as seconds."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, int | float):
            return float(value)
        try:
            return parse_duration(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


GO_DURATION = GoDuration()

# Flags that say where the server is and how it is reached: `serve` and `kubeconfig` share them.
server_options = options(
    option("--host", default=DEFAULTS.host,
           help="Address to listen on. Anything but loopback needs --token-file or "
                "--allow-anonymous."),
    option("--port", type=click.IntRange(0, 65535), default=DEFAULTS.port,
           help="TCP port to listen on."),
    option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
           default=DEFAULTS.data_dir,
           help="Directory for the embedded Redis' data (redis/) and generated TLS files (pki/)."),
    option("--token-file", type=_existing_file,
           help='kube-apiserver --token-auth-file CSV (token,user,uid,"group1,group2"). Every '
                "request then needs one of its bearer tokens, and TLS is switched on."),
    option("--authorization-policy-file", type=_existing_file,
           help="kube-apiserver ABAC policy file (one abac.authorization.kubernetes.io/v1beta1 "
                "Policy per line): a request no line allows gets 403 (system:masters may do "
                "everything). Without it every authenticated user may do everything."),
    option("--allow-anonymous", is_flag=True, default=DEFAULTS.allow_anonymous,
           help="Allow listening on a non-loopback host without a token file: anyone who can "
                "reach the port may then read and write pods."),
    option("--tls-cert-file", type=_existing_file,
           help="PEM serving certificate (chain). Omitted with --token-file: a self-signed one "
                "is kept in --data-dir/pki."),
    option("--tls-private-key-file", type=_existing_file,
           help="PEM private key of --tls-cert-file."),
)  # fmt: skip

# Flags only a running server needs.
runtime_options = options(
    option("--redis-url",
           help="Redis URL; omitted = start an embedded redis-server with its data in --data-dir"),
    option("--redis-sentinel", metavar="HOST:PORT,...",
           help="Find the Redis master through these Sentinels (with --redis-master) instead of "
                "--redis-url; after a failover every connection reconnects to the new master."),
    option("--redis-master", metavar="NAME", help="The master's name at --redis-sentinel."),
    option("--redis-read-url",
           help="A replica of the Redis to read the log from (the view's bootstrap and its "
                "tailer), so that with many watchcache replicas the primary serves only writes "
                "and head reads; consistent reads still wait for the primary's head."),
    option("--durability", type=click.Choice(list(DURABILITY)), default=DEFAULTS.durability,
           help="When the embedded Redis fsyncs its append-only file: fsync-every-write (an "
                "acknowledged write survives a host crash, as with etcd; concurrent writes share "
                "one fsync) or fsync-every-second (a host crash may lose the last second of "
                "writes; a process crash loses nothing). An external Redis (--redis-url) keeps "
                "its own appendfsync."),
    option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
           default=DEFAULTS.log_level, help="Log level of watchcache and uvicorn."),
    option("--event-retention", type=click.IntRange(min=1), default=DEFAULTS.event_retention,
           help="Events kept in the Redis stream for watches to resume from; a watch from an "
                "older resourceVersion gets 410 Expired."),
    option("--event-retention-seconds", type=click.FloatRange(min=0, min_open=True),
           default=DEFAULTS.event_retention_seconds,
           help="Events older than this are compacted away too, whatever their number."),
    option("--bookmark-interval-seconds", type=click.FloatRange(min=0, min_open=True),
           default=DEFAULTS.bookmark_interval_seconds,
           help="How often a watch that asked for bookmarks gets one (kube-apiserver: 60)."),
    option("--catch-up-mib-per-s", type=click.FloatRange(min=0, min_open=True),
           default=DEFAULTS.catch_up_mib_per_s,
           help="Replica-wide pace (MiB/s) of watchers replaying history (resumed after a "
                "stall, or started from an old resourceVersion), so live watchers come first."),
    option("--event-ttl", type=GO_DURATION, default="1h",
           help="How long an event is kept after its last update, as kube-apiserver's "
                "--event-ttl (a Go duration: 1h, 90s, 1h30m)."),
    option("--log-retention-lines", type=click.IntRange(min=1), default=DEFAULTS.log_retention_lines,
           help="Container log lines kept per container instance (and the one before it); the "
                "oldest go first. Lines are written with POST "
                "/apis/logs.watchcache.io/v1/namespaces/NS/pods/NAME/log."),
    option("--log-retention-bytes", type=click.IntRange(min=MIN_LOG_BYTES),
           default=DEFAULTS.log_retention_bytes,
           help="...and at most this many bytes of them (a kubelet's containerLogMaxSize: 10Mi)."),
    option("--min-replicas-acked", type=click.IntRange(min=0), default=DEFAULTS.min_replicas_acked,
           help="Answer a write only once this many replicas of the (external) Redis confirm "
                "they hold it (Redis WAIT), so a failover to one of them cannot lose it; if they "
                "do not within --min-replicas-acked-timeout the answer is 504: the write is "
                "applied, and may be lost on a failover."),
    option("--min-replicas-acked-timeout", type=GO_DURATION, default="1s",
           help="How long the Redis replicas have to confirm a write (a Go duration)."),
    option("--max-requests-inflight", type=click.IntRange(min=0), default=DEFAULTS.max_requests_inflight,
           help="Read-only requests served at once; more get 429 with Retry-After (kube-apiserver's "
                "flag; watches, logs and system:masters are not counted; 0: no limit)."),
    option("--max-mutating-requests-inflight", type=click.IntRange(min=0),
           default=DEFAULTS.max_mutating_requests_inflight,
           help="Mutating requests served at once; more get 429 (0: no limit)."),
    option("--request-head-timeout", type=GO_DURATION, default="32s",
           help="A connection whose request head has not arrived whole in this long is closed "
                "(kube-apiserver's 32 s); heads over 1 MiB get 431."),
    option("--access-log-format", type=click.Choice(["none", "json"]), default=DEFAULTS.access_log_format,
           help="json: a JSON object a request on stdout (time, user, verb, resource, namespace, name, "
                "status, duration, user agent); none: no access log."),
    option("--shutdown-delay-seconds", type=click.FloatRange(min=0),
           default=DEFAULTS.shutdown_delay_seconds,
           help="On SIGTERM or SIGINT, /readyz fails at once and requests are still served this "
                "long, so a load balancer can take the replica out first (kube-apiserver's "
                "--shutdown-delay-duration); then every watch ends with a last bookmark and the "
                "server stops. A second signal stops it at once."),
    option("--strict-namespaces", is_flag=True, default=DEFAULTS.strict_namespaces,
           help="Creating an object in a namespace that does not exist is a 404, as "
                "kube-apiserver's NamespaceLifecycle admission answers; without it the namespace "
                "is created on the fly."),
    option("--huge-pages/--no-huge-pages", default=DEFAULTS.huge_pages,
           help="Keep the heap in transparent huge pages where the kernel gives them on request "
                "(THP mode madvise): serve then starts itself again, once, with GLIBC_TUNABLES="
                "glibc.malloc.hugetlb=1. Fewer page faults and TLB misses as the view grows (a "
                "write ~8% less CPU here) for ~10% more memory."),
)  # fmt: skip


@click.group(
    context_settings={
        "auto_envvar_prefix": ENV_PREFIX,
        "show_default": True,
        "max_content_width": HELP_WIDTH,
        "help_option_names": ["-h", "--help"],
    }
)
@click.version_option(package_name="watchcache")
def cli() -> None:
    """watchcache serves the Kubernetes Pod API, and the Namespaces, Nodes and Events around pods,
    from an event log in Redis streams, so kubectl and the official clients work against it
    unchanged. Any number of replicas can share one Redis; each answers reads and watches from its
    own in-memory view.
    """


@cli.command()
@server_options
@runtime_options
@click.pass_context
def serve(ctx: click.Context, **flags: Any) -> None:
    """Serve the API (pods, namespaces, nodes, events) until SIGINT or SIGTERM, which stop it
    gracefully."""
    settings = build_settings(flags)
    load_tokens(settings)  # a bad token file fails now, not on the first request
    load_policy(settings)  # so does a bad policy file: never an open server
    if settings.huge_pages and ctx.obj is AS_PROGRAM:  # (not when a caller in-process invoked it)
        restart_with_huge_pages()
    cert, key = serving_cert(settings)
    with contextlib.ExitStack() as stack:
        stack.enter_context(_stop_signals_raise_system_exit())
        redis_url, redis_note = settings.redis_url, _redact(settings.redis_url)
        if settings.redis_sentinel is not None:
            redis_note = f"master {settings.redis_master!r} of Sentinels {settings.redis_sentinel}"
        elif redis_url is None:
            embedded = stack.enter_context(_embedded_redis(settings.data_dir, settings.durability))
            redis_url = embedded.url
            redis_note = f"embedded at {redis_url}, data in {embedded.dir}, {settings.durability}"
        if settings.redis_read_url is not None:
            redis_note += f"; the log read from {_redact(settings.redis_read_url)}"
        _run(dataclasses.replace(settings, redis_url=redis_url), cert, key, redis_note)


@cli.command("kubeconfig")
@server_options
@option("--server", help="Server URL to write instead of the one --host and --port give "
                         "(e.g. a load balancer in front of several replicas).")  # fmt: skip
def kubeconfig_command(server: str | None, **flags: Any) -> None:
    """Print a kubeconfig for the server these flags describe (same flags as serve)."""
    from watchcache.process.kubeconfig import render_kubeconfig  # (yaml and cryptography: lazily)

    settings = build_settings(flags)
    load_tokens(settings)
    click.echo(render_kubeconfig(settings, server=server), nl=False)


# How the simulator and the load test reach a server.
client_options = options(
    option("--server", help="API server URL (e.g. http://127.0.0.1:8080); or give --kubeconfig."),
    option("--kubeconfig", type=click.Path(exists=True, dir_okay=False, path_type=Path),
           help="Take the server, CA and token from this kubeconfig's current context."),
    option("--token", help="Bearer token (with --server)."),
    option("--insecure-skip-tls-verify", is_flag=True, help="Do not check the server's certificate."),
)  # fmt: skip


@cli.command()
@option("--server", help="API server URL (e.g. http://127.0.0.1:8080); or give --kubeconfig.")
@option(
    "--kubeconfig",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take the server, CA and token from this kubeconfig's current context.",
)
@option("--token", help="Bearer token (with --server).")
@option("--insecure-skip-tls-verify", is_flag=True, help="Do not check the server's certificate.")
@option("--nodes", type=click.IntRange(min=1), default=3, help="Simulated nodes to register.")
@option("--node-prefix", default="sim-node", help="Node names: PREFIX-0, PREFIX-1, ...")
@option("--node-cpu", default="32", help="Each node's cpu capacity.")
@option("--node-memory", default="256Gi", help="Each node's memory capacity.")
@option("--node-pods", type=click.IntRange(min=1), default=110, help="Pods each node takes.")
@option(
    "--node-label",
    "node_labels",
    multiple=True,
    metavar="KEY=VALUE",
    help="A label of every node (repeatable), for nodeSelectors.",
)
@option(
    "--namespace",
    "namespaces",
    multiple=True,
    help="Act on pods of this namespace only (repeatable); default: every namespace.",
)
@option(
    "--startup-delay",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Seconds from a pod's binding to Running (KWOK's fast stages: 0).",
)
@option(
    "--jitter",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Up to this many seconds more, at random, per pod.",
)
@option(
    "--node-heartbeat-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=20.0,
    help="How often each node's status is refreshed.",
)
@option(
    "--watch-per-node",
    is_flag=True,
    help="Watch each node's pods apart (fieldSelector=spec.nodeName=NODE, as kubelets do), and the "
    "unscheduled ones, instead of one shared watch of every pod.",
)
@option(
    "--node-leases/--no-node-leases",
    default=True,
    help="Keep a Lease per node in kube-node-lease, renewed every 10 s, as kubelets do.",
)
@option(
    "--events/--no-events",
    default=True,
    help="Post the events kube-scheduler and kubelets post (Scheduled, Pulled, Started, ...).",
)
@option(
    "--log-interval",
    type=click.FloatRange(min=0),
    default=5.0,
    help="Seconds between the log lines each running container writes (0: only its first).",
)
@option("--concurrency", type=click.IntRange(min=1), default=32, help="Requests in flight at most.")
def simulate(**flags: Any) -> None:
    """Run a simulated cluster against a server: register nodes, schedule pending pods onto them
    and play their kubelets (Running, logs, completion, deletion), until SIGINT or SIGTERM.

    Pods with restartPolicy Never or owned by a Job finish (Succeeded) after the seconds of
    their sim.watchcache.io/run-seconds annotation; every other pod runs until deleted. It is an
    API client like any other, so it also drives a real kube-apiserver without kube-scheduler.
    """
    import uvloop

    from watchcache.simulator.simulate import run_simulation

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    with _stop_signals_raise_system_exit(), contextlib.suppress(SystemExit):
        try:
            uvloop.run(run_simulation(flags))
        except ValueError as exc:
            raise click.UsageError(str(exc)) from exc


@cli.command()
@client_options
@option("-n", "--namespace", help="The object's namespace (none for a cluster-scoped kind).")
@option("--objects", is_flag=True, help="Print each version's object too (JSON, one per line).")
@option("--diff", metavar="RV1,RV2", help="Print the JSON Patch from one version to the other instead.")
@click.argument("target", metavar="RESOURCE/NAME")
def history(target: str, namespace: str | None, objects: bool, diff: str | None, **flags: Any) -> None:
    """Print an object's history from the server's log: every retained version with its
    resourceVersion, time, user, verb, field manager and user agent (RESOURCE as kubectl names
    it in its API group: pods, nodes, leases.coordination.k8s.io).
    """
    import uvloop

    from watchcache.simulator.client import ApiError
    from watchcache.simulator.simulate import client_from_flags

    resource, _, name = target.partition("/")
    if not resource or not name:
        raise click.BadParameter("want RESOURCE/NAME, e.g. pods/web", param_hint="RESOURCE/NAME")
    where = f"/namespaces/{namespace}" if namespace else ""
    path = f"/apis/history.watchcache.io/v1{where}/{resource}/{name}"
    params = {"diff": diff} if diff else ({"objects": "true"} if objects else {})

    async def fetch() -> Any:
        client = client_from_flags(flags)
        try:
            return await client.call("GET", path, params=params)
        finally:
            await client.close()

    try:
        answer = uvloop.run(fetch())
    except (ApiError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    if diff:
        click.echo(orjson.dumps(answer["patch"], option=orjson.OPT_INDENT_2).decode())
        return
    rows: list[tuple[str, ...]] = [("REVISION", "TIME", "TYPE", "USER", "VERB", "MANAGER", "USER AGENT")]
    columns = ("resourceVersion", "time", "type", "user", "verb", "fieldManager", "userAgent")
    rows += [tuple(i[c] or ("(server)" if c == "user" else "") for c in columns) for i in answer["items"]]
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    for row in rows:
        click.echo("   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if objects:
        for item in answer["items"]:
            click.echo(orjson.dumps(item["object"]).decode())


@cli.command()
@client_options
@option(
    "--nodes",
    type=click.IntRange(min=1),
    default=10,
    help="Nodes of the density shape (and of the simulated cluster with --simulate).",
)
@option(
    "--pods-per-node", type=click.IntRange(min=1), default=30, help="Pods per node: nodes x this are created."
)
@option(
    "--nodes-per-namespace",
    type=click.IntRange(min=1),
    default=100,
    help="Namespaces are made for every this many nodes (clusterloader2's density shape).",
)
@option("--qps", type=click.FloatRange(min=0, min_open=True), default=100.0, help="Pod creates per second.")
@option(
    "--simulate",
    is_flag=True,
    help="Run a simulated cluster of --nodes nodes in this process (else the server's own nodes run them).",
)
@option("--timeout", type=GO_DURATION, default="10m", help="How long the pods may take to run, and to go.")
@option(
    "--hold",
    type=GO_DURATION,
    default="0s",
    help="How long the pods are left running before they are deleted (a steady phase, e.g. 5m).",
)
@option(
    "--report",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("load-report"),
    help="Directory for report.json (PerfData-style), latency.png and summary.html.",
)
@option(
    "--threshold",
    "thresholds",
    multiple=True,
    metavar="METRIC_PNN=DURATION",
    help="Exit 1 if the percentile goes over, e.g. pod_startup_p99=5s (repeatable). Metrics: "
    "pod_startup, create_to_schedule, schedule_to_run, create_to_watch, watch_lag, delete_to_gone.",
)
def load(**flags: Any) -> None:
    """Load-test a server as clusterloader2's density test does: create pods at --qps across
    namespaces, wait for them to run, delete them, and report pod startup latency, API call
    latency against the Kubernetes SLOs, and the server's CPU and memory. Exit 1 on a breach
    of an SLO or a --threshold.
    """
    import uvloop

    from watchcache.simulator.load import LoadOptions, run_load, write_report
    from watchcache.simulator.simulate import client_from_flags

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    thresholds = {}
    for text in flags["thresholds"]:
        name, sep, value = text.partition("=")
        try:
            if not sep:
                raise ValueError(f"{text!r} is not METRIC_PNN=DURATION")
            thresholds[name] = parse_duration(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--threshold") from exc
    names = ("nodes", "pods_per_node", "nodes_per_namespace", "qps", "simulate", "timeout", "hold", "report")
    opts = LoadOptions(**{name: flags[name] for name in names}, thresholds=thresholds)

    async def run() -> tuple[dict[str, Any], list[str]]:
        client = client_from_flags(flags)
        try:
            return await run_load(client, opts)
        finally:
            await client.close()

    try:
        report, breached = uvloop.run(run())
    except (ValueError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from exc
    written = write_report(report, opts.report)
    startup = next(i["data"] for i in report["dataItems"] if i["labels"]["Metric"] == "pod_startup")
    click.echo(f"{report['summary']['pods']} pods in {report['summary']['duration_s']} s; pod startup "
               f"p50 {startup['Perc50']:.0f} ms, p99 {startup['Perc99']:.0f} ms; report: "
               + ", ".join(str(p) for p in written))  # fmt: skip
    for line in breached:
        click.echo(f"BREACH: {line}", err=True)
    if breached:
        raise SystemExit(1)


def build_settings(flags: dict[str, Any]) -> Settings:
    """Flags to a validated :class:`Settings`; a bad combination is a usage error (exit 2)."""
    try:
        return Settings(**flags)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def load_policy(settings: Settings) -> PolicyFile | None:
    if settings.authorization_policy_file is None:
        return None
    try:
        return PolicyFile.load(settings.authorization_policy_file)
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--authorization-policy-file") from exc


def load_tokens(settings: Settings) -> TokenFile | None:
    if settings.token_file is None:
        return None
    try:
        tokens = TokenFile.load(settings.token_file)
    except (OSError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--token-file") from exc
    if not tokens:
        raise click.BadParameter(
            f"{settings.token_file} lists no tokens, so every request would be refused",
            param_hint="--token-file",
        )
    return tokens


def serving_cert(settings: Settings) -> tuple[Path | None, Path | None]:
    """The certificate and key uvicorn serves, generated under data_dir/pki when self-signed."""
    from watchcache.process.tls import ensure_self_signed, serving_hosts  # (cryptography: lazily)

    if settings.self_signed_tls:
        _, cert, key = ensure_self_signed(settings.data_dir, serving_hosts(settings.host))
        return cert, key
    return settings.tls_cert_file, settings.tls_private_key_file


@contextlib.contextmanager
def _embedded_redis(data_dir: Path, durability: str) -> Iterator[EmbeddedRedis]:
    from watchcache.process.embedded_redis import EmbeddedRedis, EmbeddedRedisError  # (redis: lazily)

    try:
        embedded = EmbeddedRedis(data_dir, durability=durability).start()
    except EmbeddedRedisError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        yield embedded
    finally:
        embedded.stop()


def _run(settings: Settings, cert: Path | None, key: Path | None, redis_note: str) -> None:
    # Lazily: --help and `kubeconfig` need neither the app nor uvicorn's import time.
    import uvicorn

    gc.set_threshold(*GC_THRESHOLDS)

    from watchcache.http.app import create_app
    from watchcache.http.limits import GuardedHttpTools
    from watchcache.http.server import GracefulServer

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http=type("HttpTools", (GuardedHttpTools,), {"head_timeout_s": settings.request_head_timeout}),
        lifespan="on",
        access_log=False,
        proxy_headers=False,  # nothing reads the client address; the middleware costs every request
        log_level=settings.log_level,
        log_config=_log_config(settings.log_level),
        ssl_certfile=cert,
        ssl_keyfile=key,
        # watches have ended with a bookmark by then (GracefulServer); any request still open
        # after this grace is cut
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    logger.info("watchcache serving %s (redis: %s; auth: %s; heap: %s)",
                _listen_url(settings), redis_note, _auth_note(settings), huge_pages_note())  # fmt: skip
    GracefulServer(config, app, settings.shutdown_delay_seconds).run()


# The cycle collector's young generation is collected after this many net new container
# objects instead of 700. A write holds a few pod trees of ~400 dicts and lists each: at 700,
# collections ran mid-request, traversed and promoted those temporaries, and every few hundred
# writes a full pass walked the whole view (2.0 s of 9,000 writes' CPU in benchmarks.inprocess;
# 0.04 s with these). Garbage without cycles is freed by refcounts either way; cyclic garbage
# waits for at most this many objects.
GC_THRESHOLDS: Final = (50_000, 20, 10)


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging setup plus the ``watchcache`` logger on the same handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["watchcache"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    # the access log (--access-log-format json): a JSON object a line on stdout, nothing around it
    config["formatters"]["bare"] = {"format": "%(message)s"}
    config["handlers"]["bare"] = {"formatter": "bare", "class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
    config["loggers"][ACCESS_LOGGER] = {"handlers": ["bare"], "level": "INFO", "propagate": False}
    return config


def _listen_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_enabled else "http"
    host = settings.host.strip("[]")
    return f"{scheme}://{f'[{host}]' if ':' in host else host or '0.0.0.0'}:{settings.port}"


def _auth_note(settings: Settings) -> str:
    if settings.token_file is not None:
        return f"bearer tokens from {settings.token_file}"
    return "none (anyone who reaches the port)" if not settings.loopback else "none (loopback)"


def _redact(url: str | None) -> str:
    """A Redis URL fit for a log line: the password replaced by ``***``."""
    if url is None:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))


@contextlib.contextmanager
def _stop_signals_raise_system_exit() -> Iterator[None]:
    """Make SIGTERM and SIGINT unwind the stack, so ``with`` blocks (the embedded Redis) clean up.

    uvicorn handles both while it runs, then re-raises the signal after restoring the previous
    handler: SIGTERM's default would kill the process before redis-server is stopped, and
    SIGINT's KeyboardInterrupt would end a clean shutdown with click's "Aborted!".
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_system_exit) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise_system_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)  # a requested, graceful stop is a success


# The context object of the command run as this process's program (main), which ``serve`` may
# start again (huge pages); a caller invoking ``cli`` in its own process (a test) is left alone.
AS_PROGRAM: Final = object()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``watchcache = watchcache.cli:main``)."""
    cli.main(args=argv, prog_name="watchcache", obj=AS_PROGRAM)
