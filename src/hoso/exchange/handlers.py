"""What each message type does to the receiver's store (§4), item by item.

A handler gets the verified envelope and its items and returns one result per item:
``stored`` / ``duplicate`` / ``applied`` or ``rejected`` with its errors. It writes in the
caller's transaction and audits what it changed. Which types a node accepts depends on its
role: the national database takes records, retirements, resolutions and org trees; an
agency takes corrections and org trees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from hoso.audit import service as audit_service
from hoso.auth.principal import operator
from hoso.db.base import utcnow
from hoso.db.ids import index_lookups, is_postgresql, key_conditions
from hoso.errors import HosoError, InvalidInput, PermissionDenied
from hoso.exchange import messages
from hoso.exchange.envelope import VerifiedEnvelope, node_agency
from hoso.exchange.errors import ExchangeError
from hoso.exchange.models import Correction, NationalPerson, NationalRecord
from hoso.exchange.node import Node
from hoso.orgs import service as orgs_service
from hoso.orgs.models import OrgUnit
from hoso.orgs.schemas import OrgTreeIn, issues_from_validation_error
from hoso.people.validation import get_validator

Result = dict[str, Any]
Handler = Callable[..., list[Result]]


def _rejected(key: dict[str, Any], error: ExchangeError) -> Result:
    return {**key, "status": "rejected", "errors": [error.as_dict()]}


def _record_key(raw: Any) -> dict[str, Any]:
    pid = raw.get("personal_id") if isinstance(raw, dict) else None
    version = raw.get("version") if isinstance(raw, dict) else None
    return {
        "personal_id": pid if isinstance(pid, str) else None,
        "version": version if version.__class__ is int else None,
    }


def check_body(verified: VerifiedEnvelope) -> list[Any]:
    """The items of the body (``schema_invalid`` for a malformed body)."""
    return messages.check_body(verified.type, verified.body)


def for_type(type_: str, node: Node) -> Handler:
    """The handler of ``type_`` on this node, or ``not_authorised`` when the role has none."""
    table: dict[str, tuple[bool, Handler]] = {
        "records.upsert": (node.is_national, records_upsert),
        "records.retire": (node.is_national, records_retire),
        "corrections.resolve": (node.is_national, corrections_resolve),
        "corrections.propose": (node.is_agency, corrections_propose),
        "orgtree.upsert": (True, orgtree_upsert),
    }
    allowed, handler = table[type_]
    if not allowed:
        raise ExchangeError.of(
            "not_authorised",
            field="type",
            detail_vi=f"hệ thống vai trò '{node.role}' không nhận '{type_}'",
            detail_en=f"a node of role '{node.role}' does not take '{type_}'",
        )
    return handler


def _authority(
    session: Session, sender_agency: str, agencies: set[str]
) -> dict[str, ExchangeError | None]:
    """For each managing agency: None when the sender may send for it, else the error."""
    rows = session.execute(
        select(OrgUnit.code, OrgUnit.path).where(OrgUnit.code.in_(agencies))
    ).all()
    paths = {code: path for code, path in rows}
    out: dict[str, ExchangeError | None] = {}
    for agency in agencies:
        path = paths.get(agency)
        if path is None:
            out[agency] = ExchangeError.of(
                "unknown_agency",
                field="managing_agency",
                detail_vi=f"'{agency}' không có trong cây tổ chức của CSDLQG",
                detail_en=f"'{agency}' is not in the national organisation tree",
                value=agency,
            )
        elif agency != sender_agency and f"/{sender_agency}/" not in path:
            out[agency] = ExchangeError.of(
                "not_authorised",
                field="managing_agency",
                detail_vi=f"'{sender_agency}' không quản lý '{agency}'",
                detail_en=f"'{sender_agency}' does not manage '{agency}'",
                value=agency,
            )
        else:
            out[agency] = None
    return out


# --------------------------------------------------------------------------- national side


def records_upsert(
    session: Session, verified: VerifiedEnvelope, items: list[Any], *, node: Node, now: dt.datetime
) -> list[Result]:
    """Store the accepted record versions of a ``records.upsert`` (§5 rules 5–6)."""
    validator = get_validator()
    results: list[Result | None] = [None] * len(items)
    checked: list[tuple[int, messages.RecordIn]] = []
    pieces = verified.data_canonical
    if pieces is not None and len(pieces) != len(items):
        pieces = None
    for i, raw in enumerate(items):
        try:
            checked.append(
                (
                    i,
                    messages.check_record(
                        raw,
                        i,
                        trust=node.trust,
                        validator=validator,
                        canonical=pieces[i] if pieces is not None else None,
                    ),
                )
            )
        except ExchangeError as exc:
            results[i] = _rejected(_record_key(raw), exc)
    sender_agency = node_agency(verified.sender)
    authority = _authority(session, sender_agency, {r.managing_agency for _, r in checked})
    stored = _stored_versions(session, {r.personal_id for _, r in checked})
    rows: list[dict[str, Any]] = []
    current: dict[str, messages.RecordIn] = {}
    stamp = utcnow()
    for i, rec in checked:
        key = {"personal_id": rec.personal_id, "version": rec.version}
        where = f"body.records[{i}]"
        err = authority[rec.managing_agency]
        if err is not None:
            err.field = f"{where}.managing_agency"
            results[i] = _rejected(key, err)
            continue
        versions = stored.setdefault((rec.personal_id, rec.managing_agency), {})
        top = max(versions) if versions else 0
        if rec.version in versions:
            if versions[rec.version] == rec.content_hash:
                results[i] = {**key, "status": "duplicate", "errors": []}
            else:
                results[i] = _rejected(
                    key,
                    _conflict(
                        where, rec, "đã lưu với nội dung khác", "stored before with other content"
                    ),
                )
            continue
        if rec.version < top:
            results[i] = _rejected(
                key,
                _conflict(
                    where,
                    rec,
                    f"đã lưu phiên bản mới hơn ({top})",
                    f"a newer version ({top}) is stored",
                ),
            )
            continue
        if (
            rec.version == top + 1
            and top > 0
            and rec.previous_content_hash is not None
            and rec.previous_content_hash != versions[top]
        ):
            results[i] = _rejected(
                key,
                _conflict(
                    where,
                    rec,
                    f"'previous_content_hash' khác mã băm của phiên bản {top} đã lưu",
                    f"'previous_content_hash' differs from stored version {top}",
                ),
            )
            continue
        versions[rec.version] = rec.content_hash
        rows.append(
            {
                "personal_id": rec.personal_id,
                "managing_agency_code": rec.managing_agency,
                "version": rec.version,
                "employing_unit_code": rec.employing_unit,
                "content_hash": rec.content_hash,
                "previous_content_hash": rec.previous_content_hash,
                "data": rec.canonical,
                "approval": rec.approval,
                "message_id": verified.id,
                "stored_at": stamp,
            }
        )
        current[rec.personal_id] = rec
        results[i] = {**key, "status": "stored", "errors": []}
    if rows:
        from hoso.exchange import national

        national.insert_records(session, rows)
        national.upsert_people(session, list(current.values()), stamp)
        audit_service.record(
            session,
            actor=verified.sender,
            action="national:record:store",
            subject_type="message",
            subject_id=verified.id,
            data={
                "versions": [
                    [r["personal_id"], r["managing_agency_code"], r["version"]] for r in rows
                ]
            },
        )
    return [r for r in results if r is not None]


def _stored_versions(
    session: Session, personal_ids: set[str]
) -> dict[tuple[str, str], dict[int, str]]:
    """The versions already stored of these people: (person, agency) → version → hash.

    Index lookups on PostgreSQL (one ``text[]`` parameter): while the store is young and not
    yet analysed, the planner would otherwise read the whole table for each message."""
    stored: dict[tuple[str, str], dict[int, str]] = {}
    with index_lookups(session, is_postgresql(session)):
        for cond in key_conditions(session, NationalRecord.personal_id, personal_ids):
            for pid, agency, version, digest in session.execute(
                select(
                    NationalRecord.personal_id,
                    NationalRecord.managing_agency_code,
                    NationalRecord.version,
                    NationalRecord.content_hash,
                ).where(cond)
            ):
                stored.setdefault((pid, agency), {})[version] = digest
    return stored


def _conflict(where: str, rec: messages.RecordIn, vi: str, en: str) -> ExchangeError:
    return ExchangeError.of(
        "version_conflict",
        field=f"{where}.version",
        detail_vi=f"phiên bản {rec.version} của {rec.personal_id}: {vi}",
        detail_en=f"version {rec.version} of {rec.personal_id}: {en}",
        value=rec.version,
    )


def records_retire(
    session: Session, verified: VerifiedEnvelope, items: list[Any], *, node: Node, now: dt.datetime
) -> list[Result]:
    """Mark people as left the service (retired, moved, deceased …), each with its approval."""
    sender_agency = node_agency(verified.sender)
    pids = [r.get("personal_id") for r in items if isinstance(r, dict)]
    people = {
        p.personal_id: p
        for p in session.execute(
            select(NationalPerson).where(
                NationalPerson.personal_id.in_([p for p in pids if isinstance(p, str)])
            )
        ).scalars()
    }
    wanted = [
        (p.personal_id, p.managing_agency_code, r.get("version"))
        for r in items
        if isinstance(r, dict)
        and (p := people.get(r.get("personal_id"))) is not None  # type: ignore[arg-type]
        and r.get("version").__class__ is int
    ]
    hashes: dict[tuple[str, int], tuple[str, str]] = {}
    if wanted:
        for pid, agency, version, digest in session.execute(
            select(
                NationalRecord.personal_id,
                NationalRecord.managing_agency_code,
                NationalRecord.version,
                NationalRecord.content_hash,
            ).where(
                tuple_(
                    NationalRecord.personal_id,
                    NationalRecord.managing_agency_code,
                    NationalRecord.version,
                ).in_(wanted)
            )
        ).all():
            hashes[(pid, version)] = (digest, agency)
    authority = _authority(session, sender_agency, {a for _, a in hashes.values()})
    results: list[Result] = []
    changed: list[str] = []
    for i, raw in enumerate(items):
        key = _record_key(raw)
        try:
            ret = messages.check_retirement(
                raw, i, trust=node.trust, stored=lambda p, v: hashes.get((p, v))
            )
        except ExchangeError as exc:
            results.append(_rejected(key, exc))
            continue
        person = people[ret.personal_id]
        err = authority[person.managing_agency_code]
        if err is not None:
            err.field = f"body.retirements[{i}].personal_id"
            results.append(_rejected(key, err))
            continue
        doc = {
            "reason_code": ret.reason_code,
            "effective_date": ret.effective_date,
            "version": ret.version,
            "approval": ret.approval,
        }
        if person.retired == doc:
            results.append({**key, "status": "duplicate", "errors": []})
            continue
        person.retired = doc
        person.updated_at = utcnow()
        changed.append(ret.personal_id)
        results.append({**key, "status": "stored", "errors": []})
    if changed:
        audit_service.record(
            session,
            actor=verified.sender,
            action="national:record:retire",
            subject_type="message",
            subject_id=verified.id,
            data={"personal_ids": changed},
        )
    return results


def corrections_resolve(
    session: Session, verified: VerifiedEnvelope, items: list[Any], *, node: Node, now: dt.datetime
) -> list[Result]:
    """Record the managing agency's decisions on corrections the national side proposed."""
    sender_agency = node_agency(verified.sender)
    results: list[Result] = []
    for i, raw in enumerate(items):
        cid = raw.get("correction_id") if isinstance(raw, dict) else None
        key = {"correction_id": cid if isinstance(cid, str) else None}
        try:
            res = messages.check_resolution(raw, i)
        except ExchangeError as exc:
            results.append(_rejected(key, exc))
            continue
        corr = session.get(Correction, (res["correction_id"], "national"))
        if corr is None:
            results.append(
                _rejected(
                    key,
                    ExchangeError.of(
                        "field_invalid",
                        field=f"body.resolutions[{i}].correction_id",
                        detail_vi="không có đề xuất đính chính này",
                        detail_en="no such proposed correction",
                        value=res["correction_id"],
                    ),
                )
            )
            continue
        err = _authority(session, sender_agency, {corr.managing_agency_code})[
            corr.managing_agency_code
        ]
        if err is not None:
            err.field = f"body.resolutions[{i}].correction_id"
            results.append(_rejected(key, err))
            continue
        if corr.status == res["decision"]:
            results.append({**key, "status": "duplicate", "errors": []})
            continue
        if corr.status != "proposed":
            results.append(
                _rejected(
                    key,
                    ExchangeError.of(
                        "version_conflict",
                        field=f"body.resolutions[{i}].decision",
                        detail_vi=f"đề xuất đã được xử lý ({corr.status})",
                        detail_en=f"the correction was already resolved ({corr.status})",
                        value=res["decision"],
                    ),
                )
            )
            continue
        corr.status = res["decision"]
        corr.reason = res.get("reason")
        corr.resolved_at = utcnow()
        corr.resolved_by = verified.sender
        audit_service.record(
            session,
            actor=verified.sender,
            action="national:correction:resolve",
            subject_type="correction",
            subject_id=corr.correction_id,
            data={"decision": corr.status, "personal_id": corr.personal_id},
        )
        results.append({**key, "status": "applied", "errors": []})
    return results


