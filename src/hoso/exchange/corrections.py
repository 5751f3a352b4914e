"""Sync back (*đồng bộ trở lại*): corrections the national side proposes, the agency decides.

National side: :func:`propose` compares a proposed value with the person's current approved
record, keeps a ``correction`` row and queues a ``corrections.propose`` item for the node of
the managing agency (the node that sends that agency's records). Agency side: the received
corrections wait for an officer; :func:`resolve` accepts (a new DRAFT version with the
proposed value, which then needs a new approval like any edit) or rejects with a reason,
and queues the ``corrections.resolve`` answer. Both sides see the status.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.auth.principal import Principal
from hoso.db.base import utcnow
from hoso.errors import Conflict, InvalidInput, Issue, NotFound
from hoso.exchange import outbox
from hoso.exchange.envelope import new_id, node_agency
from hoso.exchange.models import Correction, ExchangeStream, NationalPerson, NationalRecord
from hoso.orgs.models import OrgUnit


@dataclass(frozen=True, slots=True)
class CorrectionIn:
    """A correction to propose: a registry-mastered field and the value the registry holds."""

    personal_id: str
    field: str
    proposed_value: Any
    reason_code: str = "population_mismatch"
    source: str = "population_registry"
    evidence: dict[str, Any] | None = None


def _as_dict(c: Correction) -> dict[str, Any]:
    return {
        "correction_id": c.correction_id,
        "personal_id": c.personal_id,
        "managing_agency": c.managing_agency_code,
        "field": c.field,
        "current_value": c.current_value,
        "proposed_value": c.proposed_value,
        "source": c.source,
        "reason_code": c.reason_code,
        "evidence": c.evidence,
        "status": c.status,
        "reason": c.reason,
        "side": c.side,
        "created_at": c.created_at.isoformat() if c.created_at else None,
        "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
    }


def node_for_agency(session: Session, agency: str) -> str | None:
    """The node that sends ``agency``'s records: a known sender whose agency is it or above it."""
    path = session.execute(select(OrgUnit.path).where(OrgUnit.code == agency)).scalar_one_or_none()
    senders = session.execute(select(ExchangeStream.sender).distinct()).scalars().all()
    best: tuple[int, str] | None = None
    for sender in senders:
        code = node_agency(sender)
        if code == agency:
            return sender
        if path is not None and f"/{code}/" in path:
            depth = path.index(f"/{code}/")
            if best is None or depth > best[0]:
                best = (depth, sender)
    return best[1] if best else None


def propose(
    session: Session, corrections: Sequence[CorrectionIn], *, principal: Principal
) -> list[dict[str, Any]]:
    """National side: record corrections and queue them for the managing agencies' nodes."""
    principal.require("person:write")
    issues: list[Issue] = []
    rows: list[tuple[Correction, str]] = []
    for i, c in enumerate(corrections):
        person = session.get(NationalPerson, c.personal_id)
        if person is None:
            issues.append(
                Issue(
                    field=f"corrections[{i}].personal_id",
                    code="not_found",
                    message_vi=f"CSDLQG chưa có hồ sơ đã phê duyệt của '{c.personal_id}'",
                    message_en=f"The national database holds no approved record of '{c.personal_id}'",
                    value=c.personal_id,
                )
            )
            continue
        receiver = node_for_agency(session, person.managing_agency_code)
        if receiver is None:
            issues.append(
                Issue(
                    field=f"corrections[{i}].personal_id",
                    code="no_node",
                    message_vi=f"Chưa biết hệ thống nào của '{person.managing_agency_code}' để gửi đề xuất",
                    message_en=f"No known node of '{person.managing_agency_code}' to send the correction to",
                    value=c.personal_id,
                )
            )
            continue
        record = session.get(
            NationalRecord, (person.personal_id, person.managing_agency_code, person.version)
        )
        current = record.document.get(c.field) if record is not None else None
        if current == c.proposed_value:
            continue
        rows.append(
            (
                Correction(
                    correction_id=new_id(),
                    personal_id=c.personal_id,
                    managing_agency_code=person.managing_agency_code,
                    field=c.field,
                    current_value=current,
                    proposed_value=c.proposed_value,
                    source=c.source,
                    reason_code=c.reason_code,
                    evidence=c.evidence,
                    status="proposed",
                    side="national",
                    created_at=utcnow(),
                ),
                receiver,
            )
        )
    if issues:
        raise InvalidInput(
            message_vi="Không tạo được đề xuất đính chính",
            message_en="Corrections not proposed",
            issues=issues,
        )
    for corr, receiver in rows:
        session.add(corr)
        item = {
            "correction_id": corr.correction_id,
            "personal_id": corr.personal_id,
            "field": corr.field,
            "proposed_value": corr.proposed_value,
            "source": corr.source,
            "reason_code": corr.reason_code,
        }
        if corr.current_value is not None:
            item["current_value"] = corr.current_value
        if corr.evidence is not None:
            item["evidence"] = corr.evidence
        outbox.enqueue(
            session,
            receiver=receiver,
            kind="correction",
            personal_id=corr.personal_id,
            payload=item,
        )
        audit_service.record(
            session,
            actor=principal.username,
            action="national:correction:propose",
            subject_type="person",
            subject_id=corr.personal_id,
            data={"correction_id": corr.correction_id, "field": corr.field, "to": receiver},
        )
    session.flush()
    return [_as_dict(c) for c, _ in rows]


