"""watchcache: an event-sourced Kubernetes core/v1 Pod API server on Redis streams.

The public surface is the ``watchcache`` command (``watchcache.cli``) and
:func:`watchcache.http.app.create_app` for embedding; everything else is internal.
"""

import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("watchcache")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"


def stale_compiled_modules(package: Path = Path(__file__).parent) -> list[str]:
    """Compiled modules (see ``setup.py``) whose source changed after they were built.

    A compiled module is imported in preference to its ``.py`` file, so an edit made since the
    build would not run: the sources are compared with the hashes the build recorded.
    """
    try:
        built = json.loads((package / "compiled.json").read_text())
    except FileNotFoundError:
        return []
    stale = []
    for name, digest in built.items():  # a path under the package, without its suffix
        source = package / f"{name}.py"
        if (
            any(source.parent.glob(f"{source.stem}.*.so"))
            and source.exists()
            and hashlib.sha256(source.read_bytes()).hexdigest() != digest
        ):
            stale.append(name)
    return stale


if stale := stale_compiled_modules():
    raise ImportError(
        f"watchcache: {', '.join(f'{name}.py' for name in stale)} changed after being compiled; "
        "run scripts/setup to rebuild (WATCHCACHE_PURE_PYTHON=1 scripts/setup: no compiling)"
    )
