"""A private ``redis-server`` child process, for a zero-dependency ``watchcache serve`` and tests.

It listens on loopback only (``protected-mode yes``), on a free port chosen at start, and keeps
its data in ``<data_dir>/redis`` with AOF persistence, so a restarted watchcache finds its pods
and resourceVersions again. Tests turn persistence off for speed.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Final

import redis

from watchcache.process.linux import prctl
from watchcache.process.settings import DURABILITY, FSYNC_EVERY_WRITE

LOOPBACK: Final = "127.0.0.1"
REDIS_BINARY: Final = "redis-server"
STARTUP_TIMEOUT_S: Final = 10.0  # a cold start replaying a large AOF can take seconds
STOP_TIMEOUT_S: Final = 10.0  # SIGTERM makes redis fsync the AOF; allow that before SIGKILL
PING_INTERVAL_S: Final = 0.02
PING_SOCKET_TIMEOUT_S: Final = 0.5
# find_free_port() and redis' bind() race with other processes; a lost race is retried.
START_ATTEMPTS: Final = 3
LOG_TAIL_BYTES: Final = 2000
PR_SET_PDEATHSIG: Final = 1  # linux/prctl.h


class EmbeddedRedisError(RuntimeError):
    """The embedded redis-server could not be started."""


class RedisServerNotFound(EmbeddedRedisError):
    """No ``redis-server`` binary; the message says how to get one."""

    def __init__(self, binary: str) -> None:
        super().__init__(
            f"{binary} not found on PATH: install it (apt-get install redis-server / "
            "brew install redis) or point watchcache at a running Redis with --redis-url"
        )


def find_free_port(host: str = LOOPBACK) -> int:
    """A TCP port that was free a moment ago (the kernel picks it, so parallel tests differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """``with EmbeddedRedis(data_dir) as r: use(r.url)`` — a redis-server for this process only.

    Start it from the main thread: on Linux the child is bound to the lifetime of the thread
    that started it (``PR_SET_PDEATHSIG``).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        persistence: bool = True,
        durability: str = FSYNC_EVERY_WRITE,
        binary: str = REDIS_BINARY,
        startup_timeout_s: float = STARTUP_TIMEOUT_S,
    ) -> None:
        self.dir = Path(data_dir) / "redis"
        self.persistence = persistence
        self.appendfsync = DURABILITY[durability]
        self.binary = binary
        self.startup_timeout_s = startup_timeout_s
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedRedisError("embedded redis is not running")
        return f"redis://{LOOPBACK}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The redis-server process (None when not running)."""
        return None if self._process is None else self._process.pid

    @property
    def log_file(self) -> Path:
        return self.dir / "redis.log"

    def start(self) -> EmbeddedRedis:
        """Start redis-server and return once it answers PING."""
        if self._process is not None:
            raise EmbeddedRedisError("embedded redis is already running")  # would leak a child
        if shutil.which(self.binary) is None:
            raise RedisServerNotFound(self.binary)
        self.dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, START_ATTEMPTS + 1):
            port = find_free_port()
            process = self._spawn(port)
            if self._wait_ready(process, port):
                self._process, self.port = process, port
                return self
            self._terminate(process)
            if attempt == START_ATTEMPTS or "Address already in use" not in self._log_tail():
                break
        raise EmbeddedRedisError(
            f"{self.binary} did not become ready within {self.startup_timeout_s:g} s; "
            f"last lines of {self.log_file}:\n{self._log_tail()}"
        )

    def stop(self) -> None:
        """SIGTERM (redis flushes the AOF and exits), then SIGKILL if it hangs."""
        if self._process is not None:
            self._terminate(self._process)
        self._process, self.port = None, None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _arguments(self, port: int) -> list[str]:
        args = [
            self.binary,
            "--port", str(port),
            "--bind", LOOPBACK,
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--dir", str(self.dir.resolve()),
            "--logfile", str(self.log_file.resolve()),
        ]  # fmt: skip
        if self.persistence:
            return [*args, "--appendonly", "yes", "--appendfsync", self.appendfsync]
        return [*args, "--save", "", "--appendonly", "no"]

    def _spawn(self, port: int) -> subprocess.Popen[bytes]:
        # A process group of its own: Ctrl-C in a terminal reaches only watchcache, which
        # then drains its requests while redis is still up, and stops redis last.
        return subprocess.Popen(
            self._arguments(port),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_die_with_parent(),
        )

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> bool:
        deadline = time.monotonic() + self.startup_timeout_s
        client = redis.Redis(
            host=LOOPBACK,
            port=port,
            socket_timeout=PING_SOCKET_TIMEOUT_S,
            socket_connect_timeout=PING_SOCKET_TIMEOUT_S,
        )
        try:
            while time.monotonic() < deadline and process.poll() is None:
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    # BusyLoadingError (AOF replay) is a ConnectionError: keep waiting.
                    # The pid check guards against a foreign redis that won the port race.
                    if client.ping() and client.info("server")["process_id"] == process.pid:
                        return True
                time.sleep(PING_INTERVAL_S)
            return False
        finally:
            client.close()

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT_S)
                return
            except subprocess.TimeoutExpired:
                process.kill()
        process.wait()

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_bytes()[-LOG_TAIL_BYTES:].decode(errors="replace")
        except OSError:
            return "(no log)"


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, have the kernel SIGTERM redis if watchcache dies without cleaning up (SIGKILL),
    so no orphan keeps writing the AOF that the next watchcache would reuse."""
    call = prctl()
    if call is None:
        return None

    def set_pdeathsig() -> None:
        call(PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return set_pdeathsig
