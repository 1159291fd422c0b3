"""A list body streamed in chunks is exactly the PodList, its Content-Length exact, its chunks
bounded: lists of every size around the chunk size, and pods of mixed sizes."""

from __future__ import annotations

import orjson
import pytest

from watchcache.cache.view import make_entry
from watchcache.http import resources as pods_api
from watchcache.http.resources import ListBody
from watchcache.kinds.pods import POD
from watchcache.kinds.pods.fields import POD_FIELDS
from watchcache.registry.resource import ListResult

CHUNK = 1000  # small, so a few pods make a multi-chunk list


def pod(i: int, padding: int) -> dict:
    meta = {"name": f"p{i}", "namespace": "ns", "resourceVersion": str(i + 2)}
    return {"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": {"pad": "x" * padding}}


def result_of(sizes: list[int], **kwargs: object) -> ListResult:
    entries = [make_entry(f"ns/p{i}", i + 2, pod(i, size), POD_FIELDS) for i, size in enumerate(sizes)]
    return ListResult(99, entries, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pods_api, "LIST_CHUNK_BYTES", CHUNK)


@pytest.mark.parametrize(
    "sizes",
    [[], [10], [10] * 5, [300] * 3, [300] * 4, [CHUNK] * 3, [5, 3000, 7, 900, 20, 1500, 1] * 4],
    ids=["empty", "one", "small", "just-under-a-chunk", "just-over", "pod-per-chunk", "mixed"],
)
def test_the_pieces_join_to_the_podlist_with_an_exact_length(sizes: list[int]) -> None:
    result = result_of(sizes, continue_token="tok", remaining=3)
    body = ListBody(POD, result)
    joined = b"".join(body.pieces())
    assert len(joined) == body.size
    decoded = orjson.loads(joined)
    assert decoded["metadata"] == {"resourceVersion": "99", "continue": "tok", "remainingItemCount": 3}
    assert decoded["items"] == [orjson.loads(e.json) for e in result.entries]


def test_a_small_list_is_one_piece_and_a_large_one_is_head_chunks_tail() -> None:
    assert len(list(ListBody(POD, result_of([10] * 5)).pieces())) == 1
    pieces = list(ListBody(POD, result_of([300] * 20)).pieces())
    assert pieces[0].endswith(b'"items":[') and pieces[-1] == b"]}"
    assert len(pieces) > 4


def test_a_chunk_ends_with_the_pod_that_reaches_the_chunk_size() -> None:
    """Chunks stay bounded: at most the chunk size plus one pod (and its comma)."""
    sizes = [5, 3000, 7, 900, 20, 1500, 1] * 4
    result = result_of(sizes)
    largest = max(len(e.json) for e in result.entries)
    chunks = list(ListBody(POD, result).pieces())[1:-1]
    assert all(len(chunk) <= CHUNK + largest + 1 for chunk in chunks)
    assert all(len(chunk) >= CHUNK for chunk in chunks[:-1])
