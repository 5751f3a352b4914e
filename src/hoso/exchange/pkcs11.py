"""Signing with a PKCS#11 hardware token (USB token, smart card, HSM) through python-pkcs11.

Officials in Vietnam sign with USB tokens issued by a licensed CA; the private key never
leaves the token. :class:`Pkcs11Signer` implements :class:`hoso.exchange.signing.Signer`
over such a key:

- it loads the token's PKCS#11 module (a shared library), finds the token by label (or
  serial), logs in with the user PIN and keeps that session open;
- it finds the private key by label and/or ``CKA_ID``;
- ES256 signs the SHA-256 digest of the signing input with ``CKM_ECDSA`` (the token returns
  ``r || s``, 64 bytes for P-256, which is what JWS wants); RS256 signs with
  ``CKM_SHA256_RSA_PKCS`` (or ``CKM_RSA_PKCS`` over a DigestInfo when the token lacks it);
- the certificate chain is read from the token (the ``CKO_CERTIFICATE`` with the key's
  ``CKA_ID``, else its label, then any issuers stored beside it) or from a PEM file.

Sign calls are serialised with a lock (a PKCS#11 session runs one operation at a time); a
session lost to a removed token is reopened once. PKCS#11 login state is per process and
token: a second signer on a token this process is already logged in to shares that login.

Configuration is an RFC 7512 URI (:func:`signer_from_uri`), e.g. ``HOSO_NODE_SIGNER``::

    pkcs11:token=hoso;object=node;id=%01?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/pin

with ``HOSO_NODE_SIGNER_PASSWORD_FILE`` holding the PIN (it takes precedence over
``pin-value``/``pin-source``). The vendor query attribute ``x-chain-file`` names a PEM file
with the chain (leaf first) when the token holds no certificate.

:func:`generate_keypair` and :func:`store_certificate` enrol a token (the key is generated
on the token; the CA certifies its public key, see :mod:`hoso.exchange.pki`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_to_bytes

import pkcs11
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass, TokenFlag
from pkcs11 import exceptions as p11e
from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters
from pkcs11.util.x509 import decode_x509_certificate

from hoso.errors import HosoError, InvalidInput, Issue
from hoso.exchange.signing import alg_for_key

#: DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1), for tokens without CKM_SHA256_RSA_PKCS.
_SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")

_PATH_ATTRS = {
    "id",
    "library-description",
    "library-manufacturer",
    "library-version",
    "manufacturer",
    "model",
    "object",
    "serial",
    "slot-description",
    "slot-id",
    "slot-manufacturer",
    "token",
    "type",
}
_QUERY_ATTRS = {"pin-source", "pin-value", "module-name", "module-path"}
_SESSION_LOST = (
    p11e.SessionHandleInvalid,
    p11e.SessionClosed,
    p11e.UserNotLoggedIn,
    p11e.DeviceRemoved,
    p11e.TokenNotPresent,
    p11e.KeyHandleInvalid,
    p11e.ObjectHandleInvalid,
)


def _invalid(code: str, vi: str, en: str, value: Any = None) -> InvalidInput:
    return InvalidInput(
        message_vi=vi,
        message_en=en,
        issues=[Issue(field="signer", code=code, message_vi=vi, message_en=en, value=value)],
    )


# ------------------------------------------------------------------ RFC 7512 URIs


@dataclass(frozen=True)
class Pkcs11Uri:
    """The parts of an RFC 7512 ``pkcs11:`` URI hoso uses (percent-decoded)."""

    module_path: str | None = None
    token: str | None = None
    serial: str | None = None
    object: str | None = None
    id: bytes | None = None
    type: str | None = None
    pin_value: str | None = None
    pin_source: str | None = None
    chain_file: str | None = None
    """Vendor attribute ``x-chain-file``: PEM chain, leaf first."""

    def pin(self) -> str | None:
        """``pin-value``, else the first line of the ``pin-source`` file (``file:`` optional)."""
        if self.pin_value is not None:
            return self.pin_value
        if self.pin_source is None:
            return None
        source = self.pin_source
        if source.startswith("file://"):
            source = source[len("file://") :]
        elif source.startswith("file:"):
            source = source[len("file:") :]
        if source.startswith("|"):
            raise _invalid(
                "pkcs11_uri",
                "pin-source dạng lệnh '|...' không được hỗ trợ",
                "a '|command' pin-source is not supported",
            )
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise _invalid(
                "pkcs11_pin",
                f"Không đọc được tệp mã PIN '{source}'",
                f"Cannot read the PIN file '{source}'",
                source,
            ) from exc
        return lines[0].strip() if lines else ""


def parse_uri(uri: str) -> Pkcs11Uri:
    """Parse an RFC 7512 URI: ``pkcs11:path-attrs[?query-attrs]`` (``;``/``&`` separated).

    Unknown standard attributes are refused (RFC 7512 §3.3: a URI with an attribute the
    consumer does not understand must not match anything); ``x-`` vendor attributes other
    than ``x-chain-file`` are ignored.
    """
    if not uri.startswith("pkcs11:"):
        raise _invalid(
            "pkcs11_uri",
            f"'{uri[:40]}' không phải URI pkcs11:",
            f"'{uri[:40]}' is not a pkcs11: URI",
        )
    rest = uri[len("pkcs11:") :]
    path, _, query = rest.partition("?")
    values: dict[str, str] = {}
    raw_id: bytes | None = None
    for part, allowed, sep in ((path, _PATH_ATTRS, ";"), (query, _QUERY_ATTRS, "&")):
        for item in filter(None, part.split(sep)):
            name, eq, raw = item.partition("=")
            name = name.strip().lower()
            if not eq:
                raise _invalid(
                    "pkcs11_uri",
                    f"Thuộc tính '{name}' của URI thiếu '='",
                    f"URI attribute '{name}' lacks '='",
                )
            if name not in allowed and not name.startswith("x-"):
                raise _invalid(
                    "pkcs11_uri",
                    f"Thuộc tính '{name}' của URI PKCS#11 không được hỗ trợ",
                    f"PKCS#11 URI attribute '{name}' is not supported",
                    name,
                )
            if name in values or (name == "id" and raw_id is not None):
                raise _invalid(
                    "pkcs11_uri",
                    f"Thuộc tính '{name}' xuất hiện hai lần",
                    f"Attribute '{name}' appears twice",
                    name,
                )
            if name == "id":
                raw_id = unquote_to_bytes(raw)
                continue
            try:
                values[name] = unquote(raw, errors="strict")
            except UnicodeDecodeError as exc:
                raise _invalid(
                    "pkcs11_uri",
                    f"Giá trị của '{name}' không phải UTF-8",
                    f"The value of '{name}' is not UTF-8",
                ) from exc
    module_path = values.get("module-path") or values.get("module-name")
    return Pkcs11Uri(
        module_path=module_path,
        token=values.get("token"),
        serial=values.get("serial"),
        object=values.get("object"),
        id=raw_id,
        type=values.get("type"),
        pin_value=values.get("pin-value"),
        pin_source=values.get("pin-source"),
        chain_file=values.get("x-chain-file"),
    )


# ------------------------------------------------------------------ sessions


def _load_library(module_path: str) -> Any:
    try:
        return pkcs11.lib(module_path)
    except p11e.PKCS11Error as exc:
        raise _invalid(
            "pkcs11_module",
            f"Không nạp được thư viện PKCS#11 '{module_path}'",
            f"Cannot load the PKCS#11 module '{module_path}'",
            module_path,
        ) from exc


def _find_token(lib: Any, label: str | None, serial: str | None) -> Any:
    kwargs: dict[str, Any] = {}
    if label is not None:
        kwargs["token_label"] = label
    if serial is not None:
        kwargs["token_serial"] = serial.encode("ascii")
    what = label or serial or "?"
    try:
        return lib.get_token(**kwargs)
    except p11e.NoSuchToken as exc:
        raise _invalid(
            "pkcs11_token",
            f"Không tìm thấy thiết bị ký số (token) '{what}'",
            f"Token '{what}' not found",
            what,
        ) from exc
    except p11e.MultipleTokensReturned as exc:
        raise _invalid(
            "pkcs11_token",
            "Có nhiều thiết bị ký số: hãy chỉ rõ token=... trong URI",
            "Several tokens are present: name one with token=... in the URI",
            what,
        ) from exc


def _open_session(token: Any, pin: str | None, *, rw: bool = False) -> Any:
    """A session on ``token``, logged in as the user when a PIN is given."""
    label = token.label
    if pin is None:
        if token.flags & TokenFlag.LOGIN_REQUIRED:
            raise _invalid(
                "pkcs11_pin",
                f"Cần mã PIN của thiết bị ký số '{label}'",
                f"The PIN of token '{label}' is required",
                label,
            )
        return token.open(rw=rw)
    try:
        return token.open(rw=rw, user_pin=pin)
    except (p11e.UserAlreadyLoggedIn, p11e.AnotherUserAlreadyLoggedIn):
        # Login state is per process: this process is already logged in to the token.
        return token.open(rw=rw)
    except (p11e.PinIncorrect, p11e.PinInvalid, p11e.PinLenRange) as exc:
        raise _invalid(
            "pkcs11_pin",
            f"Sai mã PIN của thiết bị ký số '{label}'",
            f"Wrong PIN for token '{label}'",
            label,
        ) from exc
    except p11e.PinLocked as exc:
        raise _invalid(
            "pkcs11_pin",
            f"Mã PIN của thiết bị ký số '{label}' đã bị khóa",
            f"The PIN of token '{label}' is locked",
            label,
        ) from exc
    except p11e.PinExpired as exc:
        raise _invalid(
            "pkcs11_pin",
            f"Mã PIN của thiết bị ký số '{label}' đã hết hạn, cần đổi",
            f"The PIN of token '{label}' has expired and must be changed",
            label,
        ) from exc


def _search(label: str | None, key_id: bytes | None) -> dict[Attribute, Any]:
    attrs: dict[Attribute, Any] = {}
    if label is not None:
        attrs[Attribute.LABEL] = label
    if key_id is not None:
        attrs[Attribute.ID] = key_id
    return attrs


def _describe(label: str | None, key_id: bytes | None) -> str:
    parts = []
    if label is not None:
        parts.append(f"object={label}")
    if key_id is not None:
        parts.append(f"id={key_id.hex()}")
    return ";".join(parts) or "?"


def _public_key_of(obj: Any) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """A token public-key object as a ``cryptography`` key."""
    if obj.key_type == KeyType.EC:
        key = serialization.load_der_public_key(encode_ec_public_key(obj))
    else:
        key = rsa.RSAPublicNumbers(
            int.from_bytes(obj[Attribute.PUBLIC_EXPONENT], "big"),
            int.from_bytes(obj[Attribute.MODULUS], "big"),
        ).public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("unsupported public key on the token")
    return key


def _spki(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def _find(session: Any, attrs: dict[Attribute, Any]) -> list[Any]:
    """All objects matching ``attrs``; the search is finished before returning.

    A PKCS#11 search left open blocks the session's other operations, and python-pkcs11
    finalises an abandoned one when it is garbage-collected, possibly after the session
    is gone: always consume the iterator whole.
    """
    return list(session.get_objects(attrs))


def _token_certificates(session: Any) -> list[x509.Certificate]:
    out = []
    for obj in _find(session, {Attribute.CLASS: ObjectClass.CERTIFICATE}):
        try:
            out.append(x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE])))
        except ValueError:
            continue
    return out


def _chain_from_token(session: Any, label: str | None, key_id: bytes) -> list[x509.Certificate]:
    """The certificate with the key's id (else label), then issuers found on the token."""
    leaf = None
    for attrs in (_search(None, key_id) if key_id else {}, _search(label, None) if label else {}):
        if not attrs:
            continue
        attrs[Attribute.CLASS] = ObjectClass.CERTIFICATE
        for obj in _find(session, attrs):
            leaf = x509.load_der_x509_certificate(bytes(obj[Attribute.VALUE]))
            break
        if leaf is not None:
            break
    if leaf is None:
        return []
    chain = [leaf]
    others = _token_certificates(session)
    while chain[-1].issuer != chain[-1].subject and len(chain) < 8:
        issuer = next((c for c in others if c.subject == chain[-1].issuer and c not in chain), None)
        if issuer is None:
            break
        chain.append(issuer)
    return chain


