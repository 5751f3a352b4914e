"""A test public-key infrastructure for development, tests and the demo (never production).

Certificates follow the layout of the exchange test vectors
(``spec/exchange/make_vectors.py``) and the subject rules of exchange README §3-4:

- **root CA**: EC P-256, ``basicConstraints`` CA (path length 0), key usage
  keyCertSign + cRLSign;
- **node certificate** (an agency system or the national database): EC P-256, key usage
  digitalSignature only, subject ``C=VN, O=<agency name>, CN=<system name>,
  organizationIdentifier=<agency code>``;
- **official's personal certificate** (*chứng thư số cá nhân*, used for approvals): RSA-2048
  or EC P-256, key usage digitalSignature + contentCommitment (nonRepudiation), subject
  ``C=VN, O=<agency name>, CN=<full name>, organizationIdentifier=<agency code>,
  serialNumber=CCCD:<12-digit personal ID>``.

Keys and certificates are saved as a password-protected PKCS#12 file (key, certificate
and the CA certificate as an additional certificate) plus the certificate in PEM. Every
password goes into its own file with mode 0600 (``<name>.pass``, usable as
``HOSO_NODE_SIGNER_PASSWORD_FILE`` or ``openssl -passin file:``) and into
``passwords.txt`` (0600); nothing secret is printed.

A PKI folder (``hoso pki init --dir DIR``, or :func:`make_test_pki` in tests)::

    DIR/ca.crt.pem  ca.key.pem (0600, unencrypted: test only)
    DIR/nodes/<agency code>.p12  .crt.pem  .pass
    DIR/officials/<personal id>.p12  .crt.pem  .pass
    DIR/passwords.txt  revoked.txt  pki.json (index: paths, subjects, thumbprints)

:func:`revoke` appends a certificate's SHA-256 thumbprint to the revoked file read by
:meth:`hoso.exchange.trust.TrustStore.from_files`.

Typical use in a test::

    pki = make_test_pki(tmp_path, agencies=[("000.00.00.H41", "UBND tỉnh Nghệ An")],
                        officials=[("000.00.00.H41", "040180001234", "Trần Thị Bình")])
    signer = pki.official_signer("040180001234")   # a KeySigner (RS256)
    trust = pki.trust()                              # CA as anchor + revoked.txt
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from hoso.errors import InvalidInput, Issue
from hoso.exchange import certificates
from hoso.exchange.signing import KeySigner, load_pkcs12, thumbprint
from hoso.exchange.trust import TrustStore

KeyType = Literal["ec", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey
Kind = Literal["ca", "node", "official"]

INDEX_SPEC = "hoso-pki/1"
CA_DAYS = 3650
DEFAULT_DAYS = 730
NATIONAL_SYSTEM_NAME = "CSDLQG về CBCCVC"
CA_SUBJECT_CN = "hoso test root CA (test only)"
CA_SUBJECT_O = "hoso test PKI"
#: Issued certificates start this long before "now", to tolerate clock skew between nodes.
BACKDATE = dt.timedelta(days=1)

_PERSONAL_ID = re.compile(r"^[0-9]{12}$")
_AGENCY_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z.\-_]*$")


def _invalid(field_name: str, value: str, vi: str, en: str) -> InvalidInput:
    return InvalidInput(
        message_vi=vi,
        message_en=en,
        issues=[
            Issue(field=field_name, code="pki_invalid", message_vi=vi, message_en=en, value=value)
        ],
    )


def check_personal_id(personal_id: str) -> str:
    """Return ``personal_id`` if it is 12 digits (a CCCD number); raise ``InvalidInput``."""
    if not _PERSONAL_ID.match(personal_id):
        raise _invalid(
            "personal_id",
            personal_id,
            f"Số định danh cá nhân '{personal_id}' phải gồm 12 chữ số",
            f"Personal ID '{personal_id}' must be 12 digits",
        )
    return personal_id


def check_agency_code(code: str) -> str:
    """Return ``code`` if it can name an agency and a file (``000.00.00.H41``); else raise."""
    if not _AGENCY_CODE.match(code):
        raise _invalid(
            "agency_code",
            code,
            f"Mã cơ quan '{code}' không hợp lệ",
            f"Agency code '{code}' is not valid",
        )
    return code


# ------------------------------------------------------------------ names and certificates


def subject_name(
    cn: str, org: str, org_id: str | None = None, personal_id: str | None = None
) -> x509.Name:
    """A subject laid out as in the vectors: C=VN, O, CN, organizationIdentifier, serialNumber."""
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


def node_subject(agency_code: str, agency_name: str, system_name: str | None = None) -> x509.Name:
    """Subject of a node certificate; CN defaults to ``HRM <agency name>``."""
    check_agency_code(agency_code)
    return subject_name(system_name or f"HRM {agency_name}", agency_name, agency_code)


def official_subject(
    agency_code: str, personal_id: str, full_name: str, agency_name: str | None = None
) -> x509.Name:
    """Subject of an official's personal certificate (O defaults to the agency code)."""
    check_agency_code(agency_code)
    check_personal_id(personal_id)
    return subject_name(full_name, agency_name or agency_code, agency_code, personal_id)