# --------------------------------------------------------------------------- agency side


def corrections_propose(
    session: Session, verified: VerifiedEnvelope, items: list[Any], *, node: Node, now: dt.datetime
) -> list[Result]:
    """Keep the national side's proposed corrections for an officer to accept or reject."""
    from hoso.people.models import Person

    if verified.sender != node.national_node:
        raise ExchangeError.of(
            "not_authorised",
            field="sender",
            detail_vi="chỉ CSDLQG được đề xuất đính chính",
            detail_en="only the national database proposes corrections",
            value=verified.sender,
        )
    results: list[Result] = []
    for i, raw in enumerate(items):
        cid = raw.get("correction_id") if isinstance(raw, dict) else None
        key = {"correction_id": cid if isinstance(cid, str) else None}
        try:
            corr = messages.check_correction(raw, i)
        except ExchangeError as exc:
            results.append(_rejected(key, exc))
            continue
        person = session.execute(
            select(Person).where(Person.personal_id == corr["personal_id"])
        ).scalar_one_or_none()
        if person is None:
            results.append(
                _rejected(
                    key,
                    ExchangeError.of(
                        "not_authorised",
                        field=f"body.corrections[{i}].personal_id",
                        detail_vi="hệ thống này không quản lý hồ sơ này",
                        detail_en="this system does not manage this person",
                        value=corr["personal_id"],
                    ),
                )
            )
            continue
        if session.get(Correction, (corr["correction_id"], "agency")) is not None:
            results.append({**key, "status": "duplicate", "errors": []})
            continue
        session.add(
            Correction(
                correction_id=corr["correction_id"],
                personal_id=corr["personal_id"],
                managing_agency_code=person.managing_agency_code,
                field=corr["field"],
                current_value=corr.get("current_value"),
                proposed_value=corr["proposed_value"],
                source=corr["source"],
                reason_code=corr["reason_code"],
                evidence=corr.get("evidence"),
                status="proposed",
                side="agency",
                created_at=utcnow(),
            )
        )
        audit_service.record(
            session,
            actor=verified.sender,
            action="person:correction:receive",
            subject_type="person",
            subject_id=corr["personal_id"],
            data={"correction_id": corr["correction_id"], "field": corr["field"]},
        )
        results.append({**key, "status": "stored", "errors": []})
    session.flush()
    return results


