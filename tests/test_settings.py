"""Settings refuse unsafe or incoherent combinations, whoever builds them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from watchcache.process.settings import Settings, is_loopback

TOKENS = Path("tokens.csv")


def test_defaults_listen_on_loopback_over_plain_http_with_embedded_redis() -> None:
    settings = Settings()
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 8080, None)
    assert settings.loopback and not settings.tls_enabled
    assert settings.url == "http://127.0.0.1:8080"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "[::1]", "localhost"])
def test_loopback_hosts_need_no_authentication(host: str) -> None:
    assert is_loopback(host)
    Settings(host=host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "10.1.2.3", "example.com", "localhost.evil"])
def test_non_loopback_host_without_token_file_is_refused(host: str) -> None:
    with pytest.raises(ValueError, match=r"non-loopback host .* without authentication") as err:
        Settings(host=host)
    assert "--token-file" in str(err.value) and "--allow-anonymous" in str(err.value)


def test_non_loopback_host_is_allowed_with_a_token_file() -> None:
    assert Settings(host="0.0.0.0", token_file=TOKENS).token_file == TOKENS


def test_non_loopback_host_is_allowed_when_anonymous_access_is_explicit() -> None:
    assert Settings(host="0.0.0.0", allow_anonymous=True).allow_anonymous


def test_allow_anonymous_together_with_token_file_is_refused_as_ambiguous() -> None:
    with pytest.raises(ValueError, match="contradicts --token-file"):
        Settings(token_file=TOKENS, allow_anonymous=True)


@pytest.mark.parametrize(
    "tls",
    [{"tls_cert_file": Path("c.pem")}, {"tls_private_key_file": Path("k.pem")}],
    ids=["cert-without-key", "key-without-cert"],
)
def test_half_a_tls_pair_is_refused(tls: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="certificate needs its private key"):
        Settings(**tls)


def test_a_token_file_turns_on_self_signed_tls_as_kubectl_sends_tokens_only_over_https() -> None:
    settings = Settings(token_file=TOKENS)
    assert settings.tls_enabled and settings.self_signed_tls
    assert settings.url == "https://127.0.0.1:8080"


def test_a_given_certificate_turns_on_tls_without_self_signing() -> None:
    settings = Settings(tls_cert_file=Path("c.pem"), tls_private_key_file=Path("k.pem"))
    assert settings.tls_enabled and not settings.self_signed_tls


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "https://127.0.0.1:6443"),
        ("::", "https://[::1]:6443"),
        ("::1", "https://[::1]:6443"),
        ("10.0.0.7", "https://10.0.0.7:6443"),
        ("api.example", "https://api.example:6443"),
    ],
)
def test_url_reaches_a_wildcard_bind_via_loopback_and_brackets_ipv6(host: str, url: str) -> None:
    assert Settings(host=host, port=6443, token_file=TOKENS).url == url


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("port", 70000, "out of range"),
        ("port", -1, "out of range"),
        ("log_level", "loud", "log level"),
        ("bookmark_interval_seconds", 0, "bookmark interval"),
        ("catch_up_mib_per_s", 0, "catch-up rate"),
    ],
)
def test_out_of_range_values_are_refused(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings(**{field: value})  # type: ignore[arg-type]


def test_replace_validates_again() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        dataclasses.replace(Settings(), host="0.0.0.0")


def test_settings_are_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]
