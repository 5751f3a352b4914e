"""The approval workflow of a dossier version, and bulk approval by digital signature.

::

    DRAFT ──submit──▶ SUBMITTED ──verify──▶ VERIFIED ──approve──▶ QUEUED ──▶ SYNCED
      ▲                   │                    │         (APPROVED      └──▶ REJECTED
      └──────return───────┴────────────────────┘          on a national node)

    any open version (DRAFT, SUBMITTED, VERIFIED) ──a newer version is stored──▶ SUPERSEDED

``SYNCED`` and ``REJECTED`` are set by the exchange sender from the national database's ack;
``SUPERSEDED`` by :func:`hoso.people.service.store_batch` when a newer version is made.

Approving (*ký số phê duyệt*) binds the official's personal certificate to the version's
content hash: the official's detached JWS over the ASCII bytes of ``content_hash`` becomes
the version's ``approval`` (exchange README §4), the version gets the next exchange number
(``approved_version``) and, on an agency node, an outbox item for the national database is
written in the same transaction.

Rules enforced here, in the service layer:

- scope as in :mod:`hoso.people.service`: a dossier outside the principal's subtree is
  reported as not found;
- permissions: ``person:write`` submits, verifies and returns (an approver,
  ``person:approve``, may also return a version it refuses to sign); ``person:approve``
  approves;
- four eyes (unless ``settings.approval_allow_self``): the verifier is not the submitter,
  and the approver did not author the version;
- the approver is a real user with a personal ID, and the signing certificate's
  ``CCCD:`` serial is that personal ID.

Services flush, never commit. Every step writes an audit event in the caller's transaction.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from cryptography import x509
from sqlalchemy import ARRAY, BigInteger, ColumnElement, String, and_, any_, func, literal, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from hoso.approval.schemas import (
    ApprovalIn,
    ApprovalReport,
    ApprovalResult,
    ItemError,
    PendingItem,
    PendingPage,
    VersionState,
)
from hoso.audit import service as audit_service
from hoso.audit.service import EventIn
from hoso.auth import service as auth_service
from hoso.auth.models import User
from hoso.auth.principal import Principal
from hoso.config import Settings
from hoso.db.base import utcnow
from hoso.errors import Conflict, HosoError, InvalidInput, Issue, NotFound, PermissionDenied
from hoso.exchange import jws, outbox
from hoso.exchange.certificates import check_approval, common_name
from hoso.exchange.certificates import personal_id as certificate_personal_id
from hoso.exchange.errors import ExchangeError
from hoso.exchange.signing import Signer, thumbprint
from hoso.exchange.trust import TrustStore
from hoso.orgs.models import OrgUnit
from hoso.people import service as people_service
from hoso.people.checking import prepare
from hoso.people.models import Person, PersonVersion, VersionStatus
from hoso.people.validation import check_orgs, get_validator

SUBJECT_TYPE = "person"

#: Vietnamese and English names of each status, for messages.
STATUS_LABELS: dict[str, tuple[str, str]] = {
    VersionStatus.DRAFT: ("bản nháp", "draft"),
    VersionStatus.SUBMITTED: ("đã trình", "submitted"),
    VersionStatus.VERIFIED: ("đã thẩm định", "verified"),
    VersionStatus.APPROVED: ("đã phê duyệt", "approved"),
    VersionStatus.QUEUED: ("đã phê duyệt, chờ đồng bộ", "approved, queued for sync"),
    VersionStatus.SYNCED: ("đã đồng bộ lên CSDLQG", "synced to the national database"),
    VersionStatus.SUPERSEDED: ("đã được thay thế bằng phiên bản mới", "superseded"),
    VersionStatus.REJECTED: ("bị CSDLQG từ chối", "rejected by the national database"),
}

#: Workflow steps: the statuses a step starts from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "submit": ((VersionStatus.DRAFT,), VersionStatus.SUBMITTED),
    "return": ((VersionStatus.SUBMITTED, VersionStatus.VERIFIED), VersionStatus.DRAFT),
    "verify": ((VersionStatus.SUBMITTED,), VersionStatus.VERIFIED),
    "approve": ((VersionStatus.VERIFIED,), VersionStatus.APPROVED),
}

_STEP_LABELS: dict[str, tuple[str, str]] = {
    "submit": ("trình", "submitted"),
    "return": ("trả lại", "returned"),
    "verify": ("thẩm định", "verified"),
    "approve": ("phê duyệt", "approved"),
}

_CHUNK = 900
"""Bound parameters per IN list on SQLite (PostgreSQL binds one array instead)."""


class VersionRef(Protocol):
    """Anything naming a version and the content hash to sign (a :class:`PendingItem`)."""

    @property
    def personal_id(self) -> str:
        """The person's 12-digit personal ID."""
        ...

    @property
    def version(self) -> int:
        """The internal version number."""
        ...

    @property
    def content_hash(self) -> str:
        """The version's content hash (``sha256:…``)."""
        ...