def list_(
    session: Session,
    *,
    principal: Principal,
    status: str | None = None,
    side: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Corrections in the principal's scope, newest first."""
    principal.require("person:read")
    query = select(Correction).order_by(Correction.created_at.desc()).limit(limit)
    if status:
        query = query.where(Correction.status == status)
    if side:
        query = query.where(Correction.side == side)
    if principal.scope_code is not None:
        scope = session.execute(
            select(OrgUnit.path).where(OrgUnit.code == principal.scope_code)
        ).scalar_one_or_none()
        if scope is None:
            return []
        query = query.join(OrgUnit, OrgUnit.code == Correction.managing_agency_code).where(
            OrgUnit.path.startswith(scope)
        )
    return [_as_dict(c) for c in session.execute(query).scalars()]


def resolve(
    session: Session,
    correction_id: str,
    *,
    decision: str,
    reason: str | None,
    principal: Principal,
    national_node: str,
) -> dict[str, Any]:
    """Agency side: accept (new DRAFT version with the proposed value) or reject with a reason."""
    from hoso.people import service as people_service
    from hoso.people.schemas import PersonWrite

    principal.require("person:write")
    corr = session.get(Correction, (correction_id, "agency"))
    if corr is None:
        raise NotFound(
            message_vi=f"Không có đề xuất đính chính '{correction_id}'",
            message_en=f"No correction '{correction_id}'",
        )
    dossier = people_service.get_by_personal_id(session, corr.personal_id, principal=principal)
    if decision not in ("accepted", "rejected"):
        raise InvalidInput(
            issues=[
                Issue(
                    field="decision",
                    code="invalid_choice",
                    message_vi="Quyết định phải là 'accepted' (chấp nhận) hoặc 'rejected' (từ chối)",
                    message_en="The decision must be 'accepted' or 'rejected'",
                    value=decision,
                )
            ]
        )
    if decision == "rejected" and not (reason and reason.strip()):
        raise InvalidInput(
            message_vi="Từ chối đề xuất đính chính phải nêu lý do",
            message_en="Rejecting a correction needs a reason",
            issues=[
                Issue(
                    field="reason",
                    code="missing",
                    message_vi="Từ chối đề xuất đính chính phải nêu lý do",
                    message_en="Rejecting a correction needs a reason",
                )
            ],
        )
    if corr.status != "proposed":
        raise Conflict(
            message_vi=f"Đề xuất đã được xử lý ({corr.status})",
            message_en=f"The correction was already resolved ({corr.status})",
        )
    version = None
    if decision == "accepted":
        data = copy.deepcopy(dossier.data)
        data[corr.field] = corr.proposed_value
        written = people_service.update(
            session,
            corr.personal_id,
            PersonWrite.model_validate(
                {
                    "personal_id": corr.personal_id,
                    "managing_agency": dossier.managing_agency,
                    "employing_unit": dossier.employing_unit,
                    "data": data,
                }
            ),
            principal=principal,
            source="correction",
        )
        version = written.version
    corr.status = decision
    corr.reason = reason
    corr.resolved_at = utcnow()
    corr.resolved_by = principal.username
    item: dict[str, Any] = {"correction_id": corr.correction_id, "decision": decision}
    if reason:
        item["reason"] = reason
    outbox.enqueue(
        session,
        receiver=national_node,
        kind="resolution",
        personal_id=corr.personal_id,
        payload=item,
    )
    audit_service.record(
        session,
        actor=principal.username,
        action=f"person:correction:{'accept' if decision == 'accepted' else 'reject'}",
        subject_type="person",
        subject_id=corr.personal_id,
        data={"correction_id": corr.correction_id, "field": corr.field, "new_version": version},
    )
    session.flush()
    return _as_dict(corr)
