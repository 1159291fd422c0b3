"""``python -m watchcache``: the same command as the ``watchcache`` console script."""

from __future__ import annotations

from watchcache.cli import main

if __name__ == "__main__":
    main()