# --------------------------------------------------------------------------- both sides


def orgtree_upsert(
    session: Session, verified: VerifiedEnvelope, items: list[Any], *, node: Node, now: dt.datetime
) -> list[Result]:
    """Apply an org tree: at the national node only the sender's own subtree; at an agency,
    the national catalogue as sent."""
    keys = [{"code": u.get("code") if isinstance(u, dict) else None} for u in items]
    try:
        tree = OrgTreeIn.model_validate({"units": items})
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, prefix="body")
        first = issues[0]
        err = ExchangeError.of(
            "schema_invalid",
            field=first.field,
            detail_vi=first.message_vi,
            detail_en=first.message_en,
            value=first.value,
        )
        return [_rejected(k, err) for k in keys]
    sender_agency = node_agency(verified.sender)
    from_national = verified.sender == node.national_node
    if node.is_national and not from_national:
        batch_parent = {u.code: u.parent_code for u in tree.units}
        stored_paths = dict(
            session.execute(
                select(OrgUnit.code, OrgUnit.path).where(
                    OrgUnit.code.in_(
                        {u.parent_code for u in tree.units if u.parent_code} | set(batch_parent)
                    )
                )
            ).all()
        )
        for index, unit in enumerate(tree.units):
            if not _under(unit.code, sender_agency, batch_parent, stored_paths):
                err = ExchangeError.of(
                    "not_authorised",
                    field=f"body.units[{index}].code",
                    detail_vi=f"'{sender_agency}' không quản lý đơn vị '{unit.code}'",
                    detail_en=f"'{sender_agency}' does not manage unit '{unit.code}'",
                    value=unit.code,
                )
                return [_rejected(k, err) for k in keys]
    elif not from_national:
        err = ExchangeError.of(
            "not_authorised",
            field="sender",
            detail_vi="hệ thống của cơ quan chỉ nhận cây tổ chức từ CSDLQG",
            detail_en="an agency system takes org trees from the national database only",
            value=verified.sender,
        )
        return [_rejected(k, err) for k in keys]
    try:
        with session.begin_nested():
            result = orgs_service.upsert_units(session, tree.units, principal=operator())
    except (InvalidInput, PermissionDenied) as exc:
        issues = exc.issues or []
        code = "field_invalid" if isinstance(exc, InvalidInput) else "not_authorised"
        if issues:
            first = issues[0]
            err = ExchangeError.of(
                code,
                field=f"body.{first.field}",
                detail_vi=first.message_vi,
                detail_en=first.message_en,
                value=first.value,
            )
        else:
            err = ExchangeError.of(code, detail_vi=exc.message_vi, detail_en=exc.message_en)
        return [_rejected(k, err) for k in keys]
    except HosoError:
        raise
    status = "stored" if result.created or result.updated else "duplicate"
    return [{**k, "status": status, "errors": []} for k in keys]


def _under(
    code: str, agency: str, batch_parent: dict[str, str | None], stored_paths: dict[str, str]
) -> bool:
    """True when unit ``code`` is ``agency`` or lies below it (in the batch or the stored tree)."""
    seen: set[str] = set()
    cur: str | None = code
    while cur is not None and cur not in seen:
        if cur == agency:
            return True
        seen.add(cur)
        if cur in batch_parent:
            cur = batch_parent[cur]
            continue
        path = stored_paths.get(cur)
        return path is not None and f"/{agency}/" in path
    return False