class VersionKey(NamedTuple):
    """A plain :class:`VersionRef`."""

    personal_id: str
    version: int
    content_hash: str


# --------------------------------------------------------------------------- pure helpers


def status_label(status: str) -> tuple[str, str]:
    """The Vietnamese and English name of a status."""
    return STATUS_LABELS.get(status, (status, status))


def transition_error(step: str, personal_id: str, version: int, status: str) -> Conflict | None:
    """The Conflict refusing ``step`` from ``status``, or None when the step is allowed."""
    sources, _ = TRANSITIONS[step]
    if status in sources:
        return None
    vi, en = status_label(status)
    step_vi, step_en = _STEP_LABELS[step]
    need_vi = ", ".join(status_label(s)[0] for s in sources)
    need_en = ", ".join(status_label(s)[1] for s in sources)
    return Conflict(
        code="status_invalid",
        message_vi=(
            f"Phiên bản {version} của hồ sơ {personal_id} đang ở trạng thái '{vi}' ({status}), "
            f"không thể {step_vi} (cần: {need_vi})"
        ),
        message_en=(
            f"Version {version} of dossier {personal_id} is {en} ({status}) and cannot be "
            f"{step_en} (needs: {need_en})"
        ),
    )


def rfc3339(moment: dt.datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC, seconds), the form of ``approved_at``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def approval_object(
    *, personal_id: str, name: str, title: str, approved_at: str, signature: str
) -> dict[str, Any]:
    """The ``approval`` of a RecordVersion (exchange README §4)."""
    return {
        "approved_by": {"personal_id": personal_id, "name": name, "title": title},
        "approved_at": approved_at,
        "signature": signature,
    }


def _item_error(exc: HosoError) -> ItemError:
    return ItemError(
        code=exc.code,
        status=exc.status,
        field=getattr(exc, "field", None) or None,
        message_vi=exc.message_vi,
        message_en=exc.message_en,
    )


# --------------------------------------------------------------------------- trust


@lru_cache(maxsize=8)
def _trust_store(anchors: tuple[str, ...], revoked: str | None, _stamp: int) -> TrustStore:
    return TrustStore.from_files(
        [Path(a) for a in anchors], Path(revoked) if revoked is not None else None
    )


def trust_from_settings(settings: Settings) -> TrustStore:
    """The trust store of ``HOSO_TRUST_ANCHORS`` / ``HOSO_REVOKED_FILE`` (re-read when the
    revocation file changes)."""
    anchors = tuple(p.strip() for p in settings.trust_anchors.split(",") if p.strip())
    if not anchors:
        raise InvalidInput(
            message_vi="Chưa cấu hình chứng thư CA tin cậy (HOSO_TRUST_ANCHORS), không thể kiểm tra chữ ký phê duyệt",
            message_en="No trust anchors are configured (HOSO_TRUST_ANCHORS); approvals cannot be checked",
            issues=[
                Issue(
                    field="HOSO_TRUST_ANCHORS",
                    code="not_configured",
                    message_vi="thiếu chứng thư CA tin cậy",
                    message_en="no trust anchors",
                )
            ],
        )
    revoked = settings.revoked_file
    stamp = revoked.stat().st_mtime_ns if revoked is not None and revoked.exists() else 0
    return _trust_store(anchors, str(revoked) if revoked is not None else None, stamp)


# --------------------------------------------------------------------------- lookups


def _not_found(personal_id: str) -> NotFound:
    return NotFound(
        message_vi=f"Không tìm thấy hồ sơ có số định danh {personal_id}",
        message_en=f"No dossier with personal ID {personal_id}",
    )