# ------------------------------------------------------------------ the signer


class Pkcs11Signer:
    """A :class:`~hoso.exchange.signing.Signer` whose private key stays on a PKCS#11 token.

    ``module_path``: the vendor's PKCS#11 library; ``token_label``/``token_serial``: which
    token; ``pin``: the user PIN (None for tokens without login); ``key_label``/``key_id``:
    the private key (``CKA_LABEL``/``CKA_ID``); ``chain_file``: PEM chain, leaf first,
    used instead of the certificates on the token. Raises ``InvalidInput`` (Vietnamese and
    English, issue code ``pkcs11_*``) when the module, token, PIN, key or certificate is
    wrong. Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        module_path: str,
        *,
        token_label: str | None = None,
        token_serial: str | None = None,
        pin: str | None = None,
        key_label: str | None = None,
        key_id: bytes | None = None,
        chain_file: Path | None = None,
    ) -> None:
        if key_label is None and key_id is None:
            raise _invalid(
                "pkcs11_key",
                "Cần chỉ rõ khóa ký (object=... hoặc id=...)",
                "Name the signing key (object=... or id=...)",
            )
        self._module_path = module_path
        self._token_label = token_label
        self._token_serial = token_serial
        self._pin = pin
        self._key_label = key_label
        self._key_id = key_id
        self._lock = threading.Lock()
        self.token_label = token_label or token_serial or "?"
        """The label of the token in use."""
        self._session: Any = None
        self._key: Any  # set by _connect()
        self._rsa_mechanism = Mechanism.SHA256_RSA_PKCS
        self._connect()
        chain = self._read_chain(chain_file)
        self._chain = tuple(chain)
        try:
            self._alg = alg_for_key(chain[0].public_key())
        except ValueError as exc:
            self.close()
            raise _invalid(
                "pkcs11_cert",
                "Chứng thư phải dùng khóa EC P-256 hoặc RSA",
                f"The certificate must hold a P-256 EC or RSA key: {exc}",
            ) from exc
        expected = KeyType.EC if self._alg == "ES256" else KeyType.RSA
        if self._key.key_type != expected:
            self.close()
            raise _invalid(
                "pkcs11_cert",
                "Chứng thư không thuộc về khóa ký trên thiết bị",
                "The certificate does not belong to the key on the token",
            )
        self._check_public_key()

    def _connect(self) -> None:
        lib = _load_library(self._module_path)
        token = _find_token(lib, self._token_label, self._token_serial)
        self.token_label = str(token.label)
        session = _open_session(token, self._pin)
        try:
            key = session.get_key(ObjectClass.PRIVATE_KEY, label=self._key_label, id=self._key_id)
        except p11e.NoSuchKey as exc:
            session.close()
            what = _describe(self._key_label, self._key_id)
            raise _invalid(
                "pkcs11_key",
                f"Không tìm thấy khóa ký '{what}' trên thiết bị '{token.label}'",
                f"Signing key '{what}' not found on token '{token.label}'",
                what,
            ) from exc
        except p11e.MultipleObjectsReturned as exc:
            session.close()
            what = _describe(self._key_label, self._key_id)
            raise _invalid(
                "pkcs11_key",
                f"Có nhiều khóa khớp với '{what}': hãy thêm id=...",
                f"Several keys match '{what}': add id=...",
                what,
            ) from exc
        self._session = session
        self._key = key

    def _read_chain(self, chain_file: Path | None) -> list[x509.Certificate]:
        if chain_file is not None:
            try:
                chain = x509.load_pem_x509_certificates(Path(chain_file).read_bytes())
            except (OSError, ValueError) as exc:
                self.close()
                raise _invalid(
                    "pkcs11_cert",
                    f"Không đọc được chuỗi chứng thư '{chain_file}'",
                    f"Cannot read the certificate chain '{chain_file}'",
                    str(chain_file),
                ) from exc
            return chain
        key_id = bytes(self._key[Attribute.ID] or b"")
        chain = _chain_from_token(self._session, self._key_label, key_id)
        if not chain:
            self.close()
            what = _describe(self._key_label, self._key_id)
            raise _invalid(
                "pkcs11_cert",
                f"Thiết bị không có chứng thư cho khóa '{what}' (dùng x-chain-file=...)",
                f"The token holds no certificate for key '{what}' (use x-chain-file=...)",
                what,
            )
        return chain

    def _check_public_key(self) -> None:
        """When the token holds the public key, it must be the certificate's."""
        key_id = bytes(self._key[Attribute.ID] or b"")
        attrs = _search(None, key_id) if key_id else _search(self._key_label, None)
        attrs[Attribute.CLASS] = ObjectClass.PUBLIC_KEY
        for obj in _find(self._session, attrs):
            if _spki(_public_key_of(obj)) != _spki(self._chain[0].public_key()):
                self.close()
                raise _invalid(
                    "pkcs11_cert",
                    "Chứng thư không thuộc về khóa ký trên thiết bị",
                    "The certificate does not belong to the key on the token",
                )
            return

    @property
    def alg(self) -> str:
        """See :class:`~hoso.exchange.signing.Signer`."""
        return self._alg

    @property
    def chain(self) -> Sequence[x509.Certificate]:
        """See :class:`~hoso.exchange.signing.Signer`."""
        return self._chain

    def _sign_once(self, signing_input: bytes) -> bytes:
        if self._alg == "ES256":
            digest = hashlib.sha256(signing_input).digest()
            sig = bytes(self._key.sign(digest, mechanism=Mechanism.ECDSA))
            if len(sig) != 64:
                raise HosoError(
                    message_vi="Thiết bị trả về chữ ký ECDSA sai độ dài",
                    message_en=f"The token returned an ECDSA signature of {len(sig)} bytes",
                    code="signer_failed",
                    status=503,
                )
            return sig
        if self._rsa_mechanism == Mechanism.SHA256_RSA_PKCS:
            try:
                return bytes(self._key.sign(signing_input, mechanism=Mechanism.SHA256_RSA_PKCS))
            except p11e.MechanismInvalid:
                self._rsa_mechanism = Mechanism.RSA_PKCS
        digest_info = _SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
        return bytes(self._key.sign(digest_info, mechanism=Mechanism.RSA_PKCS))

    def sign(self, signing_input: bytes) -> bytes:
        """See :class:`~hoso.exchange.signing.Signer` (serialised; reconnects once if needed)."""
        with self._lock:
            if self._session is None:
                self._connect()
            try:
                return self._sign_once(signing_input)
            except _SESSION_LOST:
                self._drop_session()
                self._connect()
                try:
                    return self._sign_once(signing_input)
                except p11e.PKCS11Error as exc:
                    raise self._failed(exc) from exc
            except p11e.PKCS11Error as exc:
                raise self._failed(exc) from exc

    def _failed(self, exc: Exception) -> HosoError:
        return HosoError(
            message_vi=f"Thiết bị ký số '{self.token_label}' không ký được ({type(exc).__name__})",
            message_en=f"Token '{self.token_label}' failed to sign ({type(exc).__name__})",
            code="signer_failed",
            status=503,
        )

    def _drop_session(self) -> None:
        session, self._session, self._key = self._session, None, None
        if session is not None:
            with contextlib.suppress(p11e.PKCS11Error):
                session.close()

    def close(self) -> None:
        """Close the session (logs out when it was the process's last one on the token)."""
        self._drop_session()

    def __enter__(self) -> Pkcs11Signer:
        """Use as a context manager; the session closes on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the session."""
        self.close()


