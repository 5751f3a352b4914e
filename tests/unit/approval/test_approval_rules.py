"""Pure parts of the approval workflow: transitions, messages, the approval object, schemas."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from hoso.approval import service
from hoso.approval.schemas import ApprovalIn
from hoso.exchange import pki
from hoso.exchange.certificates import check_approval
from hoso.exchange.errors import ExchangeError
from hoso.exchange.signing import KeySigner
from hoso.exchange.trust import TrustStore
from hoso.people.models import VersionStatus

HASH = "sha256:" + "1f" * 32
NOW = dt.datetime.now(dt.UTC)


def _pki() -> tuple[TrustStore, KeySigner]:
    """A throwaway CA and an official's personal certificate (``hoso.exchange.pki``)."""
    ca = pki.CertificateAuthority.generate()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = pki.official_subject("000.00.00.H41", "040180001234", "Trần Thị Bình")
    leaf = ca.issue(subject, key.public_key(), personal=True, days=30)
    return TrustStore([ca.cert]), KeySigner(key, [leaf, ca.cert])


def test_transitions_follow_the_workflow() -> None:
    allowed = {
        (step, status)
        for step in service.TRANSITIONS
        for status in VersionStatus.ALL
        if service.transition_error(step, "040085000001", 1, status) is None
    }
    assert allowed == {
        ("submit", VersionStatus.DRAFT),
        ("verify", VersionStatus.SUBMITTED),
        ("return", VersionStatus.SUBMITTED),
        ("return", VersionStatus.VERIFIED),
        ("approve", VersionStatus.VERIFIED),
    }
    error = service.transition_error("approve", "040085000001", 3, VersionStatus.QUEUED)
    assert error is not None and error.code == "status_invalid" and error.status == 409
    assert "040085000001" in error.message_vi and "version 3" in error.message_en.lower()
    assert "đã thẩm định" in error.message_vi  # names the status it needs


def test_status_labels_cover_every_status_in_nfc() -> None:
    assert set(service.STATUS_LABELS) == set(VersionStatus.ALL)
    for vi, en in service.STATUS_LABELS.values():
        assert unicodedata.normalize("NFC", vi) == vi and vi != en and en.isascii()


def test_rfc3339_is_utc_seconds_with_z() -> None:
    moment = dt.datetime(2026, 12, 1, 9, 30, 5, 123456, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    assert service.rfc3339(moment) == "2026-12-01T02:30:05Z"


def test_signed_approval_verifies_and_refuses_another_hash() -> None:
    trust, signer = _pki()
    [item] = service.sign_items(
        signer, [service.VersionKey("040085000001", 2, HASH)], title="Giám đốc Sở Nội vụ"
    )
    assert (item.personal_id, item.version, item.content_hash) == ("040085000001", 2, HASH)
    approval = service.approval_object(
        personal_id="040180001234",
        name="Trần Thị Bình",
        title=item.title,
        approved_at=service.rfc3339(NOW),
        signature=item.signature,
    )
    assert check_approval(approval, HASH, "000.00.00.H41", trust=trust).alg == "ES256"
    with pytest.raises(ExchangeError) as info:
        check_approval(approval, "sha256:" + "2e" * 32, "000.00.00.H41", trust=trust)
    assert info.value.code == "approval_invalid"


def test_approval_in_checks_its_fields() -> None:
    good = {
        "personal_id": "040085000001",
        "version": 1,
        "content_hash": HASH,
        "signature": "a..b",
        "title": "  Giám đốc  ",
    }
    assert ApprovalIn.model_validate(good).title == "Giám đốc"
    for field, bad in (
        ("personal_id", "12345"),
        ("version", 0),
        ("content_hash", "sha256:XYZ"),
        ("title", "   "),
        ("signature", ""),
    ):
        with pytest.raises(ValidationError) as info:
            ApprovalIn.model_validate({**good, field: bad})
        assert info.value.errors()[0]["loc"] == (field,)
    with pytest.raises(ValidationError):
        ApprovalIn.model_validate({**good, "extra": 1})