def _no_version(personal_id: str, version: int) -> NotFound:
    return NotFound(
        message_vi=f"Hồ sơ {personal_id} không có phiên bản {version}",
        message_en=f"Dossier {personal_id} has no version {version}",
    )


def _not_current(personal_id: str, version: int, current: int) -> Conflict:
    return Conflict(
        code="not_current_version",
        message_vi=(
            f"Phiên bản {version} không phải phiên bản hiện hành của hồ sơ {personal_id} "
            f"(hiện hành: {current})"
        ),
        message_en=(
            f"Version {version} is not the current version of dossier {personal_id} "
            f"(current: {current})"
        ),
    )


def _current(
    session: Session, personal_id: str, version: int | None, principal: Principal
) -> tuple[Person, PersonVersion]:
    """The person (locked on PostgreSQL) and its version, which must be the current one."""
    person = session.execute(
        select(Person)
        .where(Person.personal_id == personal_id, people_service.scope_clause(principal))
        .with_for_update(of=Person)
    ).scalar()
    if person is None:
        raise _not_found(personal_id)
    number = person.current_version if version is None else version
    found = session.get(PersonVersion, (person.id, number))
    if found is None:
        raise _no_version(personal_id, number)
    if number != person.current_version:
        raise _not_current(personal_id, number, person.current_version)
    return person, found


def _state(personal_id: str, version: PersonVersion) -> VersionState:
    return VersionState(
        personal_id=personal_id,
        version=version.version,
        status=version.status,
        content_hash=version.content_hash,
        status_changed_at=version.status_changed_at,
        status_changed_by=version.status_changed_by,
        approved_version=version.approved_version,
    )


def _move(
    session: Session,
    person: Person,
    version: PersonVersion,
    step: str,
    *,
    principal: Principal,
    data: dict[str, Any] | None = None,
) -> VersionState:
    """Apply ``step`` to the current version, keep ``person.status`` in line, audit it."""
    error = transition_error(step, person.personal_id, version.version, version.status)
    if error is not None:
        raise error
    before = version.status
    after = TRANSITIONS[step][1]
    now = utcnow()
    version.status = after
    version.status_changed_at = now
    version.status_changed_by = principal.username
    person.status = after
    session.flush()
    audit_service.record(
        session,
        actor=principal.username,
        action=f"person:version:{step}",
        subject_type=SUBJECT_TYPE,
        subject_id=person.personal_id,
        data={
            "version": version.version,
            "content_hash": version.content_hash,
            "from": before,
            "to": after,
            **(data or {}),
        },
    )
    return _state(person.personal_id, version)


# --------------------------------------------------------------------------- steps


def submit(
    session: Session, *, personal_id: str, version: int | None = None, principal: Principal
) -> VersionState:
    """Submit a draft for verification (``DRAFT → SUBMITTED``; ``person:write``).

    ``version`` defaults to the current version; any other version is refused.
    """
    principal.require("person:write")
    person, found = _current(session, personal_id, version, principal)
    return _move(session, person, found, "submit", principal=principal)


def return_to_draft(
    session: Session,
    *,
    personal_id: str,
    version: int | None = None,
    reason: str,
    principal: Principal,
) -> VersionState:
    """Send a submitted or verified version back to its author (``→ DRAFT``), with a reason.

    Allowed with ``person:write`` (the HR office) or ``person:approve`` (the official who
    will not sign it).
    """
    if not principal.can("person:approve"):
        principal.require("person:write")
    reason = reason.strip()
    if not reason:
        raise InvalidInput(
            issues=[
                Issue(
                    field="reason",
                    code="missing",
                    message_vi="Cần nêu lý do trả lại (reason)",
                    message_en="A reason for returning the version is required (reason)",
                    value=reason,
                )
            ]
        )
    person, found = _current(session, personal_id, version, principal)
    return _move(session, person, found, "return", principal=principal, data={"reason": reason})


