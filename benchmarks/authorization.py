"""What authorizing a request costs: ``python -m benchmarks.authorization``.

The middleware's work per request (``http.authorization``): the attributes read from the
method, path and query, then the ABAC policy scanned until a line matches, for a policy of
``--lines`` lines (issue 16's target: at most 5 µs a request). Allowed requests match the
last line (the whole file scanned), denied ones none; both are timed, in one process, with
timeit's best of 5.
"""

from __future__ import annotations

import argparse
import timeit

import orjson

from watchcache.http.authorization import allowed, attributes
from watchcache.process.policy import PolicyFile
from watchcache.process.tokens import User

V = '"apiVersion": "abac.authorization.kubernetes.io/v1beta1", "kind": "Policy"'


def policy(lines: int) -> PolicyFile:
    """``lines - 1`` teams owning a namespace each, then the benchmark user's own line."""

    def line(user: str, namespace: str, resource: str) -> str:
        spec = {"user": user, "namespace": namespace, "resource": resource, "apiGroup": "*"}
        return f'{{{V}, "spec": {orjson.dumps(spec).decode()}}}'

    rules = [line(f"team-{i}", f"ns-{i}", "*") for i in range(lines - 1)]
    return PolicyFile.parse([*rules, line("bench", "ns-a", "pods")])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.authorization", description=__doc__)
    parser.add_argument("--lines", type=int, default=20, help="policy lines")
    parser.add_argument("--number", type=int, default=100_000)
    args = parser.parse_args()
    rules, user = policy(args.lines), User("bench", "1", ("system:authenticated",))
    cases = {
        "allowed (GET one pod)": ("GET", "/api/v1/namespaces/ns-a/pods/web", {}),
        "allowed (watch)": ("GET", "/api/v1/namespaces/ns-a/pods", {"watch": "1"}),
        "denied (DELETE in another namespace)": ("DELETE", "/api/v1/namespaces/ns-b/pods/web", {}),
    }
    for label, (method, path, query) in cases.items():
        best = min(timeit.repeat(lambda m=method, p=path, q=query: allowed(rules, attributes(user, m, p, q)),
                                 number=args.number, repeat=5))  # fmt: skip
        print(f"{label:40s} {best / args.number * 1e6:6.2f} µs a request ({args.lines} policy lines)")


if __name__ == "__main__":
    main()
