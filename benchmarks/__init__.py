"""Load benchmarks for watchcache: ``python -m benchmarks writes|reads|fanout|all [--quick]``.

Each scenario starts its own private redis-server and server processes, drives them from
separate client processes, and writes ``results/<scenario>.json`` and ``results/<scenario>.png``.
See ``benchmarks/README.md``.
"""
