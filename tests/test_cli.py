"""The ``watchcache`` command: flags and env vars, kubeconfig output, refusals, a real serve."""

from __future__ import annotations

import base64
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from watchcache.cli import cli
from watchcache.process.embedded_redis import find_free_port

SHARED_FLAGS = [
    "--host", "--port", "--data-dir", "--token-file", "--allow-anonymous",
    "--tls-cert-file", "--tls-private-key-file",
]  # fmt: skip
COMMAND_FLAGS = {
    "serve": [*SHARED_FLAGS, "--redis-url", "--log-level", "--huge-pages"],
    "kubeconfig": [*SHARED_FLAGS, "--server"],
}
SERVE_READY_TIMEOUT_S = 30.0  # interpreter + uvicorn start, on a slow CI machine
SERVE_STOP_TIMEOUT_S = 20.0


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Flags under test must not be set by the developer's shell."""
    for name in list(os.environ):
        if name.startswith("WATCHCACHE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "tokens.csv"
    path.write_text('admin-token,admin,1,"system:masters"\nother-token,bob,2\n')
    return path


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, terminal_width=200)


def kubeconfig(*args: str | Path) -> dict:
    result = invoke("kubeconfig", *args)
    assert result.exit_code == 0, result.output
    return yaml.safe_load(result.stdout)


