"""The embedded redis-server is a real child process: loopback only, persistent, stopped on exit."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from watchcache.process.embedded_redis import (
    EmbeddedRedis,
    EmbeddedRedisError,
    RedisServerNotFound,
    find_free_port,
)
from watchcache.process.settings import FSYNC_EVERY_SECOND

from .conftest import eventually

AOF_FLUSH_WAIT_S = 3.0  # the AOF file is created on the first write, a moment after the reply


@pytest.fixture
def persistent(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path) as server:
        yield server


def client(server: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(server.url, decode_responses=True)


def test_started_server_answers_ping_on_a_loopback_url(persistent: EmbeddedRedis) -> None:
    assert persistent.url == f"redis://127.0.0.1:{persistent.port}/0"
    assert client(persistent).ping()


def test_server_binds_loopback_only_in_protected_mode(persistent: EmbeddedRedis) -> None:
    config = client(persistent).config_get("*")
    assert config["bind"] == "127.0.0.1"
    assert config["protected-mode"] == "yes"


def test_persistence_writes_an_append_only_file_under_data_dir(
    persistent: EmbeddedRedis, tmp_path: Path
) -> None:
    config = client(persistent).config_get("*")
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "always")  # fsync-every-write
    assert Path(config["dir"]) == (tmp_path / "redis").resolve()
    client(persistent).set("k", "v")
    assert eventually(lambda: any(_aof_files(tmp_path / "redis")), AOF_FLUSH_WAIT_S)


def test_fsync_every_second_is_redis_everysec(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, durability=FSYNC_EVERY_SECOND) as server:
        assert client(server).config_get("appendfsync") == {"appendfsync": "everysec"}


def test_data_survives_a_restart_with_persistence(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as first:
        client(first).set("pod", "web")
    with EmbeddedRedis(tmp_path) as second:
        assert client(second).get("pod") == "web"


def test_without_persistence_nothing_is_saved(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, persistence=False) as server:
        config = client(server).config_get("*")
        client(server).set("k", "v")
    assert (config["appendonly"], config["save"]) == ("no", "")
    assert not list(_aof_files(tmp_path / "redis"))
    assert not (tmp_path / "redis" / "dump.rdb").exists()


def test_exit_stops_the_server_and_frees_its_port(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, persistence=False) as server:
        port, url = server.port, server.url
    assert port is not None
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=0.5).ping()
    with pytest.raises(EmbeddedRedisError, match="not running"):
        _ = server.url


def test_starting_twice_is_refused_rather_than_leaking_a_second_server(
    persistent: EmbeddedRedis,
) -> None:
    with pytest.raises(EmbeddedRedisError, match="already running"):
        persistent.start()


def test_missing_binary_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a directory without redis-server
    with pytest.raises(RedisServerNotFound) as err:
        EmbeddedRedis(tmp_path).start()
    message = str(err.value)
    assert "\n" not in message
    assert "apt-get install redis-server" in message and "brew install redis" in message


def test_server_that_dies_at_start_is_reported_with_its_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "redis-server"
    fake.parent.mkdir()
    # A stand-in that fails as a real redis-server does: it logs, then exits non-zero.
    fake.write_text('#!/bin/sh\nwhile [ "$1" != --logfile ]; do shift; done\n'
                    'echo "Fatal: config broken" > "$2"\nexit 1\n')  # fmt: skip
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(EmbeddedRedisError, match="Fatal: config broken"):
        EmbeddedRedis(tmp_path, startup_timeout_s=5).start()


def test_find_free_port_returns_a_bindable_loopback_port() -> None:
    port = find_free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def _aof_files(redis_dir: Path) -> Iterator[Path]:
    # Redis 7 keeps a multi-part AOF in appendonlydir/; older versions one appendonly.aof.
    return (p for p in redis_dir.rglob("appendonly*") if p.is_file())
