"""watchcache: an event-sourced Kubernetes core/v1 Pod API server on Redis streams.

The public surface is the ``watchcache`` command (``watchcache.cli``) and
:func:`watchcache.app.create_app` for embedding; everything else is internal.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("watchcache")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