@pytest.mark.parametrize("command", sorted(COMMAND_FLAGS))
def test_help_lists_every_flag_with_its_env_var(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    for flag in COMMAND_FLAGS[command]:
        assert flag in result.output
        assert f"WATCHCACHE_{flag[2:].upper().replace('-', '_')}" in result.output


def test_serve_help_shows_defaults_and_the_redis_url_meaning() -> None:
    text = " ".join(invoke("serve", "--help").output.split())
    assert "default: 127.0.0.1" in text and "default: 8080" in text
    assert "Redis URL; omitted = start an embedded redis-server with its data in --data-dir" in text


def test_python_dash_m_watchcache_help_explains_the_tool() -> None:
    done = subprocess.run([sys.executable, "-m", "watchcache", "--help"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert "Usage: watchcache" in done.stdout
    assert "Kubernetes Pod API, and the Namespaces, Nodes and Events around pods" in " ".join(done.stdout.split())
    assert "serve" in done.stdout and "kubeconfig" in done.stdout


def test_kubeconfig_for_plain_loopback_server_has_http_url_and_no_credentials(
    tmp_path: Path,
) -> None:
    config = kubeconfig("--data-dir", tmp_path)
    assert config["clusters"] == [{"name": "watchcache",
                                   "cluster": {"server": "http://127.0.0.1:8080"}}]  # fmt: skip
    assert config["users"] == [{"name": "watchcache", "user": {}}]
    assert config["current-context"] == "watchcache"
    assert config["contexts"][0]["context"] == {
        "cluster": "watchcache",
        "user": "watchcache",
        "namespace": "default",
    }
    assert not (tmp_path / "pki").exists()


def test_kubeconfig_with_token_file_has_https_url_the_ca_and_the_first_token(
    tmp_path: Path, token_file: Path
) -> None:
    config = kubeconfig("--data-dir", tmp_path, "--port", "6443", "--token-file", token_file)
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    ca = base64.b64decode(cluster["certificate-authority-data"])
    assert ca == (tmp_path / "pki" / "ca.crt").read_bytes()
    assert config["users"][0]["user"] == {"token": "admin-token"}


def test_kubeconfig_server_flag_replaces_the_derived_url(tmp_path: Path) -> None:
    config = kubeconfig("--data-dir", tmp_path, "--server", "http://lb.example:80")
    assert config["clusters"][0]["cluster"]["server"] == "http://lb.example:80"


def test_flags_can_come_from_watchcache_env_vars(tmp_path: Path) -> None:
    env = {"WATCHCACHE_HOST": "::1", "WATCHCACHE_PORT": "7000"}
    result = invoke("kubeconfig", env={**env, "WATCHCACHE_DATA_DIR": str(tmp_path)})
    assert yaml.safe_load(result.stdout)["clusters"][0]["cluster"]["server"] == "http://[::1]:7000"


@pytest.mark.parametrize("command", ["serve", "kubeconfig"])
def test_non_loopback_host_without_token_file_is_refused_before_anything_starts(
    tmp_path: Path, command: str
) -> None:
    data_dir = tmp_path / "data"
    result = invoke(command, "--host", "0.0.0.0", "--data-dir", data_dir)
    assert result.exit_code == 2
    assert "refusing to listen on non-loopback host '0.0.0.0'" in result.output
    assert not data_dir.exists()


def test_certificate_without_key_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    result = invoke("serve", "--data-dir", tmp_path, "--tls-cert-file", cert)
    assert result.exit_code == 2
    assert "needs its private key" in result.output


def test_malformed_token_file_is_refused_naming_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "tokens.csv"
    bad.write_text("good,user,1\nbad,line\n")
    result = invoke("serve", "--data-dir", tmp_path, "--token-file", bad)
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output


def test_token_file_without_tokens_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "tokens.csv"
    empty.write_text("\n")
    result = invoke("serve", "--data-dir", tmp_path, "--token-file", empty)
    assert result.exit_code == 2
    assert "lists no tokens" in result.output


def test_serve_without_redis_server_binary_says_how_to_install_it(tmp_path: Path) -> None:
    result = invoke("serve", "--data-dir", tmp_path, env={"PATH": str(tmp_path)})
    assert result.exit_code == 1
    assert "apt-get install redis-server" in result.output
    assert "--redis-url" in result.output


# The app is another module's concern; a stand-in proves the process edge on its own:
# embedded Redis handed to create_app, TLS trusted via the kubeconfig CA, clean SIGTERM.
STUB_APP_LAUNCHER = textwrap.dedent(
    """
    import sys, types
    import redis
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def create_app(settings):
        def info(request):
            pid = redis.Redis.from_url(settings.redis_url).info("server")["process_id"]
            return JSONResponse({"redis_url": settings.redis_url, "redis_pid": pid})
        return Starlette(routes=[Route("/info", info)])

    async def drain(app, delay):
        pass

    stub = types.ModuleType("watchcache.http.app")
    stub.create_app, stub.drain = create_app, drain
    sys.modules["watchcache.http.app"] = stub
    from watchcache.cli import main
    main(sys.argv[1:])
    """
)


def test_serve_runs_https_on_embedded_redis_and_stops_it_on_sigterm(tmp_path: Path, token_file: Path) -> None:
    port = find_free_port()
    data_dir = tmp_path / "data"
    flags = ["--port", str(port), "--data-dir", str(data_dir), "--token-file", str(token_file)]
    cluster = kubeconfig(*flags)["clusters"][0]["cluster"]
    ca = base64.b64decode(cluster["certificate-authority-data"])
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-c", STUB_APP_LAUNCHER, "serve", *flags],
                                  stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        info = _get_when_up(f"https://127.0.0.1:{port}/info", ca.decode(), server)
        assert info["redis_url"].startswith("redis://127.0.0.1:")
        server.send_signal(signal.SIGTERM)
        assert server.wait(SERVE_STOP_TIMEOUT_S) == 0
    finally:
        server.kill()
        server.wait()
    first_line = log.read_text().splitlines()[0]
    assert f"watchcache serving https://127.0.0.1:{port} (redis: embedded at " in first_line
    assert "fsync-every-write" in first_line  # the default durability, said where it is chosen
    with pytest.raises(ProcessLookupError):
        os.kill(info["redis_pid"], 0)  # redis-server went down with watchcache
    assert (data_dir / "redis" / "redis.log").read_text().count("Redis is starting") == 1


def _get_when_up(url: str, ca_pem: str, server: subprocess.Popen[bytes]) -> dict:
    """Poll until the server answers, failing fast if it exited."""
    trust = ssl.create_default_context(cadata=ca_pem)
    deadline = time.monotonic() + SERVE_READY_TIMEOUT_S
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return httpx.get(url, verify=trust, timeout=2.0).raise_for_status().json()
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"serve did not answer on {url} (exit code {server.poll()})")
