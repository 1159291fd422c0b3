"""Builds watchcache with its pure rule modules compiled to C by mypyc.

Every write runs the same pure functions over dicts: the schema check of the body, defaults,
validation, managedFields, strategic merge and apply. Compiled, they cost a fraction of their
interpreted CPU (benchmarks/README.md has the figures); everything that does I/O stays
interpreted. The sources stay the truth: the compiled modules are built from them, checked by
mypy on the way (``pyproject.toml`` configures both).

``WATCHCACHE_PURE_PYTHON=1`` builds without compiling. The extensions are optional: a machine
without a C compiler or Python's headers installs the same package, interpreted.

A compiled module shadows its ``.py`` file; ``watchcache/compiled.json`` records the hash of
each compiled source, so that a source edited after its build is noticed at import
(``watchcache/__init__.py``) instead of silently running the old code.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import Extension, setup

PACKAGE = Path("watchcache")
MANIFEST = PACKAGE / "compiled.json"
# The pure, per-request modules (no Redis, no HTTP, no asyncio; nor do the modules they import,
# which mypyc checks in a build environment that has none of those), as paths under the package.
COMPILED = (
    "cache/view",
    "kinds/pods/defaults",
    "kinds/pods/fields",
    "kinds/pods/strategy",
    "kinds/pods/subresources",
    "kinds/pods/validation",
    "kinds/pods/validation_update",
    "kinds/pods/warnings",
    "machinery/decode",
    "machinery/jsonshape",
    "machinery/kinds",
    "machinery/managed_fields",
    "machinery/memo",
    "machinery/names",
    "machinery/object_meta",
    "machinery/objects",
    "machinery/params",
    "machinery/quantity",
    "machinery/rest",
    "machinery/schema",
    "machinery/selectors",
    "machinery/semantic",
    "machinery/server_side_apply",
    "machinery/strategic_merge",
    "storage/entries",
)


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compiled_extensions() -> list[Extension]:
    MANIFEST.unlink(missing_ok=True)
    if os.environ.get("WATCHCACHE_PURE_PYTHON") == "1":
        return []
    from mypyc.build import mypycify

    sources = [PACKAGE / f"{name}.py" for name in COMPILED]
    extensions = mypycify([str(path) for path in sources], opt_level="3")
    for extension in extensions:
        extension.optional = True  # no compiler: the interpreted package, not a failed install
    MANIFEST.write_text(
        json.dumps({name: source_digest(PACKAGE / f"{name}.py") for name in COMPILED}, indent=1) + "\n"
    )
    return extensions


setup(ext_modules=compiled_extensions())