def verify(
    session: Session,
    *,
    personal_id: str,
    version: int | None = None,
    principal: Principal,
    settings: Settings,
) -> VersionState:
    """Verify a submitted version (``SUBMITTED → VERIFIED``; ``person:write``).

    The structural validator runs again on the stored document (catalogue, organisations,
    content hash); any issue refuses the step with InvalidInput listing them. The verifier
    must not be the submitter unless ``settings.approval_allow_self``.
    """
    principal.require("person:write")
    person, found = _current(session, personal_id, version, principal)
    error = transition_error("verify", personal_id, found.version, found.status)
    if error is not None:
        raise error
    submitter = found.status_changed_by
    if submitter == principal.username and not settings.approval_allow_self:
        raise PermissionDenied(
            code="four_eyes",
            message_vi=(
                f"Người trình phiên bản {found.version} của hồ sơ {personal_id} "
                f"('{submitter}') không được tự thẩm định"
            ),
            message_en=(
                f"The submitter of version {found.version} of dossier {personal_id} "
                f"('{submitter}') may not verify it"
            ),
        )
    issues = check_stored(session, personal_id, found)
    if issues:
        raise InvalidInput(
            message_vi=(
                f"Phiên bản {found.version} của hồ sơ {personal_id} có {len(issues)} lỗi "
                "cấu trúc, chưa thể thẩm định"
            ),
            message_en=(
                f"Version {found.version} of dossier {personal_id} has {len(issues)} "
                "structural issue(s) and cannot be verified"
            ),
            issues=issues,
        )
    return _move(
        session, person, found, "verify", principal=principal, data={"submitted_by": submitter}
    )


def check_stored(session: Session, personal_id: str, version: PersonVersion) -> list[Issue]:
    """Structural issues of a stored version: catalogue, organisations and content hash."""
    raw: dict[str, Any] = {
        "personal_id": personal_id,
        "managing_agency": version.managing_agency_code,
        "data": version.data,
        "content_hash": version.content_hash,
    }
    if version.employing_unit_code:
        raw["employing_unit"] = version.employing_unit_code
    checked = get_validator().check_line(raw)
    if checked.ok:
        codes = [c for c in (checked.managing_agency, checked.employing_unit) if c]
        paths = dict(
            session.execute(select(OrgUnit.code, OrgUnit.path).where(OrgUnit.code.in_(codes))).all()
        )
        check_orgs(checked, paths, None)
    prepare(checked)
    return list(checked.issues)


# --------------------------------------------------------------------------- queue


