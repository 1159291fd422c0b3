"""Self-signed TLS: a CA-signed serving certificate that clients can verify, kept and reused."""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from watchcache.process.tls import ensure_self_signed, serving_hosts


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Path, Path, Path]:
    return ensure_self_signed(tmp_path, ["api.example.test", "10.0.0.7"])


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def verify(ca: Path, cert: Path, name: x509.DNSName | x509.IPAddress) -> None:
    """Full path validation (CA/B-style server profile) as a TLS client would do it."""
    verifier = PolicyBuilder().store(Store([load(ca)])).build_server_verifier(name)
    verifier.verify(load(cert), [])


@pytest.mark.parametrize(
    "name",
    [
        x509.DNSName("localhost"),
        x509.DNSName("api.example.test"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
        x509.IPAddress(ipaddress.ip_address("10.0.0.7")),
    ],
    ids=str,
)
def test_serving_cert_verifies_against_the_ca_for_every_name(
    pki: tuple[Path, Path, Path], name: x509.DNSName | x509.IPAddress
) -> None:
    ca, cert, _ = pki
    verify(ca, cert, name)


def test_serving_cert_does_not_verify_for_other_names(pki: tuple[Path, Path, Path]) -> None:
    ca, cert, _ = pki
    with pytest.raises(VerificationError):
        verify(ca, cert, x509.DNSName("evil.example"))


def test_ca_is_named_watchcache_ca_and_may_only_sign_leaves(pki: tuple[Path, Path, Path]) -> None:
    ca = load(pki[0])
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert ca.subject.rfc4514_string() == "CN=watchcache-ca"
    assert constraints.ca and constraints.path_length == 0


def test_serving_cert_lists_the_default_and_given_sans(pki: tuple[Path, Path, Path]) -> None:
    sans = load(pki[1]).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(sans.get_values_for_type(x509.DNSName)) == {"localhost", "api.example.test"}
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {
        "127.0.0.1",
        "::1",
        "10.0.0.7",
    }


def test_files_live_in_pki_and_private_keys_are_owner_only(tmp_path: Path) -> None:
    ensure_self_signed(tmp_path, [])
    pki = tmp_path / "pki"
    names = sorted(p.name for p in pki.iterdir())
    assert names == ["ca.crt", "ca.key", "serving.crt", "serving.key"]
    assert (pki / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (pki / "serving.key").stat().st_mode & 0o777 == 0o600


def test_second_call_reuses_the_files(tmp_path: Path) -> None:
    first = [p.read_bytes() for p in ensure_self_signed(tmp_path, ["h.test"])]
    second = [p.read_bytes() for p in ensure_self_signed(tmp_path, ["h.test"])]
    assert first == second


def test_new_host_reissues_the_serving_cert_under_the_same_ca(tmp_path: Path) -> None:
    ca, cert, _ = ensure_self_signed(tmp_path, ["old.test"])
    ca_before, cert_before = ca.read_bytes(), cert.read_bytes()
    ensure_self_signed(tmp_path, ["new.test"])
    assert ca.read_bytes() == ca_before  # kubeconfigs embedding the CA stay valid
    assert cert.read_bytes() != cert_before
    verify(ca, cert, x509.DNSName("new.test"))


def test_damaged_serving_cert_is_replaced(tmp_path: Path) -> None:
    ca, cert, _ = ensure_self_signed(tmp_path, [])
    cert.write_text("not a certificate")
    ensure_self_signed(tmp_path, [])
    verify(ca, cert, x509.DNSName("localhost"))


def test_a_python_tls_client_trusting_the_ca_completes_a_handshake(
    pki: tuple[Path, Path, Path],
) -> None:
    ca, cert, key = pki
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_server(("127.0.0.1", 0)) as listener:
        accepted = threading.Thread(target=_accept_one, args=(listener, server_ctx))
        accepted.start()
        port = listener.getsockname()[1]
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            client_ctx.wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            assert tls.version() is not None
        accepted.join()


def _accept_one(listener: socket.socket, ctx: ssl.SSLContext) -> None:
    conn, _ = listener.accept()
    with ctx.wrap_socket(conn, server_side=True):
        pass


@pytest.mark.parametrize(
    ("bind", "hosts"),
    [("10.0.0.7", ["10.0.0.7"]), ("[::1]", ["::1"]), ("0.0.0.0", [socket.gethostname()])],
)
def test_serving_hosts_name_the_bind_address_or_this_machine(bind: str, hosts: list[str]) -> None:
    assert serving_hosts(bind) == hosts
