"""Processes of a benchmark run and how the two cores are split between them.

- core 0 (``SERVER_CORE``): the process under test — the watchcache server, a ceiling server,
  or the redis-py ceiling process — one at a time under load;
- core 1 (``CLIENT_CORE``): redis-server, the load-generating client process(es) and this
  orchestrator (which only samples /proc while a phase runs).

So the load generator never shares the measured process' core, and Redis (which is not the
bottleneck: design.md) never steals from it either.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from watchcache.process.embedded_redis import EmbeddedRedis, find_free_port
from watchcache.process.linux import prctl

from .common import SERVER_PATH_ENV, progress

SERVER_CORE = 0
CLIENT_CORE = 1
CORES_NOTE = (
    "core 0: process under test (watchcache server / ceiling server / redis-py ceiling); "
    "core 1: redis-server + load-generating client processes + orchestrator"
)
START_TIMEOUT_S = 120.0  # a 50k-pod bootstrap takes a few seconds; be generous
PR_SET_PDEATHSIG = 1
PROFILE_ENV = "WATCHCACHE_BENCH_PROFILE"  # set by --profile: where py-spy writes
MP = mp.get_context("spawn")  # clean children: no inherited event loops or sockets


def _cores(core: int) -> set[int]:
    available = os.sched_getaffinity(0)
    return {core} if core in available and len(available) > 1 else available


def pin_pid(pid: int, core: int) -> None:
    """Pin every thread of a running process to one core."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(int(tid), _cores(core))


def pin_self(core: int) -> None:
    os.sched_setaffinity(0, _cores(core))
    raise_fd_limit()


def raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@contextlib.contextmanager
def private_redis(workdir: Path) -> Iterator[EmbeddedRedis]:
    """A private redis-server (no persistence) pinned to the client core."""
    with EmbeddedRedis(workdir, persistence=False) as embedded:
        client = redis.Redis.from_url(embedded.url)
        pin_pid(int(client.info("server")["process_id"]), CLIENT_CORE)
        client.close()
        yield embedded


@dataclass
class ServerProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    ready_s: float = 0.0

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _die_with_parent() -> None:
    """Linux PR_SET_PDEATHSIG: a killed orchestrator takes its servers and profilers with it
    (an orphaned server once kept retrying its vanished Redis, sampled by py-spy, for hours)."""
    call = prctl()
    if call is not None:
        call(PR_SET_PDEATHSIG, signal.SIGTERM)


def _preexec() -> None:
    _die_with_parent()
    pin_self(SERVER_CORE)


def start_process(
    name: str, args: list[str], workdir: Path, ready_path: str, port: int, pythonpath: str | None = None
) -> ServerProcess:
    """Start a server on core 0 and wait until ``ready_path`` answers 200."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name}-{port}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    started = time.monotonic()
    with log.open("wb") as out:
        # cwd too: ``python -m`` puts the working directory first on sys.path, before PYTHONPATH
        process = subprocess.Popen(
            args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=pythonpath, preexec_fn=_preexec
        )
    server = ServerProcess(name, port, process, log)
    deadline = started + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1.0).status_code == 200:
                server.ready_s = time.monotonic() - started
                return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not become ready:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def watchcache_server(
    redis_url: str, workdir: Path, log_level: str = "warning", checkout: str | None = None
) -> Iterator[ServerProcess]:
    """``python -m watchcache serve`` (uvloop + httptools, as the CLI configures uvicorn), from
    ``checkout`` (a clone of another commit), else from --server-from's, else from this one."""
    port = find_free_port()
    args = [
        sys.executable, "-m", "watchcache", "serve", "--port", str(port), "--redis-url", redis_url,
        "--data-dir", str(workdir), "--log-level", log_level,
    ]  # fmt: skip
    server = start_process(
        "watchcache", args, workdir, "/readyz", port, checkout or os.environ.get(SERVER_PATH_ENV)
    )
    progress(f"watchcache server pid {server.pid} on :{port}, ready after {server.ready_s:.2f}s")
    profiler = _profile(server)
    try:
        yield server
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            profiler.wait(30)
        server.stop()