def signer_from_uri(uri: str, pin: str | None = None) -> Pkcs11Signer:
    """A :class:`Pkcs11Signer` from an RFC 7512 URI; ``pin`` overrides the URI's PIN.

    Needs ``module-path`` (or ``module-name``, a library path) and ``object`` and/or ``id``;
    ``type``, when present, must be ``private``.
    """
    parsed = parse_uri(uri)
    if not parsed.module_path:
        raise _invalid(
            "pkcs11_uri",
            "URI PKCS#11 thiếu module-path (đường dẫn thư viện của thiết bị)",
            "The PKCS#11 URI lacks module-path (the token's library)",
        )
    if parsed.type not in (None, "private"):
        raise _invalid(
            "pkcs11_uri",
            "URI PKCS#11 phải chỉ tới khóa bí mật (type=private)",
            "The PKCS#11 URI must name a private key (type=private)",
            parsed.type,
        )
    return Pkcs11Signer(
        parsed.module_path,
        token_label=parsed.token,
        token_serial=parsed.serial,
        pin=pin if pin is not None else parsed.pin(),
        key_label=parsed.object,
        key_id=parsed.id,
        chain_file=Path(parsed.chain_file) if parsed.chain_file else None,
    )


# ------------------------------------------------------------------ enrolment helpers


