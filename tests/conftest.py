"""Shared fixtures: a private redis-server, real ``watchcache serve`` processes, clients.

Nothing here is faked: Redis is the real binary on a free port (never the shared 6379), and the
server is the real CLI in a child process, reached over HTTP.
"""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config

from watchcache.machinery.memo import MUTATION_DETECTOR_ENV
from watchcache.process.embedded_redis import EmbeddedRedis, find_free_port
from watchcache.storage.store import Store, connect

SERVER_START_TIMEOUT_S = 20.0
# every server the tests start (child processes and in-process apps) checks that updates which
# promise to leave the current object alone do
os.environ[MUTATION_DETECTOR_ENV] = "true"


def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Whether ``check`` comes true within ``timeout_s`` (polled every 50 ms)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@dataclass
class Server:
    """A running ``watchcache serve`` child process."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path
    args: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)  # type: ignore[arg-type]


def start_server(
    redis_url: str | None, workdir: Path, *extra: str, scheme: str = "http", verify: object = False
) -> Server:
    """``redis_url`` None: ``extra`` says where Redis is (Sentinels)."""
    port = find_free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"server-{port}.log"
    redis = ["--redis-url", redis_url] if redis_url is not None else []
    args = [
        sys.executable, "-m", "watchcache", "serve", "--port", str(port), *redis,
        "--data-dir", str(workdir), *extra,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(f"{scheme}://127.0.0.1:{port}", process, log, args)
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"watchcache exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{server.url}/readyz", verify=verify, timeout=1.0).status_code == 200:  # type: ignore[arg-type]
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"watchcache did not become ready:\n{log.read_text()}")


def start_guarded_server(redis_url: str, workdir: Path, tokens: dict[str, str], policy: str) -> Server:
    """A server with a token file (user -> token; a user named alice is in system:masters, the
    others in no group of their own) and an ABAC policy file."""
    token_file = workdir / "tokens.csv"
    token_file.write_text("".join(
        f"{token},{user},{uid}" + (',"system:masters"' if user == "alice" else "") + "\n"
        for uid, (user, token) in enumerate(tokens.items(), 1)
    ))  # fmt: skip
    policy_file = workdir / "policy.jsonl"
    policy_file.write_text(policy)
    return start_server(redis_url, workdir, "--token-file", str(token_file), "--authorization-policy-file",
                        str(policy_file), scheme="https")  # fmt: skip


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistence=False) as redis:
        yield redis


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """A Redis of the test module's own, for tests that trim, stop or cut it off."""
    with EmbeddedRedis(tmp_path_factory.mktemp("private-redis"), persistence=False) as redis:
        yield redis


@pytest.fixture(scope="module")
def private_server(
    private_redis: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on the module's own Redis, for tests whose objects must not meet other tests'
    (cluster-scoped nodes, a scheduler acting on every namespace)."""
    srv = start_server(private_redis.url, tmp_path_factory.mktemp("private-server"))
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
async def store(private_redis: EmbeddedRedis, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """A Store on the module's private Redis, under a key prefix of the test's own."""
    client = connect(private_redis.url)
    store = Store(client, prefix=f"{{{request.node.name}}}")
    yield store
    await store.close()
    await client.aclose()


@pytest.fixture(scope="session")
def server(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(redis_server.url, tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def second_server(redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Another replica on the same Redis as ``server``."""
    srv = start_server(redis_server.url, tmp_path_factory.mktemp("server-b"))
    yield srv
    srv.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture
def ns() -> str:
    """A fresh namespace per test, so tests sharing a server never see each other's pods."""
    return f"t-{uuid.uuid4().hex[:10]}"


def pod_manifest(
    name: str, *, image: str = "nginx", labels: dict[str, str] | None = None, **spec: object
) -> dict:
    manifest: dict = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "web", "image": image}], **spec},
    }
    if labels:
        manifest["metadata"]["labels"] = labels
    return manifest


@dataclass
class Cluster:
    """A server plus a kubeconfig for it (what kubectl and the Python client are pointed at)."""

    server: Server
    kubeconfig: Path
    token: str | None
    ca_file: Path | None

    def ssl_context(self) -> ssl.SSLContext:
        assert self.ca_file is not None, "an open cluster has no CA"
        return ssl.create_default_context(cafile=str(self.ca_file))


def write_kubeconfig(workdir: Path, server: Server, *extra: str) -> Path:
    port = server.url.rsplit(":", 1)[1]
    out = subprocess.run(
        [sys.executable, "-m", "watchcache", "kubeconfig", "--port", port, "--data-dir", str(workdir),
         *extra],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    path = workdir / "kubeconfig.yaml"
    path.write_text(out.stdout)
    return path


@pytest.fixture(scope="session")
def open_cluster(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    workdir = Path(server.args[server.args.index("--data-dir") + 1])
    return Cluster(server, write_kubeconfig(workdir, server), None, None)


@pytest.fixture(scope="session")
def secure_cluster(
    redis_server: EmbeddedRedis, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A token-protected server on TLS with a self-signed CA (as with kube-apiserver --cert-dir)."""
    workdir = tmp_path_factory.mktemp("secure")
    token = uuid.uuid4().hex
    tokens = workdir / "tokens.csv"
    tokens.write_text(f'{token},admin,1,"system:masters"\n')
    ca_file = workdir / "pki" / "ca.crt"
    srv = start_server(redis_server.url, workdir, "--token-file", str(tokens), scheme="https", verify=False)
    try:
        yield Cluster(srv, write_kubeconfig(workdir, srv, "--token-file", str(tokens)), token, ca_file)
    finally:
        srv.stop()


@pytest.fixture(params=["open", "secure"])
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """Each end-to-end test runs against an open loopback server and a token-protected TLS one."""
    return request.getfixturevalue(f"{request.param}_cluster")


@pytest.fixture
def core(cluster: Cluster) -> Iterator[client.CoreV1Api]:
    """The official Python client, configured from the cluster's kubeconfig."""
    api_client = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    try:
        yield client.CoreV1Api(api_client)
    finally:
        api_client.close()
