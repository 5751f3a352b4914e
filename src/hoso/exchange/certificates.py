"""What a certificate says about its holder, and the approval check of exchange §4.

A node certificate names its agency in ``organizationIdentifier`` (or ``serialNumber``)
and has the digitalSignature key usage. An official's personal certificate has the
nonRepudiation (contentCommitment) key usage, ``organizationIdentifier`` equal to the
agency and ``serialNumber`` equal to ``CCCD:`` + the official's personal ID. Only the
latter counts as an approval (*ký số phê duyệt*).
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from cryptography import x509
from cryptography.x509.oid import NameOID

from hoso.exchange import jws
from hoso.exchange.errors import ExchangeError
from hoso.exchange.trust import TrustStore


@functools.lru_cache(maxsize=4096)
def _subject(cert: x509.Certificate) -> dict[x509.ObjectIdentifier, tuple[str, ...]]:
    """The subject's attributes by OID, read once per certificate (one official signs many)."""
    out: dict[x509.ObjectIdentifier, list[str]] = {}
    for attribute in cert.subject:
        out.setdefault(attribute.oid, []).append(str(attribute.value))
    return {oid: tuple(values) for oid, values in out.items()}


def _attr(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return list(_subject(cert).get(oid, ()))


def agency_codes(cert: x509.Certificate) -> list[str]:
    """Agency codes the subject names (``organizationIdentifier``, non-personal ``serialNumber``)."""
    codes = _attr(cert, NameOID.ORGANIZATION_IDENTIFIER)
    codes += [s for s in _attr(cert, NameOID.SERIAL_NUMBER) if not s.startswith("CCCD:")]
    return codes


def personal_id(cert: x509.Certificate) -> str | None:
    """The holder's personal ID when ``serialNumber`` is ``CCCD:<12 digits>``."""
    for s in _attr(cert, NameOID.SERIAL_NUMBER):
        if s.startswith("CCCD:"):
            return s[5:]
    return None


def common_name(cert: x509.Certificate) -> str | None:
    """The subject's CN."""
    names = _attr(cert, NameOID.COMMON_NAME)
    return names[0] if names else None


@functools.lru_cache(maxsize=4096)
def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def is_personal(cert: x509.Certificate) -> bool:
    """True for an official's signing certificate (nonRepudiation + ``CCCD:`` serial)."""
    ku = _key_usage(cert)
    return ku is not None and ku.content_commitment and personal_id(cert) is not None


_facts_cache: dict[str, tuple[bool, frozenset[str], str | None]] = {}


def _approver_facts(verified: jws.Verified) -> tuple[bool, frozenset[str], str | None]:
    """(is a personal certificate, its organizationIdentifiers, its holder's personal ID) of
    the signing certificate, read once per certificate (an official signs thousands)."""
    key = verified.thumbprints[0] if verified.thumbprints else None
    cached = _facts_cache.get(key) if key is not None else None
    if cached is not None:
        return cached
    leaf = verified.leaf
    facts = (
        is_personal(leaf),
        frozenset(_attr(leaf, NameOID.ORGANIZATION_IDENTIFIER)),
        personal_id(leaf),
    )
    if key is not None:
        if len(_facts_cache) > 10_000:
            _facts_cache.clear()
        _facts_cache[key] = facts
    return facts


def _approval_error(field: str, vi: str, en: str) -> ExchangeError:
    return ExchangeError.of("approval_invalid", field=field, detail_vi=vi, detail_en=en)


def parse_time(value: Any) -> dt.datetime | None:
    """An RFC 3339 UTC timestamp with ``Z`` (``2026-11-23T07:15:00Z``), or None if malformed."""
    if not isinstance(value, str) or not value.endswith("Z") or "T" not in value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None
    return parsed


def check_approval(
    approval: Any,
    content_hash: str,
    managing_agency: str,
    *,
    trust: TrustStore,
    field: str = "approval",
) -> jws.Verified:
    """Verify an approval object over ``content_hash``; raise ``approval_invalid`` if it fails.

    The signature must verify over the ASCII bytes of ``content_hash`` with a certificate
    that chains to a trust anchor at ``approved_at``, that is a personal certificate of an
    official of ``managing_agency``, and whose ``CCCD:`` serial is ``approved_by.personal_id``.
    """
    if not isinstance(approval, dict):
        raise _approval_error(field, "thiếu phê duyệt", "the approval is missing")
    by = approval.get("approved_by")
    if not isinstance(by, dict) or not isinstance(by.get("personal_id"), str):
        raise _approval_error(
            f"{field}.approved_by", "thiếu người phê duyệt", "approved_by is missing"
        )
    at = parse_time(approval.get("approved_at"))
    if at is None:
        raise _approval_error(
            f"{field}.approved_at",
            "thời điểm phê duyệt không đúng định dạng RFC 3339 UTC",
            "approved_at is not an RFC 3339 UTC timestamp",
        )
    try:
        verified = jws.verify_detached(
            approval.get("signature"),
            content_hash.encode("ascii"),
            trust=trust,
            at=at,
            field=f"{field}.signature",
        )
    except ExchangeError as exc:
        raise _approval_error(f"{field}.signature", exc.message_vi, exc.message_en) from exc
    facts = _approver_facts(verified)
    if not facts[0]:
        raise _approval_error(
            f"{field}.signature",
            "chữ ký không phải của chứng thư số cá nhân người có thẩm quyền (chứng thư của hệ thống không có giá trị phê duyệt)",
            "not signed with an official's personal certificate (a node certificate never approves)",
        )
    if managing_agency not in facts[1]:
        raise _approval_error(
            f"{field}.signature",
            f"chứng thư không thuộc cơ quan quản lý '{managing_agency}'",
            f"the certificate is not of the managing agency '{managing_agency}'",
        )
    if facts[2] != by["personal_id"]:
        raise _approval_error(
            f"{field}.approved_by.personal_id",
            "số định danh người phê duyệt khác với chứng thư",
            "approved_by.personal_id differs from the certificate",
        )
    return verified