def generate_key(key_type: KeyType = "ec") -> PrivateKey:
    """A new EC P-256 (``ec``) or RSA-2048 (``rsa``) private key."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unknown key type {key_type!r}")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclass(frozen=True)
class CertificateAuthority:
    """The test root CA: its key and self-signed certificate; issues node and personal certs."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def generate(
        cls,
        *,
        common_name: str = CA_SUBJECT_CN,
        organization: str = CA_SUBJECT_O,
        days: int = CA_DAYS,
        now: dt.datetime | None = None,
    ) -> CertificateAuthority:
        """A new self-signed root CA valid for ``days`` from ``now`` (minus :data:`BACKDATE`)."""
        now = now or _utcnow()
        key = ec.generate_private_key(ec.SECP256R1())
        name = subject_name(common_name, organization)
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True, personal=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, cert=cert)

    @classmethod
    def load(cls, cert_path: Path, key_path: Path) -> CertificateAuthority:
        """The CA saved by :meth:`save` (PEM certificate, unencrypted PKCS#8 PEM key)."""
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise _invalid(
                "ca_key",
                str(key_path),
                f"Khóa CA '{key_path}' không phải khóa EC",
                f"CA key '{key_path}' is not an EC key",
            )
        return cls(key=key, cert=cert)

    def save(self, cert_path: Path, key_path: Path) -> None:
        """Write the certificate (PEM) and the key (PEM, mode 0600)."""
        write_file(cert_path, pem(self.cert))
        write_secret(
            key_path,
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        )

    def issue(
        self,
        subject: x509.Name,
        public_key: PublicKey,
        *,
        personal: bool,
        days: int = DEFAULT_DAYS,
        now: dt.datetime | None = None,
        not_before: dt.datetime | None = None,
        not_after: dt.datetime | None = None,
    ) -> x509.Certificate:
        """A leaf certificate for ``public_key`` (the key may live elsewhere, e.g. on a token).

        ``personal`` adds contentCommitment (nonRepudiation) to digitalSignature. Validity:
        ``not_before`` (default ``now`` minus :data:`BACKDATE`) to ``not_after`` (default
        ``now + days``), never beyond the CA's own end.
        """
        now = now or _utcnow()
        start = not_before or now - BACKDATE
        end = min(not_after or now + dt.timedelta(days=days), self.cert.not_valid_after_utc)
        ca_ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(ca=False, personal=personal), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )


