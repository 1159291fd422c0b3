"""Self-signed serving certificates, like kube-apiserver's ``--cert-dir``.

A private CA (``watchcache-ca``) signs the serving certificate; kubeconfigs embed the CA, so the
serving certificate can be re-issued (new host, near expiry) without breaking them. Everything
lives in ``<data_dir>/pki/``; private keys are written 0600.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from watchcache.process.settings import WILDCARD_HOSTS

CA_COMMON_NAME: Final = "watchcache-ca"
SERVING_COMMON_NAME: Final = "watchcache"
ALWAYS_SANS: Final = ("localhost", "127.0.0.1", "::1")
CA_VALIDITY: Final = dt.timedelta(days=3650)  # outlives any kubeconfig that embeds it
SERVING_VALIDITY: Final = dt.timedelta(days=365)  # kube-apiserver's self-signed serving cert
RENEW_BEFORE: Final = dt.timedelta(days=30)  # re-issue early rather than fail a client
CLOCK_SKEW: Final = dt.timedelta(hours=1)  # backdate notBefore, as client-go's cert util does
KEY_FILE_MODE: Final = 0o600
PKI_DIR_MODE: Final = 0o700

CA_CERT: Final = "ca.crt"
CA_KEY: Final = "ca.key"
SERVING_CERT: Final = "serving.crt"
SERVING_KEY: Final = "serving.key"

PrivateKey = ec.EllipticCurvePrivateKey
Pair = tuple[x509.Certificate, PrivateKey]


def pki_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "pki"


def serving_hosts(bind_host: str) -> list[str]:
    """Names to put in the serving certificate for a bind address.

    A wildcard bind is reached from elsewhere by this machine's name, so that is added.
    """
    if bind_host in WILDCARD_HOSTS:
        return [socket.gethostname()]
    return [bind_host.strip("[]")]


def ensure_self_signed(data_dir: Path, hosts: list[str]) -> tuple[Path, Path, Path]:
    """Return ``(ca_cert, serving_cert, serving_key)``, creating or renewing what is missing.

    Existing files are reused when the serving certificate chains to the CA, matches its key,
    is not near expiry and names every host; otherwise it is re-issued under the same CA.
    """
    directory = pki_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=PKI_DIR_MODE)
    wanted = _wanted_sans(hosts)
    now = dt.datetime.now(dt.UTC)
    ca = _load_pair(directory / CA_CERT, directory / CA_KEY)
    if ca is None or not _fresh(ca[0], now):
        ca = _issue_ca(now)
        _write_pair(directory / CA_CERT, directory / CA_KEY, ca)
    serving = _load_pair(directory / SERVING_CERT, directory / SERVING_KEY)
    if serving is None or not _serving_ok(serving[0], ca[0], now, wanted):
        serving = _issue_serving(ca, wanted, now)
        _write_pair(directory / SERVING_CERT, directory / SERVING_KEY, serving)
    return directory / CA_CERT, directory / SERVING_CERT, directory / SERVING_KEY


def _wanted_sans(hosts: list[str]) -> set[x509.GeneralName]:
    names: set[x509.GeneralName] = set()
    for host in [*ALWAYS_SANS, *hosts]:
        host = host.strip("[]")
        if host in WILDCARD_HOSTS:
            continue
        try:
            names.add(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.add(x509.DNSName(host))
    return names


def _load_pair(cert_path: Path, key_path: Path) -> Pair | None:
    """The certificate and its key, or None when missing, unreadable or not a pair."""
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return None
    if not isinstance(key, PrivateKey) or key.public_key() != cert.public_key():
        return None
    return cert, key


def _fresh(cert: x509.Certificate, now: dt.datetime) -> bool:
    return cert.not_valid_before_utc <= now < cert.not_valid_after_utc - RENEW_BEFORE


def _serving_ok(
    cert: x509.Certificate, ca: x509.Certificate, now: dt.datetime, wanted: set[x509.GeneralName]
) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
        return False
    return _fresh(cert, now) and wanted <= set(sans)


def _builder(
    subject: str, issuer: x509.Name, key: PrivateKey, now: dt.datetime, validity: dt.timedelta
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + validity)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )


def _issue_ca(now: dt.datetime) -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_COMMON_NAME)])
    cert = (
        _builder(CA_COMMON_NAME, name, key, now, CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _issue_serving(ca_pair: Pair, sans: set[x509.GeneralName], now: dt.datetime) -> Pair:
    ca, ca_key = ca_pair
    key = ec.generate_private_key(ec.SECP256R1())
    # Sorted so re-issuing for the same hosts gives the same extension contents.
    ordered = sorted(sans, key=lambda n: (type(n).__name__, str(n.value)))
    cert = (
        _builder(SERVING_COMMON_NAME, ca.subject, key, now, SERVING_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(ordered), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _write_pair(cert_path: Path, key_path: Path, pair: Pair) -> None:
    cert, key = pair
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_atomically(key_path, key_pem, KEY_FILE_MODE)
    _write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write-then-rename, so a concurrent reader (a second replica) never sees half a file;
    the mode is set at creation, so a key is never readable by others even briefly."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)  # umask may have narrowed it; make it exact
    os.replace(tmp, path)