def generate_keypair(
    module_path: str,
    *,
    token_label: str,
    pin: str,
    label: str,
    key_id: bytes,
    key_type: str = "ec",
) -> ec.EllipticCurvePublicKey | rsa.RSAPublicKey:
    """Generate a key pair on the token (private key sensitive, never extractable).

    ``key_type``: ``ec`` (P-256) or ``rsa`` (2048 bits). Returns the public key, for the CA
    to certify (:meth:`hoso.exchange.pki.CertificateAuthority.issue`).
    """
    token = _find_token(_load_library(module_path), token_label, None)
    private_template = {
        Attribute.SENSITIVE: True,
        Attribute.EXTRACTABLE: False,
        Attribute.SIGN: True,
        Attribute.DECRYPT: False,
        Attribute.UNWRAP: False,
        Attribute.DERIVE: False,
    }
    public_template = {
        Attribute.VERIFY: True,
        Attribute.ENCRYPT: False,
        Attribute.WRAP: False,
    }
    session = _open_session(token, pin, rw=True)
    try:
        if key_type == "ec":
            params = session.create_domain_parameters(
                KeyType.EC,
                {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")},
                local=True,
            )
            public, _ = params.generate_keypair(
                store=True,
                label=label,
                id=key_id,
                private_template=private_template,
                public_template=public_template,
            )
        elif key_type == "rsa":
            public, _ = session.generate_keypair(
                KeyType.RSA,
                2048,
                store=True,
                label=label,
                id=key_id,
                private_template=private_template,
                public_template=public_template,
            )
        else:
            raise ValueError(f"unknown key type {key_type!r}")
        return _public_key_of(public)
    finally:
        session.close()


def store_certificate(
    module_path: str,
    *,
    token_label: str,
    pin: str,
    cert: x509.Certificate,
    label: str,
    key_id: bytes,
) -> None:
    """Store ``cert`` on the token beside its key (same ``CKA_ID`` and label)."""
    token = _find_token(_load_library(module_path), token_label, None)
    attrs = decode_x509_certificate(cert.public_bytes(serialization.Encoding.DER))
    attrs.update({Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.ID: key_id})
    session = _open_session(token, pin, rw=True)
    try:
        session.create_object(attrs)
    finally:
        session.close()
