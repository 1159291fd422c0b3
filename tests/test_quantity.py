"""Kubernetes quantity parsing and milli rounding (apimachinery resource.Quantity grammar)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from watchcache.machinery.quantity import FORMAT_ERROR, parse_quantity, round_up_milli


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", "1"),
        ("0", "0"),
        ("+2", "2"),
        ("-1", "-1"),
        (".5", "0.5"),
        ("5.", "5"),
        ("1.25", "1.25"),
        ("500m", "0.5"),
        ("100n", "0.0000001"),
        ("10u", "0.00001"),
        ("1k", "1000"),
        ("1M", "1000000"),
        ("1G", "1e9"),
        ("1T", "1e12"),
        ("1P", "1e15"),
        ("1E", "1e18"),
        ("1Ki", "1024"),
        ("1Mi", "1048576"),
        ("1Gi", "1073741824"),
        ("1Ti", "1099511627776"),
        ("1Pi", "1125899906842624"),
        ("1Ei", "1152921504606846976"),
        ("0.5Gi", "536870912"),
        ("1e3", "1000"),
        ("1E3", "1000"),
        ("1.5e-3", "0.0015"),
        ("2e+2", "200"),
    ],
)
def test_parse_quantity_accepts_every_kubernetes_suffix(text: str, value: str) -> None:
    assert parse_quantity(text) == Decimal(value)


def test_parse_quantity_is_exact_beyond_default_decimal_precision() -> None:
    # The default 28-digit context would round this product.
    assert parse_quantity("123456789012345678901234567891Ki") == Decimal(
        123456789012345678901234567891 * 1024
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "Gi",
        "1KiB",
        "1 Gi",
        " 1",
        "1 ",
        "1.2.3",
        "1e",
        "1ki",
        "1K",
        "1e1.5",
        "--1",
        "1\n",
        "\u0661",
        "0x10",
        "1_000",
        None,
        5,
    ],
)
def test_parse_quantity_rejects_garbage_with_apimachinery_text(text: object) -> None:
    with pytest.raises(ValueError, match="quantities must match the regular expression") as info:
        parse_quantity(text)  # type: ignore[arg-type]
    assert str(info.value) == FORMAT_ERROR


@pytest.mark.parametrize(
    ("text", "rounded"),
    [
        ("0.0001", "1m"),
        ("1.0001", "1001m"),
        ("100u", "1m"),
        ("1n", "1m"),
        ("999999n", "1m"),
        ("999999999n", "1"),
        ("2.0000001", "2001m"),
        ("500m", "500m"),
        ("0.5", "0.5"),
        ("1Gi", "1Gi"),
        ("1.5Ki", "1.5Ki"),
        ("1e-3", "1e-3"),
        ("garbage", "garbage"),
    ],
)
def test_round_up_milli_rounds_only_values_finer_than_a_milli(text: str, rounded: str) -> None:
    assert round_up_milli(text) == rounded
