"""The local stack's TLS material, made at `./dev up` when missing: a CA, a server certificate for 127.0.0.1 and
localhost that Kafka, Cassandra and the registry proxy all present, and a client certificate for mutual TLS.

Everything is PEM, which Kafka (`ssl.keystore.type=PEM`), Cassandra (PEMBasedSslContextFactory), librdkafka,
cassandra-driver and Python's ssl read directly: no keytool, no JKS. The private keys are unencrypted PKCS#8 in
files of mode 0600: JDK 17 cannot decrypt the PBES2 keys that `cryptography` writes (SecretKeyFactory "PBES2" is
missing), and a dev stack on loopback gains nothing from a key password kept beside the key.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from stack.settings import StackSettings

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest a browser-style client accepts for a leaf; renewed by `up` a month before it ends
RENEW_BEFORE = datetime.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """Where the PEM files live; `server_keystore` is key + certificate in one file, as Cassandra's keystore wants."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.folder / "ca-key.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server-key.pem"

    @property
    def server_keystore(self) -> Path:
        return self.folder / "server-keystore.pem"

    @property
    def client_cert(self) -> Path:
        return self.folder / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.folder / "client-key.pem"

    def all(self) -> tuple[Path, ...]:
        return (self.ca, self.ca_key, self.server_cert, self.server_key, self.server_keystore, self.client_cert,
                self.client_key)


def tls_files(settings: StackSettings) -> TlsFiles:
    return TlsFiles(settings.path("tls"))


def write_private(path: Path, data: bytes) -> None:
    """Write a file only its owner may read, never readable by others even for an instant."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.replace(path)


def _needs_renewal(cert_path: Path, now: datetime.datetime) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except (OSError, ValueError):
        return True
    return cert.not_valid_after_utc - now < RENEW_BEFORE


def ensure_tls(settings: StackSettings) -> tuple[TlsFiles, bool]:
    """The TLS files, made (all of them, from a new CA) when one is missing or a certificate is about to expire.
    Returns the files and whether they were made now: servers running with the old ones need a restart."""
    files = tls_files(settings)
    now = datetime.datetime.now(datetime.UTC)
    if all(p.is_file() for p in files.all()) and not any(
        _needs_renewal(p, now) for p in (files.ca, files.server_cert, files.client_cert)
    ):
        return files, False
    files.ca.unlink(missing_ok=True)  # written last: until then the set counts as missing and is made again
    _make_all(files, now)
    return files, True


def _make_all(files: TlsFiles, now: datetime.datetime) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def key() -> rsa.RSAPrivateKey:
        # RSA, not EC: every party here (Kafka's PemStore, Cassandra's PEMReader, librdkafka, Python) reads it.
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def pem_key(k: rsa.RSAPrivateKey) -> bytes:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())

    def pem_cert(c: x509.Certificate) -> bytes:
        return c.public_bytes(serialization.Encoding.PEM)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Sluice local stack"),
                          x509.NameAttribute(NameOID.COMMON_NAME, common)])

    start = now - datetime.timedelta(minutes=5)  # a little slack for clocks of other processes
    ca_key = key()
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("Sluice local CA"))
        .issuer_name(name("Sluice local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def leaf(common: str, usage: x509.ObjectIdentifier, sans: list[x509.GeneralName] | None):
        leaf_key = key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(common))
            .issuer_name(ca_cert.subject)
            .public_key(leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(now + datetime.timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return leaf_key, builder.sign(ca_key, hashes.SHA256())

    server_key, server_cert = leaf("localhost", ExtendedKeyUsageOID.SERVER_AUTH,
                                   [x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")), x509.DNSName("localhost")])
    client_key, client_cert = leaf("sluice", ExtendedKeyUsageOID.CLIENT_AUTH, None)

    write_private(files.ca_key, pem_key(ca_key))
    write_private(files.server_key, pem_key(server_key))
    write_private(files.server_keystore, pem_key(server_key) + pem_cert(server_cert))
    write_private(files.client_key, pem_key(client_key))
    # Certificates are public; the CA last (see ensure_tls).
    files.server_cert.write_bytes(pem_cert(server_cert))
    files.client_cert.write_bytes(pem_cert(client_cert))
    files.ca.write_bytes(pem_cert(ca_cert))
