"""The pure rule modules run compiled (setup.py, mypyc), and never older than their sources."""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import os
from pathlib import Path

import pytest

from watchcache import stale_compiled_modules

REPO = Path(__file__).resolve().parents[1]


def compiled_names() -> tuple[str, ...]:
    """setup.py's COMPILED, read without running setup.py."""
    tree = ast.parse((REPO / "setup.py").read_text())
    (value,) = (
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == ["COMPILED"]
    )
    return tuple(ast.literal_eval(value))


@pytest.mark.skipif(os.environ.get("WATCHCACHE_PURE_PYTHON") == "1", reason="built without compiling")
@pytest.mark.parametrize("name", compiled_names())
def test_each_rule_module_runs_compiled(name: str) -> None:
    """The tests run what users run: scripts/setup builds the compiled modules."""
    module = importlib.import_module(f"watchcache.{name.replace('/', '.')}")
    assert module.__file__ is not None and module.__file__.endswith(".so"), module.__file__


def _package(tmp_path: Path, built_source: bytes, source: bytes, compiled: bool = True) -> Path:
    (tmp_path / "rules.py").write_bytes(source)
    if compiled:
        (tmp_path / "rules.cpython-311-x86_64-linux-gnu.so").write_bytes(b"")
    digest = hashlib.sha256(built_source).hexdigest()
    (tmp_path / "compiled.json").write_text(json.dumps({"rules": digest}))
    return tmp_path


def test_a_source_edited_after_its_build_is_stale(tmp_path: Path) -> None:
    package = _package(tmp_path, b"x = 1\n", b"x = 2\n")
    assert stale_compiled_modules(package) == ["rules"]


def test_an_unchanged_source_is_not_stale(tmp_path: Path) -> None:
    package = _package(tmp_path, b"x = 1\n", b"x = 1\n")
    assert stale_compiled_modules(package) == []


def test_a_module_that_did_not_compile_is_not_stale(tmp_path: Path) -> None:
    """No compiler: the build records the hashes but the .py file is what runs."""
    package = _package(tmp_path, b"x = 1\n", b"x = 2\n", compiled=False)
    assert stale_compiled_modules(package) == []


def test_a_package_built_without_compiling_has_nothing_stale(tmp_path: Path) -> None:
    (tmp_path / "rules.py").write_text("x = 1\n")
    assert stale_compiled_modules(tmp_path) == []
