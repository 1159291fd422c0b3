"""Conclusions of pure rules, remembered by the content they were drawn from.

Pods are stamped from templates: a Deployment's, a Job's, a load test's. Every pod of one
template carries the same spec, and a rule that reads only the spec (its validation, its QoS
class, the fields a create records for it) concludes the same for each. A :class:`ContentMemo`
keys such a conclusion by the JSON encoding of its input (the exact content, in its order, so
two inputs share a key only when every rule must treat them alike): a pod of a known template
pays for one encoding and a lookup instead of a walk; any other pays the encoding on top of the
walk, a few percent of it.

A remembered result is shared by every caller that hits it, so callers never change one in
place, nor hand it on to code that might without a copy (``validate_pod_spec`` returns a copy
of its list; a create's spec field set goes into a managedFields entry that is only encoded). With
``WATCHCACHE_MUTATION_DETECTOR=true`` (the tests run so) every hit checks that its result is
still what was computed, as client-go's ``KUBE_CACHE_MUTATION_DETECTOR`` checks its cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import orjson

MUTATION_DETECTOR_ENV = "WATCHCACHE_MUTATION_DETECTOR"
MEMO_ENTRIES = 512  # distinct contents remembered per rule: templates in use, with room to spare
# A memo whose last JUDGED_LOOKUPS lookups hit fewer than MIN_HITS times (contents that are all
# different: a StatefulSet's specs name their pod) computes directly for the next REST_CALLS
# calls, then tries again: such a workload pays the encodings for a ninth of its calls.
JUDGED_LOOKUPS = 256
MIN_HITS = 32
REST_CALLS = 2048


class ContentMemo:
    """``compute(value)``, remembered per encoded ``value`` (at most ``limit``, oldest out first).

    A value orjson cannot encode (not a JSON tree) is computed every time.
    """

    __slots__ = ("_compute", "_hits", "_limit", "_lookups", "_rest", "_results", "_verify")

    def __init__(self, compute: Callable[[Any], Any], limit: int = MEMO_ENTRIES) -> None:
        self._compute = compute
        self._limit = limit
        self._results: dict[bytes, tuple[Any, bytes]] = {}
        self._verify: bool | None = None  # read at first use: tests set the variable after imports
        self._lookups = 0
        self._hits = 0
        self._rest = 0

    def __call__(self, value: Any) -> Any:
        return self._compute(value) if self.resting() else self.remembered(value)

    def resting(self) -> bool:
        """Whether this call should compute directly (the memo has been missing); counts the
        rest down. A caller with a cheaper direct way than ``compute`` asks, then takes it."""
        if self._rest:
            self._rest -= 1
            return True
        return False

    def remembered(self, value: Any) -> Any:
        """``compute(value)`` through the memo (whether or not it is resting)."""
        try:
            key = orjson.dumps(value)
        except TypeError:
            return self._compute(value)
        found = self._results.get(key)
        self._lookups += 1
        if found is not None:
            self._hits += 1
        if self._lookups == JUDGED_LOOKUPS:
            if self._hits < MIN_HITS:
                self._rest = REST_CALLS
            self._lookups = self._hits = 0
        if found is not None:
            if self._verify and orjson.dumps(found[0]) != found[1]:
                rule = getattr(self._compute, "__name__", "a rule")
                raise AssertionError(f"a remembered result of {rule} was changed in place")
            return found[0]
        result = self._compute(value)
        if self._verify is None:
            self._verify = os.environ.get(MUTATION_DETECTOR_ENV) == "true"
        results = self._results
        if len(results) >= self._limit:
            del results[next(iter(results))]
        results[key] = (result, orjson.dumps(result) if self._verify else b"")
        return result


SHARED_PARSES = 256  # texts kept: a benchmark pod's field set, 3.9 KB of JSON, is 24 KB parsed (6 MB at most)


class SharedParses:
    """JSON texts parsed once per distinct text, each parse shared by every caller, and the
    text kept beside it: encoding a shared parse again is a lookup, not a walk.

    A managedFields entry's field set names fields and merge keys, never values, so the pods of
    one template carry the same few texts, and they are most of a pod's objects: parsing a
    stored pod made a dict per field of every manager. As with :class:`ContentMemo`, callers
    never change a shared parse in place (field sets are merged into new dicts), and the
    mutation detector checks every hit.
    """

    __slots__ = ("_by_id", "_by_text", "_limit", "_verify")

    def __init__(self, limit: int = SHARED_PARSES) -> None:
        self._by_text: dict[bytes, Any] = {}
        self._by_id: dict[int, bytes] = {}  # id of a parse held in _by_text → its text
        self._limit = limit
        self._verify: bool | None = None

    def parse(self, text: bytes) -> Any:
        """``orjson.loads(text)``, shared: the same object for the same text while remembered."""
        found = self._by_text.get(text)
        if found is None:
            found = orjson.loads(text)
            if self._verify is None:
                self._verify = os.environ.get(MUTATION_DETECTOR_ENV) == "true"
            if len(self._by_text) >= self._limit:
                oldest = next(iter(self._by_text))
                del self._by_id[id(self._by_text.pop(oldest))]
            self._by_text[text] = found
            self._by_id[id(found)] = text
        elif self._verify and orjson.dumps(found) != text:
            raise AssertionError("a shared parse was changed in place")
        return found

    def text(self, value: Any) -> bytes:
        """``orjson.dumps(value)``; a remembered parse's text as it was parsed. (An id in
        ``_by_id`` is that of a parse ``_by_text`` still holds alive: never another object's.)"""
        text = self._by_id.get(id(value))
        if text is None:
            return orjson.dumps(value)
        if self._verify and orjson.dumps(value) != text:
            raise AssertionError("a shared parse was changed in place")
        return text
