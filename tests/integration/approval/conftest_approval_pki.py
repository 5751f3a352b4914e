"""A test PKI for the approval tests (test use only), laid out like the exchange vectors.

Follows ``spec/exchange/make_vectors.py`` (``name()``, ``make_cert()``): a CA, officials'
personal certificates (nonRepudiation, ``organizationIdentifier`` = agency, ``serialNumber``
= ``CCCD:<personal ID>``) and node certificates (digitalSignature only). Keys are P-256
(ES256), generated in memory; :meth:`TestPki.write_p12` writes a PKCS#12 for the CLI.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from hoso.exchange.signing import KeySigner
from hoso.exchange.trust import TrustStore


def name(cn: str, org: str, org_id: str | None, personal_id: str | None = None) -> x509.Name:
    """A subject as in the vectors: C, O, CN, organizationIdentifier, serialNumber."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if org_id:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_id))
    if personal_id:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"CCCD:{personal_id}"))
    return x509.Name(attrs)


def make_cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer_name: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int,
    personal: bool = False,
) -> x509.Certificate:
    """A certificate with the vectors' extensions (basicConstraints, keyUsage)."""
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=personal,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(issuer_key, hashes.SHA256())
    )


class TestPki:
    """A CA that issues officials' and nodes' certificates on demand."""

    __test__ = False  # not a test class

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.now = dt.datetime.now(dt.UTC)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_name = name("hoso test CA (approval)", "hoso test", None)
        self.ca = make_cert(
            self.ca_name,
            self.ca_key,
            self.ca_name,
            self.ca_key,
            ca=True,
            not_before=self.now - dt.timedelta(days=30),
            not_after=self.now + dt.timedelta(days=3650),
            serial=1,
        )
        self.ca_path = folder / "approval-ca.crt.pem"
        self.ca_path.write_bytes(self.ca.public_bytes(serialization.Encoding.PEM))
        self._serial = 100

    def trust(self) -> TrustStore:
        """A trust store with this CA as its only anchor."""
        return TrustStore([self.ca])

    def _issue(
        self, subject: x509.Name, *, personal: bool
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        self._serial += 1
        key = ec.generate_private_key(ec.SECP256R1())
        cert = make_cert(
            subject,
            key,
            self.ca_name,
            self.ca_key,
            ca=False,
            not_before=self.now - dt.timedelta(days=1),
            not_after=self.now + dt.timedelta(days=365),
            serial=self._serial,
            personal=personal,
        )
        return key, cert

    def official(self, personal_id: str, agency: str, cn: str) -> KeySigner:
        """An official's personal signing certificate (chain: leaf, CA)."""
        key, cert = self._issue(name(cn, f"Cơ quan {agency}", agency, personal_id), personal=True)
        return KeySigner(key, [cert, self.ca])

    def node(self, agency: str) -> KeySigner:
        """A node certificate of ``agency`` (never an approval)."""
        key, cert = self._issue(name(f"HRM {agency}", f"Cơ quan {agency}", agency), personal=False)
        return KeySigner(key, [cert, self.ca])

    def write_p12(self, signer: KeySigner, file_name: str, password: bytes) -> Path:
        """Write ``signer``'s key and chain as a PKCS#12 file; return its path."""
        key = signer._key  # test helper: the key this PKI generated
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        chain = list(signer.chain)
        data = pkcs12.serialize_key_and_certificates(
            b"official",
            key,
            chain[0],
            chain[1:],
            serialization.BestAvailableEncryption(password),
        )
        path = self.folder / file_name
        path.write_bytes(data)
        return path
