"""Who signs: the ``Signer`` protocol and its software implementation.

A signer holds a private key somewhere (a PKCS#12 file, a PEM pair, a PKCS#11 hardware
token: ``hoso.exchange.pkcs11``) and the certificate chain that goes with it, leaf first.
It only turns a JWS signing input into raw JWS signature bytes; building the JWS itself is
:mod:`hoso.exchange.jws`'s job, so every signer produces byte-compatible tokens.

Officials in Vietnam sign with USB tokens issued by a licensed CA; nodes sign with a key
kept on the server (or an HSM). Both go through this one protocol.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import pkcs12

from hoso.errors import InvalidInput, Issue

SUPPORTED_ALGS = ("ES256", "RS256")


@runtime_checkable
class Signer(Protocol):
    """Something that signs JWS signing inputs with one key and presents its certificates."""

    @property
    def alg(self) -> str:
        """``ES256`` (P-256 key) or ``RS256`` (RSA key)."""
        ...

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """The signing certificate first, then its issuers (the trust anchor may be left out)."""
        ...

    def sign(self, signing_input: bytes) -> bytes:
        """The raw JWS signature of ``signing_input`` (``r || s`` for ES256)."""
        ...


def alg_for_key(public_key: object) -> str:
    """The JWS algorithm hoso uses for a public key type."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise ValueError("only P-256 EC keys are supported (ES256)")
        return "ES256"
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RS256"
    raise ValueError(f"unsupported key type {type(public_key).__name__}")


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, lowercase hex (the JWS ``kid``)."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


class KeySigner:
    """A signer over a private key held in memory (loaded from a PKCS#12 file or PEM)."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
        chain: Sequence[x509.Certificate],
    ) -> None:
        if not chain:
            raise ValueError("a signer needs its certificate")
        self._key = key
        self._chain = tuple(chain)
        self._alg = alg_for_key(key.public_key())
        spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if chain[0].public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
            raise ValueError("the certificate does not belong to the private key")

    @property
    def alg(self) -> str:
        """See :class:`Signer`."""
        return self._alg

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """See :class:`Signer`."""
        return self._chain

    def sign(self, signing_input: bytes) -> bytes:
        """See :class:`Signer`."""
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(self._key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return self._key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())


def _load_error(path: Path, en: str, vi: str) -> InvalidInput:
    return InvalidInput(
        message_vi=f"Không đọc được khóa ký '{path}': {vi}",
        message_en=f"Cannot load the signing key '{path}': {en}",
        issues=[
            Issue(
                field="signer", code="signer_invalid", message_vi=vi, message_en=en, value=str(path)
            )
        ],
    )


def load_pkcs12(path: Path, password: bytes | None) -> KeySigner:
    """A signer from a PKCS#12 (``.p12``/``.pfx``) file: key, certificate and its issuers."""
    try:
        loaded = pkcs12.load_pkcs12(path.read_bytes(), password)
    except (ValueError, OSError) as exc:
        raise _load_error(path, str(exc), "sai mật khẩu hoặc tệp không phải PKCS#12") from exc
    key = loaded.key
    if loaded.cert is None or not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise _load_error(
            path, "no EC/RSA key with a certificate", "thiếu khóa EC/RSA hoặc chứng thư"
        )
    chain = [loaded.cert.certificate, *(c.certificate for c in loaded.additional_certs)]
    return KeySigner(key, chain)


def load_pem(key_path: Path, cert_path: Path, password: bytes | None = None) -> KeySigner:
    """A signer from a PEM private key and a PEM file holding the chain, leaf first."""
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password)
        chain = x509.load_pem_x509_certificates(cert_path.read_bytes())
    except (ValueError, OSError, TypeError) as exc:
        raise _load_error(key_path, str(exc), "tệp khóa hoặc chứng thư không hợp lệ") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise _load_error(key_path, "not an EC or RSA key", "không phải khóa EC hoặc RSA")
    return KeySigner(key, chain)


def load_signer(spec: str, password: bytes | None = None) -> Signer:
    """A signer from a setting: ``path.p12``, ``key.pem,chain.pem`` or ``pkcs11:...`` (RFC 7512)."""
    if spec.startswith("pkcs11:"):
        from hoso.exchange import pkcs11

        signer: Signer = pkcs11.signer_from_uri(spec, pin=password.decode() if password else None)
        return signer
    if "," in spec:
        key_path, cert_path = spec.split(",", 1)
        return load_pem(Path(key_path), Path(cert_path), password)
    return load_pkcs12(Path(spec), password)