def _profile(server: ServerProcess) -> subprocess.Popen[bytes] | None:
    """With ``--profile``: sample the server with py-spy (from core 1) into collapsed stacks."""
    folder = os.environ.get(PROFILE_ENV)
    if not folder:
        return None
    out = Path(folder) / f"watchcache-{server.port}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    # the virtualenv's py-spy (installed beside this Python), else one on PATH
    beside = Path(sys.executable).parent / "py-spy"
    py_spy = str(beside) if beside.exists() else "py-spy"
    args = [py_spy, "record", "--pid", str(server.pid), "--format", "raw", "--rate", "250", "-o", str(out)]
    progress(f"profiling pid {server.pid} into {out}")
    return subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent
    )


@contextlib.contextmanager
def ceiling_server(kind: str, workdir: Path, *extra: str) -> Iterator[ServerProcess]:
    """One of the ceiling servers of ``benchmarks.ceilings`` (raw ASGI on uvicorn, or canned)."""
    port = find_free_port()
    args = [sys.executable, "-m", "benchmarks.ceilings", kind, "--port", str(port), *extra]
    server = start_process(f"ceiling-{kind}", args, workdir, "/ready", port)
    progress(f"ceiling server '{kind}' pid {server.pid} on :{port}")
    try:
        yield server
    finally:
        server.stop()


def _child(core: int, target: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    pin_self(core)
    try:
        queue.put(("ok", target(*args)))
    except BaseException as exc:  # report, never hang the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}"))
        raise


@dataclass
class Child:
    process: Any
    queue: Any

    def result(self, timeout: float) -> Any:
        status, value = self.queue.get(timeout=timeout)
        self.process.join(10)
        if status != "ok":
            raise RuntimeError(f"client process failed: {value}")
        return value


def spawn(target: Callable[..., Any], *args: Any, core: int = CLIENT_CORE) -> Child:
    """Run ``target(*args)`` in a fresh process pinned to ``core``; ``.result()`` returns its value."""
    queue = MP.Queue()
    process = MP.Process(target=_child, args=(core, target, args, queue), daemon=True)
    process.start()
    return Child(process, queue)


def run_client(
    target: Callable[..., Any], *args: Any, timeout: float = 600.0, core: int = CLIENT_CORE
) -> Any:
    return spawn(target, *args, core=core).result(timeout)


def run_measured(
    server: ServerProcess | tuple[ServerProcess, ...],
    target: Callable[..., Any],
    *args: Any,
    timeout: float = 600.0,
    others: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """``run_client`` plus the server's CPU use over the phase (robust to noisy neighbours);
    with several servers (replicas), their CPU summed, and each one's apart. ``others``: more
    processes by name (redis-server) whose CPU per request is reported beside."""
    from .common import cpu_split, minor_faults

    servers = server if isinstance(server, tuple) else (server,)
    others = others or {}
    other0 = {name: sum(cpu_split(pid)) for name, pid in others.items()}
    faults0 = [minor_faults(s.pid) for s in servers]
    before, t0 = [cpu_split(s.pid) for s in servers], time.monotonic()
    result: dict[str, Any] = run_client(target, *args, timeout=timeout)
    after, wall = [cpu_split(s.pid) for s in servers], time.monotonic() - t0
    faults = [minor_faults(s.pid) - f0 for s, f0 in zip(servers, faults0, strict=True)]
    other1 = {name: sum(cpu_split(pid)) for name, pid in others.items()}
    each = [(u1 - u0) + (s1 - s0) for (u0, s0), (u1, s1) in zip(before, after, strict=True)]
    cpu, kernel = sum(each), sum(s1 - s0 for (_, s0), (_, s1) in zip(before, after, strict=True))
    result["server_cpu_util"] = round(cpu / wall, 3)
    result["server_sys_share"] = round(kernel / cpu, 3) if cpu else 0.0  # kernel: sockets
    # CPU over the whole phase (warm-up included) per request counted in the window, rescaled
    done = max(1, result.get("ok", 0)) * wall / max(result.get("duration_s", wall), 1e-9)
    result["server_cpu_us_per_req"] = round(cpu / done * 1e6, 1)
    # new pages the servers touched (a growing cache): the kernel zeroes each one for them
    result["server_faults_per_req"] = round(sum(faults) / done, 2)
    if len(servers) > 1:
        result["each_server_cpu_us_per_req"] = [round(c / done * 1e6, 1) for c in each]
        result["each_server_faults_per_req"] = [round(f / done, 2) for f in faults]
    for name in others:
        result[f"{name}_cpu_us_per_req"] = round((other1[name] - other0[name]) / done * 1e6, 1)
    return result


def event() -> Any:
    return MP.Event()
