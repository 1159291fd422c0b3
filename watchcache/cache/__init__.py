"""The per-replica runtime (kube-apiserver's storage/cacher): bootstrap and tailing of the log,
the materialized view, the history window, and the dispatcher that feeds every watcher.
"""
