"""Lists at a resourceVersion: pagination snapshots and Exact lists rebuilt from the log."""

from __future__ import annotations

import random

import httpx
import orjson
import pytest

from .conftest import Server, pod_manifest

MERGE = {"Content-Type": "application/merge-patch+json"}


def items(body: dict) -> list[tuple[str, str]]:
    return [(p["metadata"]["name"], p["metadata"]["resourceVersion"]) for p in body["items"]]


def churn(api: httpx.Client, ns: str, rng: random.Random, names: list[str]) -> None:
    """A few random writes to the namespace: creates, relabels and deletes."""
    for _ in range(rng.randint(1, 4)):
        action = rng.choice(["create", "label", "delete"])
        if action == "create" or not names:
            name = f"n{rng.randrange(10**6)}"
            if api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(name)).status_code == 201:
                names.append(name)
        elif action == "label":
            patch = {"metadata": {"labels": {"v": str(rng.randrange(100))}}}
            api.patch(f"/api/v1/namespaces/{ns}/pods/{rng.choice(names)}", json=patch, headers=MERGE)
        else:
            api.delete(f"/api/v1/namespaces/{ns}/pods/{names.pop(rng.randrange(len(names)))}")


@pytest.mark.parametrize("seed", range(6))
def test_pages_with_writes_in_between_equal_one_list_at_the_first_pages_rv(
    api: httpx.Client, ns: str, seed: int
) -> None:
    rng = random.Random(seed)
    names = [f"p{i:02d}" for i in range(rng.randint(10, 30))]
    for name in names:
        api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(name))
    expected = api.get(f"/api/v1/namespaces/{ns}/pods").json()
    limit = rng.randint(1, 7)
    page = api.get(f"/api/v1/namespaces/{ns}/pods", params={"limit": limit}).json()
    first_rv = page["metadata"]["resourceVersion"]
    collected = items(page)
    while token := page["metadata"].get("continue"):
        churn(api, ns, rng, names)
        page = api.get(f"/api/v1/namespaces/{ns}/pods", params={"limit": limit, "continue": token}).json()
        assert page["metadata"]["resourceVersion"] == first_rv
        collected += items(page)
    assert collected == items(expected)


def test_remaining_item_count_counts_what_follows_the_page(api: httpx.Client, ns: str) -> None:
    for i in range(5):
        api.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(f"p{i}"))
    page = api.get(f"/api/v1/namespaces/{ns}/pods", params={"limit": 2}).json()
    assert page["metadata"]["remainingItemCount"] == 3
    selective = api.get(
        f"/api/v1/namespaces/{ns}/pods", params={"limit": 2, "labelSelector": "run!=x"}
    ).json()
    assert "remainingItemCount" not in selective["metadata"]


def test_exact_list_equals_the_state_a_watcher_saw_at_that_rv(server: Server, ns: str) -> None:
    rng = random.Random(7)
    with server.client() as api:
        start = api.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
        names: list[str] = []
        for _ in range(15):
            churn(api, ns, rng, names)
        head = api.get(f"/api/v1/namespaces/{ns}/pods").json()["metadata"]["resourceVersion"]
        params = {"watch": "1", "resourceVersion": start, "timeoutSeconds": 1}
        with api.stream("GET", f"/api/v1/namespaces/{ns}/pods", params=params) as response:
            events = [orjson.loads(line) for line in response.iter_lines() if line]
        checkpoints = sorted({int(e["object"]["metadata"]["resourceVersion"]) for e in events})
        for at in [*rng.sample(checkpoints, min(6, len(checkpoints))), int(head)]:
            seen: dict[str, str] = {}
            for event in events:
                meta = event["object"]["metadata"]
                if int(meta["resourceVersion"]) > at:
                    break
                if event["type"] == "DELETED":
                    seen.pop(meta["name"], None)
                else:
                    seen[meta["name"]] = meta["resourceVersion"]
            exact = api.get(
                f"/api/v1/namespaces/{ns}/pods",
                params={"resourceVersion": at, "resourceVersionMatch": "Exact"},
            ).json()
            assert exact["metadata"]["resourceVersion"] == str(at)
            assert items(exact) == sorted(seen.items()), f"state at {at}"


def test_bad_continue_token_is_400(api: httpx.Client, ns: str) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods", params={"continue": "eyJ2IjoiYmFkIn0"})
    assert response.status_code == 400
    assert response.json()["message"].startswith("invalid continue token: continue key is not valid")


def test_continue_with_resource_version_is_400(api: httpx.Client, ns: str) -> None:
    response = api.get(f"/api/v1/namespaces/{ns}/pods", params={"continue": "x", "resourceVersion": "5"})
    assert response.status_code == 400
    assert response.json()["message"] == "specifying resource version is not allowed when using continue"
