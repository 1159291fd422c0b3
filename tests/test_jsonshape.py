"""The pure JSON helpers the pod rules lean on."""

from __future__ import annotations

from watchcache.machinery.jsonshape import copied


def test_copied_is_an_equal_document_that_shares_nothing_mutable() -> None:
    pod = {
        "metadata": {"name": "p", "labels": {"app": "web"}, "generation": 3},
        "spec": {
            "containers": [{"name": "c", "ports": [{"containerPort": 80}], "env": []}],
            "activeDeadlineSeconds": 30,
            "hostNetwork": False,
            "nodeName": None,
        },
        "status": {"message": "héllo ✓", "podIPs": [{"ip": "10.0.0.1"}], "ratio": 0.1},
    }
    copy = copied(pod)
    assert copy == pod
    copy["metadata"]["labels"]["app"] = "db"
    copy["spec"]["containers"][0]["ports"].append({"containerPort": 443})
    copy["status"]["podIPs"][0]["ip"] = "10.0.0.2"
    assert pod["metadata"]["labels"] == {"app": "web"}
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]
    assert pod["status"]["podIPs"] == [{"ip": "10.0.0.1"}]
    assert type(copy["status"]["ratio"]) is float and type(copy["spec"]["activeDeadlineSeconds"]) is int
