"""Which certificates a node trusts: its trust anchors, revocations, and chain validation.

A chain (leaf first, as in a JWS ``x5c``) is valid at a time *t* when every link is
directly issued by the next one (signature and issuer name, checked by ``cryptography``),
every issuer is a CA allowed to sign certificates, the last link is issued by (or is) a
configured trust anchor, every certificate is within its validity period at *t*, and no
certificate is revoked. Path building is by subject name inside the presented chain, which
is what JWS ``x5c`` carries; hoso does not fetch missing intermediates.

Validation is cached per chain (the DER bytes' SHA-256s): a message of 1,000 records
approved by one official validates that official's chain once; later calls only compare
*t* with the chain's common validity window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from hoso.exchange.errors import ExchangeError


def _der_sha(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    if not bc.ca:
        return False
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return bool(ku.key_cert_sign)


@dataclass(frozen=True, slots=True)
class ValidChain:
    """A chain that links to an anchor; valid at any time in ``[not_before, not_after]``."""

    not_before: dt.datetime
    not_after: dt.datetime


class TrustStore:
    """The trust anchors and revoked certificates configured for a node."""

    def __init__(
        self,
        anchors: Iterable[x509.Certificate],
        *,
        revoked: Iterable[str] = (),
    ) -> None:
        """``revoked``: SHA-256 thumbprints (hex) of revoked certificates, or ``serial:ISSUER``."""
        self.anchors = list(anchors)
        if not self.anchors:
            raise ValueError("a trust store needs at least one anchor")
        self._anchor_shas = {_der_sha(a) for a in self.anchors}
        self._by_subject: dict[bytes, list[x509.Certificate]] = {}
        for a in self.anchors:
            self._by_subject.setdefault(a.subject.public_bytes(), []).append(a)
        self.revoked = {r.lower() for r in revoked}
        self._cache: dict[tuple[str, ...], ValidChain | ExchangeError] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_files(
        cls, anchor_files: Iterable[Path], revoked_file: Path | None = None
    ) -> TrustStore:
        """Anchors from PEM files (each may hold several certificates); revocations one per line."""
        anchors: list[x509.Certificate] = []
        for f in anchor_files:
            anchors.extend(x509.load_pem_x509_certificates(f.read_bytes()))
        revoked: list[str] = []
        if revoked_file is not None and revoked_file.exists():
            for line in revoked_file.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    revoked.append(line)
        return cls(anchors, revoked=revoked)

    def _revoked(self, cert: x509.Certificate) -> bool:
        if not self.revoked:
            return False
        return (
            _der_sha(cert) in self.revoked
            or f"{cert.serial_number:x}:{cert.issuer.rfc4514_string()}".lower() in self.revoked
        )

    def _link(self, chain: Sequence[x509.Certificate]) -> ValidChain | ExchangeError:
        """Check the links of ``chain`` to an anchor, ignoring time; return its validity window."""
        path: list[x509.Certificate] = []
        for cert in chain:
            if _der_sha(cert) in self._anchor_shas:
                path.append(cert)
                break
            path.append(cert)
        last = path[-1]
        if _der_sha(last) not in self._anchor_shas:
            # The presented chain stops short of an anchor: the anchor must have issued its top.
            issuer = None
            for candidate in self._by_subject.get(last.issuer.public_bytes(), []):
                try:
                    last.verify_directly_issued_by(candidate)
                except (ValueError, TypeError, InvalidSignature):
                    continue
                issuer = candidate
                break
            if issuer is None:
                return ExchangeError.of(
                    "certificate_untrusted",
                    field="x5c",
                    detail_vi=f"'{last.issuer.rfc4514_string()}' không phải tổ chức được tin cậy",
                    detail_en=f"'{last.issuer.rfc4514_string()}' is not a trust anchor",
                )
            path.append(issuer)
        for child, parent in itertools.pairwise(path):
            if not _is_ca(parent):
                return ExchangeError.of(
                    "certificate_untrusted",
                    field="x5c",
                    detail_vi=f"'{parent.subject.rfc4514_string()}' không phải CA",
                    detail_en=f"'{parent.subject.rfc4514_string()}' is not a CA",
                )
            try:
                child.verify_directly_issued_by(parent)
            except (ValueError, TypeError, InvalidSignature):
                return ExchangeError.of(
                    "certificate_untrusted",
                    field="x5c",
                    detail_vi=f"'{child.subject.rfc4514_string()}' không do cấp trên ký",
                    detail_en=f"'{child.subject.rfc4514_string()}' is not signed by its issuer",
                )
        for cert in path:
            if self._revoked(cert):
                return ExchangeError.of(
                    "certificate_untrusted",
                    field="x5c",
                    detail_vi=f"chứng thư '{cert.subject.rfc4514_string()}' đã bị thu hồi",
                    detail_en=f"certificate '{cert.subject.rfc4514_string()}' is revoked",
                )
        return ValidChain(
            not_before=max(c.not_valid_before_utc for c in path),
            not_after=min(c.not_valid_after_utc for c in path),
        )

    def validate(
        self,
        chain: Sequence[x509.Certificate],
        at: dt.datetime,
        *,
        key: tuple[str, ...] | None = None,
    ) -> None:
        """Raise ``certificate_untrusted`` or ``certificate_expired`` unless ``chain`` is valid at ``at``.

        ``key``: the chain's DER SHA-256s when the caller has them (saves re-encoding).
        """
        if not chain:
            raise ExchangeError.of(
                "certificate_untrusted",
                field="x5c",
                detail_en="empty chain",
                detail_vi="chuỗi rỗng",
            )
        if key is None:
            key = tuple(_der_sha(c) for c in chain)
        with self._lock:
            result = self._cache.get(key)
        if result is None:
            result = self._link(chain)
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = result
        if isinstance(result, ExchangeError):
            raise result
        if not result.not_before <= at <= result.not_after:
            raise ExchangeError.of(
                "certificate_expired",
                field="x5c",
                detail_vi=(
                    f"hiệu lực từ {result.not_before:%Y-%m-%d} đến {result.not_after:%Y-%m-%d}, "
                    f"thời điểm ký {at:%Y-%m-%dT%H:%M:%SZ}"
                ),
                detail_en=(
                    f"valid from {result.not_before:%Y-%m-%d} to {result.not_after:%Y-%m-%d}, "
                    f"signed at {at:%Y-%m-%dT%H:%M:%SZ}"
                ),
            )
