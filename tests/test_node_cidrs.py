"""A node's pod CIDRs: kube's v1 conversion of podCIDR/podCIDRs and ValidateNode's rules, as
pure functions over the spec."""

from __future__ import annotations

from typing import Any

import pytest

from watchcache.kinds.nodes.strategy import prepare_update, validate_node, with_pod_cidrs
from watchcache.machinery import errors


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ({}, {}),
        ({"podCIDR": "10.0.0.0/24"}, {"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24"]}),
        ({"podCIDRs": ["10.0.0.0/24"]}, {"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24"]}),
        # podCIDR wins when the two differ: older clients know only it
        ({"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.0.0.0/24", "fd00::/64"]},
         {"podCIDR": "10.1.0.0/24", "podCIDRs": ["10.1.0.0/24"]}),
        ({"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24", "fd00::/64"], "unschedulable": True},
         {"podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24", "fd00::/64"], "unschedulable": True}),
        ({"unschedulable": True, "podCIDR": "10.0.0.0/24", "providerID": "p"},
         {"unschedulable": True, "podCIDR": "10.0.0.0/24", "podCIDRs": ["10.0.0.0/24"], "providerID": "p"}),
    ],
)  # fmt: skip
def test_pod_cidr_is_the_first_of_pod_cidrs(given: dict[str, Any], stored: dict[str, Any]) -> None:
    converted = with_pod_cidrs(given)
    assert converted == stored
    assert list(converted) == list(stored)  # Go's field order


def _texts(spec: dict[str, Any]) -> list[str]:
    node = {"metadata": {"name": "n"}, "spec": with_pod_cidrs(spec)}
    return [e.text() for e in validate_node(node)]


@pytest.mark.parametrize(
    ("cidrs", "texts"),
    [
        (["10.0.0.0/24"], []),
        (["010.000.001.000/24"], []),  # ParseCIDRSloppy: IPv4 parts may have leading zeros
        (["10.0.0.0/24", "fd00::/64"], []),
        (["10.0.0.1"], ['spec.podCIDRs[0]: Invalid value: "10.0.0.1": must be a valid CIDR value, '
                        "(e.g. 10.9.8.0/24 or 2001:db8::/64)"]),
        (["fe80::%eth0/64"], ['spec.podCIDRs[0]: Invalid value: "fe80::%eth0/64": must be a valid CIDR '
                              "value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"]),
        (["10.0.0.0/33"], ['spec.podCIDRs[0]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, '
                           "(e.g. 10.9.8.0/24 or 2001:db8::/64)"]),
        (["10.0.0.0/24", "10.1.0.0/24"],
         ['spec.podCIDRs: Invalid value: []string{"10.0.0.0/24", "10.1.0.0/24"}: '
          "may specify no more than one CIDR for each IP family"]),
        (["10.0.0.0/24", "fd00::/64", "10.0.0.0/24"],
         ['spec.podCIDRs: Invalid value: []string{"10.0.0.0/24", "fd00::/64", "10.0.0.0/24"}: '
          "may specify no more than one CIDR for each IP family",
          'spec.podCIDRs[2]: Duplicate value: "10.0.0.0/24"']),
        (["10.0.0.0/24", "x"],
         ['spec.podCIDRs[1]: Invalid value: "x": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
          'spec.podCIDRs: Internal error: invalid PodCIDRs. failed to check with dual stack with '
          'error:failed to parse cidr value:"x" with error:invalid CIDR address: x',
          'spec.podCIDRs: Invalid value: []string{"10.0.0.0/24", "x"}: '
          "may specify no more than one CIDR for each IP family"]),
    ],
)  # fmt: skip
def test_pod_cidrs_are_cidrs_one_of_each_family(cidrs: list[str], texts: list[str]) -> None:
    assert _texts({"podCIDRs": cidrs}) == texts


def _update(old_spec: dict[str, Any], new_spec: dict[str, Any]) -> list[dict[str, str]]:
    old = {"metadata": {"name": "n", "uid": "u", "resourceVersion": "1", "creationTimestamp": "t"},
           "spec": with_pod_cidrs(old_spec), "status": {}}  # fmt: skip
    try:
        prepare_update({"metadata": {"name": "n"}, "spec": new_spec}, old, None, "n")
    except errors.Invalid as exc:
        return exc.details["causes"]
    return []


CHANGED = {"reason": "FieldValueForbidden", "field": "spec.podCIDRs",
           "message": 'Forbidden: node updates may not change podCIDR except from "" to valid'}  # fmt: skip


@pytest.mark.parametrize(
    ("old", "new", "causes"),
    [
        ({}, {"podCIDR": "10.0.0.0/24"}, []),
        ({"podCIDR": "10.0.0.0/24"}, {"podCIDR": "10.0.0.0/24"}, []),
        ({"podCIDR": "10.0.0.0/24"}, {"podCIDRs": ["10.0.0.0/24"]}, []),
        ({"podCIDR": "10.0.0.0/24"}, {"podCIDR": "10.1.0.0/24"}, [CHANGED]),
        ({"podCIDR": "10.0.0.0/24"}, {}, [CHANGED]),
        # kube compares element by element: one cause per CIDR changed
        ({"podCIDRs": ["10.0.0.0/24", "fd00::/64"]}, {"podCIDRs": ["10.1.0.0/24", "fd01::/64"]},
         [CHANGED, CHANGED]),
        ({"providerID": ""}, {"providerID": "kind://a"}, []),
        ({"providerID": "kind://a"}, {},
         [{"reason": "FieldValueForbidden", "field": "spec.providerID",
           "message": 'Forbidden: node updates may not change providerID except from "" to valid'}]),
    ],
)  # fmt: skip
def test_pod_cidrs_and_provider_id_go_from_none_to_valid_only(
    old: dict[str, Any], new: dict[str, Any], causes: list[dict[str, str]]
) -> None:
    assert _update(old, new) == causes
