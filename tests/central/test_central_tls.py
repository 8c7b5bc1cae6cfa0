"""TLS to the centre against a real server speaking TLS: ``require`` encrypts,
``verify-full`` checks the certificate against the operator's CA and the host name,
and a certificate from another CA is refused as a TLS problem."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import pytest

from custom_components.community_gate.core.replicator import (
    CentralConfig,
    CentralError,
    test_connection as check_connection,
)
from tests.central.hubkit import connect
from tests.pg import PgServer, make_server

type _Ca = tuple[ec.EllipticCurvePrivateKey, x509.Certificate]


def _ca(name: str) -> _Ca:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _server_cert(ca: _Ca) -> tuple[bytes, bytes]:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "centre")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@pytest.fixture(scope="module")
def cas() -> dict[str, _Ca]:
    return {"operator": _ca("operator CA"), "other": _ca("someone else's CA")}


@pytest.fixture
def tls_server(cas: dict[str, _Ca], socket_enabled: None) -> Iterator[PgServer]:
    server = make_server(tls=_server_cert(cas["operator"]))
    yield server
    server.destroy()


def _pem(tmp_path: Path, name: str, cert: x509.Certificate) -> str:
    path = tmp_path / f"{name}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


async def test_tls_modes(
    tmp_path: Path,
    tls_server: PgServer,
    cas: dict[str, _Ca],
) -> None:
    dsn = tls_server.dsn(tls_server.create_database())
    await check_connection(CentralConfig(dsn, "e1", tls="require"))
    good = _pem(tmp_path, "operator", cas["operator"][1])
    await check_connection(CentralConfig(dsn, "e1", tls="verify-full", ca_file=good))
    bad = _pem(tmp_path, "other", cas["other"][1])
    with pytest.raises(CentralError) as err:
        await check_connection(CentralConfig(dsn, "e1", tls="verify-full", ca_file=bad))
    assert err.value.reason == "tls"
    # The session really is encrypted.
    conn = await connect(dsn)
    try:
        assert await conn.fetchval("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    finally:
        await conn.close()
