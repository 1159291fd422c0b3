"""The README's two Quick start commands, verbatim, on a fresh copy with the system Python.

A newcomer on stock Debian or Ubuntu has an "externally managed" (PEP 668) ``python3`` first on
PATH, on which ``pip install`` is refused. This copies the checkout (what a clean clone of it
would hold), puts that Python first on PATH with no virtualenv or pyenv in sight, runs the serve
command until ``/readyz`` answers, and runs the test command far enough to collect the suite.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from watchcache.process.embedded_redis import find_free_port

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")
SETUP_TIMEOUT_S = 480.0


def _externally_managed(python: Path) -> bool:
    if not python.exists():
        return False
    stdlib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return (Path(stdlib) / "EXTERNALLY-MANAGED").exists()


pytestmark = [
    pytest.mark.setup,
    pytest.mark.skipif(
        not _externally_managed(SYSTEM_PYTHON) or shutil.which("git") is None,
        reason="needs git and an externally managed /usr/bin/python3 (Debian/Ubuntu)",
    ),
]


def quick_start_commands() -> tuple[str, str]:
    """The two command lines of the README's Quick start block: (serve, test)."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the README's Quick start has no sh block"
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2, lines
    return lines[0], lines[1]


def fresh_copy(dest: Path) -> Path:
    """The checkout's files as a clean clone would have them (tracked and new, none ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def system_environment(tmp: Path) -> dict[str, str]:
    """A login-like environment: the system Python first on PATH, no virtualenv or pyenv."""
    shims = tmp / "bin"
    shims.mkdir()
    (shims / "python3").symlink_to(SYSTEM_PYTHON)
    dropped = ("VIRTUAL_ENV", "PYENV", "PYTHON", "CONDA", "WATCHCACHE_", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env["PATH"] = f"{shims}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return env


def test_readme_commands_work_with_an_externally_managed_python(tmp_path: Path) -> None:
    serve_command, test_command = quick_start_commands()
    clone = fresh_copy(tmp_path / "clone")
    env = system_environment(tmp_path)
    port = find_free_port()
    env |= {"WATCHCACHE_PORT": str(port), "WATCHCACHE_DATA_DIR": str(tmp_path / "data")}

    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            ["bash", "-c", serve_command], cwd=clone, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + SETUP_TIMEOUT_S
        ready = False
        while not ready and time.monotonic() < deadline:
            assert serve.poll() is None, f"the serve command exited:\n{log.read_text()}"
            with contextlib.suppress(httpx.HTTPError):
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0).status_code == 200
            time.sleep(0 if ready else 0.5)
        assert ready, f"/readyz never answered 200:\n{log.read_text()}"
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(30)

    # The virtualenv was made from the externally managed Python, which itself gained nothing.
    venv_config = (clone / ".venv" / "pyvenv.cfg").read_text()
    assert re.search(rf"^executable = {SYSTEM_PYTHON.resolve()}$", venv_config, re.M), venv_config
    system_sees = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import importlib.util; print(importlib.util.find_spec('watchcache'))"],
        cwd="/", env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert system_sees.stdout.strip() == "None"

    # The test command, verbatim: lint passes and pytest collects the whole suite (it does not
    # run it, or this test would run itself).
    env["PYTEST_ADDOPTS"] = "--collect-only -p no:cacheprovider"
    tests = subprocess.run(
        ["bash", "-c", test_command], cwd=clone, env=env, capture_output=True, text=True,
        timeout=SETUP_TIMEOUT_S,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    collected = re.search(r"^(\d+) tests collected", tests.stdout, re.M)
    assert collected and int(collected.group(1)) > 1000, tests.stdout[-2000:]