def list_pending(
    session: Session,
    *,
    principal: Principal,
    status: str = VersionStatus.VERIFIED,
    agency: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> PendingPage:
    """The queue: current versions in ``status`` (VERIFIED = waiting for the approver).

    Ordered by personal ID; ``agency`` is the managing agency code; ``limit`` None returns
    the whole queue (CLI bulk signing).
    """
    principal.require("person:read")
    if status not in VersionStatus.ALL:
        raise InvalidInput(
            issues=[
                Issue(
                    field="status",
                    code="invalid_code",
                    message_vi=f"Trạng thái không hợp lệ: '{status}' (một trong {', '.join(VersionStatus.ALL)})",
                    message_en=f"Invalid status '{status}' (one of {', '.join(VersionStatus.ALL)})",
                    value=status,
                )
            ]
        )
    conditions: list[ColumnElement[bool]] = [
        people_service.scope_clause(principal),
        PersonVersion.status == status,
    ]
    if agency:
        conditions.append(Person.managing_agency_code == agency)
    joined = and_(
        PersonVersion.person_id == Person.id, PersonVersion.version == Person.current_version
    )
    total = session.execute(
        select(func.count()).select_from(Person).join(PersonVersion, joined).where(*conditions)
    ).scalar_one()
    stmt = (
        select(
            Person.personal_id,
            Person.birth_name,
            PersonVersion.version,
            PersonVersion.content_hash,
            PersonVersion.managing_agency_code,
            PersonVersion.employing_unit_code,
            PersonVersion.created_by,
            PersonVersion.created_at,
            PersonVersion.status,
            PersonVersion.status_changed_at,
            PersonVersion.status_changed_by,
        )
        .join(PersonVersion, joined)
        .where(*conditions)
        .order_by(Person.personal_id)
        .offset(max(0, offset))
    )
    if limit is not None:
        limit = max(1, min(limit, 500))
        stmt = stmt.limit(limit)
    items = [
        PendingItem(
            personal_id=r.personal_id,
            version=r.version,
            content_hash=r.content_hash,
            managing_agency=r.managing_agency_code,
            employing_unit=r.employing_unit_code,
            birth_name=r.birth_name,
            author=r.created_by,
            status=r.status,
            changed_at=r.status_changed_at or r.created_at,
            changed_by=r.status_changed_by,
        )
        for r in session.execute(stmt)
    ]
    return PendingPage(items=items, total=total, limit=limit, offset=max(0, offset))


def current_refs(
    session: Session, personal_ids: Iterable[str], *, principal: Principal
) -> dict[str, VersionKey]:
    """The current version and hash of each dossier in scope (missing ones are left out)."""
    principal.require("person:read")
    wanted = list(dict.fromkeys(personal_ids))
    out: dict[str, VersionKey] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        rows = session.execute(
            select(Person.personal_id, Person.current_version, Person.current_content_hash).where(
                Person.personal_id.in_(chunk), people_service.scope_clause(principal)
            )
        )
        for pid, version, digest in rows:
            out[pid] = VersionKey(pid, version, digest)
    return out


# --------------------------------------------------------------------------- approval


def approver(session: Session, principal: Principal) -> User:
    """The user record behind ``principal``; it must carry the official's personal ID."""
    user = (
        session.get(User, principal.user_id)
        if principal.user_id is not None
        else auth_service.get_by_username(session, principal.username)
    )
    if user is None or not user.is_active or user.username != principal.username:
        raise PermissionDenied(
            code="approver_unknown",
            message_vi=f"Người phê duyệt '{principal.username}' không phải người dùng đang hoạt động",
            message_en=f"The approver '{principal.username}' is not an active user",
        )
    if not user.personal_id:
        raise PermissionDenied(
            code="approver_without_personal_id",
            message_vi=(
                f"Người dùng '{user.username}' chưa có số định danh cá nhân (personal_id), "
                "không thể ký phê duyệt"
            ),
            message_en=(
                f"User '{user.username}' has no personal ID (personal_id) and cannot sign approvals"
            ),
        )
    return user


@dataclass(slots=True)
class _Target:
    person_id: int
    current_version: int


@dataclass(slots=True)
class _VersionRow:
    status: str
    content_hash: str
    managing_agency_code: str
    created_by: str


def _ids_clause(column: Any, chunk: list[Any], is_pg: bool, type_: Any) -> ColumnElement[bool]:
    # One array parameter on PostgreSQL instead of hundreds (query building dominates).
    if is_pg:
        return column == any_(literal(chunk, ARRAY(type_)))  # type: ignore[no-any-return]
    return column.in_(chunk)  # type: ignore[no-any-return]


def _load_targets(
    session: Session, pids: list[str], principal: Principal, is_pg: bool
) -> tuple[dict[str, _Target], dict[tuple[int, int], _VersionRow], dict[int, int]]:
    """People in scope (locked on PostgreSQL), their versions and top approved numbers."""
    targets: dict[str, _Target] = {}
    step = 5000 if is_pg else _CHUNK
    scope = people_service.scope_clause(principal)
    for start in range(0, len(pids), step):
        chunk = pids[start : start + step]
        rows = session.execute(
            select(Person.id, Person.personal_id, Person.current_version)
            .where(_ids_clause(Person.personal_id, chunk, is_pg, String(12)), scope)
            .order_by(Person.id)
            .with_for_update(of=Person)
        )
        for pk, pid, current in rows:
            targets[pid] = _Target(pk, current)
    versions: dict[tuple[int, int], _VersionRow] = {}
    top: dict[int, int] = {}
    ids = [t.person_id for t in targets.values()]
    for start in range(0, len(ids), step):
        id_chunk = ids[start : start + step]
        version_rows = session.execute(
            select(
                PersonVersion.person_id,
                PersonVersion.version,
                PersonVersion.status,
                PersonVersion.content_hash,
                PersonVersion.managing_agency_code,
                PersonVersion.created_by,
                PersonVersion.approved_version,
            ).where(_ids_clause(PersonVersion.person_id, id_chunk, is_pg, BigInteger()))
        )
        for pk, number, status, digest, agency, author, approved in version_rows:
            versions[(pk, number)] = _VersionRow(status, digest, agency, author)
            if approved is not None and approved > top.get(pk, 0):
                top[pk] = approved
    return targets, versions, top


def _approval_invalid(detail_vi: str, detail_en: str) -> ExchangeError:
    return ExchangeError.of(
        "approval_invalid", field="approval.signature", detail_vi=detail_vi, detail_en=detail_en
    )


@dataclass(frozen=True, slots=True)
class _Signer:
    certificate: x509.Certificate
    personal_id: str | None
    name: str | None


@lru_cache(maxsize=1024)
def _leaf(x5c_leaf: str) -> _Signer:
    cert = x509.load_der_x509_certificate(base64.b64decode(x5c_leaf, validate=True))
    return _Signer(cert, certificate_personal_id(cert), common_name(cert))


def _signing_certificate(signature: str) -> _Signer:
    """The leaf certificate a detached JWS names in ``x5c`` (not yet verified)."""
    try:
        _, header, _ = jws.parse_header(signature, field="approval.signature")
        return _leaf(header["x5c"][0])
    except ExchangeError as exc:
        raise _approval_invalid(exc.message_vi, exc.message_en) from exc
    except (ValueError, binascii.Error) as exc:
        raise _approval_invalid(
            "chứng thư trong x5c không đọc được", "unreadable x5c certificate"
        ) from exc


def _check_item(
    item: ApprovalIn,
    agency: str,
    user: User,
    approved_at: str,
    trust: TrustStore,
) -> tuple[dict[str, Any], x509.Certificate]:
    """Build and verify the approval of one item; return it with the signing certificate."""
    assert user.personal_id is not None
    leaf = _signing_certificate(item.signature)
    holder = leaf.personal_id
    approval = approval_object(
        personal_id=holder or user.personal_id,
        name=leaf.name or user.full_name,
        title=item.title,
        approved_at=approved_at,
        signature=item.signature,
    )
    check_approval(approval, item.content_hash, agency, trust=trust)
    if holder != user.personal_id:
        raise PermissionDenied(
            code="approver_mismatch",
            message_vi=(
                f"Chứng thư ký thuộc về người có số định danh {holder}, không phải người dùng "
                f"'{user.username}' (số định danh {user.personal_id})"
            ),
            message_en=(
                f"The signing certificate belongs to personal ID {holder}, not to user "
                f"'{user.username}' (personal ID {user.personal_id})"
            ),
        )
    return approval, leaf.certificate


def approve(
    session: Session,
    *,
    items: Sequence[ApprovalIn],
    principal: Principal,
    trust: TrustStore,
    settings: Settings,
    now: dt.datetime | None = None,
) -> ApprovalReport:
    """Approve versions, each with the official's own signature; report item by item.

    Per item: the version exists in scope, is the person's current version, is VERIFIED,
    has exactly the signed ``content_hash`` (else ``stale_content_hash``, a conflict), was
    not authored by the approver (unless ``settings.approval_allow_self``), and the
    signature verifies as an approval of the version's managing agency made with the
    personal certificate of the approving user (``CCCD:`` serial = the user's personal ID).
    One refused item does not block the others.

    An approved version gets its ``approval``, the next ``approved_version`` of the person
    and status QUEUED with an outbox item for ``settings.national_node`` (any node role but
    ``national``; the sender decides where and when to send), or APPROVED on a national
    node. Reads are batched, updates are executemany, and the audit events (one per item,
    approved or refused) are appended with one ``record_many``.
    """
    principal.require("person:approve")
    user = approver(session, principal)
    moment = now or utcnow()
    approved_at = rfc3339(moment)
    is_pg = session.connection().dialect.name == "postgresql"
    results: list[ApprovalResult | None] = [None] * len(items)
    events: list[EventIn] = []

    def refuse(index: int, exc: HosoError) -> None:
        item = items[index]
        results[index] = ApprovalResult(
            personal_id=item.personal_id,
            version=item.version,
            outcome="refused",
            error=_item_error(exc),
        )
        events.append(
            EventIn(
                action="person:version:approve_refused",
                subject_type=SUBJECT_TYPE,
                subject_id=item.personal_id,
                data={"version": item.version, "code": exc.code},
            )
        )

    first: dict[tuple[str, int], int] = {}
    for index, item in enumerate(items):
        key = (item.personal_id, item.version)
        if key in first:
            refuse(
                index,
                Conflict(
                    code="duplicate_item",
                    message_vi=f"Phiên bản {item.version} của hồ sơ {item.personal_id} xuất hiện nhiều lần trong yêu cầu",
                    message_en=f"Version {item.version} of dossier {item.personal_id} appears more than once in the request",
                ),
            )
        else:
            first[key] = index
    targets, versions, top = _load_targets(
        session, list(dict.fromkeys(k[0] for k in first)), principal, is_pg
    )
    allow_self = settings.approval_allow_self
    queue = settings.node_role != "national"
    new_status = VersionStatus.QUEUED if queue else VersionStatus.APPROVED
    version_updates: list[dict[str, Any]] = []
    person_updates: list[dict[str, Any]] = []
    queued: list[tuple[str | None, int | None, dict[str, Any] | None]] = []
    for (pid, number), index in first.items():
        item = items[index]
        try:
            target = targets.get(pid)
            if target is None:
                raise _not_found(pid)
            row = versions.get((target.person_id, number))
            if row is None:
                raise _no_version(pid, number)
            if number != target.current_version:
                raise _not_current(pid, number, target.current_version)
            error = transition_error("approve", pid, number, row.status)
            if error is not None:
                raise error
            if row.content_hash != item.content_hash:
                raise Conflict(
                    code="stale_content_hash",
                    message_vi=(
                        f"Mã băm đã ký ({item.content_hash}) khác mã băm của phiên bản {number} "
                        f"hồ sơ {pid} ({row.content_hash}); hãy xem lại hồ sơ trước khi ký"
                    ),
                    message_en=(
                        f"The signed content_hash ({item.content_hash}) differs from version "
                        f"{number} of dossier {pid} ({row.content_hash}); review it before signing"
                    ),
                )
            if row.created_by == principal.username and not allow_self:
                raise PermissionDenied(
                    code="self_approval",
                    message_vi=f"Người phê duyệt '{principal.username}' đã tạo phiên bản {number} của hồ sơ {pid}, không được tự phê duyệt",
                    message_en=f"The approver '{principal.username}' authored version {number} of dossier {pid} and may not approve it",
                )
            approval, leaf = _check_item(item, row.managing_agency_code, user, approved_at, trust)
        except HosoError as exc:
            refuse(index, exc)
            continue
        approved_version = top.get(target.person_id, 0) + 1
        top[target.person_id] = approved_version
        version_updates.append(
            {
                "person_id": target.person_id,
                "version": number,
                "status": new_status,
                "approval": approval,
                "approved_version": approved_version,
                "status_changed_at": moment,
                "status_changed_by": principal.username,
            }
        )
        person_updates.append({"id": target.person_id, "status": new_status})
        if queue:
            queued.append((pid, number, None))
        results[index] = ApprovalResult(
            personal_id=pid,
            version=number,
            outcome="approved",
            status=new_status,
            approved_version=approved_version,
        )
        events.append(
            EventIn(
                action="person:version:approve",
                subject_type=SUBJECT_TYPE,
                subject_id=pid,
                data={
                    "version": number,
                    "approved_version": approved_version,
                    "content_hash": item.content_hash,
                    "status": new_status,
                    "title": item.title,
                    "certificate": thumbprint(leaf),
                },
            )
        )
    if version_updates:
        session.execute(sql_update(PersonVersion), version_updates)
        session.execute(sql_update(Person), person_updates)
    if queued:
        outbox.enqueue_many(session, receiver=settings.national_node, kind="record", items=queued)
    audit_service.record_many(session, events, actor=principal.username)
    session.expire_all()
    done = [r for r in results if r is not None]
    assert len(done) == len(items)
    approved = sum(1 for r in done if r.outcome == "approved")
    return ApprovalReport(approved=approved, refused=len(done) - approved, results=done)


def sign_items(signer: Signer, refs: Iterable[VersionRef], *, title: str) -> list[ApprovalIn]:
    """Sign each version's content hash with ``signer`` (the stand-in for the official's token)."""
    return [
        ApprovalIn(
            personal_id=ref.personal_id,
            version=ref.version,
            content_hash=ref.content_hash,
            signature=jws.sign_detached(signer, ref.content_hash.encode("ascii")),
            title=title,
        )
        for ref in refs
    ]


def approve_with_signer(
    session: Session,
    *,
    refs: Sequence[VersionRef],
    signer: Signer,
    title: str,
    principal: Principal,
    trust: TrustStore,
    settings: Settings,
    now: dt.datetime | None = None,
) -> ApprovalReport:
    """Sign each content hash with ``signer`` and :func:`approve` (CLI, demo, benchmarks)."""
    return approve(
        session,
        items=sign_items(signer, refs, title=title),
        principal=principal,
        trust=trust,
        settings=settings,
        now=now,
    )