def _key_usage(*, ca: bool, personal: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=personal,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


# ------------------------------------------------------------------ files


def pem(cert: x509.Certificate) -> bytes:
    """The PEM encoding of a certificate."""
    return cert.public_bytes(serialization.Encoding.PEM)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_secret(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (mode 0600, also when it existed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
    finally:
        os.close(fd)


def new_password() -> str:
    """A random password for a PKCS#12 file (URL-safe, 24 characters)."""
    return secrets.token_urlsafe(18)


def write_pkcs12(
    path: Path,
    key: PrivateKey,
    chain: Sequence[x509.Certificate],
    password: str,
    *,
    friendly_name: str | None = None,
) -> None:
    """Save ``key`` with ``chain`` (leaf first; issuers as additional certs), encrypted (0600)."""
    data = pkcs12.serialize_key_and_certificates(
        (friendly_name or "hoso").encode("utf-8"),
        key,
        chain[0],
        list(chain[1:]),
        serialization.BestAvailableEncryption(password.encode("utf-8")),
    )
    write_secret(path, data)


def revoke(cert: x509.Certificate, revoked_file: Path, *, reason: str = "") -> bool:
    """Append ``cert``'s SHA-256 thumbprint to ``revoked_file``; False if it was already there.

    The file format is the one :meth:`TrustStore.from_files` reads: one thumbprint a line,
    ``#`` starts a comment (here: the subject, the date and the reason).
    """
    tp = thumbprint(cert)
    existing = revoked_thumbprints(revoked_file)
    if tp in existing:
        return False
    comment = f"{dn(cert.subject)} revoked {_utcnow():%Y-%m-%dT%H:%M:%SZ}"
    if reason:
        comment += f" ({reason})"
    revoked_file.parent.mkdir(parents=True, exist_ok=True)
    prefix = ""
    if revoked_file.exists():
        text = revoked_file.read_text(encoding="utf-8")
        if text and not text.endswith("\n"):
            prefix = "\n"
    with revoked_file.open("a", encoding="utf-8") as f:
        f.write(f"{prefix}{tp}  # {comment.replace(chr(10), ' ')}\n")
    return True


def revoked_thumbprints(revoked_file: Path) -> set[str]:
    """The entries of a revoked file (lowercase), empty when the file does not exist."""
    if not revoked_file.exists():
        return set()
    out: set[str] = set()
    for line in revoked_file.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            out.add(entry)
    return out


# ------------------------------------------------------------------ describing certificates


@dataclass(frozen=True)
class CertInfo:
    """What ``hoso pki show`` prints about a certificate."""

    subject: str
    issuer: str
    serial: str
    not_before: dt.datetime
    not_after: dt.datetime
    thumbprint: str
    key_type: str
    key_usage: tuple[str, ...]
    kind: Kind
    agency_codes: tuple[str, ...]
    personal_id: str | None
    common_name: str | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (timestamps as RFC 3339 ``Z``)."""
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "not_before": _z(self.not_before),
            "not_after": _z(self.not_after),
            "thumbprint": self.thumbprint,
            "key_type": self.key_type,
            "key_usage": list(self.key_usage),
            "kind": self.kind,
            "agency_codes": list(self.agency_codes),
            "personal_id": self.personal_id,
            "common_name": self.common_name,
        }


_DN_NAMES = {
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.SERIAL_NUMBER: "serialNumber",
}


def dn(name: x509.Name) -> str:
    """RFC 4514 form of a name, spelling out organizationIdentifier and serialNumber."""
    return name.rfc4514_string(attr_name_overrides=_DN_NAMES)


def _z(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_USAGE_NAMES = (
    ("digital_signature", "digitalSignature"),
    ("content_commitment", "contentCommitment (nonRepudiation)"),
    ("key_encipherment", "keyEncipherment"),
    ("data_encipherment", "dataEncipherment"),
    ("key_agreement", "keyAgreement"),
    ("key_cert_sign", "keyCertSign"),
    ("crl_sign", "cRLSign"),
)


def describe(cert: x509.Certificate) -> CertInfo:
    """Subject, validity, thumbprint, key usage and hoso's reading of a certificate."""
    try:
        ku: x509.KeyUsage | None = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    usages = tuple(label for attr, label in _USAGE_NAMES if ku is not None and getattr(ku, attr))
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    kind: Kind = "ca" if is_ca else "official" if certificates.is_personal(cert) else "node"
    pub = cert.public_key()
    if isinstance(pub, rsa.RSAPublicKey):
        key_type = f"RSA-{pub.key_size}"
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key_type = f"EC {pub.curve.name}"
    else:
        key_type = type(pub).__name__
    return CertInfo(
        subject=dn(cert.subject),
        issuer=dn(cert.issuer),
        serial=f"{cert.serial_number:x}",
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        thumbprint=thumbprint(cert),
        key_type=key_type,
        key_usage=usages,
        kind=kind,
        agency_codes=tuple(certificates.agency_codes(cert)),
        personal_id=certificates.personal_id(cert),
        common_name=certificates.common_name(cert),
    )


# ------------------------------------------------------------------ a PKI folder


@dataclass(frozen=True)
class Agency:
    """An agency a node certificate is made for (``code``: ``000.00.00.H41``)."""

    code: str
    name: str
    system_name: str | None = None
    """CN of the node certificate; default ``HRM <name>`` (national: ``CSDLQG về CBCCVC``)."""

    national: bool = False


@dataclass(frozen=True)
class Official:
    """An official who gets a personal certificate of ``agency_code``."""

    agency_code: str
    personal_id: str
    name: str


@dataclass
class Issued:
    """One issued certificate in a PKI folder: files, certificate and (when known) its signer.

    ``p12_path``/``password_file`` are None for a certificate issued for a key kept
    elsewhere (a hardware token). ``signer`` is loaded lazily from the PKCS#12 file.
    """

    kind: Kind
    key: str
    """Agency code (node) or personal ID (official)."""

    cert: x509.Certificate
    cert_path: Path
    p12_path: Path | None
    password_file: Path | None
    chain: tuple[x509.Certificate, ...]
    agency_code: str
    name: str
    national: bool = False
    _signer: KeySigner | None = field(default=None, repr=False)

    @property
    def password(self) -> bytes:
        """The PKCS#12 password (read from ``password_file``)."""
        if self.password_file is None:
            raise ValueError(f"{self.key}: no PKCS#12 file (key kept elsewhere)")
        return self.password_file.read_bytes().strip()

    @property
    def signer(self) -> KeySigner:
        """A :class:`KeySigner` over this certificate's key (chain: leaf, CA)."""
        if self._signer is None:
            if self.p12_path is None:
                raise ValueError(f"{self.key}: no PKCS#12 file (key kept elsewhere)")
            self._signer = load_pkcs12(self.p12_path, self.password)
        return self._signer

    @property
    def thumbprint(self) -> str:
        """SHA-256 thumbprint of the certificate (hex)."""
        return thumbprint(self.cert)

    def index_entry(self, root: Path) -> dict[str, Any]:
        """This certificate's entry in ``pki.json`` (paths relative to the PKI folder)."""

        def rel(p: Path | None) -> str | None:
            return None if p is None else str(p.relative_to(root))

        info = describe(self.cert)
        entry: dict[str, Any] = {
            "kind": self.kind,
            "agency_code": self.agency_code,
            "name": self.name,
            "cert": rel(self.cert_path),
            "p12": rel(self.p12_path),
            "password_file": rel(self.password_file),
            "subject": info.subject,
            "thumbprint": info.thumbprint,
            "serial": info.serial,
            "key_type": info.key_type,
            "not_before": _z(info.not_before),
            "not_after": _z(info.not_after),
        }
        if self.kind == "node":
            entry["national"] = self.national
        else:
            entry["personal_id"] = self.key
        return entry


class TestPki:
    """A test PKI in a folder: the CA, node and official certificates, revocations, index.

    Attributes: ``dir``; ``ca`` (:class:`CertificateAuthority`); paths ``ca_cert_path``
    (the trust anchor, ``ca.crt.pem``), ``ca_key_path``, ``revoked_path`` (``revoked.txt``),
    ``passwords_path`` (``passwords.txt``), ``index_path`` (``pki.json``); ``nodes`` (agency
    code → :class:`Issued`) and ``officials`` (personal ID → :class:`Issued`).

    Open or create one with :meth:`open`; add certificates with :meth:`add_node` and
    :meth:`add_official` (both keep an existing certificate unless ``replace=True``). Every
    change rewrites ``pki.json``. Not thread-safe; meant for one CLI run or one test.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path, ca: CertificateAuthority) -> None:
        """Use :meth:`open` instead."""
        self.dir = root
        self.ca = ca
        self.nodes: dict[str, Issued] = {}
        self.officials: dict[str, Issued] = {}
        self.created: list[str] = []
        """Human-readable list of what this instance created (for the CLI summary)."""
        self.now: dt.datetime | None = None
        """Fixed clock for new certificates (None: the current time)."""

    # paths
    @property
    def ca_cert_path(self) -> Path:
        """The CA certificate (PEM): the trust anchor to configure (``HOSO_TRUST_ANCHORS``)."""
        return self.dir / "ca.crt.pem"

    @property
    def ca_key_path(self) -> Path:
        """The CA private key (PEM, 0600)."""
        return self.dir / "ca.key.pem"

    @property
    def revoked_path(self) -> Path:
        """The revoked-certificates file (``HOSO_REVOKED_FILE``)."""
        return self.dir / "revoked.txt"

    @property
    def passwords_path(self) -> Path:
        """All PKCS#12 passwords, ``<relative p12 path> <password>`` a line (0600)."""
        return self.dir / "passwords.txt"

    @property
    def index_path(self) -> Path:
        """``pki.json``: what the folder holds."""
        return self.dir / "pki.json"

    @classmethod
    def open(cls, root: Path, *, create: bool = True, now: dt.datetime | None = None) -> TestPki:
        """Load the PKI in ``root``; when there is none and ``create``, make a new CA there.

        ``now`` fixes the clock of the CA and of every certificate issued later through
        this instance (``TestPki.now``).
        """
        root = Path(root)
        cert_path, key_path = root / "ca.crt.pem", root / "ca.key.pem"
        if cert_path.exists() and key_path.exists():
            pki = cls(root, CertificateAuthority.load(cert_path, key_path))
            pki.now = now
            pki._load_index()
            return pki
        if cert_path.exists() or key_path.exists():
            raise _invalid(
                "dir",
                str(root),
                f"Thư mục '{root}' chỉ có một trong hai tệp ca.crt.pem, ca.key.pem",
                f"Folder '{root}' holds only one of ca.crt.pem, ca.key.pem",
            )
        if not create:
            raise _invalid(
                "dir",
                str(root),
                f"Thư mục '{root}' chưa có CA (chạy 'hoso pki init')",
                f"Folder '{root}' has no CA (run 'hoso pki init')",
            )
        root.mkdir(parents=True, exist_ok=True)
        ca = CertificateAuthority.generate(now=now)
        ca.save(cert_path, key_path)
        pki = cls(root, ca)
        pki.now = now
        pki.created.append(f"CA {dn(ca.cert.subject)}")
        if not pki.revoked_path.exists():
            write_file(pki.revoked_path, b"# revoked certificates: SHA-256 thumbprint a line\n")
        pki.save_index()
        return pki

    def _load_index(self) -> None:
        if not self.index_path.exists():
            return
        data = json.loads(self.index_path.read_text(encoding="utf-8"))
        for section, target in (("nodes", self.nodes), ("officials", self.officials)):
            for key, entry in data.get(section, {}).items():
                cert_path = self.dir / entry["cert"]
                if not cert_path.exists():
                    continue
                cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
                target[key] = Issued(
                    kind=entry["kind"],
                    key=key,
                    cert=cert,
                    cert_path=cert_path,
                    p12_path=self.dir / entry["p12"] if entry.get("p12") else None,
                    password_file=(
                        self.dir / entry["password_file"] if entry.get("password_file") else None
                    ),
                    chain=(cert, self.ca.cert),
                    agency_code=entry["agency_code"],
                    name=entry["name"],
                    national=bool(entry.get("national", False)),
                )

    def index(self) -> dict[str, Any]:
        """The content of ``pki.json``."""
        info = describe(self.ca.cert)
        return {
            "spec": INDEX_SPEC,
            "note": "test PKI: never use these keys in production",
            "ca": {
                "cert": "ca.crt.pem",
                "key": "ca.key.pem",
                "subject": info.subject,
                "thumbprint": info.thumbprint,
                "not_before": _z(info.not_before),
                "not_after": _z(info.not_after),
            },
            "revoked_file": "revoked.txt",
            "passwords_file": "passwords.txt",
            "nodes": {k: v.index_entry(self.dir) for k, v in sorted(self.nodes.items())},
            "officials": {k: v.index_entry(self.dir) for k, v in sorted(self.officials.items())},
        }

    def save_index(self) -> None:
        """Rewrite ``pki.json`` and ``passwords.txt``."""
        text = json.dumps(self.index(), ensure_ascii=False, indent=2) + "\n"
        write_file(self.index_path, text.encode("utf-8"))
        lines = [
            f"{item.p12_path.relative_to(self.dir)} {item.password.decode('utf-8')}\n"
            for item in [*self.nodes.values(), *self.officials.values()]
            if item.p12_path is not None and item.password_file is not None
        ]
        write_secret(self.passwords_path, "".join(sorted(lines)).encode("utf-8"))

    def agency_name(self, code: str) -> str | None:
        """The agency's name as recorded for its node certificate (None if unknown)."""
        node = self.nodes.get(code)
        return node.name if node else None

    def _write_issued(
        self,
        kind: Kind,
        key_name: str,
        folder: str,
        cert: x509.Certificate,
        private_key: PrivateKey | None,
        *,
        agency_code: str,
        name: str,
        national: bool = False,
    ) -> Issued:
        base = self.dir / folder / key_name
        cert_path = base.with_name(f"{key_name}.crt.pem")
        write_file(cert_path, pem(cert))
        p12_path = password_file = None
        signer = None
        chain = (cert, self.ca.cert)
        if private_key is not None:
            password = new_password()
            p12_path = base.with_name(f"{key_name}.p12")
            password_file = base.with_name(f"{key_name}.pass")
            write_secret(password_file, (password + "\n").encode("utf-8"))
            write_pkcs12(p12_path, private_key, chain, password, friendly_name=key_name)
            signer = KeySigner(private_key, chain)
        return Issued(
            kind=kind,
            key=key_name,
            cert=cert,
            cert_path=cert_path,
            p12_path=p12_path,
            password_file=password_file,
            chain=chain,
            agency_code=agency_code,
            name=name,
            national=national,
            _signer=signer,
        )

    def add_node(
        self,
        agency: Agency,
        *,
        days: int = DEFAULT_DAYS,
        public_key: PublicKey | None = None,
        replace: bool = False,
        now: dt.datetime | None = None,
    ) -> Issued:
        """The node certificate of ``agency`` (EC P-256), issued unless it exists.

        ``public_key``: certify a key kept elsewhere (no PKCS#12 is written).
        """
        check_agency_code(agency.code)
        existing = self.nodes.get(agency.code)
        if existing is not None and not replace:
            return existing
        system = agency.system_name or (NATIONAL_SYSTEM_NAME if agency.national else None)
        subject = node_subject(agency.code, agency.name, system)
        private_key = None
        if public_key is None:
            private_key = ec.generate_private_key(ec.SECP256R1())
            public_key = private_key.public_key()
        cert = self.ca.issue(subject, public_key, personal=False, days=days, now=now or self.now)
        issued = self._write_issued(
            "node",
            agency.code,
            "nodes",
            cert,
            private_key,
            agency_code=agency.code,
            name=agency.name,
            national=agency.national,
        )
        self.nodes[agency.code] = issued
        self.created.append(f"node {agency.code}: {dn(cert.subject)}")
        self.save_index()
        return issued

    def add_official(
        self,
        official: Official,
        *,
        agency_name: str | None = None,
        key_type: KeyType = "rsa",
        days: int = DEFAULT_DAYS,
        public_key: PublicKey | None = None,
        replace: bool = False,
        now: dt.datetime | None = None,
    ) -> Issued:
        """The personal certificate of ``official``, issued unless it exists.

        O= is ``agency_name``, else the name recorded for the agency's node, else its code.
        ``public_key``: certify a key kept elsewhere (a token); no PKCS#12 is written.
        """
        existing = self.officials.get(official.personal_id)
        if existing is not None and not replace:
            return existing
        org = agency_name or self.agency_name(official.agency_code)
        subject = official_subject(official.agency_code, official.personal_id, official.name, org)
        private_key = None
        if public_key is None:
            private_key = generate_key(key_type)
            public_key = private_key.public_key()
        cert = self.ca.issue(subject, public_key, personal=True, days=days, now=now or self.now)
        issued = self._write_issued(
            "official",
            official.personal_id,
            "officials",
            cert,
            private_key,
            agency_code=official.agency_code,
            name=official.name,
        )
        self.officials[official.personal_id] = issued
        self.created.append(f"official {official.personal_id}: {dn(cert.subject)}")
        self.save_index()
        return issued

    # conveniences for tests
    def node_signer(self, agency_code: str) -> KeySigner:
        """The signer of an agency's node certificate."""
        return self.nodes[agency_code].signer

    def official_signer(self, personal_id: str) -> KeySigner:
        """The signer of an official's personal certificate."""
        return self.officials[personal_id].signer

    def node(self, agency_code: str, name: str | None = None) -> KeySigner:
        """The node signer of ``agency_code``, issuing its certificate first if needed."""
        return self.add_node(Agency(agency_code, name or f"Cơ quan {agency_code}")).signer

    def official(
        self, personal_id: str, agency_code: str, name: str, *, key_type: KeyType = "ec"
    ) -> KeySigner:
        """An official's signer, issuing the certificate first if needed (EC by default: fast)."""
        return self.add_official(Official(agency_code, personal_id, name), key_type=key_type).signer

    def revoke(self, item: Issued | x509.Certificate | str, *, reason: str = "") -> bool:
        """Revoke a certificate (an :class:`Issued`, a certificate, or an agency code/personal ID)."""
        if isinstance(item, str):
            found = self.officials.get(item) or self.nodes.get(item)
            if found is None:
                raise KeyError(item)
            item = found
        cert = item.cert if isinstance(item, Issued) else item
        return revoke(cert, self.revoked_path, reason=reason)

    def trust(self) -> TrustStore:
        """A trust store with this CA as anchor and the current revoked file."""
        return TrustStore.from_files([self.ca_cert_path], self.revoked_path)


def _as_agency(item: Agency | tuple[str, str]) -> Agency:
    return item if isinstance(item, Agency) else Agency(item[0], item[1])


def _as_official(item: Official | tuple[str, str, str]) -> Official:
    return item if isinstance(item, Official) else Official(item[0], item[1], item[2])


def init_pki(
    root: Path,
    *,
    agencies: Iterable[Agency | tuple[str, str]] = (),
    national: Agency | tuple[str, str] | None = None,
    officials: Iterable[Official | tuple[str, str, str]] = (),
    days: int = DEFAULT_DAYS,
    official_key_type: KeyType = "rsa",
    now: dt.datetime | None = None,
) -> TestPki:
    """Create (or complete) the PKI in ``root``: CA, node and official certificates.

    Idempotent: an existing CA and existing certificates are kept; only what is missing is
    made (``TestPki.created`` lists it). ``agencies``/``officials`` take :class:`Agency` /
    :class:`Official` or tuples ``(code, name)`` / ``(agency_code, personal_id, name)``.
    """
    pki = TestPki.open(root, now=now)
    for a in agencies:
        pki.add_node(_as_agency(a), days=days, now=now)
    if national is not None:
        n = _as_agency(national)
        pki.add_node(Agency(n.code, n.name, n.system_name, national=True), days=days, now=now)
    for o in officials:
        pki.add_official(_as_official(o), key_type=official_key_type, days=days, now=now)
    return pki


def make_test_pki(
    root: Path,
    agencies: Iterable[Agency | tuple[str, str]] = (),
    officials: Iterable[Official | tuple[str, str, str]] = (),
    *,
    national: Agency | tuple[str, str] | None = None,
    days: int = DEFAULT_DAYS,
    official_key_type: KeyType = "rsa",
    now: dt.datetime | None = None,
) -> TestPki:
    """A test PKI in ``root`` with loaded signers (same as :func:`init_pki`, for tests).

    ``pki.node_signer(code)`` / ``pki.official_signer(personal_id)`` are ready
    :class:`KeySigner` s; ``pki.trust()`` trusts the CA and honours ``pki.revoke(...)``;
    ``pki.ca_cert_path`` / ``pki.revoked_path`` are what ``HOSO_TRUST_ANCHORS`` /
    ``HOSO_REVOKED_FILE`` point at; ``pki.nodes[code].p12_path`` / ``.password_file`` are
    what ``HOSO_NODE_SIGNER`` / ``HOSO_NODE_SIGNER_PASSWORD_FILE`` point at. ``now`` fixes
    the clock (certificates valid from ``now - 1 day``).
    """
    return init_pki(
        root,
        agencies=agencies,
        national=national,
        officials=officials,
        days=days,
        official_key_type=official_key_type,
        now=now,
    )
