"""Two replicas on one Redis: read-your-writes across them, and one winner per stale update."""

from __future__ import annotations

import concurrent.futures

from .conftest import Server, pod_manifest


def test_pod_created_on_one_replica_is_at_once_readable_on_the_other(
    server: Server, second_server: Server, ns: str
) -> None:
    with server.client() as a, second_server.client() as b:
        for i in range(20):
            created = a.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(f"p{i}"))
            assert created.status_code == 201
            got = b.get(f"/api/v1/namespaces/{ns}/pods/p{i}")
            assert got.status_code == 200, f"replica B missed p{i}"
            assert got.json()["metadata"]["resourceVersion"] == created.json()["metadata"]["resourceVersion"]
            listed = b.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]
            assert len(listed) == i + 1


def test_two_puts_with_the_same_stale_version_on_two_replicas_one_wins(
    server: Server, second_server: Server, ns: str
) -> None:
    with server.client() as a, second_server.client() as b:
        for round_ in range(10):
            name = f"race-{round_}"
            pod = a.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(name)).json()

            def put(client, image, pod=pod, name=name):  # type: ignore[no-untyped-def]
                body = {
                    **pod,
                    "spec": {**pod["spec"], "containers": [{**pod["spec"]["containers"][0], "image": image}]},
                }
                return client.put(f"/api/v1/namespaces/{ns}/pods/{name}", json=body).status_code

            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                codes = sorted(pool.map(lambda args: put(*args), [(a, "nginx:1"), (b, "nginx:2")]))
            assert codes == [200, 409]


def test_a_replica_started_later_bootstraps_the_existing_pods(
    server: Server,
    redis_server,
    tmp_path,
    ns: str,  # type: ignore[no-untyped-def]
) -> None:
    from .conftest import start_server

    with server.client() as a:
        for i in range(5):
            a.post(f"/api/v1/namespaces/{ns}/pods", json=pod_manifest(f"p{i}"))
        a.delete(f"/api/v1/namespaces/{ns}/pods/p0")
    late = start_server(redis_server.url, tmp_path)
    try:
        with late.client() as c:
            names = [p["metadata"]["name"] for p in c.get(f"/api/v1/namespaces/{ns}/pods").json()["items"]]
        assert names == ["p1", "p2", "p3", "p4"]
    finally:
        late.stop()
